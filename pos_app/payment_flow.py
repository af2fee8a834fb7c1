"""The sale state machine (spec §6): pure transitions, with the effects listed separately.

``step(sale, event, now)`` returns the next :class:`Sale` and the effects the shell must carry out, in
order. It never does I/O and never reads the clock, so every state × event pair is testable in isolation
and a journal replay gives the same answer twice.

The shell's duties, which make the promise hold:
- persist the returned state *before* carrying out a :class:`Send` (write-ahead);
- resend a request with the exact bytes it journaled (same request id on every retry);
- feed back each answer as an event, and a :class:`Tick` whenever ``sale.next_at`` has come.

Phases::

    NEW ──tick, link up──▶ SENDING ──S──▶ PAID
     │ (queued: the pay     │  ├──F──▶ FAILED
     │  never left)         │  ├──S, order code──▶ WAITING ──paid / declined / expired, abort──▶ …
     ▼ past validity        │  └──U, timeout, unverifiable──▶ INQUIRING ──SUCCESS/FAIL/CANCELLED──▶ …
    VOIDED                  │                                     └──schedule over──▶ CANCELLING
                            └──certainly not sent──▶ NEW                  S──▶ CANCELLED, U × n──▶ NEEDS_REVIEW

A cashier's abort is taken in the phases of :data:`~pos_app.vocabulary.ABORTABLE` and recorded at once
(``Sale.aborted``, journaled like any change, so a crash keeps it): NEW is voided, WAITING and INQUIRING
are cancelled. In SENDING the pay may be in flight, so its outcome decides: paid → cancel (the money goes
back); unknown → inquire, then cancel unless the inquiry says it failed; failed → done, nothing charged.

A successful cancel closes the payment, but does not say whether it had been paid first (the gateway
cancels a paid payment too, and gives the money back). Unless the gateway already said it was paid, one
inquiry follows the cancel (still CANCELLING, ``cancel_done``): only "no such payment" or "failed" proves
that nothing was ever charged (``charged`` False), the one case in which the words may say "not charged".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import vocabulary
from .i18n import N_
from .outcome import Delivery, Status
from .vocabulary import ABORTABLE, OFFLINE, SALE_FINAL, SALE_STATUS, SalePhase, split_path_trouble

Phase = SalePhase
FINAL = SALE_FINAL
#: The public word for each phase: what ``sale --json`` and ``report`` say.
STATUS = SALE_STATUS

PAYMENT_CODE = "payment_code"
ORDER_CODE = "order_code"
#: The store's static entry code (spec §10): the customer scans it and types the amount in the wallet. The
#: terminal sends nothing: the sale waits (WAITING) for a matching notification (:mod:`pos_app.entry_code`)
#: until its window ends, then it is VOIDED (status FAILED, resultCode :data:`NOT_PAID_IN_TIME`). Nothing is
#: ever inquired or cancelled under our request id, which the gateway never saw.
ENTRY_CODE = "entry_code"
TENDERS = (PAYMENT_CODE, ORDER_CODE, ENTRY_CODE)
NOT_PAID_IN_TIME = "NOT_PAID_IN_TIME"
ASSIGNED = vocabulary.ASSIGNED   # an unmatched entry-code payment a person assigned to a waiting sale

#: The journal's message once a stopped sale turns out paid (``message`` is not translated).
PAID_BEFORE_STOP = N_("paid before the stop arrived: cancelling it, the money goes back")
STOPPED_UNKNOWN = N_("stopped while its outcome was unknown: checking the result, then cancelling")
STOPPED_CANCEL = N_("stopped by the cashier: cancelling the payment")



@dataclass(frozen=True)
class Timing:
    """How long to wait between tries. Defaults are the official in-store SDK's (spec §6)."""

    inquiry_intervals: tuple[float, ...] = (2, 3, 3, 5, 5, 5, 5, 5, 5)
    cancel_intervals: tuple[float, ...] = (2, 3, 3, 5, 5)
    code_validity: float = 60.0       # a payment code is good this long after the scan
    order_code_poll: float = 3.0      # inquiry interval while an order code is shown
    order_code_resends: int = 3       # getting an order code: resends after U or a transport error
    review_interval: float = 60.0     # background retries once a payment needs review
    offline_retry: float = 2.0        # a request that certainly did not leave is tried again after this
    entry_window: float = 300.0       # an entry-code sale waits this long for its payment ([entry_code] match_window)


