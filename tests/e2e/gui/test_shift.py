"""A full shift at one till, driven only by X events (issue 15 #1): sales by a typed amount, F1 and a scanner's
burst; a decline; an order code (F2) that the customer's wallet pays (the QR read off the screen, paid with the
simulator's /sim/wallet/pay-order); the gateway going down and coming back with a sale waiting; a refund in the
manager's mode (F9, PIN), an X and a Z report; the technician's self-test (F10, PIN); back to the till each time.

The terminal runs against a simulator of the test's own on a held port, so the gateway can really go away
(flowkit.gateway_down: connections refused) and come back on the same port with the same ledger. It runs on the
store's timing (the configuration's defaults), and its PINs were set as on a live terminal (outside sandbox mode
the window does not let the first person choose them). Outcomes are read through ``pos-terminal report --json``
beside the running terminal and checked against the gateway's own ledger (/sim/ledger).

The steps run in order on one till; each leaves it at "Ready".
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict

import pytest
import xkit
from flowkit import MANAGER_PIN, gateway_down, set_manager_pin, write_config
from kit import payment_code, reserve_port

from offline_queue.journal import Journal
from pos_app import services
from pos_app.config import PaymentsConfig
from pos_app.roles import TECHNICIAN
from pos_app.selftest import TITLES
from pos_app.sim import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TECHNICIAN_PIN = "135790"
AWAITING = "Scan the customer's payment code"


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shift")
    state: dict = {}

    def start_sim(port: int) -> Simulator:
        return Simulator(folder / "gateway", "127.0.0.1", port).start()

    state["sim"] = start_sim(reserve_port())
    store = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(PaymentsConfig()).items()}
    till = xkit.Till(folder / "till", config=write_config(state["sim"], payments=store))
    till.data_dir.mkdir(parents=True)
    set_manager_pin(till.data_dir)
    with Journal.open(till.data_dir) as journal:
        services.technician.pin_set(services.counter("setup"), journal, TECHNICIAN, TECHNICIAN_PIN)
    state["make_sim"] = lambda data_dir=None, port=0: start_sim(port)
    try:
        till.start()
        yield till, state
    finally:
        till.stop()
        state["sim"].stop()


# -- reading ------------------------------------------------------------------------------------------------------
def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def named(probe: dict, cls: str, name: str) -> str:
    win = window(probe, cls) or {"widgets": []}
    return next((w.get("text") or "" for w in win["widgets"] if w["objectName"] == name), "")


def headline(probe: dict) -> str:
    return named(probe, "CashierWindow", "headline")


def active(probe: dict, cls: str) -> bool:
    win = window(probe, cls)
    return win is not None and win["active"]


def sales(till) -> dict[str, dict]:
    return {t["paymentRequestId"]: t for t in till.cli("report")["transactions"] if t["kind"] == "sale"}


def ledger(url: str) -> dict[str, dict]:
    with urllib.request.urlopen(f"{url}/sim/ledger", timeout=10) as answer:
        return {p["paymentRequestId"]: p for p in json.load(answer)["payments"]}


# -- a person at the counter ----------------------------------------------------------------------------------------
def charge(till, amount: str) -> set[str]:
    """The amount typed, F1, the customer's code from a scanner. Returns the sale ids there were before."""
    before = set(sales(till))
    till.type(amount)
    till.key("F1")
    till.wait_for(lambda p: headline(p) == AWAITING, what="the till to await the customer's code", timeout=5)
    till.scan(payment_code())
    return before


def the_new_sale(till, before: set[str]) -> dict:
    new = {k: v for k, v in sales(till).items() if k not in before}
    assert len(new) == 1, new
    return next(iter(new.values()))


def next_sale(till) -> None:
    till.key("Return")
    till.wait_for(lambda p: headline(p) == "Ready", what="the till ready for the next sale", timeout=5)


