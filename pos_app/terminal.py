"""The terminal: the imperative shell around the pure flows.

It owns the journal, the gateway client and the link monitor, and does for each transaction what its
state machine says, in the one order that keeps the promise: compute the next state, **commit it**,
then send; journal the answer, then act on it. Every path a person can take (the CLI today, the Qt
windows later) goes through these methods, so the tests and benchmarks exercise what the buttons do.

Threads: any method may be called from any thread. A re-entrant lock guards "load, step, commit" of a
transaction; the network call happens outside it, and the answer is applied to the state as it is
*then* (a notification may have settled it meanwhile). The :class:`~offline_queue.reconciler.Reconciler`
thread drives whatever is due; :meth:`wait` blocks until a transaction is settled.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offline_queue import outbound
from offline_queue.journal import Journal, JournalError, business_day

from . import entry_code, messages, rows
from . import followup_flow as ff
from . import payment_flow as pf
from .answers import PaymentNotice, RefundNotice, answer_of, decode_notification, notification_detail, outcome_detail
from .config import Config
from .errors import OutcomeNotJournaled, PosError
from .gateway import Delivery, GatewayClient, Outcome, Status
from .i18n import N_, _
from .link import Link
from .listeners import Listeners
from .money import Money, format_minor
from .risk import RiskPolicy
from .rows import Txn, queue_status
from .scan import PAYMENT_CODE, classify, mask
from .vocabulary import CANCEL, FAILED, KIND_WORDS, NEEDS_REVIEW, REFUND, SALE, SUCCESS, UNKNOWN, UNSETTLED

log = logging.getLogger(__name__)

__all__ = ["Terminal", "Txn", "answer_of", "new_request_id", "queue_status", "timing_from"]

#: Why a new sale is refused while this one is open, one whole sentence a phase (a translator sees each).
OPEN_SALE_WORDS = {
    pf.Phase.NEW: N_("sale {id} ({amount}) is queued: it was not sent yet and goes out when the link is back"),
    pf.Phase.SENDING: N_("sale {id} ({amount}) is being sent to the gateway"),
    pf.Phase.WAITING: N_("sale {id} ({amount}) is waiting for the customer to pay its order code or entry code"),
    pf.Phase.INQUIRING: N_("sale {id} ({amount}) is not settled yet: the gateway is being asked for its outcome"),
    pf.Phase.CANCELLING: N_("sale {id} ({amount}) is being cancelled"),
}

#: A sent request whose answer the journal could not record, by kind (English in the JSON, translated when shown).
NOT_JOURNALED_WORDS = {
    SALE: N_("the payment {id} was sent to the gateway, but its answer could not be written to the journal "
             "({reason}): its outcome is not known yet and will be settled with the gateway"),
    REFUND: N_("the refund {id} was sent to the gateway, but its answer could not be written to the journal "
               "({reason}): its outcome is not known yet and will be settled with the gateway"),
    CANCEL: N_("the cancel {id} was sent to the gateway, but its answer could not be written to the journal "
               "({reason}): its outcome is not known yet and will be settled with the gateway"),
}


def _named(ref: str) -> str:
    """An id a person gave, for an error: whole when short, else its start and length (a pasted page is not
    echoed back whole)."""
    return repr(ref) if len(ref) <= 64 else _("{start}… ({count} characters)").format(start=repr(ref[:32])[:-1],
                                                                                     count=len(ref))


def _kind(kind: str) -> str:
    """A transaction kind in the person's language (the code itself in English)."""
    return _(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


#: Without a store (or on an office machine), the store's queue keeps a week of changes, looked at hourly; a
#: store added later gets the whole history anyway (offline_queue.outbound.requeue_history).
QUEUE_KEPT, QUEUE_FORGET_EVERY = 7 * 86_400.0, 3_600.0


def new_request_id(prefix: str) -> str:
    """Unique, ≤ 64 characters, and sortable by time for people reading a ledger."""
    return f"{prefix}{time.strftime('%Y%m%d%H%M%S')}{uuid.uuid4().hex[:16]}"


def timing_from(config: Config) -> pf.Timing:
    p = config.payments
    return pf.Timing(inquiry_intervals=p.inquiry_intervals, cancel_intervals=p.cancel_intervals,
                     code_validity=p.code_validity, order_code_poll=p.order_code_poll,
                     review_interval=p.review_interval, offline_retry=config.offline.probe_interval,
                     entry_window=config.entry_code.match_window)


class Terminal:
    """One store terminal: a journal in ``data_dir``, a gateway, and the flows between them."""

    def __init__(self, config: Config, data_dir: Path | str, *, client: GatewayClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.timing = timing_from(config)
        self.policy = RiskPolicy(config.offline.merchant_risk, dict(config.offline.max_per_payment),
                                 dict(config.offline.max_total))
        self.clock = clock
        self.client = client or GatewayClient.from_config(config)
        self.link = Link(config.gateway.url, probe_interval=config.offline.probe_interval,
                         proxy=self.client.proxy)  # the probe goes where the calls go
        self.journal = Journal.open(self.data_dir)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.on_code = Listeners("order code")   # (sale_id, value, expires_at): show it to the customer
        self.on_change = Listeners("change")     # (txn_id): a transaction moved
        # When the WAL must next be truncated (a code was dropped). Once at start too: a run that died
        # may have left a code in the WAL it never got to truncate.
        self._scrub_at: float | None = time.monotonic()
        self._forget_at = time.monotonic()   # a terminal without a store forgets its queue's old rows (hourly)
        self.last_sale_id: str | None = None
        self._in_flight: set[str] = set()  # follow-ups being resent without a commit of the attempt
        self.drain_workers = 4  # a backlog drains with this many calls in flight: the gateway, not us, bounds it
        self._pool: ThreadPoolExecutor | None = None
        # Follow-ups an earlier run left unfinished: whoever asked for them never saw the outcome, so the
        # next request for the same sale is likely that person asking again (see _refuse_a_repeat).
        self._unreported: set[str] = set()
        self._quiet_until = 0.0  # when a journal problem met by the reconciler may be logged again
        self._orphans: set[str] = set()  # sent, answer not journaled: resumed as after a crash (housekeeping)
        self.recovered = self._recover()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.client.close()
        self.journal.close()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def notify_url(self) -> str:
        return self.config.notifications.public_url

    # -- loading and saving ---------------------------------------------------------------------------
    def load(self, txn_id: str) -> Txn | None:
        row = self.journal.get(txn_id)
        return None if row is None else self._from_row(row)

    def _from_row(self, row) -> Txn:
        return rows.from_row(row, self.timing, self.journal.path)

    def _txn(self, txn_id: str) -> Txn:
        """A transaction this terminal journaled (the caller holds its id; rows are never deleted)."""
        txn = self.load(txn_id)
        if txn is None:
            raise JournalError(_("{path}: transaction {id} is not in the journal").format(path=self.journal.path,
                                                                                           id=txn_id),
                               hint=_("keep the file and report this"))
        return txn

    def _sale(self, sale_id: str) -> pf.Sale:
        txn = self._txn(sale_id)
        if not isinstance(txn, pf.Sale):
            raise PosError(_("{id} is a {kind}, not a sale").format(id=sale_id, kind=_kind(txn.kind)),
                           hint=_("give the sale's paymentRequestId or paymentId"))
        return txn

    def _followup(self, txn_id: str) -> ff.Followup:
        txn = self._txn(txn_id)
        if not isinstance(txn, ff.Followup):
            raise PosError(_("{id} is a sale, not a refund or cancel").format(id=txn_id))
        return txn

    def _save(self, before: Txn | None, after: Txn, now: float, events: list[tuple[str, dict]],
              effects=(), *, insert_extra: dict | None = None, outbox_put=None, columns: dict | None = None,
              also: Sequence[tuple] = ()) -> None:
        """Commit a transaction's new state (and any ``also`` changes, atomically with it: (before, after,
        events, effects[, columns]))."""
        changes = [rows.change_of(before, after, now, events, effects, insert_extra, outbox_put, columns)]
        changes += [rows.change_of(b, a, now, ev, eff, None, None, *more) for b, a, ev, eff, *more in also]
        self.journal.record_many(changes)
        if any(options["outbox_drop"] == "pay" for _change, options in changes) and self._scrub_at is None:
            self._scrub_at = time.monotonic() + 1.0
        self.changed.notify_all()
        for b, a in [(before, after)] + [(b, a) for b, a, *_rest in also]:
            if b is None or b != a:
                self.on_change(a.id)

    def _recover(self) -> list[str]:
        """Resume every transaction a previous run left open (it may have died mid-send)."""
        resumed = []
        with self.lock:
            now = self.clock()
            for row in self.journal.open_transactions():
                try:
                    txn = self._from_row(row)
                except JournalError as exc:
                    log.error("%s", exc)  # one unreadable row must not keep the terminal from starting
                    continue
                after, effects = self._step(txn, pf.Recovered(), now)
                self._save(txn, after, now, [("recovered", {"phase": txn.phase.value})], effects)
                resumed.append(txn.id)
                if isinstance(txn, ff.Followup):
                    self._unreported.add(txn.id)
        if resumed:
            log.info("resumed %d open transaction(s) from an earlier run", len(resumed))
        return resumed

    @staticmethod
    def _step(txn: Txn, event, now: float):
        return pf.step(txn, event, now) if isinstance(txn, pf.Sale) else ff.step(txn, event, now)

    # -- sales ----------------------------------------------------------------------------------------
    def start_sale(self, amount: Money, *, code: str | None = None, order_code: bool = False,
                   description: str = "", reference: str | None = None, alongside: bool = False) -> pf.Sale:
        """Journal a sale, send its pay, and apply the answer. Returns the sale as it then stands.

        A payment-code sale that the gateway answers at once is final on return; otherwise the
        reconciler (or :meth:`settle`) carries it on. While another sale's outcome is unknown a new one
        is refused (one customer at a counter at a time) unless ``alongside`` says otherwise.
        """
        if (code is None) == (not order_code):
            raise PosError(_("a sale needs either a scanned payment code or the order-code tender"))
        if not alongside:
            self._refuse_while_a_sale_is_open()
        if code is not None:
            scanned = classify(code)
            if scanned.kind != PAYMENT_CODE:
                raise PosError(_("that is not a payment code: {reason}").format(reason=scanned.reason or scanned.kind),
                               hint=_("scan the code in the customer's wallet app (Alipay / Alipay+)"))
            code = scanned.value
        description = (description or f"{self.config.merchant.store_name} sale").strip()[:256]
        now = self.clock()
        sale_id = new_request_id("PR")
        tender = pf.ORDER_CODE if order_code else pf.PAYMENT_CODE
        sale = pf.new_sale(sale_id, tender, amount.currency, amount.minor, now, self.timing)
        self.last_sale_id = sale_id
        if code is None:
            expiry = datetime.fromtimestamp(now + self.config.payments.order_code_expiry, UTC)
            request = messages.pay_order_code(self.config.merchant, sale_id, amount, description=description,
                                              notify_url=self.notify_url, reference_order_id=reference,
                                              expiry=expiry)
        else:
            request = messages.pay_payment_code(self.config.merchant, sale_id, amount, code,
                                                description=description, notify_url=self.notify_url,
                                                reference_order_id=reference)
        link_up = self.link.up()  # may probe the network: never under the lock
        self._preflight()
        with self.lock:
            if not alongside:  # again under the lock: another thread of this terminal may have started one
                self._refuse_while_a_sale_is_open()
            after, effects = pf.step(sale, pf.Tick(link_up), now)
            self._save(None, after, now, [("created", {"tender": tender, "amount": amount.to_api(),
                                                       "code": mask(code) if code else None})], effects,
                       insert_extra={"kind": "sale", "tender": tender, "currency": amount.currency,
                                     "amount": amount.minor, "description": description,
                                     "code_masked": mask(code) if code else None, "created_at": now,
                                     "day": business_day(now)},
                       outbox_put=("pay", request.body))
        self._execute(after, effects)
        sale = self._sale(sale_id)
        if sale.phase is pf.Phase.NEW:
            sale = self._maybe_accept_at_risk(sale)
        return sale

    def start_entry_code(self, amount: Money, *, description: str = "", alongside: bool = False) -> pf.Sale:
        """Wait for the customer to pay ``amount`` through the store's static entry code. Nothing is sent:
        the sale is journaled WAITING and a matching notification settles it (:mod:`pos_app.entry_code`), or
        its window ends (VOIDED, NOT_PAID_IN_TIME). One open sale at a time, as for the other tenders."""
        code = self.config.entry_code.code
        if not code:
            raise PosError(_("this terminal has no entry code"),
                           hint=_("put the store's entry code, as the acquirer issued it, in [entry_code] code"))
        if not alongside:
            self._refuse_while_a_sale_is_open()
        description = (description or f"{self.config.merchant.store_name} sale").strip()[:256]
        self._preflight()
        with self.lock:
            if not alongside:
                self._refuse_while_a_sale_is_open()
            now = self.clock()
            sale_id = new_request_id("PR")
            self.last_sale_id = sale_id
            sale = pf.new_sale(sale_id, pf.ENTRY_CODE, amount.currency, amount.minor, now, self.timing,
                               code_value=code)
            self._save(None, sale, now, [("created", {"tender": pf.ENTRY_CODE, "amount": amount.to_api(),
                                                      "entryCode": code, "window": self.timing.entry_window})],
                       insert_extra={"kind": "sale", "tender": pf.ENTRY_CODE, "currency": amount.currency,
                                     "amount": amount.minor, "description": description, "created_at": now,
                                     "day": business_day(now)})
        self.on_code(sale.id, code, sale.code_expires_at)
        return self._sale(sale_id)

    def _maybe_accept_at_risk(self, sale: pf.Sale) -> pf.Sale:
        with self.lock:
            at_risk = sum(s.amount for s in self._open_sales() if s.accepted_at_risk and s.currency == sale.currency)
            ok, why = self.policy.allows(sale.currency, sale.amount, at_risk)
            current = self._sale(sale.id)
            if not ok or current.phase is not pf.Phase.NEW:
                return current
            after = dataclasses.replace(current, accepted_at_risk=True,
                                        message="offline: accepted at the merchant's risk; it is sent when "
                                                "the link is back")
            self._save(current, after, self.clock(), [("accepted_at_risk", {"why": why})])
            return after

    def _refuse_while_a_sale_is_open(self) -> None:
        """One customer at a time: a sale that is not final may still charge its customer, so a rescan
        (a second sale) could charge them twice. Two kinds of open sale do not block the counter: one
        needing review (a manager's matter, retried in the background) and a queued one the merchant
        accepted at its own risk (that customer has left with the goods)."""
        for sale in self._open_sales():
            if sale.phase is pf.Phase.NEEDS_REVIEW or (sale.phase is pf.Phase.NEW and sale.accepted_at_risk):
                continue
            amount = f"{format_minor(sale.amount, sale.currency)} {sale.currency}"
            message = _(OPEN_SALE_WORDS.get(sale.phase, N_("sale {id} ({amount}) is still open")))
            raise PosError(message.format(id=sale.id, amount=amount),
                           hint=_("finish it before taking another payment, or a rescan could charge the customer "
                                  "twice: wait for its outcome (`pos-terminal reconcile`), or cancel it "
                                  "(`pos-terminal cancel {id}`); only for surely another customer, take "
                                  "the new sale alongside it").format(id=sale.id))

    def _preflight(self, *txns: str) -> None:
        """Refuse to send what the journal could not record the answer of (full disk, unreadable pages)."""
        self.journal.preflight(txns)

    def _open_sales(self) -> list[pf.Sale]:
        """Only the sales are parsed: a backlog of queued refunds must not slow every scan."""
        return [self._sale(r["id"]) for r in self.journal.open_transactions() if r["kind"] == "sale"]

    def abort(self, sale_id: str, reason: str = N_("cancelled by the cashier")) -> pf.Sale:
        """Stop an open sale, recorded in this commit: void it if it never left, cancel it if it may have; with
        its pay in flight, the pay's outcome decides (paid → cancel, unknown → inquire then cancel, failed →
        done). A sale not in an abortable phase is returned as it is."""
        with self.lock:
            sale = self._sale(sale_id)
            now = self.clock()
            after, effects = pf.step(sale, pf.Abort(reason), now)
            self._save(sale, after, now, [("abort", {"reason": reason})], effects)
        return after

    def _refuse_a_repeat(self, sale_row, children) -> None:
        """A refund or cancel of this sale that an earlier run left unfinished was resumed at this start
        and may be done by now: a new request for the sale is most likely its asker trying again, so the
        first such request is refused with that follow-up's outcome instead of moving money twice."""
        for c in children:
            if c["id"] in self._unreported:
                self._unreported.discard(c["id"])
                amount = f"{format_minor(c['amount'], sale_row['currency'])} {sale_row['currency']}"
                if not c["final"]:
                    message = _("{kind} {id} of {amount} on sale {sale} was left unfinished by an earlier run and is "
                                "being completed with the gateway")
                elif c["status"] == SUCCESS:
                    message = _("{kind} {id} of {amount} on sale {sale} was left unfinished by an earlier run and has "
                                "now been completed")
                elif c["status"] == FAILED:
                    message = _("{kind} {id} of {amount} on sale {sale} was left unfinished by an earlier run and has "
                                "failed")
                else:
                    message = _("{kind} {id} of {amount} on sale {sale} was left unfinished by an earlier run and "
                                "{status}")
                raise PosError(message.format(kind=_kind(c["kind"]), id=c["id"], amount=amount, sale=sale_row["id"],
                                              status=c["status"]),
                               hint=_("check the sale (`pos-terminal report`) before asking again: ask again only if "
                                      "more must go back"))

    def interrupted(self, sale_id: str, reason: str) -> pf.Sale:
        """The caller that was sending this sale's pay gave up on it (Ctrl-C) and will never apply the
        answer: the pay may have reached the gateway, so it is settled as after a crash (inquiry, then
        cancel), and the sale is aborted, which cancels it unless the gateway says it is already final. The
        abort and the unknown outcome are one commit."""
        with self.lock:
            sale = self._sale(sale_id)
            now = self.clock()
            after, effects = pf.step(sale, pf.Abort(reason), now)
            events = [("abort", {"reason": reason})]
            if after.phase is pf.Phase.SENDING:
                after, more = pf.step(after, pf.Recovered(), now)
                effects += more
                events.append(("interrupted", {"phase": sale.phase.value}))
            self._save(sale, after, now, events, effects)
        return after

    # -- follow-ups: refund, and a manager's cancel of a paid sale -------------------------------------
    def sale_row(self, ref: str):
        """The journal's row of the sale ``ref`` names (paymentRequestId or paymentId), or a PosError."""
        row = self.journal.find(ref, "sale")
        if row is None:
            raise PosError(_("no sale {ref} in this terminal's journal").format(ref=repr(ref)),
                           hint=_("give the paymentRequestId or paymentId from the receipt or `pos-terminal report`"))
        return row

    def refundable(self, sale_id: str) -> int:
        """What is left to refund of a sale, in minor units: its amount less every refund not failed
        (an unsettled one counts: it may yet succeed)."""
        row = self.sale_row(sale_id)
        taken = sum(c["amount"] for c in self.journal.children(sale_id)
                    if c["kind"] == REFUND and c["status"] != FAILED)
        return row["amount"] - taken

    @staticmethod
    def _payment_id(sale: pf.Sale) -> str:
        if not sale.payment_id:
            raise PosError(_("sale {id} has no paymentId from the gateway yet").format(id=sale.id),
                           hint=_("run `pos-terminal inquiry` on it first"))
        return sale.payment_id

    def _paid_sale(self, row, action: str) -> pf.Sale:
        sale = self._sale(row["id"])
        if sale.phase is not pf.Phase.PAID:
            message = (_("sale {id} is {status}, not paid: there is nothing to refund") if action == REFUND else
                       _("sale {id} is {status}, not paid: there is nothing to cancel"))
            raise PosError(message.format(id=sale.id, status=sale.status))
        self._payment_id(sale)
        return sale

    def refund(self, ref: str, amount: Money, reason: str | None = None) -> ff.Followup:
        """Journal a refund of a paid sale and send it once; the reconciler carries on if it is unknown."""
        link_up = self.link.up()
        self._preflight()
        with self.lock:
            row = self.sale_row(ref)
            children = self.journal.children(row["id"])
            self._refuse_a_repeat(row, children)   # before "not paid": a resumed cancel may be why
            sale = self._paid_sale(row, REFUND)
            if amount.currency != sale.currency:
                raise PosError(_("the sale was in {currency}, not {given}").format(currency=sale.currency,
                                                                                   given=amount.currency))
            if any(c["kind"] == CANCEL and c["status"] != FAILED for c in children):
                raise PosError(_("sale {id} is being cancelled in full: there is nothing to refund").format(id=sale.id),
                               hint=_("`pos-terminal reconcile` settles the cancel"))
            open_refund = next((c for c in children if c["kind"] == "refund" and not c["final"]), None)
            if open_refund is not None:
                # Asked again after a crash or a lost answer: the first refund is resent under its own id and
                # completes; a second one would move the money twice.
                raise PosError(_("refund {id} of {amount} {currency} on sale {sale} is not finished yet; it is being "
                                 "completed with the gateway").format(
                                   id=open_refund["id"], amount=format_minor(open_refund["amount"], sale.currency),
                                   currency=sale.currency, sale=sale.id),
                               hint=_("wait for it (`pos-terminal reconcile`), then check the sale before refunding "
                                      "more"))
            left = self.refundable(sale.id)
            if amount.minor > left:
                raise PosError(_("that is more than is left to refund: {amount} {currency}").format(
                                   amount=format_minor(left, sale.currency), currency=sale.currency),
                               hint=_("refunds of one sale add up to at most what was paid"))
            now = self.clock()
            f = ff.new_followup(new_request_id("RF"), ff.REFUND, sale.id, sale.currency, amount.minor, now,
                                self.timing)
            request = messages.refund(f.id, self._payment_id(sale), amount, notify_url=self.notify_url, reason=reason)
            after, effects = ff.step(f, pf.Tick(link_up), now)
            self._save(None, after, now, [("created", {"sale": sale.id, "amount": amount.to_api(),
                                                       "reason": reason})], effects,
                       insert_extra={"kind": "refund", "parent": sale.id, "currency": sale.currency,
                                     "amount": amount.minor, "description": reason or "",
                                     "created_at": now, "day": business_day(now)},
                       outbox_put=("refund", request.body))
        self._execute(after, effects)
        return self._followup(f.id)

    def cancel(self, ref: str) -> Txn:
        """Cancel a sale: an open one is aborted; a paid one is reversed in full by a cancel request."""
        row = self.sale_row(ref)
        link_up = self.link.up()
        self._preflight(row["id"])
        with self.lock:
            row = self.sale_row(row["id"])   # as it is now, under the lock
            sale = self._sale(row["id"])
            if not sale.final:   # the cashier's abort; a pay in flight is cancelled once its outcome is known
                return self.abort(sale.id, N_("cancelled on request"))
            children = self.journal.children(row["id"])
            self._refuse_a_repeat(row, children)   # before "not paid": a resumed refund or cancel may be why
            sale = self._paid_sale(row, CANCEL)
            others = [c for c in children if c["status"] != FAILED]
            open_one = next((c for c in others if not c["final"]), None)
            if open_one is not None:
                raise PosError(_("{kind} {id} of sale {sale} is not finished yet; it is being completed with the "
                                 "gateway").format(kind=_kind(open_one["kind"]), id=open_one["id"], sale=sale.id),
                               hint=_("wait for it (`pos-terminal reconcile`), then check the sale"))
            if any(c["kind"] == "refund" for c in others):
                raise PosError(_("sale {id} has a refund, so it can no longer be cancelled").format(id=sale.id),
                               hint=_("refund what is left instead"))
            if any(c["kind"] == "cancel" for c in others):
                raise PosError(_("sale {id} is already cancelled").format(id=sale.id), hint=_("nothing stays charged"))
            now = self.clock()
            f = ff.new_followup(new_request_id("CX"), ff.CANCEL, sale.id, sale.currency, sale.amount, now, self.timing)
            # The gateway knows an entry-code payment by its paymentId only (the request id was its page's).
            request = messages.cancel(payment_id=sale.payment_id) if sale.tender == pf.ENTRY_CODE else \
                messages.cancel(payment_request_id=sale.id)
            after, effects = ff.step(f, pf.Tick(link_up), now)
            self._save(None, after, now, [("created", {"sale": sale.id})], effects,
                       insert_extra={"kind": "cancel", "parent": sale.id, "currency": sale.currency,
                                     "amount": sale.amount, "created_at": now, "day": business_day(now)},
                       outbox_put=("cancel", request.body))
        self._execute(after, effects)
        return self._followup(f.id)

    # -- inquiry --------------------------------------------------------------------------------------
    def inquiry(self, ref: str) -> tuple[Outcome, Txn | None]:
        """Ask the gateway about a payment (or refund) now; an open sale learns from the answer."""
        if not 0 < len(ref) <= messages.MAX_ID:
            raise PosError(_("{ref} is not a payment id").format(ref=repr(ref)),
                           hint=_("ids are 1 to {max} characters").format(max=messages.MAX_ID))
        row = self.journal.find(ref)
        if row is not None and row["kind"] == "refund":
            return self._ask_refund(row["id"])[0], self.load(row["id"])
        if row is not None and row["kind"] == "cancel":
            row = self.journal.get(row["parent"])
        if row is None:
            request = messages.inquiry_payment(payment_id=ref) if not ref.startswith("PR") else \
                messages.inquiry_payment(payment_request_id=ref)
            outcome = self.client.send(request)
            return outcome, None
        if row["tender"] == pf.ENTRY_CODE:   # the gateway never saw our id: ask by paymentId, learn nothing new
            if not row["payment_id"]:
                raise PosError(_("sale {id} waits for an entry-code payment: the gateway knows nothing of it until "
                                 "the customer pays").format(id=row["id"]),
                               hint=_("wait for the payment, or stop the sale"))
            outcome = self.client.send(messages.inquiry_payment(payment_id=row["payment_id"]))
            self.link.note(outcome)
            return outcome, self.load(row["id"])
        outcome = self.client.send(messages.inquiry_payment(payment_request_id=row["id"]))
        self.link.note(outcome)
        with self.lock:
            sale = self._sale(row["id"])
            now = self.clock()
            after, effects = pf.step(sale, pf.InquiryAnswered(answer_of(outcome)), now)
            self._save(sale, after, now, [("answer", outcome_detail("inquiryPayment", outcome))], effects)
        return outcome, after

    # -- notifications --------------------------------------------------------------------------------
    def apply_notification(self, body: dict) -> None:
        """Journal a verified notification and apply it; idempotent, in any order, even before the answer."""
        notice = decode_notification(body)
        detail = notification_detail(body)
        if isinstance(notice, PaymentNotice):
            row = self.journal.get(notice.ref) if notice.ref else None
            if row is None and notice.payment_id:
                row = self.journal.find(notice.payment_id, "sale")
            if row is None and entry_code.scenario_of(body) == entry_code.SCENARIO:
                self._entry_code_notice(body, notice, detail)
            elif row is None or row["kind"] != "sale":
                self.journal.log_event(None, "notification_unmatched", detail)
            elif notice.event is None:
                self.journal.log_event(row["id"], "notification_ignored", detail)
            else:
                with self.lock:
                    sale = self._sale(row["id"])
                    now = self.clock()
                    after, effects = pf.step(sale, notice.event, now)
                    self._save(sale, after, now, [("notification", detail)], effects)
        elif isinstance(notice, RefundNotice):
            row = self.journal.get(notice.ref) if notice.ref else None
            if row is None or row["kind"] != "refund" or notice.success is None:
                self.journal.log_event(row["id"] if row else None, "notification_unmatched", detail)
            else:
                self.notified_refund(row["id"], notice.success, notice.refund_id, notice.result_code,
                                     notice.message, detail=detail)
        elif body.get("notifyType") == messages.UNREADABLE_NOTIFICATION:
            self.journal.log_event(None, "notification_unreadable", body)
        else:
            self.journal.log_event(None, "notification_unknown_type", detail)

    def _entry_code_notice(self, body: dict, notice: PaymentNotice, detail: dict) -> None:
        """A verified entry-code payment we have no row for: it settles the oldest waiting sale of its money
        whose window covers it, or is journaled as an unmatched paid payment for a person to assign. Under the
        lock, so a resent notification finds the row the first one made (idempotent by paymentId)."""
        paid = entry_code.paid_of(body, self.clock())
        detail = {**detail, **entry_code.notice_detail(body)}
        if notice.event is None or not notice.event.success:
            self.journal.log_event(None, "notification_unmatched", detail)   # a failed try: nothing to settle
            return
        if paid is None:   # the gateway says paid, but not what or which: money moved, a manager must look
            why = (f"an entry-code payment (paymentId {str(body.get('paymentId'))[:64]}) the gateway reports paid, "
                   f"but {entry_code.unreadable(body)}: nothing was settled with it")
            log.warning("%s; it is on the review list", why)
            self.journal.log_event(None, "notification_unreadable", {
                **detail, "why": why, "originalType": body.get("notifyType")})
            return
        with self.lock:
            if self.journal.find(paid.ref, "sale") is not None:
                self.journal.log_event(None, "notification_repeated", detail)
                return
            now = self.clock()
            waiting = [self._waiting(r) for r in self.journal.waiting_entry_sales(paid.currency, paid.amount)]
            chosen = entry_code.match(paid, waiting)
            if chosen is not None:
                sale = self._sale(chosen.ref)
                after, effects = pf.step(sale, notice.event, now)
                self._save(sale, after, now, [("notification", detail), ("entry_code_matched", {
                    "paymentId": paid.ref, "paidAt": paid.paid_at})], effects)
                return
            payment = pf.unmatched_payment(new_request_id("EP"), paid.currency, paid.amount, now, paid.ref,
                                           self.timing)
            self._save(None, payment, now, [("notification", detail), ("entry_code_unmatched", {
                "paymentId": paid.ref, "paidAt": paid.paid_at})],
                       insert_extra={"kind": "sale", "tender": pf.ENTRY_CODE, "currency": paid.currency,
                                     "amount": paid.amount, "created_at": now, "day": business_day(now),
                                     "description": entry_code.UNMATCHED_DESCRIPTION, "unmatched": 1})

    def entry_payments(self) -> list[dict]:
        """The unmatched entry-code payments, oldest first, each with the waiting sales it could be assigned
        to (same money, paid within one window before the sale started or during it)."""
        unmatched = self.journal.unmatched_payments()
        waiting = [r for r in self.journal.open_transactions() if r["tender"] == pf.ENTRY_CODE
                   and r["phase"] == pf.Phase.WAITING.value]
        items = []
        for r in unmatched:
            paid = entry_code.Paid(r["payment_id"], r["currency"], r["amount"], r["created_at"])
            fits = [w["id"] for w in waiting
                    if r["z_number"] is None and paid in entry_code.claimable(self._waiting(w), [paid])]
            items.append({"id": r["id"], "paymentId": r["payment_id"],
                          "amount": Money(r["amount"], r["currency"]).to_api(), "arrivedAt": r["created_at"],
                          "status": r["status"], "waiting": fits})
        return items

    def _waiting(self, row) -> entry_code.Waiting:
        """A waiting entry-code sale with the window it was started with (its journaled expiry), not today's
        ``match_window``: a setting changed across a restart must not move a sale's window under it."""
        sale = self._sale(row["id"])
        window = (sale.code_expires_at - sale.created_at) if sale.code_expires_at is not None \
            else self.timing.entry_window
        return entry_code.Waiting(row["id"], row["currency"], row["amount"], row["created_at"], window)

    def assign_entry_payment(self, payment_ref: str, sale_ref: str | None, *, by: dict) -> Txn:
        """A person settles an unmatched entry-code payment: into the waiting entry-code sale ``sale_ref`` (that
        sale becomes PAID with the payment's paymentId; the payment's own row closes, ASSIGNED, and lets the
        paymentId go, so the money counts once, on the sale), or, with no sale, acknowledged as a sale of its
        own (it stays PAID and counted; it only leaves the unmatched list). One commit either way."""
        with self.lock:
            row = self.journal.find(payment_ref, "sale")
            if row is None or row["unmatched"] != 1:
                raise PosError(_("{ref} is not an unmatched entry-code payment").format(ref=_named(payment_ref)),
                               hint=_("`pos-terminal entry-payments` lists them"))
            payment = self._sale(row["id"])
            now = self.clock()
            back = [c for c in self.journal.children(row["id"]) if c["status"] != FAILED]
            if sale_ref is not None and (payment.phase is not pf.Phase.PAID or back):
                # its money went (or is going) back to the customer: it pays no goods
                raise PosError(_("entry-code payment {ref} was cancelled or refunded: it cannot pay a sale").format(
                                   ref=repr(payment_ref)),
                               hint=_("the waiting sale needs a payment of its own"))
            if sale_ref is not None and row["z_number"] is not None:
                # a Z counted it as a sale of its own: moving it onto a sale now would count it a second time
                raise PosError(_("entry-code payment {ref} was counted in Z {z} as a sale of its own: it cannot "
                                 "pay a later sale").format(ref=repr(payment_ref), z=row["z_number"]),
                               hint=_("acknowledge it without a sale (manager), and refund it if it was this "
                                      "customer's and they pay again"))
            if sale_ref is None:
                self._save(payment, payment, now, [("entry_payment_acknowledged", by)], columns={"unmatched": None})
                return self._sale(payment.id)
            target = self.journal.find(sale_ref, "sale")
            if target is None or target["tender"] != pf.ENTRY_CODE or target["phase"] != pf.Phase.WAITING.value:
                raise PosError(_("{ref} is not an entry-code sale waiting for its payment").format(
                                   ref=_named(sale_ref)),
                               hint=_("assign it to a waiting entry-code sale, or acknowledge it without one"))
            if (target["currency"], target["amount"]) != (payment.currency, payment.amount):
                words = _("the payment is {paid}, the sale waits for {owed}: they are not the same amount")
                raise PosError(words.format(
                                   paid=f"{format_minor(payment.amount, payment.currency)} {payment.currency}",
                                   owed=f"{format_minor(target['amount'], target['currency'])} {target['currency']}"),
                               hint=_("a payment is assigned only to a sale of its amount; acknowledge it without a "
                                      "sale (manager) and refund it if need be"))
            sale = self._sale(target["id"])
            paid_sale, sale_effects = pf.step(sale, pf.Notified(True, "SUCCESS", "paid", payment.payment_id), now)
            closed, effects = pf.step(payment, pf.Assigned(sale.id), now)
            detail = {**by, "paymentId": payment.payment_id}
            self._save(sale, paid_sale, now, [("entry_payment_assigned", {**detail, "from": payment.id})],
                       sale_effects, also=[(payment, closed, [("entry_payment_assigned", {**detail, "to": sale.id})],
                                            effects, {"unmatched": None, "payment_id": None})])
            return paid_sale

    def notified_refund(self, refund_id: str, success: bool, gateway_id, code: str, message: str, *,
                        source: str = "notification", detail: dict | None = None) -> None:
        with self.lock:
            f = self._followup(refund_id)
            now = self.clock()
            after, effects = ff.step(f, ff.Notified(success, code, message,
                                                     gateway_id if isinstance(gateway_id, str) else None), now)
            self._save(f, after, now, [(source, detail or {"success": success})], effects)

    # -- driving --------------------------------------------------------------------------------------
    def advance(self, txn_id: str) -> Txn:
        """Take one due step of a transaction (a Tick), and carry out what it says."""
        link_up = self.link.up()
        self._preflight(txn_id)  # nothing is (re)sent whose answer the journal could not take
        with self.lock:
            if txn_id in self._in_flight:
                return self._txn(txn_id)
            txn = self._txn(txn_id)
            now = self.clock()
            after, effects = self._step(txn, pf.Tick(link_up), now)
            if after == txn and not effects:
                return txn
            unsaved = None
            if isinstance(txn, ff.Followup) and effects:
                # A refund or cancel is resent under its own id and the gateway answers it once: its
                # write-ahead was the commit that journaled it, and a crash now resends it anyway. So the
                # attempt needs no commit of its own; it is marked in flight in memory instead.
                unsaved = txn
                self._in_flight.add(txn_id)
            else:
                self._save(txn, after, now, [], effects)
        try:
            self._execute(after, effects, unsaved_from=unsaved)
        finally:
            self._in_flight.discard(txn_id)
        return self._txn(txn_id)

    def _execute(self, txn: Txn, effects, *, unsaved_from: Txn | None = None) -> None:
        """Carry out effects in order; each answer is applied (and journaled) before the next send."""
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            if isinstance(effect, pf.ShowCode):
                self.on_code(txn.id, effect.value, effect.expires_at)   # a failing display never loses it
                continue
            if not isinstance(effect, pf.Send):
                continue
            request = self._request(txn, effect.api)
            if request is None and isinstance(txn, ff.Followup) and txn.kind == ff.REFUND \
                    and self._ask_refund(txn.id)[1]:
                return   # its body stayed on another disk (a restore from the store): the gateway told us instead
            if request is None:
                outcome = Outcome(Status.UNKNOWN, "BODY_LOST", "the request to resend is no longer in the outbox")
            else:
                try:
                    outcome = self.client.send(request)
                except Exception as exc:  # a bug below us must not strand a request in flight
                    log.exception("sending %s for %s failed", effect.api, txn.id)
                    outcome = Outcome(Status.UNKNOWN, "CLIENT_ERROR", f"sending failed: {exc}",
                                      delivery=Delivery.MAYBE_DELIVERED)
            self.link.note(outcome)
            answer = answer_of(outcome)
            try:
                after, more = self._apply_answer(txn, effect.api, outcome, answer, unsaved_from)
            except JournalError as exc:
                raise self._not_journaled(txn, effect.api, exc) from None
            unsaved_from = None
            txn = after
            pending.extend(more)

    def _ask_refund(self, refund_id: str) -> tuple[Outcome, bool]:
        """Ask the gateway how a refund ended (inquiryRefund, by our refundRequestId) and settle it when it says;
        (the answer, whether it settled it). Also how a refund to resend whose request body is not here is
        settled (restored from the store after a disk swap: a body never leaves the terminal): it cannot be
        resent, but it can be asked about; unsettled, it goes on as a lost body (a person reviews it)."""
        outcome = self.client.send(messages.inquiry_refund(refund_request_id=refund_id))
        self.link.note(outcome)
        body = outcome.body or {}
        if not (outcome.ok and body.get("refundStatus") in ("SUCCESS", "FAIL")):
            return outcome, False
        self.notified_refund(refund_id, body["refundStatus"] == "SUCCESS", body.get("refundId"), "", "",
                             source="inquiry")
        return outcome, True

    def _not_journaled(self, txn: Txn, api: str, exc: JournalError) -> OutcomeNotJournaled:
        """The request left but its answer cannot be committed: the state committed before the send
        stands, and the next start resumes it as after a crash (inquiry, then cancel if need be)."""
        log.error("the %s for %s was sent but its answer could not be journaled: %s", api, txn.id, exc.message)
        self._orphans.add(txn.id)
        if isinstance(txn, pf.Sale):
            summary: dict[str, Any] = {"status": UNKNOWN, "kind": "sale", "paymentRequestId": txn.id,
                                       "paymentId": txn.payment_id, "tender": txn.tender}
        else:
            summary = {"status": UNKNOWN, "kind": txn.kind, "paymentRequestId": txn.sale_id,
                       ("refundRequestId" if txn.kind == ff.REFUND else "cancelId"): txn.id}
        template = NOT_JOURNALED_WORDS[SALE if isinstance(txn, pf.Sale) else txn.kind]
        summary.update(resultCode="NOT_JOURNALED", message=template.format(id=txn.id, reason=exc.message),
                       amount=Money(txn.amount, txn.currency).to_api())   # the JSON's field stays English
        return OutcomeNotJournaled(_(template).format(id=txn.id, reason=exc.message), summary=summary,
                                   hint=_("free space on the data directory's disk (or, if the journal is damaged, "
                                          "keep it for support), then start the terminal again or run "
                                          "`pos-terminal reconcile`: it asks the gateway and settles it. Do not "
                                          "hand over the goods or take the payment again until then"))

    def _apply_answer(self, txn: Txn, api: str, outcome: Outcome, answer: pf.Answer, unsaved_from: Txn | None):
        """Journal an answer and step the transaction with it; (the new state, the effects it asks for)."""
        with self.lock:
            current = self._txn(txn.id)
            if unsaved_from is not None and current == unsaved_from:
                current = txn  # the attempt lives in memory only (see advance); nothing changed it since
            now = self.clock()
            if isinstance(current, pf.Sale):
                event = {"pay": pf.PayAnswered, "inquiryPayment": pf.InquiryAnswered,
                         "cancel": pf.CancelAnswered}[api](answer)
            else:
                event = ff.Answered(answer)
            after, more = self._step(current, event, now)
            also: list[tuple[Txn, Txn, list[tuple[str, dict]], tuple]] = []
            if (isinstance(after, ff.Followup) and after.kind == ff.CANCEL and after.phase is ff.Phase.DONE
                    and current.phase is not ff.Phase.DONE):
                # The manager's cancel went through: the sale is reversed in the same commit, so no
                # crash can leave it "paid" while the gateway has returned the money.
                sale = self._sale(after.sale_id)
                reversed_sale, sale_effects = pf.step(sale, pf.CancelAnswered(answer), now)
                also.append((sale, reversed_sale, [("cancelled_by_manager", {"cancel": after.id})], sale_effects))
            self._save(current, after, now, [("answer", outcome_detail(api, outcome))], more, also=also)
        return after, more

    def _request(self, txn: Txn, api: str) -> messages.Request | None:
        if isinstance(txn, pf.Sale):
            if api == "pay":
                body = self.journal.outbox_body(txn.id, "pay")
                return None if body is None else messages.Request(messages.Api.PAY, body, payment_request_id=txn.id)
            if api == "inquiryPayment":
                return messages.inquiry_payment(payment_request_id=txn.id)
            return messages.cancel(payment_request_id=txn.id)
        body = self.journal.outbox_body(txn.id, txn.api)
        if body is None:
            return None
        if txn.kind == ff.REFUND:
            return messages.Request(messages.Api.REFUND, body, refund_request_id=txn.id)
        sent = json.loads(body)   # by paymentRequestId, or by paymentId (an entry-code payment)
        return messages.Request(messages.Api.CANCEL, body, payment_request_id=sent.get("paymentRequestId"),
                                payment_id=sent.get("paymentId"))

    def housekeeping(self) -> None:
        """Off the payment path: resume what was sent but whose answer the journal could not take (once it
        can again, a running terminal settles it without waiting for a restart); truncate the WAL a
        second after a payment code was dropped, so the full code does not linger in its old pages."""
        for txn_id in list(self._orphans):
            try:
                self._preflight(txn_id)
                with self.lock:
                    txn = self._txn(txn_id)
                    if txn is not None and not txn.final and txn.next_at is None and txn_id not in self._in_flight:
                        now = self.clock()
                        after, effects = self._step(txn, pf.Recovered(), now)
                        self._save(txn, after, now, [("recovered", {"phase": txn.phase.value})], effects)
                self._orphans.discard(txn_id)
            except JournalError:
                break  # still full or damaged: next round
        store = self.config.store
        if (store is None or store.role != "till") and time.monotonic() >= self._forget_at:
            self._forget_at = time.monotonic() + QUEUE_FORGET_EVERY
            try:
                outbound.forget_unshipped(self.journal, self.clock() - QUEUE_KEPT)
            except JournalError:
                pass   # full or damaged: the next hour tries again; the payment path says what is wrong
        if self._scrub_at is not None and time.monotonic() >= self._scrub_at:
            self._scrub_at = None
            if not self.journal.checkpoint():
                self._scrub_at = time.monotonic() + 1.0

    def advance_due(self) -> int:
        """Advance every transaction whose next step has come; the number advanced.

        Several at once (a backlog after an outage) go out in parallel: each transaction is still
        stepped and committed under the lock, but one call's network wait overlaps the next one's
        commit, so the drain is bound by the gateway rather than by our fsyncs.
        """
        now = self.clock()
        rows = self.journal.due(now)
        if rows and not self.link.up():
            # Link down: nothing can leave, so touch nothing (no rescheduling commit per queued request
            # per second); only a queued pay past its code's validity is voided, which needs no link.
            rows = [r for r in rows if r["kind"] == "sale" and ((r["phase"] == pf.Phase.NEW.value
                    and r["created_at"] + self.timing.code_validity <= now) or r["tender"] == pf.ENTRY_CODE)]
        ids = [row["id"] for row in rows]
        if len(ids) <= 1:
            for txn_id in ids:
                self._advance_logged(txn_id)
            return len(ids)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.drain_workers, thread_name_prefix="drain")
        list(self._pool.map(self._advance_logged, ids))
        return len(ids)

    def drain_now(self) -> int:
        """The technician's manual drain: whatever waits for a retry is tried now instead of at its backoff
        (after the cable is back, nobody should wait out a 30 s schedule). The number advanced."""
        now = self.clock()
        for row in self.journal.open_transactions():
            with self.lock:
                txn = self._txn(row["id"])
                if txn is not None and not txn.final and txn.next_at is not None and txn.next_at > now:
                    self._save(txn, dataclasses.replace(txn, next_at=now), now, [("manual_drain", {})])
        self.link.probe_next()
        return self.advance_due()

    def _advance_logged(self, txn_id: str) -> None:
        try:
            self.advance(txn_id)
        except (JournalError, OutcomeNotJournaled) as exc:  # a full or damaged disk: tried again next round
            if time.monotonic() >= self._quiet_until:   # said once a minute, not once a round
                self._quiet_until = time.monotonic() + 60.0
                log.warning("%s stays open until the journal can take its answer: %s", txn_id, exc.message)
            self._unstick(txn_id)
        except Exception:
            log.exception("advancing %s failed; it stays open and is retried", txn_id)
            self._unstick(txn_id)

    def _unstick(self, txn_id: str) -> None:
        """After a failure mid-step, make sure the transaction is due again rather than left in flight."""
        try:
            with self.lock:
                txn = self._txn(txn_id)
                if txn is not None and not txn.final and txn.next_at is None and txn.phase.value != "SENDING":
                    now = self.clock()
                    later = dataclasses.replace(txn, next_at=now + self.timing.offline_retry)
                    self._save(txn, later, now, [("retry_after_error", {})])
        except JournalError:
            pass  # the journal cannot take it either (said above): the next start resumes it
        except Exception:
            log.exception("could not reschedule %s; it resumes at the next start", txn_id)

    def wait(self, txn_id: str, until: Callable[[Txn], bool], timeout: float | None) -> Txn:
        """Block until ``until(txn)`` holds (the reconciler or a notification moves it) or time runs out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.changed:
            while True:
                txn = self._txn(txn_id)
                if until(txn):
                    return txn
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return txn
                self.changed.wait(0.5 if left is None else min(left, 0.5))

    def settle(self, timeout: float | None = None, *, only: set[str] | None = None) -> dict:
        """Drive open transactions until each is final or needs review (one retry for those): reconcile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        rows = self.journal.open_transactions()
        ids = [r["id"] for r in rows if only is None or r["id"] in only]
        reviewed: set[str] = set()
        while True:
            pending = []
            for txn_id in ids:
                txn = self._txn(txn_id)
                if txn.final:
                    continue
                if txn.status == NEEDS_REVIEW:
                    if txn_id in reviewed:
                        continue
                    reviewed.add(txn_id)
                    with self.lock:  # one retry now, whatever its schedule says
                        txn = self._txn(txn_id)
                        if txn.next_at is not None and txn.next_at > self.clock():
                            self._save(txn, dataclasses.replace(txn, next_at=self.clock()), self.clock(), [])
                pending.append(txn_id)
            if pending and not self.link.up():
                # With the link down only a queued pay still moves (it is voided at its deadline);
                # the rest waits for the link, which may take longer than anyone wants to watch.
                pending = [i for i in pending if (t := self.load(i)) is not None
                           and isinstance(t, pf.Sale) and t.phase is pf.Phase.NEW]
            if not pending:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            progressed = False
            for txn_id in pending:
                txn = self._txn(txn_id)
                if txn.next_at is not None and txn.next_at <= self.clock():
                    self.advance(txn_id)
                    progressed = True
            if not progressed:
                with self.changed:
                    soonest = min((t.next_at for t in (self._txn(i) for i in pending) if t.next_at is not None),
                                  default=self.clock() + 0.5)
                    self.changed.wait(max(0.01, min(soonest - self.clock(), 0.5)))
        items = [self.summary(self._txn(i)) for i in ids]
        return {"settled": sum(1 for i in items if i["status"] not in UNSETTLED),
                "still_open": sum(1 for i in items if i["status"] in UNSETTLED),
                "items": items}

    # -- views ----------------------------------------------------------------------------------------
    def summary(self, txn: Txn) -> dict:
        """The CLI's stable JSON for one transaction (``sale --json`` and friends)."""
        row = self.journal.get(txn.id)
        parent = self.load(txn.sale_id) if isinstance(txn, ff.Followup) else None
        return rows.summary(txn, row["kind"] if row else None, parent)

    def queue(self) -> dict:
        """What waits in the outbox: count, per-currency totals, oldest age."""
        return queue_status(self.journal, self.clock())
