"""The state machine of a request made about a paid sale: a refund, or a manager's cancel.

Both are idempotent at the gateway under their own id (``refundRequestId``; cancel's
``paymentRequestId``), so an unknown outcome is settled the documented way: resend the same request
(spec §4) until it answers S or F. Unlike a pay, they have no validity window: offline they wait in the
outbox as long as needed. Pure transitions, like :mod:`pos_app.payment_flow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .i18n import N_
from .outcome import Status
from .payment_flow import Answer, Recovered, Send, Tick, Timing, next_on_schedule
from .vocabulary import CANCEL, FOLLOWUP_STATUS, REFUND, FollowupPhase

Phase = FollowupPhase
STATUS = FOLLOWUP_STATUS


@dataclass(frozen=True)
class Answered:
    answer: Answer


@dataclass(frozen=True)
class Notified:
    """A verified notifyRefund (refunds only)."""

    success: bool
    result_code: str = ""
    message: str = ""
    refund_id: str | None = None


Event = Tick | Answered | Notified | Recovered
EVENT_TYPES = (Tick, Answered, Notified, Recovered)


@dataclass(frozen=True)
class Followup:
    id: str                     # refundRequestId, or our id for a cancel
    kind: str                   # REFUND or CANCEL
    sale_id: str                # the paymentRequestId it is about
    currency: str
    amount: int
    created_at: float
    phase: Phase = Phase.NEW
    next_at: float | None = None
    timing: Timing = field(default_factory=Timing)
    attempts: int = 0
    unknown_since: float | None = None
    result_code: str = ""
    message: str = ""
    gateway_id: str | None = None   # refundId

    @property
    def status(self) -> str:
        return STATUS[self.phase]

    @property
    def final(self) -> bool:
        return self.phase.final

    @property
    def api(self) -> str:
        return "refund" if self.kind == REFUND else "cancel"


#: The journal keeps these words in English; a window shows them through _() (marked here for the catalogue).
STAYS_UNKNOWN = {REFUND: N_("the refund stays unknown: retrying in the background; a manager should check"),
                 CANCEL: N_("the cancel stays unknown: retrying in the background; a manager should check")}


def new_followup(id: str, kind: str, sale_id: str, currency: str, amount: int, now: float,
                 timing: Timing | None = None) -> Followup:
    if kind not in (REFUND, CANCEL):
        raise ValueError(f"unknown follow-up kind {kind!r}")
    return Followup(id=id, kind=kind, sale_id=sale_id, currency=currency, amount=amount, created_at=now,
                    next_at=now, timing=timing or Timing())


def step(f: Followup, event: Event, now: float) -> tuple[Followup, tuple[Send, ...]]:
    if isinstance(event, Tick):
        if f.final or f.phase is Phase.SENDING or f.next_at is None or now < f.next_at:
            return f, ()
        if not event.link_up:
            return replace(f, next_at=now + f.timing.offline_retry), ()
        return replace(f, phase=Phase.SENDING if f.phase is Phase.NEW else f.phase, attempts=f.attempts + 1,
                       next_at=None), (Send(f.api),)
    if isinstance(event, Recovered):
        if f.final:
            return f, ()
        phase = Phase.RETRYING if f.phase is Phase.SENDING else f.phase
        return replace(f, phase=phase, unknown_since=now if f.unknown_since is None else f.unknown_since,
                       next_at=now), ()
    if isinstance(event, Notified):
        if f.final or f.kind != REFUND:
            return f, ()
        if event.success:
            return replace(f, phase=Phase.DONE, next_at=None, result_code="SUCCESS", message=N_("refunded"),
                           gateway_id=event.refund_id or f.gateway_id), ()
        return replace(f, phase=Phase.FAILED, next_at=None, result_code=event.result_code or "FAIL",
                       message=event.message or N_("the refund failed")), ()
    a = event.answer
    if f.final or f.next_at is not None:
        return f, ()  # an answer nobody waits for: a late duplicate
    if a.status is Status.SUCCESS:
        done = N_("refunded") if f.kind == REFUND else N_("cancelled: the money went back")
        return replace(f, phase=Phase.DONE, next_at=None, result_code="SUCCESS", message=done,
                       gateway_id=(a.refund_id if f.kind == REFUND else a.payment_id) or f.gateway_id), ()
    if a.status is Status.FAILURE:
        return replace(f, phase=Phase.FAILED, next_at=None, result_code=a.result_code, message=a.message), ()
    if a.not_sent and f.phase in (Phase.NEW, Phase.SENDING):
        return replace(f, phase=Phase.NEW, next_at=now + f.timing.offline_retry, result_code=a.result_code,
                       message=a.message), ()
    if a.not_sent:
        return replace(f, next_at=now + f.timing.offline_retry), ()
    since = f.unknown_since if f.unknown_since is not None else now
    f = replace(f, unknown_since=since, result_code=a.result_code, message=a.message)
    if f.phase is Phase.NEEDS_REVIEW:
        return replace(f, next_at=now + f.timing.review_interval), ()
    upcoming = next_on_schedule(since, f.timing.cancel_intervals, now)
    if upcoming is not None:
        return replace(f, phase=Phase.RETRYING, next_at=upcoming), ()
    return replace(f, phase=Phase.NEEDS_REVIEW, next_at=now + f.timing.review_interval,
                   message=STAYS_UNKNOWN[f.kind]), ()
