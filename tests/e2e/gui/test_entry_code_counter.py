"""The store's entry code at the counter (issue 16, part 3), as a cashier uses it: ``pos-terminal gui --kiosk``
in sandbox mode (the embedded simulator issues the store's code and writes it into the config) on a real X
server, driven only by X key events (tests/xkit.py). The customer pays as a wallet would, through the
simulator's ``POST /sim/wallet/pay-entry-code``; what is on screen is read back through the probe and
screenshots, outcomes through ``pos-terminal report --json`` and ``entry-payments --json`` beside the till.

- F3 with an amount: the cashier screen says it waits for the customer to pay by the store's code; the
  payment arrives by the gateway's notification; PAID; the day report counts it as an entry-code sale.
- A payment that comes with nothing waiting is shown in words (amount, wallet, time, what to do); F3 with
  that amount offers it to the new sale and F5 makes it that sale's payment; the money counts once.
- The waiting screen and the notice fit 1024x768 and 1280x800 in English and zh_CN (screenshots kept).
"""

from __future__ import annotations

import json
import tomllib
import urllib.request

import pytest

pytestmark = pytest.mark.slow

SIZES = [(1024, 768), (1280, 800)]
LANGUAGES = ["en", "zh_CN"]


def cashier(probe: dict) -> dict:
    return next(w for w in probe["windows"] if w["class"] == "CashierWindow")


def widget(probe: dict, name: str) -> dict | None:
    return next((w for w in cashier(probe)["widgets"] if w["objectName"] == name), None)


def words(probe: dict, name: str) -> str:
    return (widget(probe, name) or {}).get("text") or ""