# -- events -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """What the gateway client made of one call, reduced to what the machine decides on."""

    status: Status
    delivery: Delivery | None = None
    result_code: str = ""
    message: str = ""
    payment_id: str | None = None
    payment_status: str | None = None     # inquiryPayment's paymentStatus
    code_value: str | None = None         # order code issued
    code_expires_at: float | None = None
    refund_id: str | None = None
    trouble: str = ""                     # vocabulary.OFFLINE, NO_ANSWER, "HTTP 503"; "" when an answer came

    @property
    def not_sent(self) -> bool:
        return self.status is Status.UNKNOWN and self.delivery is Delivery.NOT_SENT


@dataclass(frozen=True)
class Tick:
    """Time has passed; ``link_up`` says whether the shell believes the gateway is reachable."""

    link_up: bool = True


@dataclass(frozen=True)
class PayAnswered:
    answer: Answer


@dataclass(frozen=True)
class InquiryAnswered:
    answer: Answer


@dataclass(frozen=True)
class CancelAnswered:
    answer: Answer


@dataclass(frozen=True)
class Notified:
    """A verified notifyPayment: result status S or F."""

    success: bool
    result_code: str = ""
    message: str = ""
    payment_id: str | None = None


@dataclass(frozen=True)
class Abort:
    """The cashier gives up on a sale still open. (A paid sale is cancelled by a cancel transaction.)"""

    reason: str = N_("cancelled by the cashier")   # kept in English; shown through i18n.stored


@dataclass(frozen=True)
class Recovered:
    """The terminal restarted: whatever was in flight may have left."""


@dataclass(frozen=True)
class Assigned:
    """A person assigned this unmatched entry-code payment (a PAID entry-code sale of its own) to the waiting
    sale ``to``: the money now counts on that sale, so this one closes without counting (VOIDED, ASSIGNED)."""

    to: str


Event = Tick | PayAnswered | InquiryAnswered | CancelAnswered | Notified | Abort | Recovered | Assigned
EVENT_TYPES = (Tick, PayAnswered, InquiryAnswered, CancelAnswered, Notified, Abort, Recovered, Assigned)


# -- effects ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """Send this API call now (after persisting the new state). ``api``: pay, inquiryPayment, cancel."""

    api: str


@dataclass(frozen=True)
class ForgetCode:
    """The pay will never be resent: drop the full payment code, keep it masked."""


@dataclass(frozen=True)
class ShowCode:
    """An order code was issued: put it on the customer display."""

    value: str
    expires_at: float | None


Effect = Send | ForgetCode | ShowCode


# -- state --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sale:
    id: str                                   # our paymentRequestId
    tender: str                               # PAYMENT_CODE or ORDER_CODE
    currency: str
    amount: int                               # minor units
    created_at: float
    phase: Phase = Phase.NEW
    next_at: float | None = None              # when a Tick is next due; None once final
    timing: Timing = field(default_factory=Timing)
    payment_id: str | None = None
    result_code: str = ""
    message: str = ""
    pay_attempts: int = 0                     # pay sends started
    resends: int = 0                          # order code: resends after U
    maybe_sent: bool = False                  # some pay may have reached the gateway
    unknown_since: float | None = None
    inquiries: int = 0
    cancel_since: float | None = None
    cancels: int = 0
    cancel_refused: bool = False              # cancel answered F: only inquiries are retried
    code_value: str | None = None
    code_expires_at: float | None = None
    gateway_status: str | None = None         # the last paymentStatus an inquiry reported
    accepted_at_risk: bool = False            # handed over before the gateway answered (policy)
    aborted: bool = False                     # the cashier stopped it: nothing may stay charged
    trouble: str = ""                         # why its last call got no verified answer (OFFLINE, ...)
    pay_trouble: str = ""                     # why the pay's own outcome is unknown ("HTTP 503", NO_ANSWER)
    charged: bool | None = None               # the gateway said it was paid (True), proved it never was (False)
    cancel_done: bool = False                 # the cancel succeeded; one inquiry asks whether it had been paid

    @property
    def status(self) -> str:
        return STATUS[self.phase]

    @property
    def final(self) -> bool:
        return self.phase in FINAL

    @property
    def deadline(self) -> float:
        """A queued pay must leave before this, or it is voided."""
        return self.created_at + self.timing.code_validity


