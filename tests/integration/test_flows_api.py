"""The payment flows through the terminal's API (what the GUI's buttons call), against a real simulator
over loopback HTTP and again over HTTPS (the simulator's own CA as the config's ca_bundle: the production path,
certificate and host name verified), with a real journal file and a real notification receiver."""

from __future__ import annotations

import threading
import time

import pytest
from flowkit import check_invariant, codes_charged_twice, gateway_down, ledger, sim_call, write_config
from kit import payment_code, reserve_port, usd

from pos_app import payment_flow as pf
from pos_app.errors import PosError
from pos_app.runtime import Runtime
from pos_app.sim import scenarios as sc

#: Long enough for the customer who confirms after 4 s, short enough to keep the suite quick.
SCENARIO_TIMING = {"inquiry_intervals": [0.5] * 11, "cancel_intervals": [0.2, 0.2, 0.3, 0.3]}

EXPECTED = {
    sc.UNKNOWN_BUT_PAID: "SUCCESS",
    sc.DROP_AFTER_PAID: "SUCCESS",
    sc.CONFIRM_AFTER_4S: "SUCCESS",
    sc.DECLINE_AFTER_2S: "FAILED",
    sc.BALANCE_NOT_ENOUGH: "FAILED",
    sc.STUCK: "CANCELLED",
    sc.SLOW_ANSWER: "SUCCESS",
    sc.BROKEN_SIGNATURE: "SUCCESS",
    sc.FLAKY_INQUIRY: "SUCCESS",
    sc.STUCK_FLAKY_CANCEL: "CANCELLED",
    sc.UNAVAILABLE: "CANCELLED",
    1234: "SUCCESS",
}


@pytest.fixture
def scheme() -> str:
    """http, unless a test runs over both (BOTH_SCHEMES): the ones whose calls take the network path in ways
    TLS could change (every scenario's answers, a queued retry, the link down and back, a restart, a reconcile);
    the others would only repeat the same flows at twice the time."""
    return "http"


BOTH_SCHEMES = pytest.mark.parametrize("scheme", ["http", "https"])


@pytest.fixture
def make_sim(make_sim, scheme):
    """Every simulator of this module, the ones the conftest's ``sim`` and flowkit.gateway_down start too,
    serves the test's scheme."""
    def make(data_dir=None, **options):
        return make_sim(data_dir, **{"tls": scheme == "https", **options})
    return make


def settled(txn) -> bool:
    return txn.final or txn.status == "NEEDS_REVIEW"


@pytest.fixture
def runtime(sim, tmp_path):
    config = write_config(sim, payments=SCENARIO_TIMING, read_timeout=1.5)
    with Runtime(config, tmp_path / "terminal") as rt:
        yield rt


@BOTH_SCHEMES
def test_every_scenario_settles_as_the_gateway_decided(runtime, sim, tmp_path, scheme):
    t = runtime.terminal
    results: dict[int, object] = {}

    def run(amount: int) -> None:
        sale = t.start_sale(usd(amount), code=payment_code(), alongside=True)  # concurrency on purpose
        results[amount] = t.wait(sale.id, settled, 30)

    threads = [threading.Thread(target=run, args=(amount,)) for amount in EXPECTED]
    for th in threads:
        th.start()
    for th in threads:
        th.join(40)
    got = {amount: sale.status for amount, sale in results.items()}
    assert got == EXPECTED
    check_invariant(sim, tmp_path / "terminal")
    assert codes_charged_twice(sim) == []
    assert t.queue()["count"] == 0, "nothing is left in the outbox once every sale is final"
    if scheme == "https":   # the calls did take TLS, verified by the simulator's CA
        assert runtime.terminal.config.gateway.url.startswith("https://")
        assert sim_call(sim, "/sim/health")[1]["tlsHandshakes"] >= 1


def test_the_journal_commits_before_the_request_leaves(runtime, sim):
    """Write-ahead: when the gateway first sees a pay, the journal already holds the sale as SENDING."""
    t = runtime.terminal
    seen = {}
    original = t.client.send

    def spy(request):
        if request.api.value == "pay":
            from flowkit import journal_sales
            seen.update(journal_sales(runtime.data_dir)[request.payment_request_id])
            seen["outbox"] = t.journal.outbox_body(request.payment_request_id, "pay") == request.body
        return original(request)
    t.client.send = spy
    sale = t.start_sale(usd(1000), code=payment_code())
    assert sale.status == "SUCCESS"
    assert seen["phase"] == "SENDING" and seen["outbox"] is True


