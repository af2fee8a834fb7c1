"""The entry-code matching rule (pos_app/entry_code.py), pure: which waiting amount a payment settles."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app import entry_code as ec

WINDOW = 60.0


def waiting(ref: str, amount: int, at: float, currency: str = "USD") -> ec.Waiting:
    return ec.Waiting(ref, currency, amount, at, WINDOW)


def test_the_oldest_waiting_amount_of_the_same_money_takes_the_payment():
    sales = [waiting("B", 500, 20.0), waiting("A", 500, 10.0), waiting("C", 700, 5.0), waiting("D", 500, 1.0, "EUR")]
    assert ec.match(ec.Paid("P1", "USD", 500, 30.0), sales).ref == "A"
    assert ec.match(ec.Paid("P1", "USD", 501, 30.0), sales) is None
    assert ec.match(ec.Paid("P1", "EUR", 700, 30.0), sales) is None


def test_a_window_covers_its_own_time_and_a_little_clock_skew_before_it():
    sale = waiting("A", 500, 100.0)
    assert ec.match(ec.Paid("P", "USD", 500, 100.0 + WINDOW), [sale]) is sale
    assert ec.match(ec.Paid("P", "USD", 500, 100.0 + WINDOW + 0.001), [sale]) is None
    assert ec.match(ec.Paid("P", "USD", 500, 100.0 - ec.SKEW), [sale]) is sale
    assert ec.match(ec.Paid("P", "USD", 500, 100.0 - ec.SKEW - 0.001), [sale]) is None


def test_an_earlier_unmatched_payment_is_offered_not_taken():
    sale = waiting("A", 500, 1000.0)
    early = [ec.Paid("P2", "USD", 500, 1000.0 - WINDOW), ec.Paid("P1", "USD", 500, 990.0),
             ec.Paid("P0", "USD", 500, 1000.0 - WINDOW - 1), ec.Paid("P3", "USD", 400, 995.0)]
    assert [p.ref for p in ec.claimable(sale, early)] == ["P2", "P1"]


def test_a_notification_is_read_for_its_payment_and_time():
    body = {"paymentId": "2020X1", "paymentAmount": {"currency": "USD", "value": "1234"},
            "paymentTime": "2020-04-07T11:07:57-07:00", "paymentFactor": {"inStorePaymentScenario": "EntryCode"}}
    paid = ec.paid_of(body, 5.0)
    assert (paid.ref, paid.currency, paid.amount, paid.paid_at) == ("2020X1", "USD", 1234, 1586282877.0)
    assert ec.scenario_of(body) == "EntryCode" and ec.scenario_of({"paymentFactor": "x"}) is None
    assert ec.paid_of({**body, "paymentTime": "soon"}, 5.0).paid_at == 5.0
    assert ec.paid_of({**body, "paymentAmount": {"currency": "USD", "value": "-1"}}, 5.0) is None
    assert ec.paid_of({k: v for k, v in body.items() if k != "paymentId"}, 5.0) is None


# A day at the counter: sales start and payments arrive in time order; each payment is matched, as the terminal
# does, against the sales still waiting then. The promises are checked with plain comparisons on the result.
steps = st.lists(st.tuples(st.sampled_from(["start", "pay"]), st.sampled_from([500, 700]),
                           st.sampled_from(["USD", "EUR"]), st.floats(0, 50)), max_size=40)


@settings(max_examples=400, deadline=None)
@given(steps=steps)
def test_no_payment_matches_twice_no_sale_takes_two_and_the_oldest_goes_first(steps):
    t = 0.0
    open_sales: list[ec.Waiting] = []
    started: list[ec.Waiting] = []
    pairs: list[tuple[ec.Paid, ec.Waiting, list[ec.Waiting]]] = []
    for n, (kind, amount, currency, gap) in enumerate(steps):
        t += gap
        if kind == "start":
            sale = waiting(f"S{n}", amount, t, currency)
            open_sales.append(sale)
            started.append(sale)
            continue
        open_sales = [s for s in open_sales if s.started_at + WINDOW >= t]   # window over: voided
        payment = ec.Paid(f"P{n}", currency, amount, t)
        chosen = ec.match(payment, open_sales)
        if chosen is not None:
            pairs.append((payment, chosen, list(open_sales)))
            open_sales.remove(chosen)
    assert len({p.ref for p, _s, _o in pairs}) == len(pairs), "no payment matches twice"
    assert len({s.ref for _p, s, _o in pairs}) == len(pairs), "no waiting amount takes two payments"
    for payment, sale, candidates in pairs:
        assert (sale.currency, sale.amount) == (payment.currency, payment.amount)
        assert sale.started_at <= payment.paid_at <= sale.started_at + WINDOW
        older = [s for s in candidates if s.started_at < sale.started_at and s.currency == payment.currency
                 and s.amount == payment.amount]
        assert not older, "an older waiting amount of the same money goes first"