def new_sale(id: str, tender: str, currency: str, amount: int, now: float, timing: Timing | None = None, *,
             code_value: str | None = None) -> Sale:
    """A new sale; an entry-code sale (``code_value``: the store's static code) starts WAITING, with nothing to
    send, until its window ends."""
    if tender not in TENDERS:
        raise ValueError(f"unknown tender {tender!r}")
    timing = timing or Timing()
    if tender == ENTRY_CODE:
        return Sale(id=id, tender=tender, currency=currency, amount=amount, created_at=now, phase=Phase.WAITING,
                    next_at=now + timing.entry_window, timing=timing, code_value=code_value,
                    code_expires_at=now + timing.entry_window,
                    message=N_("waiting for the customer to scan the entry code and pay"))
    return Sale(id=id, tender=tender, currency=currency, amount=amount, created_at=now, next_at=now, timing=timing)


def unmatched_payment(id: str, currency: str, amount: int, now: float, payment_id: str,
                      timing: Timing | None = None) -> Sale:
    """An entry-code payment that arrived with no waiting amount to match: paid, and kept as a sale of its own
    until a person assigns it (:class:`Assigned`) or acknowledges it."""
    return Sale(id=id, tender=ENTRY_CODE, currency=currency, amount=amount, created_at=now, phase=Phase.PAID,
                next_at=None, timing=timing or Timing(), payment_id=payment_id, result_code="SUCCESS",
                message=N_("entry-code payment with no waiting amount: to be assigned"), charged=True)


# -- transitions ----------------------------------------------------------------------------------------
Next = tuple[Sale, tuple[Effect, ...]]   # a transition's result: the new state, and the effects to carry out


def step(sale: Sale, event: Event, now: float) -> Next:
    """The next state and the effects to carry out, for any phase and any event."""
    after, effects = _step(sale, event, now)
    answer = getattr(event, "answer", None)
    trouble = "" if after.final or answer is None else answer.trouble
    if after.final and after.result_code == "NOT_SENT" and split_path_trouble(sale.trouble):
        trouble = sale.trouble  # voided while a hop refused it: the words name that hop and its setting
    if after.trouble != trouble and (answer is not None or after.final):
        after = replace(after, trouble=trouble)  # what the screen says about the link and the gateway
    return after, effects


def _step(sale: Sale, event: Event, now: float) -> Next:
    if sale.tender == ENTRY_CODE:
        return _entry_code_step(sale, event, now)
    match event:
        case Tick():
            return _on_tick(sale, event, now)
        case PayAnswered():
            return _on_pay(sale, event, now)
        case InquiryAnswered():
            return _on_inquiry(sale, event, now)
        case CancelAnswered():
            return _on_cancel(sale, event, now)
        case Notified():
            return _on_notified(sale, event, now)
        case Abort():
            return _on_abort(sale, event, now)
        case Recovered():
            return _on_recovered(sale, event, now)
        case Assigned():
            return sale, ()   # only an entry-code payment is ever assigned
    raise TypeError(f"not an event of a sale: {event!r}")


def _entry_code_step(sale: Sale, event: Event, now: float) -> Next:
    """An entry-code sale: the gateway never saw our request id, so nothing is ever sent for it (no pay, no
    inquiry, no cancel by our id); it waits for a matched success notification, or for its window's end.
    A manager's cancel of a paid one (a cancel transaction, by paymentId) reverses it as for any sale."""
    match event:
        case Notified(success=True) if sale.phase is Phase.WAITING:
            return _final(replace(sale, payment_id=event.payment_id or sale.payment_id), Phase.PAID, "SUCCESS",
                          "paid", charged=True)
        case Tick() if sale.phase is Phase.WAITING and sale.next_at is not None and now >= sale.next_at:
            return _final(sale, Phase.VOIDED, NOT_PAID_IN_TIME,
                          N_("no matching payment came within the entry code's window: nothing was charged for "
                             "this sale"))
        case Abort() if sale.phase is Phase.WAITING and not sale.aborted:
            return _final(replace(sale, aborted=True), Phase.VOIDED, "ABORTED", event.reason)
        case CancelAnswered() if sale.phase is Phase.PAID and event.answer.status is Status.SUCCESS:
            return _final(sale, Phase.CANCELLED, "CANCELLED", N_("cancelled by the manager: the money went back"),
                          charged=True)
        case Assigned(to=to) if sale.phase is Phase.PAID:
            return _final(replace(sale, payment_id=None), Phase.VOIDED, ASSIGNED,
                          f"assigned to sale {to}: its money is counted there")
    return sale, ()   # a failure notice, an answer to nothing we sent, a restart: it waits on as it was


