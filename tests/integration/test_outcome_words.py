"""The same outcome gets the same words (issue 15, 2.6): every scenario amount of the simulator, paid through the
terminal's API against the real simulator, ends in the words of its kind of outcome, and outcomes of one kind
read alike. The kinds come from the simulator's own table (pos_app/sim/scenarios.py), not from the terminal."""

from __future__ import annotations

import threading

import pytest
from flowkit import ledger, write_config
from kit import payment_code, usd

from pos_app import sale_view
from pos_app.i18n import set_language
from pos_app.runtime import Runtime
from pos_app.sim import scenarios as sc

#: Long enough for the customer who confirms after 4 s, short enough to keep the suite quick.
TIMING = {"inquiry_intervals": [0.5] * 11, "cancel_intervals": [0.2, 0.2, 0.3, 0.3]}

#: What each scenario is, in the simulator's words (its TABLE), and the headline that kind of outcome gets.
KINDS = {
    "paid": ("PAID", [sc.UNKNOWN_BUT_PAID, sc.DROP_AFTER_PAID, sc.CONFIRM_AFTER_4S, sc.SLOW_ANSWER,
                      sc.BROKEN_SIGNATURE, sc.FLAKY_INQUIRY, 1234]),
    "declined": ("DECLINED", [sc.DECLINE_AFTER_2S, sc.BALANCE_NOT_ENOUGH]),
    "never confirmed": ("CANCELLED", [sc.STUCK, sc.STUCK_FLAKY_CANCEL]),
    "gateway failing": ("NOT CHARGED", [sc.UNAVAILABLE]),
}


def test_the_kinds_follow_the_simulators_own_table():
    described = {amount: sc.TABLE.get(amount, "succeeds at once") for _, amounts in KINDS.values()
                 for amount in amounts}
    assert set(described) == set(sc.TABLE) | {1234}, "every scenario has its kind"
    for amount in KINDS["declined"][1]:
        assert "F " in described[amount] or "FAIL" in described[amount]
    for amount in KINDS["never confirmed"][1]:
        assert "PROCESSING until cancelled" in described[amount] or "like 9906" in described[amount]
    assert "503" in described[sc.UNAVAILABLE] and "nothing is processed" in described[sc.UNAVAILABLE]


@pytest.fixture
def runtime(sim, tmp_path):
    set_language("en")
    config = write_config(sim, payments=TIMING, read_timeout=1.5)
    with Runtime(config, tmp_path / "terminal") as rt:
        yield rt


def test_every_scenario_ends_in_the_words_of_its_kind_and_one_kind_reads_alike(runtime, sim):
    t = runtime.terminal
    sales: dict[int, object] = {}

    def run(amount: int) -> None:
        sale = t.start_sale(usd(amount), code=payment_code(), alongside=True)
        sales[amount] = t.wait(sale.id, lambda s: s.final or s.status == "NEEDS_REVIEW", 40)

    threads = [threading.Thread(target=run, args=(a,)) for _, amounts in KINDS.values() for a in amounts]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    charged = ledger(sim)
    for kind, (headline, amounts) in KINDS.items():
        seen = set()
        for amount in amounts:
            sale = sales[amount]
            view, customer = sale_view.cashier_view(sale), sale_view.customer_view(sale)
            assert view.headline == headline, (kind, amount, view)
            assert view.final and view.hand_over == (kind == "paid"), (kind, amount)
            held = charged.get(sale.id, {}).get("status")
            assert (held == "SUCCESS") == (kind == "paid"), (amount, held)
            seen.add((view.headline, view.next_step, customer.message))
        assert len(seen) == 1, f"{kind}: one outcome in different words: {seen}"
    assert "did not confirm in time" in sale_view.cashier_view(sales[sc.STUCK]).detail
    assert "in time" not in sale_view.cashier_view(sales[sc.DECLINE_AFTER_2S]).detail
