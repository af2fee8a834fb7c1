"""The counter's flow and the words on screen, without a screen: every stage × every input, and the rule
that nothing says PAID (or lets the goods go) unless the gateway confirmed the payment."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_app import checkout, sale_view
from pos_app import payment_flow as pf
from pos_app.i18n import set_language
from pos_app.money import Money
from pos_app.scan import classify

USD = Money(1234, "USD")
CODE = "283412345678901234"
STAGES = [checkout.Counter(),
          checkout.Counter(checkout.AWAITING_CODE, USD),
          checkout.Counter(checkout.RUNNING, USD, "PR1"),
          checkout.Counter(checkout.RUNNING, USD, None),
          checkout.Counter(checkout.OUTCOME, USD, "PR1")]


@pytest.fixture(autouse=True)
def english():
    set_language("en")


@pytest.mark.parametrize("counter", STAGES, ids=lambda c: f"{c.stage}:{c.sale_id}")
def test_a_payment_code_starts_a_sale_only_while_one_is_awaited(counter):
    after, action = checkout.on_scan(counter, classify(CODE))
    if counter.stage == checkout.AWAITING_CODE:
        assert action == checkout.StartSale(USD, CODE) and after.stage == checkout.RUNNING
    else:
        assert action is None and after.stage == counter.stage and after.hint


@pytest.mark.parametrize("counter", STAGES, ids=lambda c: f"{c.stage}:{c.sale_id}")
@pytest.mark.parametrize("text", ["4006381333931", "hello", "12"])
def test_other_scans_never_start_anything(counter, text):
    after, action = checkout.on_scan(counter, classify(text))
    assert action is None and after.stage == counter.stage and after.hint


@pytest.mark.parametrize("counter", STAGES, ids=lambda c: f"{c.stage}:{c.sale_id}")
def test_tenders(counter):
    after, action = checkout.scan_tender(counter, USD)
    assert (after.stage == checkout.AWAITING_CODE) == (counter.stage in (checkout.ENTRY, checkout.OUTCOME,
                                                                        checkout.AWAITING_CODE))
    assert action is None
    after, action = checkout.qr_tender(counter, USD, "tea")
    if counter.stage == checkout.RUNNING:
        assert action is None
    else:
        assert action == checkout.StartSale(USD, None, "tea") and after.stage == checkout.RUNNING
    for tender in (checkout.scan_tender, checkout.qr_tender):
        after, action = tender(checkout.Counter(), None)
        assert action is None and after.hint == "Enter the amount first."


@pytest.mark.parametrize("counter", STAGES, ids=lambda c: f"{c.stage}:{c.sale_id}")
@pytest.mark.parametrize("can_abort", [True, False])
def test_escape(counter, can_abort):
    after, action = checkout.escape(counter, can_abort)
    if counter.stage == checkout.AWAITING_CODE:
        assert after.stage == checkout.ENTRY and action is None
    elif counter.stage == checkout.RUNNING and counter.sale_id and can_abort:
        assert action == checkout.AbortSale("PR1")
    else:
        assert action is None and after.stage == counter.stage


def test_finished_only_for_its_own_sale():
    running = checkout.Counter(checkout.RUNNING, USD, "PR1")
    assert checkout.finished(running, "PR2") == running
    assert checkout.finished(running, "PR1").stage == checkout.OUTCOME
    assert checkout.next_sale(running) == running
    assert checkout.next_sale(checkout.finished(running, "PR1")) == checkout.Counter()


SALES = st.builds(
    lambda phase, tender, risk, code, status, result: dataclasses.replace(
        pf.new_sale("PR1", tender, "USD", 1234, 0.0), phase=phase, accepted_at_risk=risk,
        code_value=code, gateway_status=status, result_code=result),
    st.sampled_from(list(pf.Phase)), st.sampled_from([pf.PAYMENT_CODE, pf.ORDER_CODE]), st.booleans(),
    st.sampled_from([None, "https://qr.example/abc"]), st.sampled_from([None, "PROCESSING", "SUCCESS", "FAIL"]),
    st.sampled_from(["", "PAYMENT_IN_PROCESS", "USER_BALANCE_NOT_ENOUGH", "NOT_SENT", "SOMETHING_NEW"]))


@given(SALES)
def test_nothing_says_paid_unless_the_gateway_confirmed_it(sale):
    view = sale_view.cashier_view(sale)
    customer = sale_view.customer_view(sale)
    confirmed = sale.status == "SUCCESS"
    at_risk = sale.accepted_at_risk and sale.phase is pf.Phase.NEW
    assert (view.headline == "PAID") == confirmed
    assert view.hand_over == (confirmed or at_risk)
    assert (customer.result == "paid") == (confirmed or at_risk)
    assert view.can_abort <= (not view.final)
    assert view.next_step  # every state says what to do next
    assert CODE not in repr(customer)


@given(SALES)
def test_the_customer_sees_no_internal_codes(sale):
    customer = sale_view.customer_view(sale)
    assert customer.mode in ("amount", "qr", "result")
    assert sale.result_code not in customer.message or not sale.result_code
    assert "queue" not in customer.message.lower() and "offline" not in customer.message.lower()