def _final(sale: Sale, phase: Phase, code: str, message: str, **changes) -> Next:
    return replace(sale, phase=phase, result_code=code or sale.result_code, message=message or sale.message,
                   next_at=None, **changes), ()


def _paid_after_refused_cancel(sale: Sale) -> Next:
    """The gateway refused the cancel and the payment went through: it is paid, and a manager can refund
    it; the message says why it needs a look."""
    return _final(sale, Phase.PAID, "SUCCESS", N_("paid after the cancel was refused: hand over the goods "
                                               "or refund it"))


def _to_inquiring(sale: Sale, now: float, code: str = "", message: str = "") -> Next:
    first = sale.timing.inquiry_intervals[0] if sale.timing.inquiry_intervals else 0.0
    since = sale.unknown_since if sale.unknown_since is not None else now
    return replace(sale, phase=Phase.INQUIRING, unknown_since=since, next_at=now + first,
                   result_code=code or sale.result_code, message=message or sale.message), (ForgetCode(),)


def _to_cancelling(sale: Sale, now: float, message: str = "") -> Next:
    return replace(sale, phase=Phase.CANCELLING, cancel_since=now, next_at=now,
                   message=message or sale.message), ()


def _or(at: float | None, default: float) -> float:
    return default if at is None else at


def next_on_schedule(start: float, intervals: tuple[float, ...], now: float) -> float | None:
    """The next scheduled time after ``now`` on a schedule started at ``start``; None once it is over.

    The schedule is kept in wall time, not in counts, so a sale resumed long after a crash does not
    replay waits whose purpose (giving the customer time) has already passed.
    """
    at = start
    for gap in intervals:
        at += gap
        if at > now:
            return at
    return None


def _on_tick(sale: Sale, event: Tick, now: float) -> Next:
    if sale.final:
        return sale, ()
    due = sale.next_at is not None and now >= sale.next_at
    if not due and not (sale.phase is Phase.NEW and now >= sale.deadline):
        return sale, ()
    phase = sale.phase
    if phase is Phase.NEW:
        if now >= sale.deadline:
            hop = split_path_trouble(sale.trouble)
            return replace(sale, phase=Phase.VOIDED, next_at=None, result_code="NOT_SENT",
                           message=vocabulary.PATH_VOIDED[hop[0]] if hop else
                           N_("the link stayed down past the payment code's validity: nothing was charged")), \
                (ForgetCode(),)
        if not event.link_up:
            return replace(sale, next_at=min(now + sale.timing.offline_retry, sale.deadline)), ()
        return replace(sale, phase=Phase.SENDING, pay_attempts=sale.pay_attempts + 1, next_at=None), (Send("pay"),)
    if phase is Phase.SENDING:
        return sale, ()  # the pay's answer decides; a crash is handled by Recovered
    if phase is Phase.WAITING and sale.code_expires_at is not None and now >= sale.code_expires_at:
        return _to_cancelling(sale, now, N_("the order code expired before it was paid"))
    if phase in (Phase.WAITING, Phase.INQUIRING):
        return replace(sale, next_at=None), (Send("inquiryPayment"),)
    if phase is Phase.CANCELLING and sale.cancel_done:
        return replace(sale, next_at=None), (Send("inquiryPayment"),)
    if phase is Phase.CANCELLING or (phase is Phase.NEEDS_REVIEW and not sale.cancel_refused):
        return replace(sale, next_at=None), (Send("cancel"),)
    if phase is Phase.NEEDS_REVIEW:
        return replace(sale, next_at=None), (Send("inquiryPayment"),)
    return sale, ()


