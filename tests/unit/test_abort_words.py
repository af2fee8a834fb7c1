"""What the screen and the CLI say at each step of a stop (issue 14, defect 3), pure: the sale's state machine
stepped by hand, its words read from sale_view and the CLI's describe (the stop against the real gateway is
integration/test_abort.py)."""

from __future__ import annotations

from pos_app import payment_flow as pf
from pos_app import sale_view
from pos_app.vocabulary import SALE_PHASE_WORDS, STOPPING_WORDS


def _stopped(tender: str = pf.PAYMENT_CODE) -> pf.Sale:
    sale, _ = pf.step(pf.new_sale("PR9", tender, "USD", 900, 0.0), pf.Tick(), 0.0)
    sale, _ = pf.step(sale, pf.Abort(), 0.0)
    return sale


def _answer(status, **kw) -> pf.Answer:
    from pos_app.gateway import Delivery

    return pf.Answer(status=status, delivery=Delivery.MAYBE_DELIVERED, **kw)


def test_the_words_say_which_way_a_stop_goes():
    from pos_app.cli.present import describe as _describe
    from pos_app.gateway import Status
    from pos_app.i18n import set_language

    set_language("en")
    in_flight = _stopped()
    unknown, _ = pf.step(in_flight, pf.PayAnswered(_answer(Status.UNKNOWN, result_code="PAYMENT_IN_PROCESS")), 1.0)
    paid, _ = pf.step(in_flight, pf.PayAnswered(_answer(Status.SUCCESS, payment_id="P9")), 1.0)
    checked_paid, _ = pf.step(unknown, pf.InquiryAnswered(_answer(Status.SUCCESS, payment_status="SUCCESS")), 3.0)
    declined, _ = pf.step(in_flight, pf.PayAnswered(_answer(Status.FAILURE, result_code="USER_BALANCE_NOT_ENOUGH")),
                          1.0)
    code_issued, _ = pf.step(_stopped(pf.ORDER_CODE), pf.PayAnswered(_answer(Status.SUCCESS, code_value="q")), 1.0)
    expected = {in_flight: STOPPING_WORDS[pf.Phase.SENDING], unknown: STOPPING_WORDS[pf.Phase.INQUIRING],
                paid: STOPPING_WORDS[pf.Phase.CANCELLING], checked_paid: STOPPING_WORDS[pf.Phase.CANCELLING],
                code_issued: SALE_PHASE_WORDS[pf.Phase.CANCELLING][0]}
    for sale, words in expected.items():
        view = sale_view.cashier_view(sale)
        assert (view.headline, _describe(sale)) == (words, words), sale
        assert not view.can_abort and not view.hand_over and not view.final
        assert sale_view.customer_view(sale).result == "checking", "the customer is asked for nothing more"
    assert "Waiting for the customer" not in sale_view.cashier_view(unknown).headline
    view = sale_view.cashier_view(declined)
    assert declined.final and (view.headline, view.hand_over, view.final) == ("DECLINED", False, True)
    assert sale_view.customer_view(declined).result == "not_paid"
