"""The manager's commands: refund, report (the day, X, Z), review, and setting a role's PIN.

Money moving back, closing a session and marking an item resolved take the manager's PIN (see
:mod:`.grants`); the use cases check it, with its lockout, and write the audit entry. Reading the
day, the X report and the review list need no PIN.
"""

from __future__ import annotations

import click

from .. import services
from ..errors import PosError
from ..i18n import _
from ..money import format_minor, parse_money
from ..roles import MANAGER, TECHNICIAN
from . import grants
from .options import by_option, command, timeout_option
from .output import emit
from .present import EXIT, cancel_exit, follow, history, history_lines, outcome_lines, till_of, watch


@command()
@click.argument("payment", metavar="PAYMENT")
@click.option("--amount", help="the amount to refund, e.g. 5.00 (default: all that is left)")
@click.option("--reason", help="why (required; kept with the refund in the audit log)")
@by_option
@timeout_option(60.0, "wait at most this long")
def refund(opts, payment, amount, reason, by, timeout):
    """Refund the paid sale PAYMENT (paymentRequestId or paymentId), in full or in part (manager PIN)."""
    with opts.runtime() as rt:
        t = rt.terminal
        watch(opts, t)
        row = t.sale_row(payment)
        money = parse_money(amount, row["currency"]) if amount is not None else None
        services.manager.check_reason(reason, "refund")   # before the PIN: nothing to approve without it
        txn = services.manager.refund(grants.manager(t.journal, by), t, row["id"], money, reason)
        data = follow(t, txn, timeout)
        emit(opts, data, outcome_lines(data))   # said now: stopping waits for the slip to print (or fail)
    return EXIT[data["status"]]


# -- reports ---------------------------------------------------------------------------------------------
@command()
@click.option("--date", metavar="YYYY-MM-DD", help="the business day (default today)")
@click.option("--csv", "csv_file", metavar="FILE", help="also write the transactions (or totals) as CSV")
@click.option("--x", "x", is_flag=True, help="X report: the current session (since the last Z), any time")
@click.option("--z", "z", is_flag=True, help="Z report: close the session, numbered and immutable (manager PIN)")
@click.option("--number", type=click.IntRange(1, 2**63 - 1), metavar="N", help="with --z: reprint Z report N")
@click.option("--pdf", metavar="FILE", help="with --x/--z: also write a printable PDF")
@click.option("--txn", metavar="ID", help="one transaction's history in words (its id, or a sale's paymentId)")
@click.option("--print", "to_printer", is_flag=True, help="with --x/--z: also print it on the receipt printer")
@by_option
def report(opts, date, csv_file, x, z, number, pdf, txn, by, to_printer):
    """The day's transactions and totals per currency, kind and status; --x the session so far; --z
    closes the session (manager PIN); --z --number N reprints Z report N; --txn ID one transaction's history."""
    if x and z:
        raise click.UsageError("--x and --z are two different reports: give one")
    if txn is not None:
        if x or z or date or csv_file or pdf or to_printer or number is not None:
            raise click.UsageError("--txn shows one transaction's history: give it alone")
        with opts.journal(readonly=True) as journal:
            data = history(journal, txn)
        emit(opts, data, history_lines(data))
        return 0
    if x or z:
        return _closing(opts, z, date, number, csv_file, pdf, by, to_printer)
    if pdf or to_printer or number is not None:
        raise click.UsageError(f"{'--pdf' if pdf else '--print' if to_printer else '--number'} is for the X and Z "
                               "reports (--x, --z)")
    day = _day(date)
    with opts.journal(readonly=True) as journal:
        result = services.closing.day_report(grants.counter(by), journal, day, till_of(opts))
    if csv_file:
        result.write_csv(csv_file)
    emit(opts, result, result.lines)
    return 0