def _on_pay(sale: Sale, event: PayAnswered, now: float) -> Next:
    a = event.answer
    if sale.phase is not Phase.SENDING:
        return sale, ()  # late or duplicate: the machine already moved on (e.g. a notification came first)
    sale = replace(sale, payment_id=a.payment_id or sale.payment_id)
    if sale.aborted:
        return _pay_after_abort(sale, a, now)
    if a.status is Status.SUCCESS and sale.tender == ORDER_CODE:
        if not a.code_value:
            return _to_inquiring(replace(sale, maybe_sent=True), now, a.result_code, "no code in the answer")
        return replace(sale, phase=Phase.WAITING, maybe_sent=True, code_value=a.code_value,
                       code_expires_at=a.code_expires_at, next_at=now + sale.timing.order_code_poll,
                       message=N_("waiting for the customer to scan and pay")), \
            (ForgetCode(), ShowCode(a.code_value, a.code_expires_at))
    if a.status is Status.SUCCESS:
        sale, _effects = _final(sale, Phase.PAID, a.result_code or "SUCCESS", a.message or "paid", charged=True)
        return sale, (ForgetCode(),)
    if a.status is Status.FAILURE:
        sale, _effects = _final(sale, Phase.FAILED, a.result_code, a.message)
        return sale, (ForgetCode(),)
    if a.not_sent and not sale.maybe_sent:
        return replace(sale, phase=Phase.NEW, result_code=a.result_code, message=a.message,
                       next_at=min(now + sale.timing.offline_retry, sale.deadline)), ()
    sale = replace(sale, maybe_sent=sale.maybe_sent or not a.not_sent, pay_trouble=_fault(a) or sale.pay_trouble)
    if sale.tender == ORDER_CODE and sale.resends < sale.timing.order_code_resends:
        return replace(sale, resends=sale.resends + 1, pay_attempts=sale.pay_attempts + 1,
                       result_code=a.result_code, message=a.message), (Send("pay"),)
    return _to_inquiring(sale, now, a.result_code, a.message)


def _pay_after_abort(sale: Sale, a: Answer, now: float):
    """The outcome of a pay the cashier stopped while it was in flight: paid → cancel; failed → done;
    never left → voided; anything else is unknown → inquire, then cancel. An issued order code is never
    shown: it is closed (cancelled) at once."""
    if a.status is Status.SUCCESS:
        if sale.tender == ORDER_CODE:
            sale, _effects = _to_cancelling(replace(sale, maybe_sent=True), now, STOPPED_CANCEL)
        else:
            sale, _effects = _to_cancelling(replace(sale, maybe_sent=True, gateway_status="SUCCESS", charged=True), now,
                                     PAID_BEFORE_STOP)
        return sale, (ForgetCode(),)
    if a.status is Status.FAILURE:
        sale, _effects = _final(sale, Phase.FAILED, a.result_code, a.message)
        return sale, (ForgetCode(),)
    if a.not_sent and not sale.maybe_sent:
        return replace(sale, phase=Phase.VOIDED, next_at=None, result_code="ABORTED",
                       message=N_("stopped before the payment reached the gateway: nothing was charged")), \
            (ForgetCode(),)
    return _to_inquiring(replace(sale, maybe_sent=True, pay_trouble=_fault(a) or sale.pay_trouble), now,
                         a.result_code, STOPPED_UNKNOWN)


def _fault(a: Answer) -> str:
    """The gateway's fault that left a call's outcome unknown ("HTTP 503", NO_ANSWER); "" for a verified
    answer (a U included: the gateway has it and has not decided) and for a request that never left (the link
    down, or a hop such as the proxy refusing it: not the gateway's fault)."""
    return "" if a.not_sent or a.trouble == OFFLINE else a.trouble


