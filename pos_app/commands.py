"""The payment subcommands of ``pos-terminal``: sale, refund, cancel, inquiry, reconcile, report, queue.

Each one is a thin caller of :class:`~pos_app.terminal.Terminal` (through :class:`~pos_app.runtime.Runtime`),
the same code the cashier's buttons call. ``--json`` output is a stable contract: acceptance checks and
scripts rely on it.

Exit codes: 0 paid / done; 1 declined, failed or cancelled; 2 a person's error; 3 not settled yet
(unknown, queued, needs review).
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import date

from . import payment_flow as pf
from .config import find_config_file, find_data_dir
from .errors import PosError
from .gateway import Status
from .money import format_minor, parse_money
from .runtime import Runtime
from .i18n import _
from .vocabulary import (CANCELLED, FAILED, FOLLOWUP_PHASE_WORDS, KIND_WORDS, NEEDS_REVIEW, NEXT_COMMAND, NEXT_STEP,
                         QUEUED, SALE_PHASE_WORDS, SUCCESS, UNKNOWN, settled)

EXIT = {SUCCESS: 0, FAILED: 1, CANCELLED: 1, UNKNOWN: 3, QUEUED: 3, NEEDS_REVIEW: 3}


def next_step(status: str) -> str:
    """The window's next step, with the command that helps at a prompt."""
    text = _(NEXT_STEP[status])
    return f"{text} (`{NEXT_COMMAND[status]}`)" if status in NEXT_COMMAND else text


def emit(args, data: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines))


def progress(args, text: str) -> None:
    """What is happening now, for a person watching: stderr, so --json stays one object on stdout."""
    if not args.json:
        print(f"… {text}", file=sys.stderr, flush=True)


def _runtime(args, *, receiver: bool = True, background: bool = True) -> Runtime:
    return Runtime(find_config_file(args.config), find_data_dir(args.data_dir), receiver=receiver,
                   background=background)


def _describe(txn) -> str:
    """A plain sentence for the phase a sale or follow-up is in (for a stopped sale, what the stop waits on)."""
    if isinstance(txn, pf.Sale):
        from .sale_view import stopping_words
        stopping = stopping_words(txn)
        if stopping is not None:
            return _(stopping)
        words = SALE_PHASE_WORDS.get(txn.phase)
        text = _(words[0]) if words else txn.status
        return f"{text} (inquiry {txn.inquiries + 1})" if txn.phase is pf.Phase.INQUIRING else text
    words = FOLLOWUP_PHASE_WORDS.get(txn.phase)
    return _(words).format(kind=_(KIND_WORDS[txn.kind])) if words else txn.status


def _outcome_lines(data: dict) -> list[str]:
    a = data["amount"]
    amount = f"{format_minor(int(a['value']), a['currency'])} {a['currency']}"
    head = {SUCCESS: "PAID" if data.get("kind") == "sale" else "DONE", FAILED: "NOT PAID" if
            data.get("kind") == "sale" else "FAILED", CANCELLED: "CANCELLED", UNKNOWN: "NOT SURE YET",
            QUEUED: "QUEUED", NEEDS_REVIEW: "NEEDS REVIEW"}[data["status"]]
    lines = [f"{head}: {data.get('kind', '')} {amount}"]
    if data.get("message") and data["status"] != SUCCESS:
        lines.append(f"  why:     {data['message']}" + (f" ({data['resultCode']})" if data.get("resultCode") else ""))
    lines.append(f"  payment: {data.get('paymentRequestId')} (gateway id {data.get('paymentId') or 'not known yet'})")
    if data.get("refundRequestId"):
        lines.append(f"  refund:  {data['refundRequestId']}")
    if data.get("kind") == "sale" or data["status"] != SUCCESS:
        lines.append(f"  next:    {next_step(data['status'])}")
    return lines


def _watch(args, terminal) -> None:
    last: dict[str, str] = {}

    def changed(txn_id: str) -> None:
        txn = terminal.load(txn_id)
        text = _describe(txn)
        if not txn.final and last.get(txn_id) != text:
            last[txn_id] = text
            progress(args, text)
    terminal.on_change.add(changed)


