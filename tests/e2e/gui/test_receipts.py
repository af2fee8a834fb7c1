"""Receipts at the counter (issue 16, part 1), as people use them: ``pos-terminal gui --kiosk`` in sandbox mode
on a real X server, driven only by X events (tests/xkit.py), with its ``[printer]`` a network printer
stand-in on 127.0.0.1 (tests/printerkit.py: a real TCP server that keeps the ESC/POS bytes and answers the
status queries). The receipt is read back with the stand-in's own decoder, written from the command
reference, not from the code that prints; outcomes through ``pos-terminal report --json`` beside the till.

- a typed amount and a scanned code: PAID, and the printer receives the receipt: the amount, the
  paymentRequestId as a QR, the brand line, a cut;
- paper out: the cashier screen says it in words (and what to do) and the next sale is not delayed; its
  receipt waits, failed; paper back: F4 prints it again, marked a reprint;
- the manager prints the selected sale's receipt from the day view, and an X report on the printer.
"""

from __future__ import annotations

import time

import pytest
import xkit
from kit import payment_code
from printerkit import PrinterStandIn, decode

pytestmark = pytest.mark.slow

PIN = "135790"   # sandbox mode: the first F9 chooses it (typed twice)


@pytest.fixture(scope="module")
def printer():
    stand_in = PrinterStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def till(tmp_path_factory, printer):
    """A sandbox till whose terminal.toml (written by the simulator on a first command) names the stand-in."""
    t = xkit.Till(tmp_path_factory.mktemp("till"))
    t.cli("status")   # provisions the sandbox's gateway and its terminal.toml
    config = t.data_dir / "sandbox-gateway" / "terminal.toml"
    config.write_text(config.read_text() + f'\n[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {printer.port}\n'
                      'timeout = 2\n\n[receipts]\ncustomer = "auto"\n')
    with t:
        yield t


def cashier(probe: dict) -> dict:
    return next(w for w in probe["windows"] if w["class"] == "CashierWindow")


def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def widget(probe: dict, name: str, cls: str = "CashierWindow") -> dict | None:
    found = window(probe, cls)
    return next((w for w in (found or {"widgets": []})["widgets"] if w["objectName"] == name), None)


def words(probe: dict, name: str, cls: str = "CashierWindow") -> str:
    return (widget(probe, name, cls) or {}).get("text") or ""


def sell(till, amount: str) -> float:
    """Type the amount as a person does, F1, a scanner's code; PAID. The seconds from the scan to PAID."""
    till.wait_for(lambda p: words(p, "headline") == "Ready", what="the till ready for a sale")
    till.type(amount)
    till.key("F1")
    till.wait_for(lambda p: words(p, "headline") == "Scan the customer's payment code", what="waiting for a code")
    started = time.monotonic()
    till.scan(payment_code())
    till.wait_for(lambda p: words(p, "headline") == "PAID", what="PAID", timeout=30)
    return time.monotonic() - started


def sale_id(till, amount_minor: str) -> str:
    rows = [t for t in till.cli("report")["transactions"] if t["amount"]["value"] == amount_minor]
    assert len(rows) == 1, rows
    return rows[0]["paymentRequestId"]


def test_a_paid_sale_prints_its_receipt(till, printer):
    till.wait_for(lambda p: words(p, "printer") == "Printer: ready", what="the printer ready on the status panel")
    sell(till, "12.34")
    job = printer.wait_for(lambda p: p.jobs, timeout=15)[0]
    receipt = decode(job)
    request_id = sale_id(till, "1234")
    assert any("12.34" in line for line in receipt.texts), receipt.text
    assert request_id in receipt.qr, receipt.qr
    assert any("Alipay+" in line for line in receipt.texts), receipt.text
    assert receipt.cuts, receipt.events
    shot = till.screenshot("receipts-paid-printed")
    assert words(till.probe(), "print_receipt") == "F4  Reprint receipt", shot   # "auto": F4 reprints
    till.key("Return")


