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
#: cancelS cancelF cancelU notifyS notifyF abort recovered
N, SE, W, I, C, R = "NEW", "SENDING", "WAITING", "INQUIRING", "CANCELLING", "NEEDS_REVIEW"
PA, FA, CA, V = "PAID", "FAILED", "CANCELLED", "VOIDED"
TABLE = {
    P.NEW:          [SE, N, N, N, N, N, N, N, N, N, N, N, N, N, N, PA, FA, V, N],
    P.SENDING:      [SE, SE, PA, FA, I, N, I, SE, SE, SE, SE, SE, SE, SE, SE, PA, FA, SE, I],
    P.WAITING:      [W, W, W, W, W, W, W, PA, FA, CA, W, W, W, W, W, PA, FA, C, I],
    P.INQUIRING:    [I, I, I, I, I, I, I, PA, FA, CA, I, I, I, I, I, PA, FA, C, I],
    P.CANCELLING:   [C, C, C, C, C, C, C, C, C, C, C, C, CA, R, C, C, FA, C, C],
    P.NEEDS_REVIEW: [R, R, R, R, R, R, R, R, FA, CA, R, R, CA, R, R, R, FA, R, R],
    P.PAID:         [PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, PA, CA, PA, PA, PA, PA, PA, PA],
    P.FAILED:       [FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, FA, C, FA, FA, FA],
    P.CANCELLED:    [CA] * 19,
    P.VOIDED:       [V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, C, V, V, V],
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
    sale, _ = pf.step(sale_in(P.CANCELLING), EVENTS["cancelS"], NOW)
    for name in ("notifyS", "payS", "inqSuccess", "recovered"):
        sale, _ = pf.step(sale, EVENTS[name], NOW + 1)
        assert sale.phase is P.CANCELLED


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
    sale, _ = pf.step(sale, EVENTS["cancelS"], t + 20)
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
    for name, gap in zip(names, gaps):
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
