"""The words of a sale's outcome, and when they come (issue 15: 2.3 offline, 2.4 gateway errors, 2.6 a decline),
pure: the sale's state machine stepped by hand with the answers the gateway client makes of real outcomes
(``answers.answer_of``), its words read from ``sale_view``.

What is checked against something else than the code's own rules: the simulator's scenario table (what 99.04,
99.05 and 99.11 do), the machine's own voiding (the countdown on screen must end when the sale is voided), and a
model of the gateway's ledger (the words may claim "not charged" only when the model never took the money)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app import payment_flow as pf
from pos_app import sale_view
from pos_app.answers import answer_of
from pos_app.i18n import set_language
from pos_app.outcome import Delivery, Outcome, Status
from pos_app.sim import scenarios as sc

P = pf.Phase
T0 = 1_000.0
STORE = pf.Timing()   # the store's defaults: the official in-store SDK's schedule (spec §6)


@pytest.fixture(autouse=True)
def english():
    set_language("en")


# -- what the gateway client returns, as gateway.py classifies it ----------------------------------------------
def verified(status: Status, code: str = "", message: str = "", **body) -> pf.Answer:
    delivery = Delivery.DELIVERED if status is Status.UNKNOWN else None
    result = {"resultCode": code, "resultStatus": {Status.SUCCESS: "S", Status.FAILURE: "F"}.get(status, "U")}
    return answer_of(Outcome(status, code, message, {"result": result, **body}, delivery, 200))


def http_error(status: int) -> pf.Answer:
    return answer_of(Outcome(Status.UNKNOWN, "", f"the gateway answered HTTP {status}",
                             delivery=Delivery.MAYBE_DELIVERED, http_status=status))


def refused() -> pf.Answer:
    return answer_of(Outcome(Status.UNKNOWN, "", "could not connect to the gateway: [Errno 111] Connection refused",
                             delivery=Delivery.NOT_SENT))


def timed_out() -> pf.Answer:
    return answer_of(Outcome(Status.UNKNOWN, "", "the gateway did not finish answering within 10 s",
                             delivery=Delivery.MAYBE_DELIVERED))


def inquiry(payment_status: str, code: str = "SUCCESS", message: str = "") -> pf.Answer:
    body = {"paymentStatus": payment_status, "paymentId": "P1"}
    if payment_status in ("FAIL", "SUCCESS", "PROCESSING"):
        body.update(paymentResultCode=code, paymentResultMessage=message)
    return verified(Status.SUCCESS, "SUCCESS", "success", **body)


def sent(tender: str = pf.PAYMENT_CODE, amount: int = 1234) -> pf.Sale:
    """A sale whose pay has just gone out (the link was up)."""
    sale, effects = pf.step(pf.new_sale("PR1", tender, "USD", amount, T0, STORE), pf.Tick(True), T0)
    assert effects == (pf.Send("pay"),)
    return sale


def words(sale: pf.Sale) -> str:
    view = sale_view.cashier_view(sale)
    return " | ".join((view.headline, view.detail, view.next_step, sale_view.customer_view(sale).message))


# -- 2.6: a decline says declined, whichever way it is learnt ---------------------------------------------------
#: The simulator's declines (pos_app/sim): 99.04 ends with an inquiry's FAIL after the customer declines in the
#: wallet, 99.05 with the pay's F. Their codes are read from the simulator, not from the terminal.
DECLINES = {sc.DECLINE_AFTER_2S: sc.SETTLE_AFTER[sc.DECLINE_AFTER_2S][2],
            sc.BALANCE_NOT_ENOUGH: "USER_BALANCE_NOT_ENOUGH"}


def _decline_paths(code: str) -> dict[str, pf.Sale]:
    """The same decline, learnt by each way the gateway can tell it."""
    pending, _ = pf.step(sent(), pf.PayAnswered(verified(Status.UNKNOWN, "PAYMENT_IN_PROCESS", payment_id="P1")), T0)
    by_pay, _ = pf.step(sent(), pf.PayAnswered(verified(Status.FAILURE, code, "declined")), T0)
    by_inquiry, _ = pf.step(pending, pf.InquiryAnswered(inquiry("FAIL", code, "the customer declined")), T0 + 2)
    by_notice, _ = pf.step(pending, pf.Notified(False, code, "declined", "P1"), T0 + 1)
    shown, _ = pf.step(sent(pf.ORDER_CODE), pf.PayAnswered(verified(
        Status.SUCCESS, "SUCCESS", orderCodeForm={"codeDetails": [{"codeValue": "https://qr/1"}]})), T0)
    by_qr, _ = pf.step(shown, pf.InquiryAnswered(inquiry("FAIL", code)), T0 + 3)
    stopped, _ = pf.step(sent(), pf.Abort(), T0)
    after_stop, _ = pf.step(stopped, pf.PayAnswered(verified(Status.FAILURE, code)), T0 + 1)
    return {"pay": by_pay, "inquiry": by_inquiry, "notification": by_notice, "order code": by_qr,
            "pay after a stop": after_stop}


@pytest.mark.parametrize("amount", sorted(DECLINES))
def test_a_decline_says_declined_with_the_next_step_the_same_way_by_every_path(amount):
    code = DECLINES[amount]
    paths = _decline_paths(code)
    seen = {}
    for path, sale in paths.items():
        assert sale.phase is P.FAILED, path
        view = sale_view.cashier_view(sale)
        assert view.headline == "DECLINED", (path, view)
        assert "Declined" in view.detail and f"({code})" in view.detail, (path, view.detail)
        assert "in time" not in view.detail, "a decline is not a timeout"
        assert "Do not hand over the goods" in view.next_step and "another way to pay" in view.next_step
        assert (view.final, view.hand_over, view.tone) == (True, False, sale_view.DECLINED)
        customer = sale_view.customer_view(sale)
        assert customer.result == "not_paid" and "not been charged" in customer.message
        assert code not in customer.message, "no codes for the customer"
        seen[path] = (view.headline, view.detail, view.next_step, customer.message)
    assert len(set(seen.values())) == 1, f"the same decline in different words: {seen}"


def test_a_failure_that_is_no_decline_is_not_called_one():
    expired, _ = pf.step(sent(), pf.PayAnswered(verified(Status.FAILURE, "INVALID_CODE", "not a code")), T0)
    view = sale_view.cashier_view(expired)
    assert view.headline == "NOT PAID" and "DECLINED" not in words(expired) and "fresh code" in view.next_step


# -- 2.4: the gateway failing (scenario 9911: HTTP 503, nothing processed) --------------------------------------
def _inquire_until_cancel(sale: pf.Sale, answer: pf.Answer, *, watch) -> pf.Sale:
    """Follow the inquiry schedule, each inquiry answered ``answer``, until the sale cancels."""
    for _ in range(len(STORE.inquiry_intervals) + 1):
        if sale.phase is not P.INQUIRING:
            break
        at = sale.next_at
        sale, effects = pf.step(sale, pf.Tick(True), at)
        assert effects == (pf.Send("inquiryPayment"),)
        sale, _ = pf.step(sale, pf.InquiryAnswered(answer), at)
        watch(sale)
    return sale


def _cancel_and_confirm(sale: pf.Sale, after_cancel: pf.Answer) -> pf.Sale:
    """The cancel (the simulator closes a request id it never saw: S), then whatever the machine asks next."""
    at = sale.next_at
    sale, effects = pf.step(sale, pf.Tick(True), at)
    assert effects == (pf.Send("cancel"),)
    sale, effects = pf.step(sale, pf.CancelAnswered(verified(Status.SUCCESS, "SUCCESS", paymentRequestId="PR1")), at)
    if effects == (pf.Send("inquiryPayment"),):
        sale, effects = pf.step(sale, pf.InquiryAnswered(after_cancel), at)
    return sale


def not_there() -> pf.Answer:
    return verified(Status.FAILURE, "ORDER_NOT_EXIST", "no payment has this id")


def test_the_gateway_failing_is_said_at_once_and_the_end_says_not_charged():
    assert sc.TABLE[sc.UNAVAILABLE].startswith("HTTP 503; nothing is processed")
    failing, _ = pf.step(sent(amount=sc.UNAVAILABLE), pf.PayAnswered(http_error(503)), T0 + 0.01)
    view = sale_view.cashier_view(failing)
    # The words change with the pay's answer, before any tick: the cashier reads it as soon as the 503 is back.
    assert "The gateway is failing (HTTP 503)" in view.headline and "still checking" in view.headline, view
    assert view.tone == sale_view.UNSURE and view.can_abort and not view.hand_over and not view.final
    assert "another way to pay" in view.next_step, "the cashier may stop it and take another way to pay"

    def still_failing(sale: pf.Sale) -> None:
        if not sale.final and sale.phase is P.INQUIRING:
            assert "HTTP 503" in sale_view.cashier_view(sale).headline, "not 'check 8': the gateway is failing"
    cancelling = _inquire_until_cancel(failing, not_there(), watch=still_failing)
    assert cancelling.phase is P.CANCELLING
    ended = _cancel_and_confirm(cancelling, not_there())
    assert ended.phase is P.CANCELLED and ended.status == "CANCELLED"
    view = sale_view.cashier_view(ended)
    assert view.headline == "NOT CHARGED" and "nothing was charged" in view.detail and "HTTP 503" in view.detail
    assert "or the money went back" not in words(ended), "unambiguous"
    customer = sale_view.customer_view(ended)
    assert customer.result == "not_paid" and "You have not been charged" in customer.message


def test_a_503_whose_payment_the_gateway_then_has_says_what_it_waits_for():
    """The 503 was the gateway's front; the inquiry finds the payment, the customer confirming: that is said."""
    failing, _ = pf.step(sent(), pf.PayAnswered(http_error(503)), T0)
    failing, _ = pf.step(failing, pf.Tick(True), failing.next_at)
    confirming, _ = pf.step(failing, pf.InquiryAnswered(inquiry("PROCESSING", "PAYMENT_IN_PROCESS")), T0 + 2)
    assert sale_view.cashier_view(confirming).headline == "Waiting for the customer to confirm in the wallet"
    confirming, _ = pf.step(confirming, pf.Tick(True), confirming.next_at)
    again, _ = pf.step(confirming, pf.InquiryAnswered(http_error(502)), T0 + 5)
    assert sale_view.cashier_view(again).headline == "The gateway is failing (HTTP 502); still checking…"


