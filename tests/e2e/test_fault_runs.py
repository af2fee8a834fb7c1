"""Fault runs: hundreds of sales through the Python API (Runtime / Terminal, in-process, the same calls the
cashier's buttons make) against the simulator with injected faults: connections dropped before and
after the gateway acts, HTTP 503s, slow answers. Afterwards the faults are cleared, the terminal settles,
and the promise is checked: the gateway's paid set equals the journal's, no code is charged twice,
nothing is left open, every refund's final status is the gateway's, and a pay that waited offline past
its code's validity never reaches the gateway.

The simulator draws its faults from an unseeded RNG, so every run meets a different pattern; the amounts
come from a seeded RNG, printed on failure.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from pathlib import Path

import pytest
from flowkit import (
    check_invariant,
    codes_charged_twice,
    gateway_down,
    journal_query,
    journal_rows,
    journal_sales,
    ledger,
    sim_call,
    write_config,
)
from kit import payment_code, reserve_port, usd

from pos_app import payment_flow as pf
from pos_app.errors import PosError
from pos_app.runtime import Runtime

FAULTS = {"drop_before": 0.1, "drop_after": 0.1, "http_503": 0.05}
HEAVY = {"drop_before": 0.15, "drop_after": 0.15, "http_503": 0.1, "delay_ms": 20}

#: Scenario amounts (minor units) that keep the sale short with the fast timing. 9907 (an 8 s answer) is
#: used sparingly: each one holds the counter for the client's read timeout.
SCENARIOS = [9901, 9902, 9903, 9904, 9905, 9906, 9908, 9909, 9910, 9911]
#: Of all outcomes, only these scenarios may end FAILED: the customer declined, or had too little money.
MAY_FAIL = {9904: "USER_PAYMENT_VERIFICATION_FAILED", 9905: "USER_BALANCE_NOT_ENOUGH"}


def set_faults(sim, faults: dict) -> None:
    status, now = sim_call(sim, "/sim/faults", faults)
    assert status == 200, now
    assert {k: now[k] for k in faults} == faults, now


def clear_faults(sim) -> None:
    status, now = sim_call(sim, "/sim/faults", method="DELETE")
    assert status == 200 and not any(now.values()), now


def normal_amount(rng: random.Random) -> int:
    while True:
        value = rng.randint(100, 20000)
        if not 9901 <= value <= 9911:
            return value


def settle_all(terminal, rounds: int = 5) -> dict:
    """Reconcile until nothing is open. Each settle gives a NEEDS_REVIEW sale one more try, so a few
    rounds are what a manager pressing "reconcile" a few times would do."""
    result = {}
    for _ in range(rounds):
        result = terminal.settle(timeout=60)
        if result["still_open"] == 0:
            return result
    raise AssertionError(f"still open after {rounds} reconciles: "
                         f"{[i for i in result['items'] if i['status'] in ('UNKNOWN', 'QUEUED', 'NEEDS_REVIEW')]}")


def outbox_count(data_dir: Path) -> int:
    [(count,)] = journal_query(data_dir, "SELECT COUNT(*) FROM outbox")
    return count


def sim_rows(sim, sql: str, params=()) -> list[sqlite3.Row]:
    """The simulator's own ledger file, read directly (what /sim/ledger does not show)."""
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def check_all(sim, data_dir: Path, amounts: dict[str, int], label: str) -> dict[str, dict]:
    """The shared invariant, and what each kind of sale may end as."""
    check_invariant(sim, data_dir)
    assert codes_charged_twice(sim) == [], label
    sales = journal_sales(data_dir)
    gateway = ledger(sim)
    assert set(gateway) <= set(sales), f"{label}: payments the journal does not know: {set(gateway) - set(sales)}"
    assert set(amounts) <= set(sales), label
    for sale_id, s in sales.items():
        assert s["final"], (label, s)
        gw = gateway.get(sale_id)
        assert s["status"] in ("SUCCESS", "CANCELLED", "FAILED"), (label, s)
        if s["status"] == "SUCCESS":
            assert gw["paymentId"] == s["payment_id"], (label, s, gw)
        if s["status"] == "FAILED":
            # Never because of our own resend (a refused code, a changed body): only the wallet's answer.
            assert s["result_code"] == MAY_FAIL.get(s["amount"]), (label, s)
            assert gw is not None and gw["status"] == "FAIL", (label, s, gw)
        if s["status"] == "CANCELLED":
            assert gw is None or gw["status"] in ("CANCELLED", "FAIL"), (label, s, gw)
        if s["amount"] in (9906, 9910, 9911):  # nothing ever pays these
            assert s["status"] == "CANCELLED", (label, s)
    assert not [a for a in gateway.values() if int(a["amount"]["value"]) == 9911], "a 503 processed nothing"
    assert outbox_count(data_dir) == 0, f"{label}: requests left in the outbox once all is final"
    return sales