def test_paper_out_is_said_the_sale_goes_on_and_f4_prints_it_again(till, printer):
    printer.state = "paper_out"
    took = sell(till, "5.60")
    probe = till.wait_for(lambda p: "paper out" in words(p, "printer_bar"), what="paper out, in words", timeout=20)
    bar = words(probe, "printer_bar")
    assert "load a new roll" in bar and "never lost" in bar, bar
    assert words(probe, "printer") == "Printer: not ready"
    till.screenshot("receipts-paper-out")
    request_id = sale_id(till, "560")
    failed = printer.jobs
    assert not any(request_id in decode(j).qr for j in failed)   # nothing of it reached the paper
    probe = till.wait_for(lambda p: words(p, "print_receipt") == "F4  Print the receipt again",
                          what="F4 offered for the receipt that did not print", timeout=20)
    assert took < 15, took   # the same budget as a sale with the printer ready (the payment never waits for it)

    printer.state = "ok"
    probe = till.wait_for(lambda p: "Press F4" in words(p, "printer_bar"), what="the printer back, F4 said",
                          timeout=20)
    till.screenshot("receipts-paper-back")
    before = len(printer.jobs)
    till.key("F4")
    job = printer.wait_for(lambda p: p.jobs[before:], timeout=20)[0]
    again = decode(job)
    assert request_id in again.qr and any("5.60" in line for line in again.texts), again.text
    assert any("REPRINT" in line.upper() for line in again.texts), again.text
    till.wait_for(lambda p: widget(p, "printer_bar") is None and words(p, "printer") == "Printer: ready",
                  what="the printer's bar gone once the receipt printed", timeout=20)
    till.key("Return")