def test_the_cashier_may_stop_a_failing_payment_and_it_ends_not_charged_too():
    failing, _ = pf.step(sent(amount=sc.UNAVAILABLE), pf.PayAnswered(http_error(503)), T0)
    stopped, _ = pf.step(failing, pf.Abort(), T0 + 1)
    assert stopped.phase is P.CANCELLING
    ended = _cancel_and_confirm(replace(stopped, next_at=T0 + 1), not_there())
    assert sale_view.cashier_view(ended).headline == "NOT CHARGED"
    assert "Stopped at the till" in sale_view.cashier_view(ended).detail


def test_not_charged_is_never_said_when_the_gateway_did_not_prove_it():
    """The cancel succeeded, but the inquiry after it says "cancelled" (a payment existed: it may have been paid
    first and given back), or brings no answer: the words say neither "not charged" nor "nothing was
    charged", and say what happens if the wallet shows a charge."""
    stuck, _ = pf.step(sent(amount=sc.STUCK), pf.PayAnswered(verified(Status.UNKNOWN, "PAYMENT_IN_PROCESS")), T0)
    cancelling = _inquire_until_cancel(stuck, inquiry("PROCESSING", "PAYMENT_IN_PROCESS"), watch=lambda s: None)
    for after_cancel in (inquiry("CANCELLED"), timed_out(), refused(), http_error(503),
                         verified(Status.UNKNOWN, "UNKNOWN_EXCEPTION")):
        ended = _cancel_and_confirm(cancelling, after_cancel)
        assert ended.phase is P.CANCELLED, after_cancel
        text = words(ended).lower()
        assert "not charged" not in text and "nothing was charged" not in text and "not been charged" not in text
        assert "if the customer's wallet shows a charge, it goes back in full" in text
        assert "did not confirm in time" in text, "9906: the customer never confirmed, so it was cancelled"
    paid_then_stopped, _ = pf.step(pf.step(sent(), pf.Abort(), T0)[0],
                                   pf.PayAnswered(verified(Status.SUCCESS, "SUCCESS", payment_id="P1")), T0 + 1)
    ended = _cancel_and_confirm(replace(paid_then_stopped, next_at=T0 + 1), not_there())
    assert ended.phase is P.CANCELLED and ended.charged is True, "paid, then cancelled: no inquiry unsays it"
    assert "the money goes back" in words(ended) and "not charged" not in words(ended).lower()