def pay_entry_code(till, value: str, currency: str = "USD") -> dict:
    """The customer's wallet pays the store's code (the simulator signs and sends the notification)."""
    config = tomllib.loads((till.data_dir / "sandbox-gateway" / "terminal.toml").read_text())
    body = json.dumps({"codeValue": config["entry_code"]["code"],
                       "amount": {"currency": currency, "value": value}}).encode()
    request = urllib.request.Request(f"{till.sim_url}/sim/wallet/pay-entry-code", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def assert_nothing_clipped(till, probe: dict, state: str) -> None:
    shot = till.screenshot(f"entry-{state}-{till.size[0]}x{till.size[1]}-{till.language}")
    window = cashier(probe)
    screen = probe["screens"][0]["geometry"]
    clipped = [(w["class"], w["objectName"], (w.get("text") or "")[:50]) for w in window["widgets"] if w["clipped"]]
    assert clipped == [], f"{state}: cut off at {till.size} in {till.language}: {clipped} ({shot})"
    sx, sy, sw, sh = screen
    outside = [(w["objectName"], w["geometry"]) for w in window["widgets"]
               if not (sx <= w["geometry"][0] and w["geometry"][0] + w["geometry"][2] <= sx + sw
                       and sy <= w["geometry"][1] and w["geometry"][1] + w["geometry"][3] <= sy + sh)]
    assert outside == [], f"{state}: off the screen: {outside} ({shot})"


def test_f3_waits_for_the_code_payment_and_the_report_counts_it(till):
    till.wait_for(lambda p: words(p, "entry_code") == "F3  Entry code" and widget(p, "entry_code")["enabled"],
                  what="the F3 key with the store's entry code")
    till.type("18.40")
    till.key("F3")
    probe = till.wait_for(lambda p: words(p, "headline") == "Waiting for the customer to pay by the store's entry code",
                          what="the cashier screen waiting for the entry-code payment")
    assert "18.40" in words(probe, "detail") and "entry code" in words(probe, "detail")   # one screen: here
    assert widget(probe, "abort") is not None   # Esc stops the wait
    till.screenshot("entry-code-waiting")
    answer = pay_entry_code(till, "1840")
    probe = till.wait_for(lambda p: words(p, "headline") == "PAID", what="PAID by the code's payment", timeout=30)
    till.screenshot("entry-code-paid")
    report = till.cli("report")
    row = next(t for t in report["transactions"] if t["paymentId"] == answer["paymentId"])
    assert (row["tender"], row["status"], row["amount"]) == ("entry_code", "SUCCESS",
                                                            {"currency": "USD", "value": "1840"})
    # the cashier's list of today's last transactions says how it was paid: nobody scanned a code of the
    # customer's (it said "code scanned")
    probe = till.wait_for(lambda p: [r[1] for r in (widget(p, "recent") or {}).get("rows", [])[:1]] == ["USD\xa018.40"],
                          what="the sale in today's last transactions")
    assert widget(probe, "recent")["rows"][0][1:3] == ["USD\xa018.40", "entry code"], widget(probe, "recent")["rows"]
    till.key("Return")


def test_an_unmatched_payment_is_shown_in_words_and_assigned_with_f5(till):
    till.wait_for(lambda p: words(p, "headline") == "Ready", what="the till ready for a sale")
    answer = pay_entry_code(till, "960")
    probe = till.wait_for(lambda p: widget(p, "unmatched") is not None, what="the unmatched payment's notice",
                          timeout=30)
    notice = words(probe, "unmatched")
    assert "9.60" in notice and "no sale waiting" in notice and "tell the manager" in notice, notice
    assert widget(probe, "assign_unmatched") is None
    till.screenshot("entry-code-unmatched")
    journaled = [t for t in till.cli("report")["transactions"] if t["paymentId"] == answer["paymentId"]]
    assert [(t["tender"], t["status"]) for t in journaled] == [("entry_code", "SUCCESS")]   # its own row, for now
    unmatched_row = journaled[0]["paymentRequestId"]

    till.type("9.60")
    till.key("F3")
    probe = till.wait_for(lambda p: widget(p, "assign_unmatched") is not None,
                          what="F5 offered: the payment fits the waiting sale", timeout=20)
    assert "press F5" in words(probe, "unmatched")
    till.screenshot("entry-code-unmatched-assignable")
    till.key("F5")
    till.wait_for(lambda p: words(p, "headline") == "PAID" and widget(p, "unmatched") is None,
                  what="PAID by the assigned payment, the notice gone", timeout=20)
    report = till.cli("report")["transactions"]
    paid = [t for t in report if t["status"] == "SUCCESS" and t["amount"]["value"] == "960"]
    assert [t["paymentId"] for t in paid] == [answer["paymentId"]], paid   # the money counts once: on the sale
    assert paid[0]["paymentRequestId"] != unmatched_row
    till.key("Return")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_waiting_screen_and_the_notice_fit(make_till, size, language):
    till = make_till(size=size, language=language)
    till.wait_for(lambda p: widget(p, "entry_code") is not None and widget(p, "entry_code")["enabled"],
                  what="the F3 key enabled")
    pay_entry_code(till, "250")
    till.wait_for(lambda p: widget(p, "unmatched") is not None, what="the unmatched payment's notice", timeout=30)
    till.type("2.50")
    till.key("F3")
    probe = till.wait_for(lambda p: widget(p, "assign_unmatched") is not None and widget(p, "qr") is not None,
                          what="waiting for the code, with F5 offered", timeout=20)
    assert_nothing_clipped(till, probe, "waiting-with-notice")


def test_a_payment_too_old_for_f5_says_to_tell_the_manager(tmp_path):
    """A payment older than the match window can no longer be given to a new sale at the till (F5 is not
    offered for it): the notice then says to tell the manager, instead of still saying "press F3 with that
    amount and then F5" (a cashier who did so waited for an F5 that never came). [entry_code] match_window =
    3 s here; the notice's words change as the payment ages, with no other event."""
    import xkit

    till = xkit.Till(tmp_path / "till")
    till.cli("status")   # provisions the sandbox's gateway and its terminal.toml
    config = till.data_dir / "sandbox-gateway" / "terminal.toml"
    config.write_text(config.read_text().replace("[entry_code]\n", "[entry_code]\nmatch_window = 3\n"))
    with till:
        till.wait_for(lambda p: widget(p, "entry_code") is not None and widget(p, "entry_code")["enabled"],
                      what="the F3 key enabled")
        pay_entry_code(till, "770")
        probe = till.wait_for(lambda p: widget(p, "unmatched") is not None, what="the unmatched payment's notice",
                              timeout=30)
        till.screenshot("entry-code-unmatched-fresh")
        probe = till.wait_for(lambda p: "too long ago" in words(p, "unmatched"),
                              what="the notice: too long ago for F5, tell the manager", timeout=15)
        assert "press F3" not in words(probe, "unmatched") and "Manager (F9)" in words(probe, "unmatched")
        till.screenshot("entry-code-unmatched-too-old")
        till.type("7.70")
        till.key("F3")
        probe = till.wait_for(lambda p: words(p, "headline") == "Waiting for the customer to pay by the store's "
                              "entry code", what="the entry-code sale waiting")
        assert widget(probe, "assign_unmatched") is None   # indeed: F5 is not offered for it
        assert "too long ago" in words(probe, "unmatched")
        till.key("Escape")