# -- the runs ---------------------------------------------------------------------------------------------
def test_sales_under_faults_with_the_reconciler_running(make_sim, tmp_path):
    """150 sales at the usual fault rates, one after another as at a busy counter, the background
    reconciler settling the unknown ones meanwhile."""
    sim = make_sim()
    config = write_config(sim, read_timeout=1.0)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    amounts: dict[str, int] = {}
    set_faults(sim, FAULTS)
    with Runtime(config, tmp_path / "t") as rt:
        t = rt.terminal
        for i in range(150):
            value = SCENARIOS[(i // 4) % len(SCENARIOS)] if i % 4 == 0 else normal_amount(rng)
            if i in (37, 111):
                value = 9907
            sale = t.start_sale(usd(value), code=payment_code(), alongside=True)
            amounts[sale.id] = value
        clear_faults(sim)
        settle_all(t)
    sales = check_all(sim, tmp_path / "t", amounts, f"seed {seed}")
    counts = {}
    for s in sales.values():
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    # The run was not vacuous: most sales went through, and the faults did bite.
    assert counts.get("SUCCESS", 0) >= 60, counts
    assert counts.get("CANCELLED", 0) >= 10, counts


def test_a_burst_with_the_reconciler_off_then_one_reconcile(make_sim, tmp_path):
    """100 sales (a tenth of them order codes) at heavier fault rates with a small delay, nothing settled
    until the end: one reconcile then meets every unknown at once, with notifications arriving during it."""
    sim = make_sim()
    config = write_config(sim, read_timeout=1.0)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    amounts: dict[str, int] = {}
    wallet_paid, aborted = set(), set()
    set_faults(sim, HEAVY)
    with Runtime(config, tmp_path / "t", background=False) as rt:
        t = rt.terminal
        for i in range(100):
            if i % 10 == 5:
                sale = t.start_sale(usd(normal_amount(rng)), order_code=True, alongside=True)
                amounts[sale.id] = sale.amount
                if sale.phase is pf.Phase.WAITING and sale.code_value:
                    if len(wallet_paid) <= len(aborted):
                        status, answer = sim_call(sim, "/sim/wallet/pay-order", {"codeValue": sale.code_value})
                        assert status == 200, answer
                        wallet_paid.add(sale.id)
                    else:
                        assert t.abort(sale.id).phase is pf.Phase.CANCELLING
                        aborted.add(sale.id)
                continue
            value = SCENARIOS[i % len(SCENARIOS)] if i % 3 == 0 else normal_amount(rng)
            sale = t.start_sale(usd(value), code=payment_code(), alongside=True)
            amounts[sale.id] = value
        assert wallet_paid and aborted, "some order codes were issued despite the faults"
        clear_faults(sim)
        settle_all(t)
    sales = check_all(sim, tmp_path / "t", amounts, f"seed {seed}")
    gateway = ledger(sim)
    for sale_id in wallet_paid:
        assert sales[sale_id]["status"] == "SUCCESS" and gateway[sale_id]["status"] == "SUCCESS"
    for sale_id in aborted:
        assert sales[sale_id]["status"] == "CANCELLED" and gateway[sale_id]["status"] == "CANCELLED"


def test_refunds_and_cancels_of_paid_sales_under_faults(make_sim, tmp_path):
    """Partial refunds, several per sale, some summing to the whole amount, and managers' cancels, all
    under faults: each refund ends as the gateway has it, and no sale is refunded past what was paid."""
    sim = make_sim()
    config = write_config(sim, read_timeout=1.0)
    dd = tmp_path / "t"
    refunds: dict[str, tuple[str, int]] = {}  # refundRequestId -> (sale, amount)
    with Runtime(config, dd) as rt:
        t = rt.terminal
        paid = [t.start_sale(usd(2000 + 100 * i), code=payment_code(), alongside=True) for i in range(14)]
        assert all(s.status == "SUCCESS" for s in paid), [s.status for s in paid]
        set_faults(sim, FAULTS)
        plans = {0: [2000], 1: [500, 500, 1100], 2: [100, 100, 100], 3: [1150, 1150], 4: [1, 2, 3, 4],
                 5: [2500], 6: [650, 650, 650, 650], 7: [2700], 8: [1000, 1000], 9: [300]}
        for i, plan in plans.items():
            sale = paid[i]
            for value in plan:
                f = t.refund(sale.id, usd(value), reason=f"plan {i}")
                refunds[f.id] = (sale.id, value)
                # The next refund of a sale waits for this one: while it is unsettled a new one is refused
                # (it could be the same person asking again, and move the money twice).
                t.wait(f.id, lambda x: x.final, 120)
        # More than is left is refused at the counter, before anything is sent.
        for i in (0, 3, 7):
            with pytest.raises(PosError, match="more than is left to refund"):
                t.refund(paid[i].id, usd(1))
        with pytest.raises(PosError, match="more than is left to refund"):
            t.refund(paid[1].id, usd(1))  # 500 + 500 + 1100 = 2100 = all of 21.00
        # A manager's cancel reverses a sale in full; it is refused at the counter once a refund exists.
        cancels = [t.cancel(paid[i].id) for i in (10, 11)]
        with pytest.raises(PosError, match="has a refund"):
            t.cancel(paid[2].id)
        # A refund asked for while a cancel of the same sale is still unsettled: at most one may win. (If
        # the cancel has already settled, the refund is refused at the counter instead.)
        raced = paid[12]
        race_cancel = t.cancel(raced.id)
        try:
            race_refund = t.refund(raced.id, usd(100))
        except PosError as exc:  # settled already ("not paid"), or still under way ("being cancelled")
            assert "not paid" in str(exc) or "being cancelled in full" in str(exc)
            race_refund = None
        clear_faults(sim)
        settle_all(t)
        final_cancels = [t.load(c.id) for c in cancels]
    assert all(c.status == "SUCCESS" for c in final_cancels), final_cancels
    check_invariant(sim, dd)
    assert codes_charged_twice(sim) == []
    gateway = ledger(sim)
    by_request = {r["refundRequestId"]: (p["paymentRequestId"], r) for p in gateway.values() for r in p["refunds"]}
    journal = journal_rows(dd, "refund")
    assert set(journal) == set(refunds) | ({race_refund.id} if race_refund else set())
    for refund_id, row in journal.items():
        assert row["final"], row
        assert refund_id in by_request, f"refund {refund_id} ({row['status']}) never reached the gateway"
        sale_id, gw = by_request[refund_id]
        assert sale_id == row["parent"]
        assert int(gw["amount"]["value"]) == row["amount"]
        assert {"SUCCESS": "SUCCESS", "FAIL": "FAILED"}[gw["status"]] == row["status"], (row, gw)
        if row["status"] == "SUCCESS":  # and it is known by the gateway's refundId, not the paymentId
            assert json.loads(row["state"])["gateway_id"] == gw["refundId"], (row, gw)
    assert set(by_request) <= set(journal), "refunds the journal does not know"
    for p in gateway.values():  # refunds never exceed what was paid
        assert sum(int(r["amount"]["value"]) for r in p["refunds"] if r["status"] == "SUCCESS") \
            <= int(p["amount"]["value"])
    for i, plan in plans.items():  # with the faults cleared, every planned refund went through
        done = [r for r in p_refunds(gateway, paid[i].id) if r["status"] == "SUCCESS"]
        assert sorted(int(r["amount"]["value"]) for r in done) == sorted(plan), (i, done)
    sales = journal_sales(dd)
    for c in cancels:
        assert sales[c.sale_id]["status"] == "CANCELLED" and gateway[c.sale_id]["status"] == "CANCELLED"
    # The race: the sale's state, the cancel's and the refund's agree with the gateway, and one side lost.
    raced_gw = gateway[raced.id]
    cancel_row = journal_rows(dd, "cancel")[race_cancel.id]
    refund_row = journal[race_refund.id] if race_refund else {"status": "FAILED"}
    if raced_gw["status"] == "CANCELLED":
        assert (sales[raced.id]["status"], cancel_row["status"], refund_row["status"]) == \
            ("CANCELLED", "SUCCESS", "FAILED")
    else:
        assert (sales[raced.id]["status"], cancel_row["status"], refund_row["status"]) == \
            ("SUCCESS", "FAILED", "SUCCESS")
    assert outbox_count(dd) == 0


def p_refunds(gateway: dict, sale_id: str) -> list[dict]:
    return gateway[sale_id]["refunds"]


def test_a_refund_keeps_the_gateways_refund_id(make_sim, tmp_path):
    """``refund --json`` and the journal name the gateway's refundId (what inquiryRefund and the
    gateway's portal know it by), not the paymentId of the sale it refunds."""
    sim = make_sim()
    config = write_config(sim, read_timeout=1.0)
    with Runtime(config, tmp_path / "t", receiver=False, background=False) as rt:
        t = rt.terminal
        sale = t.start_sale(usd(2000), code=payment_code(), alongside=True)
        f = t.refund(sale.id, usd(500))
        summary = t.summary(f)
    assert summary["status"] == "SUCCESS"
    [gw] = ledger(sim)[sale.id]["refunds"]
    assert summary["refundId"] == gw["refundId"], (summary, gw)


def test_gateway_down_queues_sales_and_the_window_decides(make_sim, tmp_path):
    """With the gateway down, sales queue (QUEUED). Those whose gateway comes back inside the payment
    code's validity go out then; those still queued when it ends are voided here and never reach it."""
    sim = make_sim(port=reserve_port())
    validity = 4.0
    config = write_config(sim, read_timeout=1.0, payments={"code_validity": validity},
                          offline={"probe_interval": 0.2})
    _, back = gateway_down(make_sim, sim)
    dd = tmp_path / "t"
    codes: dict[str, str] = {}

    def queue(t, n, base):
        sales = []
        for i in range(n):
            code = payment_code()
            sale = t.start_sale(usd(base + i), code=code, alongside=True)
            assert sale.status == "QUEUED" and sale.phase is pf.Phase.NEW, (sale.status, sale.message)
            codes[sale.id] = code
            sales.append(sale)
        return sales

    # 1. Down, then back inside the window: every queued pay goes out, before its code expires.
    with Runtime(config, dd) as rt:
        t = rt.terminal
        first = queue(t, 6, 1000)
        assert t.queue()["count"] == 6
        time.sleep(1.0)
        assert all(t.load(s.id).status == "QUEUED" for s in first)
        sim = back()
        done = [t.wait(s.id, lambda x: x.final, validity + 2) for s in first]
        assert [s.status for s in done] == ["SUCCESS"] * 6, [(s.status, s.message) for s in done]
    gateway = ledger(sim)
    assert all(gateway[s.id]["status"] == "SUCCESS" for s in first)
    sales = journal_sales(dd)
    for s in first:
        [row] = sim_rows(sim, "SELECT created_at FROM payments WHERE payment_request_id=?", (s.id,))
        assert row["created_at"] <= sales[s.id]["created_at"] + validity, "sent after the code expired"

    # 2. Down for longer than the window: the early sales are voided; later ones still make it.
    _, back = gateway_down(make_sim, sim)
    with Runtime(config, dd) as rt:
        t = rt.terminal
        late = queue(t, 5, 2000)
        time.sleep(2.5)
        fresh = queue(t, 3, 3000)
        voided = [t.wait(s.id, lambda x: x.final, validity + 2) for s in late]
        for s in voided:
            assert (s.phase, s.status, s.result_code) == (pf.Phase.VOIDED, "FAILED", "NOT_SENT"), s
        sim = back()
        done = [t.wait(s.id, lambda x: x.final, validity + 2) for s in fresh]
        assert [s.status for s in done] == ["SUCCESS"] * 3, [(s.status, s.message) for s in done]
        settle_all(t)
        time.sleep(0.5)  # a moment for anything that would (wrongly) still go out
    gateway = ledger(sim)
    for s in late:
        assert s.id not in gateway, "a voided pay reached the gateway"
    late_hashes = {hashlib.sha256(codes[s.id].encode()).hexdigest() for s in late}
    used = {r["code_hash"] for r in sim_rows(sim, "SELECT code_hash FROM used_codes")}
    assert not late_hashes & used, "a voided sale's code was presented to the gateway"
    assert all(gateway[s.id]["status"] == "SUCCESS" for s in fresh)
    check_invariant(sim, dd)
    assert codes_charged_twice(sim) == []
    assert outbox_count(dd) == 0, "the voided pays (and their codes) left the outbox"
