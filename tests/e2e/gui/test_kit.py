"""The end-to-end kit itself (tests/xkit.py): the terminal starts as the kiosk starts it, on a real X
server, full screen at the store's sizes; keys typed through XTest reach it; two monitors put the customer
display on the second; and the kit leaves no process behind."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.slow


def _cashier(probe: dict) -> dict:
    return next(w for w in probe["windows"] if w["class"] == "CashierWindow")


def _amount(probe: dict) -> str:
    return next(w["text"] for w in _cashier(probe)["widgets"] if w["objectName"] == "amount")


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_kiosk_fills_the_screen(make_till, size):
    till = make_till(size=size)
    probe = till.probe()
    assert [s["geometry"] for s in probe["screens"]] == [[0, 0, *size]]
    window = _cashier(probe)
    assert window["fullScreen"], "pos-terminal gui --kiosk shows the cashier window full screen"
    assert window["geometry"] == [0, 0, *size]
    assert window["active"], "the cashier window has the keyboard (there is no window manager to give it)"
    assert not window["offScreen"]
    assert [w for w in window["widgets"] if w["clipped"]] == []
    assert "SANDBOX" in till.text()


def test_digits_typed_at_a_persons_speed_move_the_amount(till):
    till.type("12.50")
    till.wait_for(lambda p: "12.50" in _amount(p), what="the amount to read 12.50 after typing 1, 2, ., 5, 0",
                  timeout=5)
    till.key(*["BackSpace"] * 5)   # leaves the till as it found it for the next test of the module
    till.wait_for(lambda p: "0.00" in _amount(p), what="the amount back to 0.00", timeout=5)


def test_two_screens_put_the_customer_display_on_the_second(make_till):
    till = make_till(size=(1280, 800), screens=2)
    probe = till.probe()
    screens = probe["screens"]
    assert len(screens) == 2, screens
    first, second = screens
    assert second["geometry"] == [1280, 0, 1280, 800]
    customer = next(w for w in probe["windows"] if w["class"] == "CustomerDisplay")
    assert customer["screen"] == second["name"]
    assert customer["geometry"] == second["geometry"]
    assert _cashier(probe)["screen"] == first["name"]
    assert "Sandbox Store 1" in till.text(probe, cls="CustomerDisplay")
    assert till.screenshot("two-screens").stat().st_size > 0


def test_stop_leaves_no_process(make_till):
    till = make_till()
    app, xvfb = till.app.pid, till.xvfb.pid
    till.stop()
    for pid in (app, xvfb):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_scanner_burst_after_f1_pays(till):
    """till.scan: the code at a scanner's pace, and its Return, reach the till as one burst; the sale is paid."""
    import kit

    till.type("3.20")
    till.key("F1")
    till.wait_for(lambda p: any(w["objectName"] == "headline" and w.get("text") == "Scan the customer's payment code"
                                for w in _cashier(p)["widgets"]), what="the till to await a code", timeout=5)
    till.scan(kit.payment_code())
    till.wait_for(lambda p: any(w["objectName"] == "headline" and w.get("text") == "PAID"
                                for w in _cashier(p)["widgets"]), what="PAID", timeout=20)
    sales = [t for t in till.cli("report")["transactions"] if t["kind"] == "sale"]
    assert [(t["status"], t["amount"]["value"]) for t in sales] == [("SUCCESS", "320")]
    till.key("Return")
