"""The payment flows through ``pos-terminal`` subprocesses: the CLI contract acceptance checks rely on."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flowkit import (
    MANAGER_PIN,
    check_invariant,
    cli,
    cli_json,
    gateway_down,
    ledger,
    sim_call,
    write_config,
)
from kit import payment_code

from pos_app.sim import scenarios as sc

TIMING = {"inquiry_intervals": [0.5] * 11, "cancel_intervals": [0.2, 0.2, 0.3, 0.3]}
EXPECTED = {sc.UNKNOWN_BUT_PAID: "SUCCESS", sc.DROP_AFTER_PAID: "SUCCESS", sc.CONFIRM_AFTER_4S: "SUCCESS",
            sc.DECLINE_AFTER_2S: "FAILED", sc.BALANCE_NOT_ENOUGH: "FAILED", sc.STUCK: "CANCELLED",
            sc.SLOW_ANSWER: "SUCCESS", sc.BROKEN_SIGNATURE: "SUCCESS", sc.FLAKY_INQUIRY: "SUCCESS",
            sc.STUCK_FLAKY_CANCEL: "CANCELLED", sc.UNAVAILABLE: "CANCELLED"}
SALE_KEYS = {"status", "paymentRequestId", "paymentId", "resultCode", "message", "amount"}


@pytest.fixture
def config(sim):
    return write_config(sim, payments=TIMING, read_timeout=1.5)


def sale(config, data_dir, amount: str, *extra) -> tuple[int, dict]:
    return cli_json("sale", "--amount", amount, *extra, config=config, data_dir=data_dir)


def test_every_scenario_through_the_cli(sim, config, tmp_path):
    def run(minor: int):
        return minor, sale(config, tmp_path / str(minor), f"{minor / 100:.2f}", "--code", payment_code())
    with ThreadPoolExecutor(6) as pool:
        results = dict(pool.map(run, EXPECTED))
    assert {m: data["status"] for m, (rc, data) in results.items()} == EXPECTED
    for minor, (rc, data) in results.items():
        assert set(data) >= SALE_KEYS
        assert rc == (0 if data["status"] == "SUCCESS" else 1)
        assert data["amount"] == {"currency": "USD", "value": str(minor)}
        at_gateway = ledger(sim).get(data["paymentRequestId"], {"status": "never seen"})
        assert (at_gateway["status"] == "SUCCESS") == (data["status"] == "SUCCESS")


def test_sale_refund_cancel_inquiry_report_queue(sim, config, tmp_path):
    d = tmp_path / "t"
    rc, paid = sale(config, d, "12.34", "--code", payment_code(), "--description", "a book")
    assert rc == 0 and paid["status"] == "SUCCESS" and paid["paymentId"]
    pin = cli("pin", "set", "manager", data_dir=d, input=f"{MANAGER_PIN}\n{MANAGER_PIN}\n")   # asked twice
    assert pin.returncode == 0, (pin.stdout, pin.stderr)
    rc, refund = cli_json("refund", paid["paymentId"], "--amount", "2.34", "--reason", "damaged",
                          config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and refund["status"] == "SUCCESS" and refund["refundRequestId"]
    assert refund["paymentRequestId"] == paid["paymentRequestId"]
    rc, refund2 = cli_json("refund", paid["paymentRequestId"], "--amount", "10.01", "--reason", "more",
                           config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 2 and "more than is left" in refund2["error"]
    rc, inquiry = cli_json("inquiry", paid["paymentRequestId"], config=config, data_dir=d)
    assert rc == 0 and inquiry["gateway"]["paymentStatus"] == "SUCCESS" and inquiry["journal"]["status"] == "SUCCESS"
    rc, other = sale(config, d, "5.00", "--code", payment_code())
    rc, cancelled = cli_json("cancel", other["paymentRequestId"], "--reason", "wrong goods", config=config,
                             data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and cancelled["status"] == "SUCCESS"
    assert ledger(sim)[other["paymentRequestId"]]["status"] == "CANCELLED"
    rc, report = cli_json("report", config=config, data_dir=d)
    assert rc == 0 and report["count"] == 4
    kinds = sorted((t["kind"], t["status"]) for t in report["transactions"])
    assert kinds == [("cancel", "SUCCESS"), ("refund", "SUCCESS"), ("sale", "CANCELLED"), ("sale", "SUCCESS")]
    for t in report["transactions"]:
        assert {"paymentRequestId", "paymentId", "kind", "status", "amount"} <= set(t)
    usd = report["totals"]["USD"]
    assert usd["sale"]["SUCCESS"] == {"count": 1, "value": "1234"} and usd["net"] == "1000"
    out = tmp_path / "day.csv"
    rc, _ = cli_json("report", "--csv", out, config=config, data_dir=d)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 and {r["kind"] for r in rows} == {"sale", "refund", "cancel"}
    rc, queue = cli_json("queue", config=config, data_dir=d)
    assert rc == 0 and queue["count"] == 0 and queue["totals"] == {}
    rc, nothing = cli_json("report", "--date", "2001-01-01", config=config, data_dir=d)
    assert nothing["count"] == 0


def test_order_code_sale_prints_the_code_and_waits_until_paid(sim, config, tmp_path):
    cmd = [sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(tmp_path / "t"),
           "sale", "--amount", "8.80", "--order-code", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        code = None
        deadline = time.monotonic() + 20
        while code is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if line.startswith("order code: "):
                code = line.split()[2]
        assert code, "the code value is printed"
        assert sim_call(sim, "/sim/wallet/pay-order", {"codeValue": code})[0] == 200
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    data = json.loads(out)
    assert proc.returncode == 0 and data["status"] == "SUCCESS"


def test_order_code_timeout_cancels_it(sim, config, tmp_path):
    rc, data = sale(config, tmp_path / "t", "8.81", "--order-code", "--timeout", "1")
    assert rc == 1 and data["status"] == "CANCELLED"
    assert ledger(sim)[data["paymentRequestId"]]["status"] == "CANCELLED"


def test_the_order_code_is_drawn_as_a_terminal_qr(sim, config, tmp_path):
    done = cli("sale", "--amount", "8.82", "--order-code", "--timeout", "0.5", config=config, data_dir=tmp_path / "t")
    assert "order code: https://" in done.stdout
    assert "█" in done.stdout or "▀" in done.stdout


def test_offline_sale_queues_then_voids_past_the_window_and_reconcile_settles(make_sim, tmp_path):
    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 1.5})
    rc, data = sale(config, tmp_path / "t", "3.00", "--code", payment_code())
    assert rc == 1 and data["status"] == "FAILED" and data["resultCode"] == "NOT_SENT"
    back()
    rc, result = cli_json("reconcile", config=config, data_dir=tmp_path / "t")
    assert rc == 0 and result == {"settled": 0, "still_open": 0, "items": []}


def test_reconcile_settles_what_a_killed_sale_left(sim, config, tmp_path):
    d = tmp_path / "t"
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(d),
                             "sale", "--amount", f"{sc.STUCK / 100:.2f}", "--code", payment_code()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while "Checking the result" not in proc.stderr.readline():
        pass
    proc.kill()
    proc.wait()
    rc, result = cli_json("reconcile", config=config, data_dir=d)
    assert rc == 0 and result["settled"] == 1 and result["still_open"] == 0
    assert result["items"][0]["status"] == "CANCELLED"
    check_invariant(sim, d)


def test_person_errors_are_one_line_with_exit_2(sim, config, tmp_path):
    d = tmp_path / "t"
    for args, words in [
        (["sale", "--amount", "abc", "--code", payment_code()], "amount"),
        (["sale", "--amount", "1.00", "--code", "4006381333931"], "not a payment code"),
        (["refund", "PR-nope", "--amount", "1.00"], "no sale"),
        (["cancel", "PR-nope"], "no sale"),
    ]:
        done = cli(*args, config=config, data_dir=d)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
    done = cli("report", data_dir=tmp_path / "empty")
    assert done.returncode == 2 and "no journal" in done.stderr


def test_odd_arguments_get_plain_errors(sim, config, tmp_path):
    d = tmp_path / "t"
    for args in (["sale", "--amount", "1.00", "--code", payment_code(), "--timeout", "nan"],
                 ["reconcile", "--timeout", "-1"], ["inquiry", "x" * 80]):
        done = cli(*args, config=config, data_dir=d)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "internal error" not in done.stderr, args
    rc, paid = sale(config, d, "1.00", "--code", payment_code())
    assert rc == 0, paid
    compact = time.strftime("%Y%m%d")
    rc, report = cli_json("report", "--date", compact, config=config, data_dir=d)
    assert rc == 0 and report["date"] == time.strftime("%Y-%m-%d") and report["count"] == 1


def test_queue_drain_sends_what_waits_now(make_sim, tmp_path):
    from pos_app.money import parse_money
    from pos_app.runtime import Runtime

    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 120})
    with Runtime(config, tmp_path / "t", receiver=False, background=False) as rt:
        sale = rt.terminal.start_sale(parse_money("2.50", "USD"), code=payment_code())
        assert sale.status == "QUEUED"
    rc, queue = cli_json("queue", config=config, data_dir=tmp_path / "t")
    assert rc == 0 and queue["count"] == 1
    back()
    rc, drained = cli_json("queue", "--drain", config=config, data_dir=tmp_path / "t")
    assert rc == 0 and drained["advanced"] == 1 and drained["count"] == 0, drained
    rc, report = cli_json("report", config=config, data_dir=tmp_path / "t")
    assert rc == 0 and "SUCCESS" in json.dumps(report)


def test_a_decline_reads_as_on_the_cashier_screen(sim, config, tmp_path):
    """The same outcome gets the same words (issue 15, 2.6): the customer's balance not enough is DECLINED with
    the declined next step, as the window says it, not NOT PAID with a generic one; a sale never sent stays
    NOT PAID."""
    done = cli("sale", "--amount", f"{sc.BALANCE_NOT_ENOUGH / 100:.2f}", "--code", payment_code(), config=config,
               data_dir=tmp_path / "t")
    assert done.returncode == 1, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("DECLINED: sale"), done.stdout
    assert "Ask for another way to pay, or a fresh code" in done.stdout
