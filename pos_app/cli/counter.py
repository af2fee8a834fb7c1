"""The cashier's commands: sale, cancel, inquiry, reconcile, queue.

Each binds its options to a use case of :mod:`pos_app.services` with the counter's grant (no PIN), as
the cashier's screen does; reversing a paid sale takes the manager's PIN. ``--json`` prints the
transaction's summary, the same shape for every command.
"""

from __future__ import annotations

import click

from .. import payment_flow as pf
from .. import services
from ..errors import PosError
from ..i18n import N_, _, stored
from ..money import format_minor, parse_money
from ..vocabulary import PATH_TROUBLE_WORDS, settled, split_path_trouble
from . import grants
from .options import by_option, command, timeout_option
from .output import emit, progress
from .present import EXIT, cancel_exit, describe, follow, outcome_lines, show_code, watch


@command()
@click.option("--amount", required=True, help="the amount, e.g. 12.34")
@click.option("--currency", help="ISO 4217 code (default: [merchant] currency)")
@click.option("--code", help="the customer's payment code, as scanned")
@click.option("--order-code", is_flag=True, help="show a QR for the customer to scan")
@click.option("--entry-code", is_flag=True,
              help="wait for the customer to pay this amount through the store's static entry code")
@click.option("--description", default="", help="what is sold (shown in the wallet)")
@timeout_option(None, "stop waiting after this long (an order code is then cancelled)")
@click.option("--alongside", is_flag=True,
              help="take it although an earlier sale is still being settled (surely another customer)")
def sale(opts, amount, currency, code, order_code, entry_code, description, timeout, alongside):
    """Take a payment by payment code (--code), order code (--order-code) or the store's entry code
    (--entry-code: the customer scans it and types the amount; it waits for the matching payment until the
    match window ends) and run it to a final state (exit 0 only when paid)."""
    if [code is not None, order_code, entry_code].count(True) != 1:
        raise click.UsageError("give one of --code CODE, --order-code or --entry-code")
    if currency is not None:
        parse_money(amount, currency.upper())  # a typo is told before anything starts
    how = {"entry_code": True} if entry_code else {"code": code, "order_code": order_code}
    with opts.runtime() as rt:
        data = _take(opts, rt, amount, currency, timeout, description=description, alongside=alongside, **how)
        emit(opts, data, outcome_lines(data))   # said now: stopping waits for the receipt to print (or fail)
    return EXIT[data["status"]]


def _take(opts, rt, amount_text: str, currency: str | None, timeout: float | None, **how) -> dict:
    t, grant = rt.terminal, grants.counter()
    amount = parse_money(amount_text, (currency or t.config.merchant.currency).upper())
    watch(opts, t)
    _say_the_hop(opts, t)
    if how.get("entry_code"):
        t.on_code.add(lambda sale_id, value, expires_at: _show_entry_code(opts, value, amount, expires_at))
    else:
        t.on_code.add(lambda sale_id, value, expires_at: show_code(opts, value, expires_at))
    progress(opts, f"sale of {amount}" + (" (sandbox)" if rt.sandbox else ""))

    def done(s) -> bool:
        return settled(s) or (s.accepted_at_risk and s.phase is pf.Phase.NEW)
    try:
        sale = services.sales.sale(grant, t, amount, **how)
        sale = t.wait(sale.id, done, timeout)
        if not done(sale) and sale.phase is pf.Phase.WAITING:
            progress(opts, "timed out: stopping the entry-code sale" if sale.tender == pf.ENTRY_CODE
                     else "timed out: cancelling the order code")
            services.sales.abort(grant, t, sale.id, "the terminal stopped waiting (--timeout)")
            sale = t.wait(sale.id, done, 60)
    except KeyboardInterrupt:
        if t.last_sale_id is None or t.load(t.last_sale_id) is None:
            raise  # nothing was journaled: nothing was sent
        sale = _interrupted(opts, t, t.last_sale_id, done)
    data = t.summary(sale)
    if not done(sale) and sale.id == t.last_sale_id and not sale.final:
        data["message"] = (f"not settled yet ({describe(sale)}): it stays scheduled, and the terminal's next "
                           f"start or `pos-terminal reconcile` settles it with the gateway")
    return data


