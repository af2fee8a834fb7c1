"""Issue 13's money rules held by the terminal itself, for every front end, through its API in this process
against the real simulator: an order code on the display blocks a scan, an open refund blocks the next
refund and the cancel of its sale, and a running terminal settles an answer it could not journal once the
disk has room (the same defects through real processes are e2e/test_money_moves_once.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from disks import fill
from flowkit import deaf, gateway_down, ledger, paid_sale, write_config
from kit import payment_code, reserve_port
from middleman import Proxy

from pos_app import payment_flow as pf
from pos_app.errors import PosError
from pos_app.money import Money
from pos_app.runtime import Runtime


def test_an_order_code_on_the_display_blocks_a_scan_in_the_same_terminal(sim, tmp_path):
    """The window's rule is the terminal's: while the QR waits for the customer, a scan is refused."""
    config = write_config(sim)
    with Runtime(config, tmp_path / "t") as rt:
        t = rt.terminal
        shown = t.start_sale(Money(500, "USD"), order_code=True)
        assert t.load(shown.id).phase is pf.Phase.WAITING
        with pytest.raises(PosError, match=f"sale {shown.id} .* waiting for the customer"):
            t.start_sale(Money(500, "USD"), code=payment_code())
        assert [r["id"] for r in t.journal.open_transactions()] == [shown.id]
        t.abort(shown.id)
        t.wait(shown.id, lambda s: s.final, 30)
        assert t.start_sale(Money(500, "USD"), code=payment_code()).status == "SUCCESS"


def test_a_second_refund_is_refused_while_the_first_is_unsettled_then_allowed(make_sim, tmp_path):
    """The rule in the terminal itself, for every front end: an open refund blocks the next one of that
    sale (and its cancel); once settled, more can be refunded up to what was paid."""
    sim = make_sim(port=reserve_port())
    config = write_config(sim)
    d = tmp_path / "t"
    paid = paid_sale(config, d)
    with Runtime(config, d) as rt:
        t = rt.terminal
        # The gateway goes away: the refund is journaled and queued, not final.
        _, back = gateway_down(make_sim, sim)
        first = t.refund(paid.id, Money(50, "USD"), "first")
        assert not first.final
        with pytest.raises(PosError, match=f"refund {first.id} .* not finished yet"):
            t.refund(paid.id, Money(50, "USD"), "again")
        with pytest.raises(PosError, match=f"refund {first.id} .* not finished yet"):
            t.cancel(paid.id)
        back()
        t.link.probe_next()
        done = t.wait(first.id, lambda f: f.final, 30)
        assert done.status == "SUCCESS", done
        assert t.refund(paid.id, Money(50, "USD"), "second").status == "SUCCESS"


def test_a_running_terminal_settles_an_unjournaled_answer_once_the_disk_has_room(make_sim, tmp_path, small_disk):
    """The window keeps running after such a sale: once space is freed, it settles the sale by itself
    (as a restart would) instead of leaving it SENDING until the next start."""
    from pos_app.errors import OutcomeNotJournaled

    disk = small_disk("2m")

    sim = make_sim()
    filled: list[Path] = []

    def rule(api, n):
        if api == "pay":
            filled.append(fill(disk))
        return "pass"
    proxy = Proxy(sim.port, rule)
    try:
        config = deaf(write_config(sim, url=proxy.url))   # no notification: the terminal must ask by itself
        with Runtime(config, disk / "t") as rt:
            t = rt.terminal
            with pytest.raises(OutcomeNotJournaled) as info:
                t.start_sale(Money(9909, "USD"), code=payment_code())
            sale_id = info.value.summary["paymentRequestId"]
            assert t.load(sale_id).phase is pf.Phase.SENDING
            filled[0].unlink()
            assert t.wait(sale_id, lambda s: s.final, 60).status == "SUCCESS"
    finally:
        proxy.close()
    assert ledger(sim)[sale_id]["status"] == "SUCCESS"