@BOTH_SCHEMES
def test_every_retry_of_a_queued_pay_sends_the_same_bytes_under_the_same_id(make_sim, tmp_path):
    sim, back = gateway_down(make_sim)  # the pay certainly does not leave
    config = write_config(sim, payments={"code_validity": 20})
    with Runtime(config, tmp_path / "t") as rt:
        t = rt.terminal
        sent = []
        original = t.client.send
        t.client.send = lambda request: (sent.append(request), original(request))[1]
        sale = t.start_sale(usd(777), code=payment_code())
        assert sale.status == "QUEUED"
        assert t.queue()["count"] == 1 and t.queue()["totals"] == {"USD": {"currency": "USD", "value": "777"}}
        time.sleep(1.5)
        back()
        sale = t.wait(sale.id, settled, 15)
        assert sale.status == "SUCCESS"
    pays = [r for r in sent if r.api.value == "pay"]
    assert len(pays) >= 1 and len({(r.body, r.payment_request_id) for r in pays}) == 1


def test_order_code_paid_by_the_customer(runtime, sim):
    t = runtime.terminal
    shown = []
    t.on_code.add(lambda sale_id, value, expires_at: shown.append((sale_id, value, expires_at)))
    sale = t.start_sale(usd(2500), order_code=True, description="two coffees")
    assert sale.phase is pf.Phase.WAITING and sale.status == "UNKNOWN"
    assert shown and shown[0][0] == sale.id and shown[0][2] > time.time()
    status, body = sim_call(sim, "/sim/wallet/pay-order", {"codeValue": shown[0][1]})
    assert status == 200, body
    sale = t.wait(sale.id, settled, 10)
    assert sale.status == "SUCCESS" and sale.payment_id


def test_order_code_cancelled_by_the_cashier_cannot_be_paid_after(runtime, sim):
    t = runtime.terminal
    shown = []
    t.on_code.add(lambda sale_id, value, expires_at: shown.append(value))
    sale = t.start_sale(usd(2600), order_code=True)
    t.abort(sale.id)
    sale = t.wait(sale.id, settled, 10)
    assert sale.status == "CANCELLED"
    status, body = sim_call(sim, "/sim/wallet/pay-order", {"codeValue": shown[0]})
    assert status != 200 or body.get("result", {}).get("resultStatus") != "S"
    assert ledger(sim)[sale.id]["status"] != "SUCCESS"


def test_order_code_expires_then_is_cancelled(sim, tmp_path):
    config = write_config(sim, payments={"order_code_expiry": 1.5})
    with Runtime(config, tmp_path / "t") as rt:
        sale = rt.terminal.start_sale(usd(2700), order_code=True)
        sale = rt.terminal.wait(sale.id, settled, 15)
    assert (sale.status in ("CANCELLED", "FAILED") and "expired" in (sale.message + sale.result_code).lower()) \
        or sale.status == "CANCELLED"
    assert ledger(sim)[sale.id]["status"] != "SUCCESS"


def test_a_notification_that_arrives_before_the_pay_answer_settles_the_sale(sim, tmp_path):
    config = write_config(sim, read_timeout=3)
    with Runtime(config, tmp_path / "t") as rt:
        t = rt.terminal
        sale = t.start_sale(usd(sc.SLOW_ANSWER), code=payment_code())
        assert sale.status == "SUCCESS", "the signed notification came while the pay was still in flight"
        kinds = [e["kind"] for e in t.journal.events(sale.id)]
        assert kinds.index("notification") < kinds.index("answer")


def test_refunds_full_partial_and_several(runtime, sim):
    t = runtime.terminal
    sale = t.start_sale(usd(1000), code=payment_code())
    first = t.refund(sale.id, usd(300), "one item returned")
    second = t.refund(sale.payment_id, usd(200))
    assert first.status == second.status == "SUCCESS"
    with pytest.raises(PosError, match="more than is left"):
        t.refund(sale.id, usd(501))
    last = t.refund(sale.id, usd(500))
    assert last.status == "SUCCESS"
    refunds = ledger(sim)[sale.id]["refunds"]
    assert sorted(int(r["amount"]["value"]) for r in refunds if r["status"] == "SUCCESS") == [200, 300, 500]
    assert {r["refundId"] for r in refunds} == {first.gateway_id, second.gateway_id, last.gateway_id}
    with pytest.raises(PosError, match="refund"):
        t.cancel(sale.id)  # a refunded sale can no longer be cancelled
    full = t.start_sale(usd(400), code=payment_code())
    assert t.refund(full.id, usd(400)).status == "SUCCESS"


def test_a_manager_cancels_a_paid_sale(runtime, sim):
    t = runtime.terminal
    sale = t.start_sale(usd(1500), code=payment_code())
    cancel = t.cancel(sale.id)
    assert cancel.status == "SUCCESS"
    assert t.load(sale.id).status == "CANCELLED"
    assert ledger(sim)[sale.id]["status"] == "CANCELLED"
    with pytest.raises(PosError, match="not paid"):
        t.refund(sale.id, usd(100))