def _show_code(args, value: str, expires_at: float | None) -> None:
    out = sys.stderr if args.json else sys.stdout
    left = f" (expires in {max(0, int(expires_at - time.time()))} s)" if expires_at else ""
    print(f"order code: {value}{left}", file=out, flush=True)
    try:
        import segno
        segno.make(value, error="m").terminal(out=out, compact=True)
    except Exception as exc:  # the value printed above still lets the customer pay
        print(f"(cannot draw the QR here: {exc})", file=out)
    out.flush()


def _check_timeout(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise PosError(f"--timeout {value} is not a number of seconds above zero")


def cmd_sale(args) -> int:
    _check_timeout(args.timeout)
    if args.currency is not None:
        parse_money(args.amount, args.currency.upper())  # a typo is told before anything starts
    with _runtime(args) as rt:
        t = rt.terminal
        amount = parse_money(args.amount, (args.currency or t.config.merchant.currency).upper())
        _watch(args, t)
        t.on_code.add(lambda sale_id, value, expires_at: _show_code(args, value, expires_at))
        progress(args, f"sale of {amount}" + (" (sandbox)" if rt.sandbox else ""))

        def done(s) -> bool:
            return settled(s) or (s.accepted_at_risk and s.phase is pf.Phase.NEW)
        try:
            sale = t.start_sale(amount, code=args.code, order_code=args.order_code, description=args.description,
                                alongside=args.alongside)
            sale = t.wait(sale.id, done, args.timeout)
            if not done(sale) and sale.phase is pf.Phase.WAITING:
                progress(args, "timed out: cancelling the order code")
                t.abort(sale.id, "the terminal stopped waiting (--timeout)")
                sale = t.wait(sale.id, done, 60)
        except KeyboardInterrupt:
            if t.last_sale_id is None or t.load(t.last_sale_id) is None:
                raise  # nothing was journaled: nothing was sent
            sale = _interrupted(args, t, t.last_sale_id, done)
        data = t.summary(sale)
        if not done(sale) and sale.id == t.last_sale_id and not sale.final:
            data["message"] = (f"not settled yet ({_describe(sale)}): it stays scheduled, and the terminal's next "
                               f"start or `pos-terminal reconcile` settles it with the gateway")
    emit(args, data, _outcome_lines(data))
    return EXIT[data["status"]]


def _interrupted(args, t, sale_id: str, done):
    """Ctrl-C: the sale may already be at the gateway, so it is cancelled and settled before exiting; a
    second Ctrl-C leaves it scheduled for the next start."""
    progress(args, f"interrupted: cancelling sale {sale_id}; waiting for the gateway to confirm "
                   f"(Ctrl-C again to leave it to the next start)")
    sale = t.interrupted(sale_id, "interrupted at the terminal")
    try:
        sale = t.wait(sale.id, done, 60)
    except KeyboardInterrupt:
        progress(args, f"interrupted again: sale {sale_id} is left open and settled at the next start")
        return t.load(sale_id)
    if sale.phase is pf.Phase.PAID:   # a payment known to be paid is never cancelled
        progress(args, "the payment went through before the interrupt could stop it: hand over the goods, or "
                       "have a manager refund it")
    return sale


def _follow(args, t, txn) -> dict:
    txn = t.wait(txn.id, lambda f: settled(f) or f.status == QUEUED, args.timeout)
    return t.summary(txn)


def _manager(args, t) -> tuple[str, str]:
    """(who asked, who approved): a refund or a paid sale's cancel moves money back, so it takes the
    manager's PIN, as in the window's manager mode (and the same lockout after wrong tries)."""
    from .manager_actions import approve
    from .manager_commands import manager_pin, who

    return who(args), approve(t.journal, manager_pin(args))


def cmd_refund(args) -> int:
    from . import manager_actions

    _check_timeout(args.timeout)
    with _runtime(args) as rt:
        t = rt.terminal
        _watch(args, t)
        row = t.sale_row(args.payment)
        amount = parse_money(args.amount, row["currency"]) if args.amount is not None else None
        manager_actions.check_reason(args.reason, "refund")
        asked_by, approved_by = _manager(args, t)
        data = _follow(args, t, manager_actions.refund(t, row["id"], amount, args.reason, asked_by=asked_by,
                                                       approved_by=approved_by))
    emit(args, data, _outcome_lines(data))
    return EXIT[data["status"]]


def cmd_cancel(args) -> int:
    from . import manager_actions

    _check_timeout(args.timeout)
    with _runtime(args) as rt:
        t = rt.terminal
        _watch(args, t)
        row = t.journal.find(args.payment, "sale")
        if row is not None and row["status"] == SUCCESS:   # reversing a paid sale: the manager's cancel
            manager_actions.check_reason(args.reason, "cancel")
            asked_by, approved_by = _manager(args, t)
            txn = manager_actions.cancel(t, row["id"], args.reason, asked_by=asked_by, approved_by=approved_by)
        else:                                  # closing an open sale: the cashier's abort, as Esc in the window
            txn = t.cancel(args.payment)
        data = _follow(args, t, txn)
    emit(args, data, _outcome_lines(data))
    if data["kind"] == "sale":  # an open sale was closed: done only if nothing stays charged
        return {CANCELLED: 0, FAILED: 0, SUCCESS: 1}.get(data["status"], 3)
    return EXIT[data["status"]]


def cmd_inquiry(args) -> int:
    with _runtime(args, receiver=False, background=False) as rt:
        outcome, txn = rt.terminal.inquiry(args.payment)
        body = outcome.body or {}
        data = {"gateway": {"status": outcome.status.value, "resultCode": outcome.result_code,
                            "message": outcome.message, "paymentStatus": body.get("paymentStatus"),
                            "refundStatus": body.get("refundStatus")},
                "journal": rt.terminal.summary(txn) if txn is not None else None}
    gw = data["gateway"]
    lines = [f"gateway: {gw['paymentStatus'] or gw['refundStatus'] or gw['status']}"
             f" ({gw['resultCode']}: {gw['message']})"]
    lines.append(f"journal: {data['journal']['status']}" if data["journal"] else "journal: not a payment of this terminal")
    emit(args, data, lines)
    return 3 if outcome.status is Status.UNKNOWN else 0


def cmd_reconcile(args) -> int:
    _check_timeout(args.timeout)
    with _runtime(args, receiver=False, background=False) as rt:
        t = rt.terminal
        _watch(args, t)
        progress(args, f"settling {len(t.journal.open_transactions())} open transaction(s)")
        data = t.settle(args.timeout)
    lines = [f"settled {data['settled']}, still open {data['still_open']}"]
    lines += [f"  {i['status']:12} {i['kind']:6} {i['paymentRequestId']} {i.get('message') or ''}" for i in data["items"]]
    emit(args, data, lines)
    return 0 if data["still_open"] == 0 else 3


def _read_journal(args):
    from offline_queue.journal import Journal
    return Journal.open(find_data_dir(args.data_dir), readonly=True)


def cmd_report(args) -> int:
    from pathlib import Path

    from .report import day_report, lines, write_csv
    day = args.date or date.today().isoformat()
    try:
        day = date.fromisoformat(day).isoformat()
    except ValueError:
        raise PosError(f"--date {day!r} is not a date", hint="use YYYY-MM-DD, e.g. 2026-11-22") from None
    with _read_journal(args) as journal:
        data = day_report(journal, day)
    if args.csv:
        try:
            write_csv(data, Path(args.csv))
        except OSError as exc:
            raise PosError(f"cannot write {args.csv}: {exc.strerror}") from None
    emit(args, data, lines(data))
    return 0


def cmd_queue(args) -> int:
    from .terminal import queue_status
    if args.drain:
        with _runtime(args, receiver=False, background=False) as rt:
            advanced = rt.terminal.drain_now()
            data = queue_status(rt.terminal.journal, time.time())
        progress(args, f"drain: {advanced} advanced")
        data = {**data, "advanced": advanced}
    else:
        with _read_journal(args) as journal:
            data = queue_status(journal, time.time())
    lines = [f"{data['count']} request(s) waiting" + (f", oldest {data['oldestAgeSeconds']:.0f} s" if data["count"] else "")]
    lines += [f"  {c}: {format_minor(int(v['value']), c)}" for c, v in data["totals"].items()]
    lines += [f"  {i['api']:7} {i['status']:8} {i['paymentRequestId']}" for i in data["items"]]
    emit(args, data, lines)
    return 0