# -- the shift --------------------------------------------------------------------------------------------------------
def test_01_a_sale_typed_and_scanned(shift):
    till, state = shift
    before = charge(till, "12.50")
    till.wait_for(lambda p: headline(p) == "PAID", what="PAID", timeout=20)
    till.screenshot("shift-01-paid")
    sale = the_new_sale(till, before)
    assert (sale["status"], sale["amount"]) == ("SUCCESS", {"currency": "USD", "value": "1250"})
    assert ledger(state["sim"].url)[sale["paymentRequestId"]]["status"] == "SUCCESS"
    state["first"] = sale["paymentRequestId"]
    next_sale(till)


def test_02_a_decline(shift):
    till, state = shift
    before = charge(till, "99.04")   # the simulator: the customer declines in the wallet after 2 s
    till.wait_for(lambda p: headline(p) == "DECLINED", what="DECLINED", timeout=30)
    till.screenshot("shift-02-declined")
    sale = the_new_sale(till, before)
    assert (sale["status"], sale["resultCode"]) == ("FAILED", "USER_PAYMENT_VERIFICATION_FAILED")
    assert ledger(state["sim"].url)[sale["paymentRequestId"]]["status"] == "FAIL"
    next_sale(till)


def test_03_an_order_code_paid_in_the_wallet(shift):
    import zxingcpp
    from PIL import Image

    till, state = shift
    before = set(sales(till))
    till.type("20.00")
    till.key("F2")
    till.wait_for(lambda p: headline(p) == "Waiting for the customer to scan the QR and pay",
                  what="the order code's QR on screen", timeout=10)
    shot = till.screenshot("shift-03-order-code")
    codes = [c.text for c in zxingcpp.read_barcodes(Image.open(shot))]   # as the customer's phone reads it
    assert len(codes) == 1, codes
    request = urllib.request.Request(f"{till.sim_url}/sim/wallet/pay-order", method="POST",
                                     data=json.dumps({"codeValue": codes[0]}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer)["paymentStatus"] == "SUCCESS"
    till.wait_for(lambda p: headline(p) == "PAID", what="PAID once the wallet paid", timeout=20)
    sale = the_new_sale(till, before)
    assert (sale["status"], sale["tender"], sale["amount"]["value"]) == ("SUCCESS", "order_code", "2000")
    assert ledger(state["sim"].url)[sale["paymentRequestId"]]["status"] == "SUCCESS"
    next_sale(till)


def test_04_the_gateway_down_and_back(shift):
    till, state = shift
    state["sim"], back = gateway_down(state["make_sim"], state["sim"])
    before = charge(till, "7.77")
    till.wait_for(lambda p: headline(p) == "Queued: waiting for the link to the gateway",
                  what="the sale queued for the link", timeout=20)
    till.wait_for(lambda p: named(p, "CashierWindow", "offline").startswith("OFFLINE"),
                  what="the OFFLINE banner", timeout=10)
    till.screenshot("shift-04-queued")
    queue = till.cli("queue")
    assert queue["count"] == 1 and queue["totals"]["USD"]["value"] == "777"
    sale = the_new_sale(till, before)
    assert sale["status"] == "QUEUED" or sale["status"] != "SUCCESS", sale

    state["sim"] = back()
    till.wait_for(lambda p: headline(p) == "PAID", what="PAID once the link is back", timeout=30)
    till.wait_for(lambda p: not named(p, "CashierWindow", "offline"), what="the OFFLINE banner gone", timeout=10)
    assert till.cli("queue")["count"] == 0
    assert sales(till)[sale["paymentRequestId"]]["status"] == "SUCCESS"
    assert ledger(state["sim"].url)[sale["paymentRequestId"]]["status"] == "SUCCESS"
    next_sale(till)


def open_mode(till, key: str, pin: str, cls: str) -> dict:
    till.key(key)
    till.wait_for(lambda p: active(p, "PinDialog"), what=f"{key}: the PIN dialog, with the keyboard", timeout=10)
    till.type(pin)
    till.key("Return")
    return till.wait_for(lambda p: active(p, cls) and window(p, "PinDialog") is None,
                         what=f"the {cls}, with the keyboard", timeout=20)


def test_05_a_refund_in_the_managers_mode(shift):
    till, state = shift
    open_mode(till, "F9", MANAGER_PIN, "ManagerWindow")
    till.click_cell(state["first"])
    till.wait_for(lambda p: "12.50" in named(p, "ManagerWindow", "refundable"), what="the first sale selected")
    till.click_on("refund_reason")
    till.type("returned")
    till.click_on("refund")
    probe = till.wait_for(lambda p: active(p, "QMessageBox"), what="the refund's question, with the keyboard")
    question = till.text(probe, cls="QMessageBox")
    assert state["first"] in question and "Refund USD" in question and "12.50" in question
    till.click_on("yes")
    probe = till.wait_for(lambda p: named(p, "ManagerWindow", "status").startswith("Refunded"),
                          what="what was refunded, in words", timeout=30)
    assert state["first"] in named(probe, "ManagerWindow", "status")
    till.screenshot("shift-05-refunded")
    refunds = [t for t in till.cli("report")["transactions"] if t["kind"] == "refund"]
    assert [(r["status"], r["paymentRequestId"], r["amount"]["value"]) for r in refunds] == \
        [("SUCCESS", state["first"], "1250")]
    assert [r["amount"]["value"] for r in ledger(state["sim"].url)[state["first"]]["refunds"]] == ["1250"]


def test_06_x_and_z_reports(shift):
    till, _state = shift
    till.key("ctrl+Tab")
    till.key("ctrl+Tab")   # Day, Review, Reports
    till.click_on("x_report")
    probe = till.wait_for(lambda p: named(p, "ManagerWindow", "report_view").startswith("X REPORT"),
                          what="the X report on screen")
    x = named(probe, "ManagerWindow", "report_view")
    # the day: 12.50 + 20.00 + 7.77 paid, 99.04 declined, 12.50 refunded
    assert "Gross sales" in x and "40.27" in x and "Net" in x and "27.77" in x
    till.click_on("z_report")
    till.wait_for(lambda p: active(p, "QMessageBox"), what="the Z's question")
    till.click_on("yes")
    probe = till.wait_for(lambda p: named(p, "ManagerWindow", "report_view").startswith("Z REPORT #1"),
                          what="Z report #1 on screen")
    till.screenshot("shift-06-z")
    session = till.cli("report", "--x")["session"]
    assert (session["number"], session["previousZ"], session["count"]) == (2, 1, 0)
    till.click_on("back")
    till.wait_for(lambda p: window(p, "ManagerWindow") is None and active(p, "CashierWindow"),
                  what="back at the till")


def test_07_the_self_test(shift):
    till, state = shift
    open_mode(till, "F10", TECHNICIAN_PIN, "TechnicianWindow")
    till.key("ctrl+Tab")   # Devices, Self-test
    till.click_on("run_selftest")
    probe = till.wait_for(lambda p: "no check failed" in named(p, "TechnicianWindow", "selftest_summary"),
                          what="the self-test done, no check failed", timeout=60)
    table = next(w for w in window(probe, "TechnicianWindow")["widgets"] if w["objectName"] == "selftest_checks")
    codes = {words: code for code, words in TITLES.items()}   # the Check column shows each check's words
    rows = {codes.get(row[1], row[1]): row for row in table["rows"]}
    port = state["sim"].url.rsplit(":", 1)[1]
    assert rows["gateway"][0] == "PASS" and port in rows["gateway"][3], "it checks the gateway the till uses"
    assert rows["round-trip"][0] == "PASS" and rows["notifications"][0] == "PASS"
    till.screenshot("shift-07-selftest")
    till.click_on("back")
    till.wait_for(lambda p: window(p, "TechnicianWindow") is None and active(p, "CashierWindow"),
                  what="back at the till")
    # the till takes the next sale as before
    before = charge(till, "1.00")
    till.wait_for(lambda p: headline(p) == "PAID", what="PAID", timeout=20)
    assert the_new_sale(till, before)["status"] == "SUCCESS"
    next_sale(till)