# -- 2.3: offline ----------------------------------------------------------------------------------------------
def test_a_queued_pay_shows_the_time_left_before_it_is_voided_and_the_machine_voids_it_then():
    queued, _ = pf.step(sent(), pf.PayAnswered(refused()), T0 + 0.2)
    assert queued.phase is P.NEW
    view = sale_view.cashier_view(queued)
    assert view.void_at is not None and view.waiting_for == "the network"
    assert STORE.code_validity == 60, "a payment code is good about a minute (spec §8)"
    line = sale_view.waiting_line(view, 12, T0 + 12.3)   # 47.7 s left: said as 48, never as less than there is
    assert line == "Waiting for the network · 12 s · voided in 48 s unless the link is back", line
    assert sale_view.waiting_line(view, 99, view.void_at + 5).endswith("voided in 0 s unless the link is back")
    # The screen's countdown ends when the machine voids it: not a moment before, not after.
    before, _ = pf.step(queued, pf.Tick(False), view.void_at - 0.001)
    assert before.phase is P.NEW
    voided, _ = pf.step(queued, pf.Tick(False), view.void_at)
    assert voided.phase is P.VOIDED
    assert "another way to pay" in view.next_step and "fresh code" not in view.next_step
    after = sale_view.cashier_view(voided)
    assert after.headline == "NOT PAID" and "never sent" in after.detail and "nothing was charged" in after.detail
    assert "another way to pay" in after.next_step and "fresh code" not in after.next_step, after.next_step
    assert "not been charged" in sale_view.customer_view(voided).message
    assert sale_view.cashier_view(pf.step(queued, pf.Tick(True), T0 + 5)[0]).void_at is None, "sending: no void"