def _on_inquiry(sale: Sale, event: InquiryAnswered, now: float) -> Next:
    a = event.answer
    if sale.phase is Phase.CANCELLING and sale.cancel_done:
        return _after_cancel(sale, a, now)
    if sale.phase not in (Phase.WAITING, Phase.INQUIRING, Phase.NEEDS_REVIEW):
        return sale, ()  # not asked for now (e.g. an inquiry from the CLI): the phase's own answer decides
    sale = replace(sale, payment_id=a.payment_id or sale.payment_id,
                   gateway_status=a.payment_status if a.status is Status.SUCCESS else sale.gateway_status)
    if a.status is Status.SUCCESS and a.payment_status == "SUCCESS":
        sale = replace(sale, charged=True)
        if sale.phase is Phase.NEEDS_REVIEW and not sale.cancel_refused:
            # A cancel may still be landing: keep cancelling; the money goes back when it does.
            return replace(sale, next_at=now + sale.timing.review_interval,
                           message=N_("paid at the gateway while a cancel is pending: still cancelling")), ()
        if sale.phase is Phase.NEEDS_REVIEW:
            return _paid_after_refused_cancel(sale)
        if sale.aborted:
            return _to_cancelling(sale, now, PAID_BEFORE_STOP)
        return _final(sale, Phase.PAID, "SUCCESS", "paid")
    if a.status is Status.SUCCESS and a.payment_status == "FAIL":
        return _final(sale, Phase.FAILED, a.result_code if a.result_code != "SUCCESS" else "FAIL",
                      a.message if a.result_code != "SUCCESS" else N_("the payment failed"))
    if a.status is Status.SUCCESS and a.payment_status == "CANCELLED":
        return _final(sale, Phase.CANCELLED, "CANCELLED", N_("the payment was cancelled"))
    if sale.phase is Phase.NEEDS_REVIEW:
        return replace(sale, next_at=now + sale.timing.review_interval), ()
    if sale.phase is Phase.WAITING:
        if sale.code_expires_at is not None and now >= sale.code_expires_at:
            return _to_cancelling(sale, now, N_("the order code expired before it was paid"))
        return replace(sale, next_at=now + sale.timing.order_code_poll), ()
    # INQUIRING
    if a.not_sent:
        return replace(sale, next_at=now + sale.timing.offline_retry), ()
    if sale.aborted:  # still processing, not known, or not there: a cancel settles every one of them
        return _to_cancelling(sale, now, STOPPED_CANCEL)
    decisive_failure = a.status is Status.FAILURE and a.result_code != "ORDER_NOT_EXIST"
    sale = replace(sale, inquiries=sale.inquiries + 1)
    upcoming = None if decisive_failure else next_on_schedule(_or(sale.unknown_since, now),
                                                              sale.timing.inquiry_intervals, now)
    if upcoming is None:
        return _to_cancelling(sale, now, N_("no answer from the wallet in time: cancelling the payment")
                              if not sale.pay_trouble else f"the gateway failed ({sale.pay_trouble}) and gave no "
                                                          f"outcome in time: cancelling the payment")
    return replace(sale, next_at=upcoming), ()


#: The journal's message of a cancelled sale, by what the gateway proved about the money (``Sale.charged``).
#: Kept in English in the journal, marked for the screens (i18n.stored).
CANCELLED_PAID = N_("cancelled after it was paid: the money went back to the customer")
CANCELLED_NOTHING_CHARGED = N_("cancelled: the gateway confirms that nothing was charged")
CANCELLED_UNPROVEN = N_("cancelled at the gateway; if anything was charged, it goes back in full")


def _cancelled(sale: Sale, **changes) -> Next:
    sale = replace(sale, **changes)
    message = CANCELLED_UNPROVEN if sale.charged is None else CANCELLED_PAID if sale.charged else \
        CANCELLED_NOTHING_CHARGED
    return _final(sale, Phase.CANCELLED, "CANCELLED", message)


def _after_cancel(sale: Sale, a: Answer, now: float) -> Next:
    """The one inquiry after a successful cancel: was anything charged? Only "no such payment" or "failed"
    proves that nothing ever was. "Paid" after the cancel succeeded is not believed settled: the cancel is
    sent again (the same request; the gateway gives the money back). Anything else (cancelled, processing,
    no answer) leaves it unproven: the sale is cancelled, and the words do not claim either way."""
    if (a.status is Status.FAILURE and a.result_code == "ORDER_NOT_EXIST") or (
            a.status is Status.SUCCESS and a.payment_status == "FAIL"):
        return _cancelled(sale, charged=False if sale.charged is None else sale.charged)
    if a.status is Status.SUCCESS and a.payment_status == "SUCCESS":
        return replace(sale, charged=True, cancel_done=False, gateway_status="SUCCESS", next_at=now), ()
    return _cancelled(sale)