def _say_the_hop(opts, t) -> None:
    """When the proxy or TLS (not the link) keeps a sale from the gateway, say that hop, who fixes it and the
    client's own words for the technician, once per change: 'waiting for the link' alone would send the cashier
    waiting for something that will not heal."""
    said: dict[str, str] = {}

    def changed(txn_id: str) -> None:
        txn = t.load(txn_id)
        hop = split_path_trouble(txn.trouble) if isinstance(txn, pf.Sale) else None
        if hop is None or said.get(txn_id) == txn.trouble:
            return
        said[txn_id] = txn.trouble
        head, fix = PATH_TROUBLE_WORDS[hop[0]]
        progress(opts, _("{what}. {fix}").format(what=_(head), fix=_(fix).format(setting=hop[1])))
        if txn.message and not txn.final:
            progress(opts, _("  for the technician: {words}").format(words=stored(txn.message)))
    t.on_change.add(changed)


def _show_entry_code(opts, value: str, amount, until: float | None) -> None:
    """The store's static code, for the customer to scan and type the amount into the wallet."""
    import sys
    import time

    from .output import draw_qr
    out = sys.stderr if opts.json else sys.stdout
    left = f"; waiting {max(0, int(until - time.time()))} s for the payment" if until else ""
    print(f"entry code: {value} (the customer scans it and enters {amount}{left})", file=out, flush=True)
    draw_qr(value, out)


def _interrupted(opts, t, sale_id: str, done):
    """Ctrl-C: the sale may already be at the gateway, so it is cancelled and settled before exiting; a
    second Ctrl-C leaves it scheduled for the next start."""
    progress(opts, f"interrupted: cancelling sale {sale_id}; waiting for the gateway to confirm "
                   f"(Ctrl-C again to leave it to the next start)")
    sale = t.interrupted(sale_id, "interrupted at the terminal")
    try:
        sale = t.wait(sale.id, done, 60)
    except KeyboardInterrupt:
        progress(opts, f"interrupted again: sale {sale_id} is left open and settled at the next start")
        return t.load(sale_id)
    if sale.phase is pf.Phase.PAID:   # a payment known to be paid is never cancelled
        progress(opts, "the payment went through before the interrupt could stop it: hand over the goods, or "
                       "have a manager refund it")
    return sale


@command()
@click.argument("payment", metavar="PAYMENT")
@click.option("--reason", help="why (required to reverse a paid sale; audited)")
@by_option
@timeout_option(60.0, "wait at most this long")
def cancel(opts, payment, reason, by, timeout):
    """Cancel the sale PAYMENT (paymentRequestId or paymentId): close an open one (the cashier's abort,
    as Esc in the window), or reverse a paid one in full (manager PIN and --reason). Exit 0 once nothing
    stays charged."""
    with opts.runtime() as rt:
        t = rt.terminal
        watch(opts, t)
        row = t.journal.find(payment, "sale")
        if row is not None and not row["final"]:
            txn = services.sales.abort(grants.counter(by), t, row["id"], reason or N_("cancelled on request"))
        elif row is not None and services.manager.reverses(row):   # moves money back: the manager's
            services.manager.check_reason(reason, "cancel")
            txn = services.manager.cancel(grants.manager(t.journal, by), t, payment, reason)
        else:   # not ours, or final and not paid: the use case says which
            txn = services.manager.cancel(grants.counter(by), t, payment, reason)
        data = follow(t, txn, timeout)
    emit(opts, data, outcome_lines(data))
    return cancel_exit(data)


@command()
@click.argument("payment", metavar="PAYMENT")
def inquiry(opts, payment):
    """Ask the gateway now about PAYMENT (paymentRequestId, paymentId or refundRequestId); an open sale
    learns from the answer. Exit 3 when the gateway's answer is not known."""
    with opts.runtime(receiver=False, background=False) as rt:
        result = services.sales.inquiry(grants.counter(), rt.terminal, payment)
        outcome, body = result.answer, result.answer.body or {}
        gw = {"status": outcome.status.value, "resultCode": outcome.result_code, "message": outcome.message,
              "paymentStatus": body.get("paymentStatus"), "refundStatus": body.get("refundStatus")}
        ours = rt.terminal.summary(result.txn) if result.txn is not None else None
    said = gw["paymentStatus"] or gw["refundStatus"] or gw["status"]
    lines = [f"gateway: {said} ({gw['resultCode']}: {gw['message']})",
             f"journal: {ours['status']}" if ours else "journal: not a payment of this terminal"]
    emit(opts, {"gateway": gw, "journal": ours}, lines)
    return 3 if result.unknown else 0


