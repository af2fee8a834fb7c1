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
    till.key("Escape")   # leaves the till as it found it for the next test of the module


def test_a_key_reaches_the_window_through_xtest(till):
    """F2 with no amount is refused in words: the X key event went to the terminal."""
    before = till.text()
    till.key("F2")
    till.wait_for(lambda p: till.text(p) != before, what="the cashier screen to answer F2", timeout=5)
    till.key("Escape")


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
