"""The technician's window as a technician uses it (issue 15, section 3 items 1, 2, 6 and 7): a kiosk on a
real X server, driven only by X events (tests/xkit.py).

- F10, the technician PIN (first use in sandbox mode: PIN, Tab, PIN, Return; not the manager's PIN).
- The self-test at the window's default level (external): the gateway check passes against the simulator
  the till uses, and the sandbox's terminal.toml still names that live simulator afterwards (a second
  simulator used to rewrite it to a port that died with the self-test).
- Two screens: the display check puts the test pattern on the customer display; Esc goes back to the till
  and takes the pattern off it. One screen: the display check says why there is none, not "run from the
  technician screen" while on it.
- "Back to the till" (a click) does what Esc does.
- Every widget of the window lies inside its screen and is not clipped, at 1024x768 and 1280x800, in
  English and zh_CN.
- The till's log exists from its first start, and the Logs tab shows that file.

Outcomes are read through the probe (what is on screen), the files of the data directory and the
simulator's own HTTP endpoints; screenshots are saved as the tests go.
"""

from __future__ import annotations

import json
import tomllib
import urllib.request

import pytest

from pos_app.i18n import load
from pos_app.selftest import TITLES

pytestmark = pytest.mark.timeout(300)

TECHNICIAN_PIN = "135791"        # differs from the manager's (flowkit.MANAGER_PIN): the PIN book refuses equal ones
TILL = {"size": (1280, 800), "screens": 1, "language": "en"}


def word(language: str):
    """A shown word in ``language``, from its catalogue (paths stay as they are)."""
    return str if language == "en" else load(language).gettext


def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def widget(probe: dict, cls: str, name: str) -> dict | None:
    found = window(probe, cls)
    return next((w for w in found["widgets"] if w["objectName"] == name), None) if found else None


def configured_url(till) -> str:
    """The gateway URL the sandbox's terminal.toml names, read with tomllib."""
    return tomllib.loads((till.data_dir / "sandbox-gateway" / "terminal.toml").read_text())["gateway"]["url"]


def serves(url: str) -> bool:
    """The simulator at ``url`` answers its own ledger endpoint."""
    try:
        with urllib.request.urlopen(url + "/sim/ledger", timeout=5) as answer:
            return answer.status == 200 and "payments" in json.loads(answer.read())
    except OSError:
        return False


def open_technician(till, first_time: bool) -> dict:
    """F10, then the PIN as a person types it; returns the probe once the technician's window is active."""
    till.key("F10")
    till.wait_for(lambda p: window(p, "PinDialog") is not None, what="the technician PIN dialog")
    till.type(TECHNICIAN_PIN)
    if first_time:
        till.key("Tab")
        till.type(TECHNICIAN_PIN)
    till.key("Return")
    return till.wait_for(lambda p: (w := window(p, "TechnicianWindow")) is not None and w["active"]
                         and window(p, "PinDialog") is None, what="the technician's window, active")


def assert_fits(probe: dict) -> None:
    """Every visible widget of the technician's window lies on the window's screen, and none is clipped."""
    tech = window(probe, "TechnicianWindow")
    screen = next(s for s in probe["screens"] if s["name"] == tech["screen"])
    sx, sy, sw, sh = screen["geometry"]
    wx, wy, ww, wh = tech["geometry"]
    assert sx <= wx and sy <= wy and wx + ww <= sx + sw and wy + wh <= sy + sh, (tech["geometry"], screen)
    outside = [(w["class"], w["objectName"], w.get("text"), w["geometry"]) for w in tech["widgets"]
               if w["clipped"] or not (sx <= w["geometry"][0] and sy <= w["geometry"][1]
                                       and w["geometry"][0] + w["geometry"][2] <= sx + sw
                                       and w["geometry"][1] + w["geometry"][3] <= sy + sh)]
    assert not outside, outside


def to_selftest_tab(till) -> None:
    """The tab bar has the keyboard when the window opens: Right is the next tab, Self-test."""
    probe = till.wait_for(lambda p: (p["focus"] or {}).get("objectName") == "technician_tabs",
                          what="the keyboard on the technician's tabs")
    assert widget(probe, "TechnicianWindow", "technician_tabs")["currentTab"] == 0
    till.key("Right")
    till.wait_for(lambda p: widget(p, "TechnicianWindow", "run_selftest") is not None,
                  what="the Self-test tab shown")


def run_selftest(till, language: str) -> dict[str, list[str]]:
    """Click "Run self-test" and wait for its summary; the rows of the checks table by check code (the
    Check column shows each check's words in ``language``)."""
    shown = word(language)
    codes = {shown(words): code for code, words in TITLES.items()}
    till.click_on("run_selftest")
    probe = till.wait_for(
        lambda p: (t := widget(p, "TechnicianWindow", "selftest_checks")) is not None
        and any(codes.get(row[1]) == "display" for row in t["rows"])
        and widget(p, "TechnicianWindow", "run_selftest")["enabled"],
        what="the external self-test finished (its display row shown)", timeout=60)
    rows = {codes.get(row[1], row[1]): row for row in widget(probe, "TechnicianWindow", "selftest_checks")["rows"]}
    assert rows["gateway"][0] == shown("PASS"), rows["gateway"]
    assert rows["round-trip"][0] == shown("PASS"), rows["round-trip"]
    assert shown("FAIL") not in {row[0] for row in rows.values()}, rows
    return rows