def _entry_code_waits(opts) -> bool:
    """Whether an entry-code sale is open: the gateway tells its payment by notification only (nothing can be
    asked for it), so settling it means listening, or its window ends unheard while the customer has paid."""
    try:
        with opts.journal(readonly=True) as journal:
            return any(r["tender"] == pf.ENTRY_CODE for r in journal.open_transactions())
    except PosError:
        return False   # no journal yet, or unreadable: the runtime says so in its own words


@command()
@timeout_option(None, "stop after this long")
def reconcile(opts, timeout):
    """Settle every open transaction with the gateway (exit 3 while some stay open)."""
    with opts.runtime(receiver=_entry_code_waits(opts), background=False) as rt:
        watch(opts, rt.terminal)
        progress(opts, f"settling {len(rt.terminal.journal.open_transactions())} open transaction(s)")
        data = services.sales.reconcile(grants.counter(), rt.terminal, timeout)
    lines = [f"settled {data['settled']}, still open {data['still_open']}"]
    lines += [f"  {i['status']:12} {i['kind']:6} {i['paymentRequestId']} {i.get('message') or ''}"
              for i in data["items"]]
    emit(opts, data, lines)
    return 0 if data["still_open"] == 0 else 3


@command()
@click.option("--drain", is_flag=True,
              help="try everything waiting now, not at its retry time (the technician's Drain now)")
def queue(opts, drain):
    """What waits in the outbox for the link: count, per-currency totals, oldest age."""
    from ..money import format_minor
    if drain:
        with opts.runtime(receiver=False, background=False) as rt:
            drained = services.sales.drain(grants.counter(), rt.terminal)
        progress(opts, f"drain: {drained.advanced} advanced")
        data = drained.to_json()
    else:
        with opts.journal(readonly=True) as journal:
            data = services.sales.queue(grants.counter(), journal)
    oldest = f", oldest {data['oldestAgeSeconds']:.0f} s" if data["count"] else ""
    lines = [f"{data['count']} request(s) waiting{oldest}"]
    lines += [f"  {c}: {format_minor(int(v['value']), c)}" for c, v in data["totals"].items()]
    lines += [f"  {i['api']:7} {i['status']:8} {i['paymentRequestId']}" for i in data["items"]]
    emit(opts, data, lines)
    return 0


# -- entry-code payments nobody waited for ----------------------------------------------------------------------
@command("entry-payments", group=True, invoke_without_command=True)
def entry_payments(opts):
    """Entry-code payments that came with no waiting amount (oldest first), each with the waiting sales it
    could be assigned to."""
    with opts.runtime(receiver=False, background=False) as rt:
        items = services.sales.entry_payments(grants.counter(), rt.terminal)
    lines = [f"{i['id']}  {i['paymentId']}  {format_minor(int(i['amount']['value']), i['amount']['currency'])} "
             f"{i['amount']['currency']}" + (f"  could be: {', '.join(i['waiting'])}" if i["waiting"] else "")
             for i in items] or ["no unmatched entry-code payments"]
    emit(opts, {"items": items}, lines)
    return 0


@command("assign", parent=entry_payments)
@click.argument("payment", metavar="PAYMENT")
@click.option("--to", "sale_ref", metavar="SALE",
              help="the waiting entry-code sale it pays (without --to: acknowledged as a sale of its own; manager PIN)")
@by_option
def entry_payments_assign(opts, payment, sale_ref, by):
    """Assign the unmatched entry-code payment PAYMENT (its id or paymentId) to the waiting sale SALE, which is
    then paid; or, without --to, acknowledge it as a sale of its own (manager PIN). Audited."""
    with opts.runtime(receiver=False, background=False) as rt:
        t = rt.terminal
        grant = grants.counter(by) if sale_ref else grants.manager(t.journal, by)
        txn = services.sales.assign_entry_payment(grant, t, payment, sale_ref)
        data = t.summary(txn)
    emit(opts, data, outcome_lines(data))
    return 0
