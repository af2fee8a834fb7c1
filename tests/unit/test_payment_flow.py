"""The sale and follow-up state machines, without any I/O: every state × every event, and random
event sequences (hypothesis) against the promises that must hold whatever happens."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app import followup_flow as ff
from pos_app import payment_flow as pf
from pos_app.gateway import Delivery, Status
from pos_app.vocabulary import ABORTABLE

P = pf.Phase
NOW = 100.0
TIMING = pf.Timing(inquiry_intervals=(2, 3, 3), cancel_intervals=(2, 3), code_validity=3.0, order_code_poll=1.0,
                   review_interval=10.0, offline_retry=1.0)


def answer(status, delivery=Delivery.DELIVERED, **kw):
    return pf.Answer(status=status, delivery=delivery, **kw)


S, F, U = Status.SUCCESS, Status.FAILURE, Status.UNKNOWN
EVENTS = {
    "tick+": pf.Tick(True),
    "tick-": pf.Tick(False),
    "payS": pf.PayAnswered(answer(S, result_code="SUCCESS", payment_id="P1")),
    "payF": pf.PayAnswered(answer(F, result_code="USER_BALANCE_NOT_ENOUGH")),
    "payU": pf.PayAnswered(answer(U, result_code="PAYMENT_IN_PROCESS")),
    "payNotSent": pf.PayAnswered(answer(U, Delivery.NOT_SENT, result_code="CONNECTION_REFUSED")),
    "payMaybe": pf.PayAnswered(answer(U, Delivery.MAYBE_DELIVERED, result_code="TIMEOUT")),
    "inqSuccess": pf.InquiryAnswered(answer(S, payment_status="SUCCESS", payment_id="P1")),
    "inqFail": pf.InquiryAnswered(answer(S, payment_status="FAIL", result_code="USER_PAYMENT_VERIFICATION_FAILED")),
    "inqCancelled": pf.InquiryAnswered(answer(S, payment_status="CANCELLED")),
    "inqProcessing": pf.InquiryAnswered(answer(S, payment_status="PROCESSING")),
    "inqNotSent": pf.InquiryAnswered(answer(U, Delivery.NOT_SENT)),
    "cancelS": pf.CancelAnswered(answer(S)),
    "cancelF": pf.CancelAnswered(answer(F, result_code="CANCEL_WINDOW_EXCEED")),
    "cancelU": pf.CancelAnswered(answer(U, result_code="UNKNOWN_EXCEPTION")),
    "notifyS": pf.Notified(True, "SUCCESS", "success", "P1"),
    "notifyF": pf.Notified(False, "USER_PAYMENT_VERIFICATION_FAILED", "declined"),
    "abort": pf.Abort(),
    "recovered": pf.Recovered(),
    "assigned": pf.Assigned("PR9"),
}


def sale_in(phase: P, tender: str = pf.PAYMENT_CODE) -> pf.Sale:
    """A representative sale in ``phase`` whose next step is due at NOW."""
    base = pf.new_sale("PR1", tender, "USD", 1234, NOW, TIMING)
    return {
        P.NEW: base,
        P.SENDING: replace(base, phase=P.SENDING, next_at=None, pay_attempts=1),
        P.WAITING: replace(base, tender=pf.ORDER_CODE, phase=P.WAITING, maybe_sent=True, code_value="https://qr/1",
                           code_expires_at=NOW + 60, pay_attempts=1),
        P.INQUIRING: replace(base, phase=P.INQUIRING, maybe_sent=True, unknown_since=NOW, pay_attempts=1),
        P.CANCELLING: replace(base, phase=P.CANCELLING, maybe_sent=True, unknown_since=NOW - 10,
                              cancel_since=NOW, pay_attempts=1),
        P.NEEDS_REVIEW: replace(base, phase=P.NEEDS_REVIEW, maybe_sent=True, cancel_since=NOW - 20, pay_attempts=1),
        P.PAID: replace(base, phase=P.PAID, next_at=None, payment_id="P1", pay_attempts=1),
        P.FAILED: replace(base, phase=P.FAILED, next_at=None, pay_attempts=1),
        P.CANCELLED: replace(base, phase=P.CANCELLED, next_at=None, pay_attempts=1),
        P.VOIDED: replace(base, phase=P.VOIDED, next_at=None),
    }[phase]


#: Expected phase after each event, in EVENTS order:
#: tick+ tick- payS payF payU payNotSent payMaybe inqSuccess inqFail inqCancelled inqProcessing inqNotSent
#: cancelS cancelF cancelU notifyS notifyF abort recovered assigned
N, SE, W, IQ, C, R = "NEW", "SENDING", "WAITING", "INQUIRING", "CANCELLING", "NEEDS_REVIEW"
PA, FA, CA, V = "PAID", "FAILED", "CANCELLED", "VOIDED"
TABLE = {
    P.NEW:          [SE, N, N, N, N, N, N, N, N, N, N, N, N, N, N, PA, FA, V, N, N],
    P.SENDING:      [SE, SE, PA, FA, IQ, N, IQ, SE, SE, SE, SE, SE, SE, SE, SE, PA, FA, SE, IQ, SE],
    P.WAITING:      [W, W, W, W, W, W, W, PA, FA, CA, W, W, W, W, W, PA, FA, C, IQ, W],
    P.INQUIRING:    [IQ, IQ, IQ, IQ, IQ, IQ, IQ, PA, FA, CA, IQ, IQ, IQ, IQ, IQ, PA, FA, C, IQ, IQ],
    P.CANCELLING:   [C, C, C, C, C, C, C, C, C, C, C, C, C, R, C, C, FA, C, C, C],   # cancelS: asks if it was paid
    P.NEEDS_REVIEW: [R, R, R, R, R, R, R, R, FA, CA, R, R, C, R, R, R, FA, R, R, R],
    P.PAID:         [PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, CA, PA, PA, PA, PA, PA, PA, PA],
    P.FAILED:       [FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, C, FA, FA, FA, FA],
    P.CANCELLED:    [CA] * 20,
    P.VOIDED:       [V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, C, V, V, V, V],
}


def test_the_table_covers_every_phase_and_event():
    assert set(TABLE) == set(P)
    assert all(len(row) == len(EVENTS) for row in TABLE.values())
    assert {type(e) for e in EVENTS.values()} == set(pf.EVENT_TYPES)


@pytest.mark.parametrize("phase", list(P), ids=lambda p: p.value)
@pytest.mark.parametrize("name", list(EVENTS))
def test_every_state_and_event(phase, name):
    sale = sale_in(phase)
    after, effects = pf.step(sale, EVENTS[name], NOW)
    expected = TABLE[phase][list(EVENTS).index(name)]
    assert after.phase.value == expected, f"{phase.value} + {name}"
    assert pf.step(sale, EVENTS[name], NOW) == (after, effects), "a transition must be pure"
    sends = [e for e in effects if isinstance(e, pf.Send)]
    if sends:
        assert after.next_at is None, "a request in flight has no next step scheduled"
    if after.final:
        assert after.next_at is None and not sends
    elif not sends and after.phase is not P.SENDING and after != sale:
        assert after.next_at is not None, "an open sale always knows when to act next"


def test_a_payment_that_completes_after_its_cancel_was_refused_is_paid_and_refundable():
    review, _ = pf.step(sale_in(P.CANCELLING), EVENTS["cancelF"], NOW)
    assert review.phase is P.NEEDS_REVIEW and review.cancel_refused
    for name in ("inqSuccess", "notifyS"):
        paid, _ = pf.step(review, EVENTS[name], NOW + 1)
        assert paid.phase is P.PAID and "cancel was refused" in paid.message


def test_a_success_notification_after_a_cancel_does_not_revive_the_sale():
    closed, effects = pf.step(sale_in(P.CANCELLING), EVENTS["cancelS"], NOW)
    assert closed.phase is P.CANCELLING and effects == (pf.Send("inquiryPayment"),), "was it paid first? asked once"
    sale, _ = pf.step(closed, EVENTS["inqCancelled"], NOW)
    assert sale.phase is P.CANCELLED and sale.charged is None
    for name in ("notifyS", "payS", "inqSuccess", "recovered"):
        sale, _ = pf.step(sale, EVENTS[name], NOW + 1)
        assert sale.phase is P.CANCELLED
    assert sale.charged is True, "a success notification after the cancel: the money was taken, and went back"
    sale = closed   # the same events while the inquiry after the cancel is out: never paid again
    for name in ("notifyS", "payS", "inqSuccess", "recovered"):
        sale, _ = pf.step(sale, EVENTS[name], NOW + 1)
        assert sale.phase is P.CANCELLING, name
    sale, effects = pf.step(sale, pf.Tick(), NOW + 1)
    assert effects == (pf.Send("cancel"),), "paid after the cancel succeeded: the cancel is sent again"
    sale, effects = pf.step(sale, EVENTS["cancelS"], NOW + 2)
    assert sale.phase is P.CANCELLED and sale.charged is True and effects == ()


def test_a_payment_code_is_forgotten_once_the_pay_cannot_be_resent():
    for name in ("payS", "payF", "payU", "payMaybe", "notifyS", "notifyF"):
        _, effects = pf.step(sale_in(P.SENDING), EVENTS[name], NOW)
        assert pf.ForgetCode() in effects, name
    _, effects = pf.step(sale_in(P.SENDING), EVENTS["payNotSent"], NOW)
    assert pf.ForgetCode() not in effects, "a pay that never left is resent with the same bytes"


def test_a_queued_pay_goes_out_when_the_link_is_back_and_is_voided_past_its_window():
    sale, effects = pf.step(sale_in(P.SENDING), EVENTS["payNotSent"], NOW)
    assert sale.phase is P.NEW and sale.status == "QUEUED" and not effects
    sale, effects = pf.step(sale, pf.Tick(False), NOW + 1)
    assert sale.phase is P.NEW and not effects
    sale2, effects = pf.step(sale, pf.Tick(True), NOW + 2)
    assert sale2.phase is P.SENDING and effects == (pf.Send("pay"),) and sale2.pay_attempts == 2
    voided, effects = pf.step(sale, pf.Tick(True), NOW + TIMING.code_validity)
    assert voided.phase is P.VOIDED and voided.status == "FAILED" and pf.ForgetCode() in effects


def test_the_inquiry_schedule_then_cancel_then_review():
    sale, _ = pf.step(sale_in(P.SENDING), EVENTS["payU"], NOW)
    assert sale.next_at == NOW + 2
    t = NOW
    for expected_next in (NOW + 5, NOW + 8):
        t = sale.next_at
        sale, effects = pf.step(sale, pf.Tick(), t)
        assert effects == (pf.Send("inquiryPayment"),)
        sale, _ = pf.step(sale, EVENTS["inqProcessing"], t)
        assert sale.phase is P.INQUIRING and sale.next_at == expected_next
    sale, _ = pf.step(sale, pf.Tick(), sale.next_at)
    sale, _ = pf.step(sale, EVENTS["inqProcessing"], NOW + 8)
    assert sale.phase is P.CANCELLING
    t = NOW + 8
    sale, effects = pf.step(sale, pf.Tick(), t)
    assert effects == (pf.Send("cancel"),)
    sale, _ = pf.step(sale, EVENTS["cancelU"], t)
    assert sale.next_at == t + 2
    sale, _ = pf.step(sale, pf.Tick(), t + 2)
    sale, _ = pf.step(sale, EVENTS["cancelU"], t + 2)
    assert sale.next_at == t + 5
    sale, _ = pf.step(sale, pf.Tick(), t + 5)
    sale, _ = pf.step(sale, EVENTS["cancelU"], t + 5)
    assert sale.phase is P.NEEDS_REVIEW and sale.status == "NEEDS_REVIEW"
    sale, effects = pf.step(sale, pf.Tick(), sale.next_at)
    assert effects == (pf.Send("cancel"),), "needs review keeps retrying the cancel in the background"
    sale, effects = pf.step(sale, EVENTS["cancelS"], t + 20)
    assert effects == (pf.Send("inquiryPayment"),), "closed at last: was it paid first?"
    sale, _ = pf.step(sale, EVENTS["inqCancelled"], t + 20)
    assert sale.phase is P.CANCELLED


def test_a_sale_resumed_long_after_a_crash_does_not_replay_the_waits():
    sale = replace(sale_in(P.SENDING), created_at=NOW - 3600)
    sale, _ = pf.step(sale, pf.Recovered(), NOW)
    assert sale.phase is P.INQUIRING and sale.maybe_sent
    sale = replace(sale, unknown_since=NOW - 3600)
    sale, _ = pf.step(sale, pf.Tick(), sale.next_at)
    sale, _ = pf.step(sale, EVENTS["inqProcessing"], NOW)
    assert sale.phase is P.CANCELLING, "the schedule is in wall time: it is long over"


def test_an_unreachable_inquiry_does_not_use_up_the_schedule():
    sale, _ = pf.step(sale_in(P.SENDING), EVENTS["payMaybe"], NOW)
    for k in range(20):
        sale, _ = pf.step(sale, pf.Tick(), sale.next_at)
        sale, _ = pf.step(sale, EVENTS["inqNotSent"], NOW + 100 + k)
    assert sale.phase is P.INQUIRING and sale.inquiries == 0, "never cancel what we could not ask about"


def test_order_code_paths():
    sale = pf.new_sale("PR2", pf.ORDER_CODE, "USD", 500, NOW, TIMING)
    sale, effects = pf.step(sale, pf.Tick(), NOW)
    assert effects == (pf.Send("pay"),)
    retried, effects = pf.step(sale, EVENTS["payU"], NOW)
    assert retried.phase is P.SENDING and effects == (pf.Send("pay"),), "getting a code is resent on U"
    for _ in range(TIMING.order_code_resends):
        retried, _ = pf.step(retried, EVENTS["payMaybe"], NOW)
    assert retried.phase is P.INQUIRING
    issued = pf.PayAnswered(answer(S, code_value="https://qr/2", code_expires_at=NOW + 30, payment_id="P2"))
    waiting, effects = pf.step(sale, issued, NOW)
    assert waiting.phase is P.WAITING and pf.ShowCode("https://qr/2", NOW + 30) in effects
    expired, _ = pf.step(waiting, pf.Tick(), NOW + 30)
    assert expired.phase is P.CANCELLING and "expired" in expired.message
    aborted, _ = pf.step(waiting, pf.Abort(), NOW + 5)
    assert aborted.phase is P.CANCELLING
    paid, _ = pf.step(waiting, EVENTS["notifyS"], NOW + 5)
    assert paid.phase is P.PAID


# -- random sequences ---------------------------------------------------------------------------------
event_names = st.sampled_from(sorted(EVENTS))


@settings(max_examples=400, deadline=None)
@given(start=st.sampled_from(list(P)), tender=st.sampled_from([pf.PAYMENT_CODE, pf.ORDER_CODE]),
       names=st.lists(event_names, max_size=30), gaps=st.lists(st.floats(0, 20), min_size=30, max_size=30))
def test_promises_hold_for_any_sequence(start, tender, names, gaps):
    sale = sale_in(start, tender)
    t = NOW
    forgotten = start not in (P.NEW, P.SENDING)
    was_cancelled = start is P.CANCELLED
    for name, gap in zip(names, gaps, strict=False):
        t += gap
        before = sale
        sale, effects = pf.step(sale, EVENTS[name], t)
        if pf.Send("pay") in effects:
            assert not forgotten, "a pay is never resent once its code was forgotten"
            assert before.phase in (P.NEW, P.SENDING)
        if pf.ForgetCode() in effects:
            forgotten = True
        if was_cancelled:
            assert sale.phase is P.CANCELLED, "a cancelled sale stays cancelled"
        if before.phase is P.PAID:
            assert sale.phase in (P.PAID, P.CANCELLED)
            if sale.phase is P.CANCELLED:
                assert isinstance(EVENTS[name], pf.CancelAnswered)
        if sale.phase is P.PAID and before.phase is not P.PAID:
            assert before.phase in (P.SENDING, P.WAITING, P.INQUIRING, P.NEW) or (
                before.phase is P.NEEDS_REVIEW and before.cancel_refused), "paid only when nothing undoes it"
        was_cancelled = was_cancelled or sale.phase is P.CANCELLED
        if sale.phase is P.VOIDED:
            assert not sale.maybe_sent or before.phase is P.VOIDED


# -- follow-ups (refunds, a manager's cancel) ------------------------------------------------------------
FP = ff.Phase


def followup_in(phase: FP) -> ff.Followup:
    base = ff.new_followup("RF1", ff.REFUND, "PR1", "USD", 100, NOW, TIMING)
    in_flight = phase in (FP.SENDING, FP.DONE, FP.FAILED)
    return replace(base, phase=phase, next_at=None if in_flight else NOW,
                   unknown_since=NOW if phase in (FP.RETRYING, FP.NEEDS_REVIEW) else None)


F_EVENTS = {
    "tick+": ff.Tick(True), "tick-": ff.Tick(False),
    "S": ff.Answered(answer(S, payment_id="R1")), "F": ff.Answered(answer(F, result_code="REFUND_AMOUNT_EXCEED")),
    "U": ff.Answered(answer(U, result_code="UNKNOWN_EXCEPTION")),
    "notSent": ff.Answered(answer(U, Delivery.NOT_SENT)),
    "notifyS": ff.Notified(True, refund_id="R1"), "notifyF": ff.Notified(False, "FAIL"), "recovered": ff.Recovered(),
}
Q, SN, RT, RV, D, FL = "NEW", "SENDING", "RETRYING", "NEEDS_REVIEW", "DONE", "FAILED"
F_TABLE = {  # tick+ tick- S F U notSent notifyS notifyF recovered
    FP.NEW:          [SN, Q, Q, Q, Q, Q, D, FL, Q],
    FP.SENDING:      [SN, SN, D, FL, RT, Q, D, FL, RT],
    FP.RETRYING:     [RT, RT, RT, RT, RT, RT, D, FL, RT],
    FP.NEEDS_REVIEW: [RV, RV, RV, RV, RV, RV, D, FL, RV],
    FP.DONE:         [D] * 9,
    FP.FAILED:       [FL] * 9,
}


@pytest.mark.parametrize("phase", list(FP), ids=lambda p: p.value)
@pytest.mark.parametrize("name", list(F_EVENTS))
def test_every_followup_state_and_event(phase, name):
    assert set(F_TABLE) == set(FP) and {type(e) for e in F_EVENTS.values()} == set(ff.EVENT_TYPES)
    f = followup_in(phase)
    after, effects = ff.step(f, F_EVENTS[name], NOW)
    assert after.phase.value == F_TABLE[phase][list(F_EVENTS).index(name)], f"{phase.value} + {name}"
    if effects:
        assert effects == (ff.Send("refund"),) and after.next_at is None


def test_an_unknown_refund_is_resent_on_the_schedule_then_needs_review_and_keeps_going():
    f, effects = ff.step(ff.new_followup("RF2", ff.REFUND, "PR1", "USD", 100, NOW, TIMING), ff.Tick(), NOW)
    assert effects == (ff.Send("refund"),)
    f, _ = ff.step(f, F_EVENTS["U"], NOW)
    assert f.phase is FP.RETRYING and f.next_at == NOW + 2
    f, effects = ff.step(f, ff.Tick(), NOW + 2)
    assert effects == (ff.Send("refund"),) and f.attempts == 2
    f, _ = ff.step(f, F_EVENTS["U"], NOW + 2)
    f, _ = ff.step(f, ff.Tick(), NOW + 5)
    f, _ = ff.step(f, F_EVENTS["U"], NOW + 5)
    assert f.phase is FP.NEEDS_REVIEW
    f, effects = ff.step(f, ff.Tick(), f.next_at)
    assert effects == (ff.Send("refund"),)
    f, _ = ff.step(f, F_EVENTS["S"], NOW + 20)
    assert f.phase is FP.DONE and f.status == "SUCCESS"


# -- a cashier's abort ------------------------------------------------------------------------------------------
def stopped_in(phase: P, tender: str = pf.PAYMENT_CODE) -> pf.Sale:
    """A sale the cashier stopped in ``phase`` (an abortable one), as the machine leaves it."""
    sale, _ = pf.step(sale_in(phase, tender), pf.Abort(), NOW)
    return sale


#: A sale stopped while its pay was in flight, and the same once the pay's outcome turned out unknown, against
#: every event (EVENTS order, as TABLE). Paid → cancel; failed → done; unknown → inquire, then cancel.
STOPPED_TABLE = {
    P.SENDING:   [SE, SE, C, FA, IQ, V, IQ, SE, SE, SE, SE, SE, SE, SE, SE, C, FA, SE, IQ, SE],
    P.INQUIRING: [IQ, IQ, IQ, IQ, IQ, IQ, IQ, C, FA, CA, C, IQ, IQ, IQ, IQ, C, FA, IQ, IQ, IQ],
}


@pytest.mark.parametrize("phase", list(STOPPED_TABLE), ids=lambda p: p.value)
@pytest.mark.parametrize("name", list(EVENTS))
def test_every_event_after_a_stop_in_flight(phase, name):
    stopped = stopped_in(P.SENDING)
    if phase is P.INQUIRING:
        stopped, _ = pf.step(stopped, EVENTS["payMaybe"], NOW)
    assert stopped.aborted and stopped.phase is phase
    after, effects = pf.step(stopped, EVENTS[name], NOW)
    assert after.phase.value == STOPPED_TABLE[phase][list(EVENTS).index(name)], f"stopped {phase.value} + {name}"
    assert pf.Send("pay") not in effects, "a stopped sale's pay is never sent again"
    assert after.aborted, "the stop is never forgotten"
    if after.phase is P.CANCELLING:
        assert after.next_at == NOW, "the cancel goes out at once"


@pytest.mark.parametrize("phase", sorted(ABORTABLE, key=lambda p: p.value), ids=lambda p: p.value)
def test_the_abort_is_recorded_at_once_in_every_abortable_phase(phase):
    tender = pf.ORDER_CODE if phase is P.WAITING else pf.PAYMENT_CODE
    stopped = stopped_in(phase, tender)
    assert stopped.aborted
    assert stopped.phase is {P.NEW: P.VOIDED, P.SENDING: P.SENDING}.get(phase, P.CANCELLING)
    assert pf.step(stopped, pf.Abort(), NOW + 1)[0] == stopped, "a second abort changes nothing"


@pytest.mark.parametrize("phase", sorted(set(P) - ABORTABLE, key=lambda p: p.value), ids=lambda p: p.value)
def test_an_abort_outside_the_abortable_phases_changes_nothing(phase):
    sale = sale_in(phase)
    assert pf.step(sale, pf.Abort(), NOW) == (sale, ())


def test_a_stopped_order_code_is_never_shown_and_is_closed():
    sale = pf.new_sale("PR3", pf.ORDER_CODE, "USD", 500, NOW, TIMING)
    sale, _ = pf.step(sale, pf.Tick(), NOW)
    sale, _ = pf.step(sale, pf.Abort(), NOW)
    issued = pf.PayAnswered(answer(S, code_value="https://qr/3", code_expires_at=NOW + 30, payment_id="P3"))
    sale, effects = pf.step(sale, issued, NOW)
    assert sale.phase is P.CANCELLING and not any(isinstance(e, pf.ShowCode) for e in effects)
    assert sale.gateway_status != "SUCCESS", "an issued code is not a payment"


FATES = ("paid", "failed", "unknown", "processing")


class Ledger:
    """The gateway's side of one payment request, modelled on its own (not with the machine's rules): what it
    holds. As the real gateway and the simulator do, a cancel closes whatever is open (an id it never saw
    too), gives a payment's money back, and answers S for one that failed; past the cancel window it refuses a
    paid one. ``fate`` is what becomes of the pay: paid, failed, unknown (its answer and notification are lost,
    whatever happened), processing (the customer must confirm, and may)."""

    def __init__(self, fate: str, tender: str, lands: str | None, refuses_cancel: bool) -> None:
        self.fate, self.tender, self.lands, self.refuses_cancel = fate, tender, lands, refuses_cancel
        self.status: str | None = None      # None (never seen) | PROCESSING | SUCCESS | FAIL | CANCELLED
        self.notices: list[bool] = []       # notifications not delivered yet (success?)
        self.cancels_refused = 0

    @property
    def holds_money(self) -> bool:
        return self.status == "SUCCESS"

    def _settle(self, status: str) -> None:
        self.status = status
        if self.fate != "unknown":
            self.notices.append(status == "SUCCESS")

    def pay(self, answer_lost: bool) -> pf.Answer:
        if self.status == "CANCELLED":
            return answer(F, result_code="ORDER_IS_CLOSED")
        if self.status is None:           # a resend of the same request finds the same payment
            if self.tender == pf.ORDER_CODE:
                self.status = "PROCESSING"
            elif self.fate == "unknown":
                if self.lands:
                    self._settle(self.lands)
            else:
                {"paid": lambda: self._settle("SUCCESS"), "failed": lambda: self._settle("FAIL"),
                 "processing": lambda: setattr(self, "status", "PROCESSING")}[self.fate]()
        if answer_lost:
            return answer(U, Delivery.MAYBE_DELIVERED, result_code="TIMEOUT")
        if self.tender == pf.ORDER_CODE:
            return answer(S, payment_id="P1", code_value="https://qr/1", code_expires_at=NOW + 60)
        return {"SUCCESS": answer(S, result_code="SUCCESS", payment_id="P1"),
                "FAIL": answer(F, result_code="USER_BALANCE_NOT_ENOUGH"),
                "PROCESSING": answer(U, result_code="PAYMENT_IN_PROCESS", payment_id="P1")}[self.status]

    def customer(self) -> None:
        """The customer confirms in the wallet or pays the order code (declines, if the fate is failed)."""
        if self.status == "PROCESSING":
            self._settle("FAIL" if self.fate == "failed" else "SUCCESS")

    def inquiry(self, flaw: str) -> pf.Answer:
        if flaw == "not sent":
            return answer(U, Delivery.NOT_SENT, result_code="CONNECTION_REFUSED")
        if flaw == "lost":
            return answer(U, Delivery.MAYBE_DELIVERED, result_code="TIMEOUT")
        if self.status is None:
            return answer(F, result_code="ORDER_NOT_EXIST")
        return answer(S, payment_status=self.status, payment_id="P1")

    def cancel(self, flaw: str) -> pf.Answer:
        if flaw == "not sent":
            return answer(U, Delivery.NOT_SENT, result_code="CONNECTION_REFUSED")
        if self.status == "SUCCESS" and self.refuses_cancel:
            self.cancels_refused += 1
            reply = answer(F, result_code="CANCEL_WINDOW_EXCEED")
        else:
            if self.status != "FAIL":
                self.status = "CANCELLED"
            reply = answer(S)
        return answer(U, Delivery.MAYBE_DELIVERED, result_code="TIMEOUT") if flaw == "lost" else reply


FLAWS = st.sampled_from(["", "", "", "not sent", "lost"])


@pytest.mark.parametrize("fate", FATES)
@pytest.mark.parametrize("phase", sorted(ABORTABLE, key=lambda p: p.value), ids=lambda p: p.value)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_stop_in_any_abortable_phase_leaves_nothing_charged_that_the_sale_does_not_say(phase, fate, data):
    """Whatever the gateway does with the pay, and whatever comes after (notifications, the customer
    confirming, crashes, lost or unsent inquiries and cancels, a refused cancel): once the cashier's abort is
    taken, the sale never ends PAID without a cancel having been refused, never ends CANCELLED (or not paid)
    while the gateway keeps the money, a pay that failed is final with nothing charged and no cancel, and the
    pay is never sent again."""
    tender = pf.ORDER_CODE if phase is P.WAITING else (
        data.draw(st.sampled_from([pf.PAYMENT_CODE, pf.ORDER_CODE])) if phase is P.SENDING else pf.PAYMENT_CODE)
    ledger = Ledger(fate, tender, data.draw(st.sampled_from(["SUCCESS", "FAIL", None])), data.draw(st.booleans()))
    sale = pf.new_sale("PR1", tender, "USD", 1234, NOW, TIMING)
    t = NOW
    stopped = False
    sends_after_stop: list[str] = []
    failed_pay: list[pf.Sale] = []        # the pay's answer after the stop said it failed

    def feed(event, *, calm: bool = False) -> None:
        """Step the machine, then carry out its sends against the ledger (the answers fed back in turn), as the
        terminal does; the abort is taken the moment the sale is first in ``phase``."""
        nonlocal sale, stopped
        queue = [event]
        while queue:
            before, now_event = sale, queue.pop(0)
            sale, effects = pf.step(sale, now_event, t)
            if stopped and isinstance(now_event, pf.PayAnswered) and now_event.answer.status is F:
                assert sale.phase is P.FAILED and effects == (pf.ForgetCode(),), "failed after a stop: done"
                failed_pay.append(sale)
            for effect in effects:
                if not isinstance(effect, pf.Send):
                    continue
                if stopped:
                    sends_after_stop.append(effect.api)
                if effect.api == "pay":
                    lost = phase is P.INQUIRING or (fate == "unknown" and phase is not P.WAITING)
                    reply = answer(U, Delivery.NOT_SENT, result_code="CONNECTION_REFUSED") if (
                        phase is P.NEW and not stopped) else ledger.pay(lost)
                    if not stopped and phase is P.SENDING:
                        stop()                                   # the abort arrives with the pay in flight
                        if data.draw(st.booleans(), label="crash with the pay in flight"):
                            queue.append(pf.Recovered())         # nobody applies this pay's answer
                            continue
                    queue.append(pf.PayAnswered(reply))
                else:
                    flaw = "" if calm else data.draw(FLAWS, label=f"{effect.api} flaw")
                    queue.append(pf.InquiryAnswered(ledger.inquiry(flaw)) if effect.api == "inquiryPayment"
                                 else pf.CancelAnswered(ledger.cancel(flaw)))
            if not stopped and sale.phase is phase and phase is not P.SENDING and (
                    phase is not P.NEW or before.phase is P.SENDING or event == pf.Tick(False)):
                stop()

    def stop() -> None:
        nonlocal sale, stopped
        was = sale.phase
        sale, effects = pf.step(sale, pf.Abort(), t)
        assert was in ABORTABLE and sale.aborted, "the abort is recorded at once"
        assert not any(isinstance(e, pf.Send) for e in effects)
        stopped = True

    if phase is P.NEW:   # it never left: the link is down, or the pay certainly did not go out
        feed(pf.Tick(data.draw(st.booleans(), label="link up")))
    else:
        feed(pf.Tick(True))
    assert stopped or sale.final, f"the sale never reached {phase.value}: {sale}"
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        if sale.final:
            break
        moves = ["tick"] * (sale.next_at is not None) + ["notify"] * bool(ledger.notices) + \
            ["customer"] * (ledger.status == "PROCESSING") + ["crash"]
        move = data.draw(st.sampled_from(moves), label="move")
        if move == "tick":
            t = max(t, sale.next_at) + data.draw(st.sampled_from([0, 0.5, 4]), label="late")
            feed(pf.Tick(data.draw(st.sampled_from([True, True, False]), label="link up")))
        elif move == "notify":
            feed(pf.Notified(ledger.notices.pop(0), "SUCCESS", "success", "P1"))
        elif move == "customer":
            ledger.customer()
        else:
            feed(pf.Recovered())
    for _ in range(200):                  # calm: every request reaches the gateway and is answered
        if sale.final:
            break
        assert sale.next_at is not None, f"an open sale with nothing to do: {sale}"
        t = max(t, sale.next_at)
        feed(pf.Tick(True), calm=True)
    assert stopped and sale.final, sale
    assert "pay" not in sends_after_stop, "a stopped sale's pay is never sent again"
    if sale.phase is P.PAID:
        assert ledger.holds_money and ledger.cancels_refused, "paid after a stop only when the cancel was refused"
    else:
        assert not ledger.holds_money, f"the sale ends {sale.phase.value} while the gateway keeps the money"
    if sale.phase is P.CANCELLED:
        assert ledger.status in ("CANCELLED", "FAIL")
    if failed_pay:
        assert sale == failed_pay[0] and not sends_after_stop, "a failed pay after a stop is final: no cancel"
    if sale.phase in (P.FAILED, P.VOIDED):
        assert ledger.status in (None, "FAIL", "CANCELLED"), "not paid, and nothing charged"
    for success in ledger.notices:        # late notifications revive nothing
        settled_as = sale.phase
        feed(pf.Notified(success, "SUCCESS" if success else "FAIL", "", "P1"), calm=True)
        assert sale.phase is settled_as


def test_a_failed_pay_after_a_stop_is_final_and_sends_nothing():
    sale, effects = pf.step(stopped_in(P.SENDING), EVENTS["payF"], NOW)
    assert sale.phase is P.FAILED and sale.final and effects == (pf.ForgetCode(),)
    assert pf.step(sale, pf.Tick(), NOW + 100) == (sale, ())


# -- the entry code: nothing is ever sent under our request id -------------------------------------------------
ENTRY_TIMING = replace(TIMING, entry_window=60.0)


def entry_sale() -> pf.Sale:
    return pf.new_sale("PR1", pf.ENTRY_CODE, "USD", 1234, NOW, ENTRY_TIMING, code_value="https://entry/s/1")


#: An entry-code sale against every event (EVENTS order): waiting (its window not over), paid by a matched
#: notification, and an unmatched payment's own row (PAID), which only a manager's cancel or an assignment moves.
ENTRY_TABLE = {
    "waiting": [W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, PA, W, V, W, W],
    "unmatched": [PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, CA, PA, PA, PA, PA, PA, PA, V],
}


def entry_in(state: str) -> pf.Sale:
    return entry_sale() if state == "waiting" else pf.unmatched_payment("EP1", "USD", 1234, NOW, "P7", ENTRY_TIMING)


@pytest.mark.parametrize("state", list(ENTRY_TABLE))
@pytest.mark.parametrize("name", list(EVENTS))
def test_every_event_of_an_entry_code_sale(state, name):
    sale = entry_in(state)
    after, effects = pf.step(sale, EVENTS[name], NOW)
    assert after.phase.value == ENTRY_TABLE[state][list(EVENTS).index(name)], f"{state} + {name}"
    assert not [e for e in effects if isinstance(e, pf.Send)], "nothing goes to the gateway under our id"


def test_an_entry_code_sale_waits_its_window_then_is_not_paid_without_a_cancel():
    sale = entry_sale()
    assert sale.phase is P.WAITING and sale.status == "UNKNOWN" and sale.next_at == NOW + 60
    assert pf.step(sale, pf.Tick(), NOW + 59.9) == (sale, ())
    after, effects = pf.step(sale, pf.Tick(), NOW + 60)
    assert (after.phase, after.status, after.result_code, effects) == (P.VOIDED, "FAILED", pf.NOT_PAID_IN_TIME, ())
    assert after.next_at is None and after.cancel_since is None
    assert pf.step(after, EVENTS["notifyS"], NOW + 61)[0] == after, "a late payment does not revive it"


def test_a_matched_notification_pays_it_and_keeps_the_payment_id():
    after, effects = pf.step(entry_sale(), pf.Notified(True, "SUCCESS", "success", "P9"), NOW + 5)
    assert (after.phase, after.payment_id, after.charged, effects) == (P.PAID, "P9", True, ())


def test_an_assigned_payment_closes_uncounted_and_lets_its_payment_id_go():
    after, effects = pf.step(entry_in("unmatched"), pf.Assigned("PR2"), NOW)
    assert (after.phase, after.status, after.result_code, after.payment_id) == (P.VOIDED, "FAILED", pf.ASSIGNED, None)
    assert "PR2" in after.message and effects == ()


@settings(max_examples=300, deadline=None)
@given(names=st.lists(event_names, max_size=30), gaps=st.lists(st.floats(0, 40), min_size=30, max_size=30))
def test_an_entry_code_sale_never_sends_and_is_paid_only_by_a_success_while_waiting(names, gaps):
    sale, t = entry_sale(), NOW
    for name, gap in zip(names, gaps, strict=False):
        t += gap
        before = sale
        sale, effects = pf.step(sale, EVENTS[name], t)
        assert not any(isinstance(e, pf.Send) for e in effects), "never an inquiry or cancel by our request id"
        assert sale.phase in (P.WAITING, P.PAID, P.VOIDED, P.CANCELLED)
        if sale.phase is P.PAID and before.phase is not P.PAID:
            assert before.phase is P.WAITING and EVENTS[name] == EVENTS["notifyS"]
        if before.final:
            assert sale.phase is before.phase or (before.phase is P.PAID and sale.phase in (P.CANCELLED, P.VOIDED))
        if sale.phase is P.VOIDED and before.phase is P.WAITING:
            assert sale.result_code in (pf.NOT_PAID_IN_TIME, "ABORTED")
            assert sale.result_code == "ABORTED" or t >= NOW + 60
        if not sale.final:
            assert sale.next_at == NOW + 60, "it acts once: at its window's end"