@pytest.mark.parametrize("where", ["qr shown", "customer confirming", "checking"])
def test_a_link_drop_in_the_middle_of_a_payment_is_said_at_once(where):
    if where == "qr shown":
        sale, _ = pf.step(sent(pf.ORDER_CODE), pf.PayAnswered(verified(
            Status.SUCCESS, "SUCCESS", orderCodeForm={"codeDetails": [{"codeValue": "https://qr/1"}]})), T0)
        was = "Waiting for the customer to scan the QR and pay"
    elif where == "customer confirming":
        sale, _ = pf.step(sent(amount=sc.CONFIRM_AFTER_4S), pf.PayAnswered(verified(
            Status.UNKNOWN, "PAYMENT_IN_PROCESS")), T0)
        was = "Waiting for the customer to confirm in the wallet"
    else:
        sale, _ = pf.step(sent(), pf.PayAnswered(verified(Status.UNKNOWN, "UNKNOWN_EXCEPTION")), T0)
        was = "Checking the result with the gateway"
    assert sale_view.cashier_view(sale).headline == was
    sale, effects = pf.step(sale, pf.Tick(True), sale.next_at)
    assert effects == (pf.Send("inquiryPayment"),)
    down, _ = pf.step(sale, pf.InquiryAnswered(refused()), sale.next_at or T0 + 2)
    view = sale_view.cashier_view(down)
    # With the first call that could not leave: the very next screen says so.
    assert view.headline == "The link to the gateway is down", view
    assert view.waiting_for == "the network" and view.can_abort and not view.hand_over
    assert "another way to pay" in view.next_step and "fresh code" not in view.next_step
    assert sale_view.customer_view(down) == sale_view.customer_view(sale), "the customer is never told of the link"
    back, _ = pf.step(down, pf.Tick(True), down.next_at)
    back, _ = pf.step(back, pf.InquiryAnswered(inquiry("PROCESSING", "PAYMENT_IN_PROCESS")), down.next_at)
    assert "link" not in sale_view.cashier_view(back).headline, "the link is back: the words are the phase's again"