def test_accept_at_merchant_risk_within_limits_only(make_sim, tmp_path):
    sim, _ = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 30},
                          offline={"merchant_risk": True, "max_per_payment": {"USD": "20.00"},
                                   "max_total": {"USD": "25.00"}})
    with Runtime(config, tmp_path / "t", background=False) as rt:
        t = rt.terminal
        a = t.start_sale(usd(1500), code=payment_code())
        b = t.start_sale(usd(1500), code=payment_code())   # a, accepted at the merchant's risk, does not block
        # b is queued and was not accepted: its customer still waits, so another needs "alongside".
        with pytest.raises(PosError, match=f"sale {b.id} .* is queued"):
            t.start_sale(usd(2500), code=payment_code())
        big = t.start_sale(usd(2500), code=payment_code(), alongside=True)
        assert (a.status, a.accepted_at_risk) == ("QUEUED", True)
        assert (b.status, b.accepted_at_risk) == ("QUEUED", False), "the total limit is reached"
        assert (big.status, big.accepted_at_risk) == ("QUEUED", False), "above the limit per payment"
        q = t.queue()
        assert q["count"] == 3 and q["totals"]["USD"]["value"] == "5500" and q["oldestAgeSeconds"] >= 0


def test_the_merchant_risk_policy_is_off_by_default(make_sim, tmp_path):
    sim, _ = gateway_down(make_sim)
    config = write_config(sim)
    with Runtime(config, tmp_path / "t", background=False) as rt:
        sale = rt.terminal.start_sale(usd(100), code=payment_code())
        assert sale.status == "QUEUED" and not sale.accepted_at_risk


@BOTH_SCHEMES
def test_restart_resumes_what_was_open(sim, tmp_path):
    config = write_config(sim, payments=SCENARIO_TIMING)
    with Runtime(config, tmp_path / "t", background=False) as rt:
        sale = rt.terminal.start_sale(usd(sc.STUCK), code=payment_code())
        assert sale.phase is pf.Phase.INQUIRING
    with Runtime(config, tmp_path / "t", background=False) as rt:
        assert sale.id in rt.terminal.recovered
        result = rt.terminal.settle(30)
    assert result["still_open"] == 0 and result["items"][0]["status"] == "CANCELLED"
    check_invariant(sim, tmp_path / "t")


@BOTH_SCHEMES
def test_reconcile_with_the_gateway_down_returns_what_it_could_not_settle(make_sim, tmp_path):
    sim = make_sim(port=reserve_port())
    config = write_config(sim, payments=SCENARIO_TIMING)
    with Runtime(config, tmp_path / "t", background=False) as rt:
        sale = rt.terminal.start_sale(usd(sc.STUCK), code=payment_code())
        refund_of = rt.terminal.start_sale(usd(900), code=payment_code(), alongside=True)
        gateway_down(make_sim, sim)
        refund = rt.terminal.refund(refund_of.id, usd(100))
        assert refund.status == "QUEUED"
        started = time.monotonic()
        result = rt.terminal.settle(60)
        assert time.monotonic() - started < 10, "it does not wait for a link that is down"
        statuses = {i.get("refundRequestId") or i["paymentRequestId"]: i["status"] for i in result["items"]}
        assert statuses == {sale.id: "UNKNOWN", refund.id: "QUEUED"} and result["still_open"] == 2


def test_a_new_sale_waits_until_the_unsettled_one_is_settled(runtime):
    """One customer at a time: a rescan while the first payment is still unknown could charge twice."""
    t = runtime.terminal
    first = t.start_sale(usd(sc.STUCK), code=payment_code())
    with pytest.raises(PosError, match="is not settled yet") as info:
        t.start_sale(usd(100), code=payment_code())
    assert first.id in info.value.message and "charge the customer twice" in info.value.hint
    t.abort(first.id)
    assert t.wait(first.id, settled, 20).status == "CANCELLED"
    assert t.start_sale(usd(100), code=payment_code()).status == "SUCCESS"


@BOTH_SCHEMES
def test_while_the_link_is_down_queued_requests_are_not_rewritten(make_sim, tmp_path):
    """A long outage must not cost a commit per queued request per second; the link's return sends them."""
    sim = make_sim(port=reserve_port())
    config = write_config(sim)
    with Runtime(config, tmp_path / "t") as rt:
        t = rt.terminal
        paid = [t.start_sale(usd(900 + i), code=payment_code()) for i in range(3)]
        _, back = gateway_down(make_sim, sim)
        # One refund per sale: a second of the same sale waits until the first is settled.
        refunds = [t.refund(sale.id, usd(100)) for sale in paid]
        assert all(r.status == "QUEUED" for r in refunds)
        count = t.journal.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        time.sleep(3)
        assert t.journal.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == count
        back()
        for r in refunds:
            assert t.wait(r.id, settled, 10).status == "SUCCESS"