def _closing(opts, z: bool, date, number, csv_file, pdf, by, to_printer: bool = False) -> int:
    """``--x`` (the current session), ``--z`` (close it) and ``--z --number N`` (reprint a stored Z)."""
    if date:
        raise PosError(_("--date is for the day's report: an X or Z report is about the session, not a day"),
                       hint=_("`pos-terminal report --x` shows the current session; `pos-terminal report --z "
                              "--number N` reprints Z report N; `pos-terminal report --date D` shows a day"))
    if number is not None and not z:
        raise PosError(_("--number reprints a Z report: use it with --z"), hint="pos-terminal report --z --number N")
    from . import receipts
    printed = None
    if to_printer:
        receipts.require_printer(opts)
    if z:
        with opts.journal() as journal:
            grant = grants.manager(journal, by)
            result = (services.closing.z_report(grant, journal, till_of(opts)) if number is None
                      else services.closing.z_reprint(grant, journal, number))
            if to_printer:
                printed = receipts.print_report(opts, grant, result, journal)
    else:
        with opts.journal(readonly=True) as journal:
            grant = grants.counter(by)
            result = services.closing.x_report(grant, journal, till_of(opts))
        if to_printer:
            printed = receipts.print_report(opts, grant, result)
    if csv_file:
        result.write_csv(csv_file)
    if pdf:
        result.write_pdf(pdf)
    if printed is not None:
        return receipts.emit_report(opts, result, printed)
    emit(opts, result, result.lines)
    return 0


def _day(text: str | None) -> str:
    from datetime import date
    value = text or date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise PosError(f"--date {value!r} is not a date", hint="use YYYY-MM-DD, e.g. 2026-11-22") from None


# -- review ----------------------------------------------------------------------------------------------
@command(group=True, invoke_without_command=True)
@by_option
def review(opts, by):
    """What is still open or needs a manager, and signed notifications that could not be applied; retry,
    cancel or resolve an item."""
    with opts.journal() as journal:
        items = services.manager.review(grants.counter(by), journal)
    lines = [f"{i['status']:13} {i['id']}  {_amount(i)}  {i['message']}"
             for i in items] or [_("nothing open or waiting for review")]
    emit(opts, {"items": items}, lines)
    return 0


def _amount(item: dict) -> str:
    if item["currency"] is None:    # an unreadable notification moves no amount we know
        return "—"
    return f"{format_minor(item['amount'], item['currency'])} {item['currency']}"


@command("retry", parent=review)
@click.argument("item", metavar="ID")
@by_option
def review_retry(opts, item, by):
    """Ask the gateway about review item ID now."""
    with opts.runtime(receiver=False, background=False) as rt:
        result = services.manager.review_retry(grants.counter(by), rt.terminal, item)
    data = {"id": item, **result.to_json()}
    emit(opts, data, [_("{id}: the gateway says {gateway}; now {status}").format(**data)])
    return 0


@command("cancel", parent=review)
@click.argument("item", metavar="ID")
@by_option
@timeout_option(60.0, "wait at most this long")
def review_cancel(opts, item, by, timeout):
    """Send the cancel of the unsure sale ID again, under its own paymentRequestId (manager PIN)."""
    with opts.runtime() as rt:
        t = rt.terminal
        watch(opts, t)
        txn = services.manager.review_cancel(grants.manager(t.journal, by), t, item)
        data = follow(t, txn, timeout)
    emit(opts, data, outcome_lines(data))
    return cancel_exit(data)


@command("resolve", parent=review)
@click.argument("item", metavar="ID")
@click.option("--note", required=True, help="what was found, e.g. checked on the gateway portal")
@by_option
def review_resolve(opts, item, note, by):
    """Mark review item ID resolved with a note (manager PIN, audited)."""
    with opts.journal() as journal:
        result = services.manager.review_resolve(grants.manager(journal, by), journal, item, note)
    emit(opts, result, [_("{id} marked resolved").format(id=item)])
    return 0


# -- PINs ------------------------------------------------------------------------------------------------
@command(group=True)
def pin(opts):
    """Set the manager's or technician's PIN."""


@command("set", parent=pin)
@click.argument("role", type=click.Choice((MANAGER, TECHNICIAN)))
def pin_set(opts, role):
    """Set (or change) ROLE's PIN: the current one first when there is one, then the new one twice
    (scrypt; five wrong tries lock the mode for 5 minutes)."""
    from ..roles import PinBook
    with opts.journal() as journal:
        current = grants.ask(_("current {role} PIN: ").format(role=role)) if PinBook(journal).is_set(role) else None
        new = grants.ask(_("new {role} PIN (4 to 12 digits): ").format(role=role))
        if new != grants.ask(_("the same PIN again: ")):
            raise PosError(_("the two PINs differ; nothing was changed"))
        result = services.technician.pin_set(grants.shell(), journal, role, new, current=current)
    emit(opts, result, [_("{role} PIN set").format(role=role)])
    return 0