def test_the_gateway_not_answering_while_a_qr_is_shown_is_said():
    sale, _ = pf.step(sent(pf.ORDER_CODE), pf.PayAnswered(verified(
        Status.SUCCESS, "SUCCESS", orderCodeForm={"codeDetails": [{"codeValue": "https://qr/1"}]})), T0)
    sale, _ = pf.step(sale, pf.Tick(True), sale.next_at)
    sale, _ = pf.step(sale, pf.InquiryAnswered(timed_out()), T0 + 13)
    assert sale_view.cashier_view(sale).headline == "No clear answer from the gateway; still checking…"


# -- the promise behind the words, for any sequence: a model of the gateway's ledger -------------------------------
class Ledger:
    """One payment request as the gateway holds it, modelled apart from the machine: whether it ever took the
    money (``ever_paid``) and what it holds now. As the simulator does, a cancel closes an id it never saw (a
    pay arriving later is refused), gives a paid payment's money back, and answers S for a failed one."""

    def __init__(self, fate: str) -> None:
        self.fate = fate                 # paid | declined | confirm (the customer confirms later) | stuck
        self.status: str | None = None   # None (never seen) | PROCESSING | SUCCESS | FAIL | CANCELLED
        self.closed = False
        self.ever_paid = False
        self.notices: list[bool] = []

    def _settle(self, status: str) -> None:
        self.status = status
        self.ever_paid = self.ever_paid or status == "SUCCESS"
        self.notices.append(status == "SUCCESS")

    def pay(self, fault: str) -> pf.Answer:
        if fault == "not sent":
            return refused()
        if fault == "503":                         # 9911: answered 503, nothing processed
            return http_error(503)
        if self.closed and self.status is None:
            return verified(Status.FAILURE, "ORDER_IS_CLOSED")
        if self.status is None:
            {"paid": lambda: self._settle("SUCCESS"), "declined": lambda: self._settle("FAIL")}.get(
                self.fate, lambda: setattr(self, "status", "PROCESSING"))()
        if fault == "lost":
            return timed_out()
        return {"SUCCESS": verified(Status.SUCCESS, "SUCCESS", payment_id="P1"),
                "FAIL": verified(Status.FAILURE, "USER_BALANCE_NOT_ENOUGH"),
                "CANCELLED": verified(Status.FAILURE, "ORDER_IS_CLOSED"),
                "PROCESSING": verified(Status.UNKNOWN, "PAYMENT_IN_PROCESS", paymentId="P1")}[self.status]

    def customer(self) -> None:
        if self.status == "PROCESSING" and self.fate == "confirm":
            self._settle("SUCCESS")

    def inquiry(self, fault: str) -> pf.Answer:
        if fault in ("not sent", "503", "lost"):
            return {"not sent": refused(), "503": http_error(503), "lost": timed_out()}[fault]
        if self.status is None:
            return not_there()
        return inquiry(self.status, "PAYMENT_IN_PROCESS" if self.status == "PROCESSING" else "SUCCESS")

    def cancel(self, fault: str) -> pf.Answer:
        if fault in ("not sent", "503"):
            return {"not sent": refused(), "503": http_error(503)}[fault]
        if self.status is None:
            self.closed = True
        elif self.status != "FAIL":
            self.status = "CANCELLED"
        return timed_out() if fault == "lost" else verified(Status.SUCCESS, "SUCCESS", paymentRequestId="PR1")


