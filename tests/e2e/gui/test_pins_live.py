"""A live terminal's PINs come from the store's people, not from whoever presses F9 first (issue 15, 3.5): on
a real X server, in kiosk mode, driven by X key events only.

The till runs with a configuration (not sandbox mode) and no PIN set. F9 opens a dialog that says no manager
PIN is set and names the command that sets one; PINs typed there open nothing and set nothing (read back
through the journal beside the running terminal, in plain SQL). The PIN set by ``pos-terminal pin set
manager``, F9 asks for it once and the manager's window opens.
"""

from __future__ import annotations

import sqlite3

import pytest
import xkit
from flowkit import MANAGER_PIN, write_config
from kit import reserve_port

from pos_app.sim import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def named(probe: dict, cls: str, name: str) -> str:
    win = window(probe, cls) or {"widgets": []}
    return next((w.get("text") or "" for w in win["widgets"] if w["objectName"] == name), "")


def pins_in_the_journal(data_dir) -> list[str]:
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return [role for (role,) in conn.execute("SELECT role FROM pins ORDER BY role")]
    finally:
        conn.close()


@pytest.fixture
def live_till(tmp_path):
    sim = Simulator(tmp_path / "gateway", "127.0.0.1", reserve_port()).start()
    till = xkit.Till(tmp_path / "till", config=write_config(sim))
    try:
        till.start()
        yield till
    finally:
        till.stop()
        sim.stop()


def test_a_live_terminal_without_a_pin_refuses_f9_and_names_the_command(live_till):
    till = live_till
    till.key("F9")
    probe = till.wait_for(lambda p: "No manager PIN is set on this terminal" in named(p, "PinDialog", "pin_message")
                          or "No manager PIN is set on this terminal" in named(p, "PinDialog", "pin_prompt"),
                          what="the PIN dialog saying that no manager PIN is set", timeout=15)
    till.screenshot("live-no-pin")
    words = named(probe, "PinDialog", "pin_message") + " " + named(probe, "PinDialog", "pin_prompt")
    assert "pos-terminal pin set manager" in words
    # Whoever is at the keys tries to choose one, as the first F9 did before: nothing opens, nothing is set.
    till.type("111111")
    till.key("Tab")
    till.type("111111")
    till.key("Return")
    till.key("Escape")
    till.wait_for(lambda p: window(p, "PinDialog") is None and window(p, "ManagerWindow") is None
                  and (window(p, "CashierWindow") or {}).get("active"),
                  what="the till again, with no manager window", timeout=10)
    assert pins_in_the_journal(till.data_dir) == []
    # The store's people do what the dialog says: close the till, set it at the prompt, start the till again;
    # then F9 asks for it once.
    assert "Close the till first" in words
    till.stop()
    till.cli("pin", "set", "manager", input=f"{MANAGER_PIN}\n{MANAGER_PIN}\n")
    assert pins_in_the_journal(till.data_dir) == ["manager"]
    till.start()
    till.key("F9")
    till.wait_for(lambda p: (window(p, "PinDialog") or {}).get("active") and "No manager PIN" not in
                  named(p, "PinDialog", "pin_prompt") and "…" not in named(p, "PinDialog", "pin_prompt")
                  and bool(named(p, "PinDialog", "pin_prompt")),
                  what="the PIN dialog asking for the PIN that is set", timeout=15)
    till.type(MANAGER_PIN)
    till.key("Return")
    till.wait_for(lambda p: (window(p, "ManagerWindow") or {}).get("active"), what="the manager's window",
                  timeout=20)
    till.screenshot("live-manager-open")