def _on_cancel(sale: Sale, event: CancelAnswered, now: float) -> Next:
    a = event.answer
    if sale.phase is Phase.PAID and a.status is Status.SUCCESS:
        # A manager's cancel of a paid sale (a separate cancel transaction) went through.
        return _final(sale, Phase.CANCELLED, "CANCELLED", N_("cancelled by the manager: the money went back"),
                      charged=True)
    if sale.phase not in (Phase.CANCELLING, Phase.NEEDS_REVIEW):
        return sale, ()
    if a.status is Status.SUCCESS:
        if sale.charged or sale.gateway_status == "SUCCESS":
            return _cancelled(sale, charged=True)
        # Closed, but was it paid first? Ask once (see the module docstring); no next tick while it is asked.
        return replace(sale, phase=Phase.CANCELLING, cancel_done=True, next_at=None), (Send("inquiryPayment"),)
    if a.status is Status.FAILURE and a.result_code != "ORDER_NOT_EXIST":
        return replace(sale, phase=Phase.NEEDS_REVIEW, cancel_refused=True, result_code=a.result_code,
                       message=f"the gateway refused the cancel ({a.result_code}): check the payment",
                       next_at=now + sale.timing.review_interval), ()
    if a.not_sent:
        return replace(sale, next_at=now + sale.timing.offline_retry), ()
    sale = replace(sale, cancels=sale.cancels + 1)
    if sale.phase is Phase.NEEDS_REVIEW:
        return replace(sale, next_at=now + sale.timing.review_interval), ()
    upcoming = next_on_schedule(_or(sale.cancel_since, now), sale.timing.cancel_intervals, now)
    if upcoming is None:
        return replace(sale, phase=Phase.NEEDS_REVIEW, result_code=a.result_code or "UNKNOWN",
                       message=N_("the cancel stays unknown: retrying in the background; a manager should check"),
                       next_at=now + sale.timing.review_interval), ()
    return replace(sale, next_at=upcoming), ()


def _on_notified(sale: Sale, event: Notified, now: float) -> Next:
    sale = replace(sale, payment_id=event.payment_id or sale.payment_id)
    if event.success:
        sale = replace(sale, charged=True)   # whatever becomes of the sale, the money was taken once
        if sale.aborted and sale.phase in (Phase.SENDING, Phase.INQUIRING):
            sale, _effects = _to_cancelling(replace(sale, maybe_sent=True, gateway_status="SUCCESS"), now,
                                            PAID_BEFORE_STOP)
            return sale, (ForgetCode(),)
        if sale.phase in (Phase.NEW, Phase.SENDING, Phase.WAITING, Phase.INQUIRING):
            sale, _effects = _final(sale, Phase.PAID, "SUCCESS", "paid")
            return sale, (ForgetCode(),)
        if sale.phase is Phase.NEEDS_REVIEW and sale.cancel_refused:
            return _paid_after_refused_cancel(sale)
        if sale.phase in (Phase.VOIDED, Phase.FAILED):
            # The cashier was told "not paid": give the money back rather than keep it unseen.
            return _to_cancelling(sale, now, N_("the gateway reports it paid after it was closed: cancelling it"))
        return sale, ()  # PAID already, or cancelling/cancelled: a success does not revive the sale
    if sale.phase in (Phase.NEW, Phase.SENDING, Phase.WAITING, Phase.INQUIRING, Phase.CANCELLING,
                      Phase.NEEDS_REVIEW):
        sale, _effects = _final(sale, Phase.FAILED, event.result_code or "FAIL",
                                event.message or N_("the payment failed"))
        return sale, (ForgetCode(),)
    return sale, ()


def _on_abort(sale: Sale, event: Abort, now: float) -> Next:
    if sale.phase not in ABORTABLE or sale.aborted:
        return sale, ()  # closing or closed already, or stopped already (its stop is under way)
    sale = replace(sale, aborted=True)
    if sale.phase is Phase.NEW:
        return replace(sale, phase=Phase.VOIDED, next_at=None, result_code="ABORTED", message=event.reason), \
            (ForgetCode(),)
    if sale.phase is Phase.SENDING:
        return replace(sale, message=event.reason), ()  # recorded; the pay's outcome decides (_pay_after_abort)
    return _to_cancelling(sale, now, event.reason)


def _on_recovered(sale: Sale, event: Recovered, now: float) -> Next:
    if sale.phase is Phase.SENDING:  # stopped or not: the outcome is unknown (an abort then cancels it)
        return _to_inquiring(replace(sale, maybe_sent=True), now)
    if sale.phase is Phase.WAITING:
        # The code is no longer on any screen: settle it the way an unknown outcome is settled.
        return _to_inquiring(sale, now)
    if sale.final:
        return sale, ()
    return replace(sale, next_at=now), ()