FAULTS = st.sampled_from(["", "", "", "not sent", "503", "lost"])
NOT_CHARGED = ("not charged", "nothing was charged", "nothing is charged", "not been charged")


@settings(max_examples=300, deadline=None)
@given(fate=st.sampled_from(["paid", "declined", "confirm", "stuck"]), data=st.data())
def test_the_words_never_claim_what_the_gateway_did_not_do(fate, data):
    """Whatever the gateway does and whatever fails on the way (the link, 503s, lost answers, a stop, crashes,
    notifications): "not charged" is said only of a payment that never took the money, "the money goes back"
    only of one that did, "PAID" only while the gateway holds it, "DECLINED" only of a payment it refused."""
    ledger = Ledger(fate)
    sale = pf.new_sale("PR1", pf.PAYMENT_CODE, "USD", 1234, T0, STORE)
    t = T0

    def feed(event, calm: bool = False) -> None:
        nonlocal sale
        queue = [event]
        while queue:
            sale, effects = pf.step(sale, queue.pop(0), t)
            for effect in effects:
                if isinstance(effect, pf.Send):
                    fault = "" if calm else data.draw(FAULTS, label=f"{effect.api} fault")
                    queue.append({"pay": lambda f: pf.PayAnswered(ledger.pay(f)),
                                  "inquiryPayment": lambda f: pf.InquiryAnswered(ledger.inquiry(f)),
                                  "cancel": lambda f: pf.CancelAnswered(ledger.cancel(f))}[effect.api](fault))
            check()

    def check() -> None:
        text = words(sale).lower()
        if any(claim in text for claim in NOT_CHARGED):
            assert not ledger.ever_paid, f"'not charged' said of a payment that took the money: {text}"
        if "the money goes back" in text:
            assert ledger.ever_paid, f"'the money goes back' said of one that never took it: {text}"
        headline = sale_view.cashier_view(sale).headline
        if headline == "PAID":
            assert ledger.status == "SUCCESS"
        if headline == "DECLINED":
            assert ledger.status == "FAIL"
        if sale.final and sale.phase is not P.PAID:
            assert ledger.status != "SUCCESS", "not paid, yet the gateway keeps the money"

    feed(pf.Tick(data.draw(st.booleans(), label="link up at the start")))
    for _ in range(data.draw(st.integers(0, 30), label="steps")):
        if sale.final:
            break
        moves = ["tick"] * (sale.next_at is not None) + ["notify"] * bool(ledger.notices) + \
            ["customer"] * (ledger.status == "PROCESSING") + ["stop", "crash"]
        move = data.draw(st.sampled_from(moves), label="move")
        if move == "tick":
            t = max(t, sale.next_at)
            feed(pf.Tick(data.draw(st.sampled_from([True, True, False]), label="link up")))
        elif move == "notify":
            feed(pf.Notified(ledger.notices.pop(0), "SUCCESS", "", "P1"))
        elif move == "customer":
            ledger.customer()
        elif move == "stop":
            feed(pf.Abort())
        else:
            feed(pf.Recovered())
    for _ in range(100):   # calm: every call reaches the gateway and is answered
        if sale.final or sale.status == "NEEDS_REVIEW":
            break
        t = max(t, sale.next_at)
        feed(pf.Tick(True), calm=True)
    assert sale.final or sale.status == "NEEDS_REVIEW", sale


def test_an_entry_code_wait_is_said_as_one_by_the_cli_and_the_cashier_screen():
    """An entry-code sale shows no QR of ours: the CLI's progress and the cashier's headline both say it waits
    for a payment by the store's entry code, never 'scan the QR'."""
    from pos_app.cli.present import describe

    sale = pf.new_sale("PR1", pf.ENTRY_CODE, "USD", 1420, T0, STORE, code_value="https://entry.example/s/1")
    assert describe(sale) == "Waiting for the customer to pay by the store's entry code"
    assert sale_view.cashier_view(sale).headline == describe(sale)