# -- one screen: the module's till ---------------------------------------------------------------------

def test_the_log_is_written_from_the_first_start_and_the_logs_tab_shows_it(till):
    """Issue 15 (3.7): the till's log exists as soon as the window is up, and the Logs tab shows that file."""
    log = till.data_dir / "logs" / "pos-terminal.log"
    assert log.is_file(), sorted(p.name for p in till.data_dir.rglob("*"))
    assert ": gui" in log.read_text()
    (till.data_dir / "logs" / "crash-29990101-000000.txt").write_text("a newer file that is not the till's log\n")
    open_technician(till, first_time=True)
    till.wait_for(lambda p: (p["focus"] or {}).get("objectName") == "technician_tabs",
                  what="the keyboard on the technician's tabs")
    till.key("Right", "Right", "Right", "Right")      # the last tab: Logs (refreshed as it opens)
    probe = till.wait_for(lambda p: (v := widget(p, "TechnicianWindow", "log_view")) is not None
                          and ": gui" in v["text"], what="the Logs tab showing the till's log")
    assert str(log) in widget(probe, "TechnicianWindow", "log_label")["text"]
    assert "not the till's log" not in widget(probe, "TechnicianWindow", "log_view")["text"]
    till.screenshot("technician-logs")
    till.click_on("back")
    till.wait_for(lambda p: window(p, "TechnicianWindow") is None
                  and window(p, "CashierWindow")["active"], what="the till back, active, after the button")


def test_one_screen_selftest_checks_the_live_gateway_and_says_why_no_display(till):
    """Issue 15 (3.6): the self-test checks the simulator the till uses and leaves its terminal.toml alone;
    with one screen the display row says there is none in this session, not "run from the technician
    screen"."""
    live = configured_url(till)
    assert serves(live)
    open_technician(till, first_time=False)
    to_selftest_tab(till)
    rows = run_selftest(till, "en")
    assert live.removeprefix("http://") in rows["gateway"][3], rows["gateway"]
    assert rows["display"][0] == "SKIP" and "no customer display in this session" in rows["display"][3]
    assert "technician screen" not in rows["display"][3]
    till.screenshot("technician-selftest-one-screen")
    assert configured_url(till) == live and serves(live)     # the file still names the live simulator
    till.key("Escape")
    till.wait_for(lambda p: window(p, "TechnicianWindow") is None and window(p, "CashierWindow")["active"],
                  what="Esc: back to the till")
    assert serves(configured_url(till))


# -- two screens, each size and language ----------------------------------------------------------------

@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_selftest_shows_the_pattern_and_esc_takes_it_off_on_the_way_back(make_till, size, language):
    """Issue 15 (3.1, 3.2, 3.6): F10, the PIN, the self-test (the gateway the till uses passes, its
    terminal.toml untouched; the display check shows the pattern on the customer display), Esc back to
    the till and the customer display without the pattern; every widget on screen, none clipped."""
    till = make_till(size=size, screens=2, language=language)
    live = configured_url(till)
    probe = open_technician(till, first_time=True)
    assert_fits(probe)
    to_selftest_tab(till)
    rows = run_selftest(till, language)
    assert live.removeprefix("http://") in rows["gateway"][3], rows["gateway"]
    assert rows["display"][0] == word(language)("PASS"), rows["display"]
    probe = till.wait_for(lambda p: widget(p, "CustomerDisplay", "test_pattern") is not None,
                          what="the test pattern on the customer display")
    assert_fits(probe)
    till.screenshot(f"technician-selftest-{language}-{size[0]}x{size[1]}")
    assert configured_url(till) == live and serves(live)
    for tab in (2, 3, 4):                       # Customer display, Queue, Logs: Ctrl+Tab walks the tabs
        till.key("ctrl+Tab")
        probe = till.wait_for(lambda p, tab=tab: widget(p, "TechnicianWindow", "technician_tabs")["currentTab"] == tab,
                              what=f"tab {tab} shown")
        assert_fits(probe)
        till.screenshot(f"technician-tab{tab}-{language}-{size[0]}x{size[1]}")

    till.key("Escape")
    probe = till.wait_for(lambda p: window(p, "TechnicianWindow") is None and window(p, "CashierWindow")["active"],
                          what="Esc: back to the till, which has the keyboard")
    assert window(probe, "CustomerDisplay") is not None
    assert widget(probe, "CustomerDisplay", "test_pattern") is None, "the pattern is still on the customer display"
    till.screenshot(f"technician-back-{language}-{size[0]}x{size[1]}")