def test_the_manager_reprints_from_the_day_view_and_prints_an_x(till, printer):
    till.key("F9")
    till.wait_for(lambda p: widget(p, "pin_ok", "PinDialog") is not None, what="the PIN dialog")
    till.type(PIN)
    till.key("Tab")
    till.type(PIN)
    till.key("Return")
    till.wait_for(lambda p: widget(p, "print_slip", "ManagerWindow") is not None
                  and widget(p, "print_slip", "ManagerWindow")["enabled"],
                  what="the manager's day view, the newest sale selected", timeout=20)
    before = len(printer.jobs)
    till.click_on("print_slip")
    till.wait_for(lambda p: words(p, "status", "ManagerWindow") == "Printed.", what="the slip printed", timeout=20)
    slip = decode(printer.jobs[before])
    assert any("5.60" in line for line in slip.texts) and slip.cuts, slip.text
    till.screenshot("receipts-manager-reprinted")

    till.key("ctrl+Tab")
    till.key("ctrl+Tab")
    till.click_on("x_report")
    probe = till.wait_for(lambda p: widget(p, "print_report", "ManagerWindow") is not None
                          and widget(p, "print_report", "ManagerWindow")["enabled"], what="the X shown, Print enabled")
    before = len(printer.jobs)
    x, y, w, h = widget(probe, "print_report", "ManagerWindow")["geometry"]   # a double-clicking manager
    till._x("xdotool", "mousemove", "--sync", str(x + w // 2), str(y + h // 2), "click", "--repeat", "3",
            "--delay", "60", "1")
    till.wait_for(lambda p: words(p, "report_message", "ManagerWindow") in (
        "Printed.", "Print clicked again at once: still one copy. For another, click Print again."),
        what="the X printed", timeout=20)
    time.sleep(2)   # any further copy would have reached the stand-in by now
    assert len(printer.jobs[before:]) == 1, "three clicks on Print: one X"
    x = decode(printer.jobs[before])
    assert any("X" in line for line in x.texts) and any("17.94" in line for line in x.texts)   # 12.34 + 5.60, x.text
    till.screenshot("receipts-manager-x-printed")
    till.key("Escape")


def test_f4_hammered_prints_one_reprint_and_says_so(till, printer):
    """A person pressing F4 five times in a rush asks for one receipt, not five: each press came 40 ms after
    the last while a print takes about 50 ms, so before, five REPRINTs came out and the screen said only
    "Receipt printed."."""
    till.wait_for(lambda p: window(p, "ManagerWindow") is None, what="the manager's window closed")
    sell(till, "3.10")
    request_id = sale_id(till, "310")
    printer.wait_for(lambda p: any(request_id in decode(j).qr for j in p.jobs), timeout=15)   # "auto" printed it
    before = len(printer.jobs)
    till.key("F4", "F4", "F4", "F4", "F4")
    probe = till.wait_for(lambda p: words(p, "hint").startswith("Receipt printed again (marked REPRINT)."),
                          what="the reprint said", timeout=20)
    till.screenshot("receipts-f4-hammered")
    time.sleep(2)   # any further copy would have reached the stand-in by now (one takes ~50 ms)
    again = [decode(j) for j in printer.jobs[before:]]
    assert len(again) == 1, [d.text for d in again]
    assert request_id in again[0].qr and any("REPRINT" in line.upper() for line in again[0].texts), again[0].text
    assert words(till.probe(), "hint").startswith("Receipt printed again (marked REPRINT)."), probe
    till.key("Return")


def test_print_receipt_clicked_three_times_prints_one_slip(till, printer):
    """A manager's double or triple click on Print receipt asks for one slip: before, each click (60 ms
    apart, a print takes ~50 ms) printed a REPRINT, and the window said only "Printed."."""
    till.wait_for(lambda p: words(p, "headline") == "Ready", what="the till ready")
    till.key("F9")
    till.wait_for(lambda p: widget(p, "pin_ok", "PinDialog") is not None, what="the PIN dialog")
    till.type(PIN)
    till.key("Return")
    probe = till.wait_for(lambda p: widget(p, "print_slip", "ManagerWindow") is not None
                          and widget(p, "print_slip", "ManagerWindow")["enabled"],
                          what="the manager's day view, the newest sale selected", timeout=20)
    x, y, w, h = widget(probe, "print_slip", "ManagerWindow")["geometry"]
    before = len(printer.jobs)
    till._x("xdotool", "mousemove", "--sync", str(x + w // 2), str(y + h // 2), "click", "--repeat", "3",
            "--delay", "60", "1")
    till.wait_for(lambda p: words(p, "status", "ManagerWindow").startswith("Printed."), what="the slip printed",
                  timeout=20)
    time.sleep(2)   # any further copy would have reached the stand-in by now (one takes ~50 ms)
    slips = [decode(j) for j in printer.jobs[before:]]
    assert len(slips) == 1, [d.text for d in slips]
    assert any("3.10" in line for line in slips[0].texts), slips[0].text
    till.screenshot("receipts-manager-print-clicked-thrice")
    till.key("Escape")


def current_tab(probe: dict) -> int | None:
    bar = next((w for w in (window(probe, "ManagerWindow") or {"widgets": []})["widgets"] if w["class"] == "QTabBar"),
               None)
    return None if bar is None else bar.get("currentTab")


def test_ctrl_tab_walks_the_managers_tabs_from_a_table(till):
    """Ctrl+Tab goes to the next tab (Day, Review, Reports, Entry code) with a table's row clicked, as the
    technician's window does: the day table kept the key, moving its cell cursor one column instead, so the
    Entry code tab could not be reached by keyboard from the day view."""
    till.wait_for(lambda p: words(p, "headline") in ("Ready", "PAID"), what="the cashier window")
    till.key("F9")
    till.wait_for(lambda p: widget(p, "pin_ok", "PinDialog") is not None, what="the PIN dialog")
    till.type(PIN)
    till.key("Return")
    till.wait_for(lambda p: widget(p, "print_slip", "ManagerWindow") is not None, what="the manager's day view",
                  timeout=20)
    till.click_cell(sale_id(till, "310"))   # the day table's (the cashier's own list has no ids)
    till.wait_for(lambda p: (p["focus"] or {}).get("objectName") == "day_table", what="the day table focused")
    till.key("ctrl+Tab")
    till.wait_for(lambda p: current_tab(p) == 1, what="the Review tab")
    for tab in (2, 3):
        till.key("ctrl+Tab")
        till.wait_for(lambda p, tab=tab: current_tab(p) == tab, what=f"tab {tab}")
    probe = till.wait_for(lambda p: widget(p, "unmatched_table", "ManagerWindow") is not None,
                          what="the Entry code tab")
    till.screenshot("receipts-manager-entry-code-tab")
    assert current_tab(probe) == 3
    till.key("Escape")
