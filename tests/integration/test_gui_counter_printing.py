"""The cashier's and the manager's windows with a receipt printer and the store's entry code (issue 16),
in-process (pytest-qt, offscreen) against real parts: the simulator over HTTP, its signed notifications into
the terminal's receiver, a real journal file, and a network printer stand-in on 127.0.0.1 (tests/printerkit)
whose bytes are read back with its own ESC/POS decoder. Outcomes are checked in the journal with plain SQL.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time

import pytest
from flowkit import journal_query, pay_entry_code, sim_call, write_config
from kit import payment_code
from printerkit import PrinterStandIn, decode
from PySide6.QtCore import Qt

from drivers import model
from pos_app.i18n import set_language
from ui.app import build

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def printer():
    stand_in = PrinterStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def till(qtbot, sim, tmp_path, printer):
    """The windows on a config with the stand-in as its printer ([receipts] customer = "key") and the
    simulator's entry code; the code's notifications go to this terminal's receiver."""
    set_language("en")
    config = write_config(sim)
    config.write_text(config.read_text() + f'\n[entry_code]\ncode = "{sim.entry_code}"\nmatch_window = 60\n'
                      f'\n[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {printer.port}\ntimeout = 2\n'
                      '\n[receipts]\ncustomer = "key"\n')
    core, window, customer = build(config, tmp_path / "terminal", scanners=False)
    qtbot.addWidget(window)
    qtbot.addWidget(customer)
    window.show()
    customer.show()
    core.start()
    try:
        qtbot.waitUntil(lambda: window.ready, timeout=15000)
        status, _answer = sim_call(sim, "/sim/entry-codes",
                                   {"codeValue": sim.entry_code, "notifyUrl": core.terminal.notify_url})
        assert status == 200
        yield window, customer
    finally:
        core.stop()


def cut_cells(table) -> list[str]:
    """The texts of ``table``'s cells wider than their column (Qt draws them elided, ending in '…'): the
    column's width against the text's advance in the table's font and the cell's margins (the style's)."""
    from PySide6.QtWidgets import QStyle

    metrics = table.fontMetrics()
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    return [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())
            if table.item(r, c) is not None
            and metrics.horizontalAdvance(table.item(r, c).text()) + margin > table.columnWidth(c)]


def rows(window, sql: str, params=()) -> list[tuple]:
    return journal_query(window.core.terminal.data_dir, sql, params)


def type_amount(qtbot, window, text: str) -> None:
    for ch in text:
        qtbot.keyClick(window, ch)




def scan(window, code: str) -> None:
    window.core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, "]Q1", "test-scanner", time.time(),
                                                   code.encode(), "enter"))


def paid_by_code(qtbot, window, amount: str) -> str:
    type_amount(qtbot, window, amount)
    qtbot.keyClick(window, Qt.Key_F1)
    scan(window, payment_code())
    qtbot.waitUntil(lambda: window.headline.text() == "PAID", timeout=20000)
    return window.counter.sale_id


def test_f3_waits_for_the_entry_code_payment_and_esc_stops_waiting(qtbot, till, sim):
    window, customer = till
    assert window.entry_button.text() == "F3  Entry code" and window.entry_button.isEnabled()
    qtbot.keyClick(window, Qt.Key_F3)
    assert window.hint.text() == "Enter the amount first."
    type_amount(qtbot, window, "12.50")
    qtbot.keyClick(window, Qt.Key_F3)
    qtbot.waitUntil(lambda: window.headline.text() == "Waiting for the customer to pay by the store's entry code",
                    timeout=10000)
    assert "enters" in window.detail.text() and "12.50" in window.detail.text()
    assert customer.mode == "entry_code"
    sale_id = window.counter.sale_id
    assert rows(window, "SELECT tender, phase FROM transactions WHERE id=?", (sale_id,)) == [("entry_code", "WAITING")]
    pay_entry_code(sim, "1250")
    qtbot.waitUntil(lambda: window.headline.text() == "PAID", timeout=15000)
    assert rows(window, "SELECT status, payment_id IS NOT NULL FROM transactions WHERE id=?", (sale_id,)) == \
        [("SUCCESS", 1)]

    qtbot.keyClick(window, Qt.Key_Return)
    type_amount(qtbot, window, "3.00")
    qtbot.keyClick(window, Qt.Key_F3)
    qtbot.waitUntil(lambda: window.abort_button.isVisible(), timeout=10000)
    stopped = window.counter.sale_id
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.view is not None and window.view.final, timeout=10000)
    assert rows(window, "SELECT status FROM transactions WHERE id=?", (stopped,)) != [("SUCCESS",)]


def test_an_unmatched_payment_is_shown_in_words_and_f5_makes_it_the_waiting_sales(qtbot, till, sim):
    window, _customer = till
    answer = pay_entry_code(sim, "700")
    qtbot.waitUntil(lambda: window.unmatched_frame.isVisible(), timeout=15000)
    words = window.unmatched_label.text()
    assert "7.00" in words and "no sale waiting" in words and "tell the manager" in words, words
    assert not window.assign_button.isVisible()
    type_amount(qtbot, window, "7.00")
    qtbot.keyClick(window, Qt.Key_F3)
    qtbot.waitUntil(lambda: window.assign_button.isVisible(), timeout=10000)
    assert "press F5" in window.unmatched_label.text()
    sale_id = window.counter.sale_id
    qtbot.keyClick(window, Qt.Key_F5)
    qtbot.waitUntil(lambda: window.headline.text() == "PAID", timeout=10000)
    qtbot.waitUntil(lambda: not window.unmatched_frame.isVisible(), timeout=10000)
    # plain SQL: the sale carries the payment; the payment's own row is no longer unmatched and counts nothing
    assert rows(window, "SELECT status, payment_id FROM transactions WHERE id=?", (sale_id,)) == \
        [("SUCCESS", answer["paymentId"])]
    assert rows(window, "SELECT COUNT(*) FROM transactions WHERE unmatched=1") == [(0,)]
    assert rows(window, "SELECT COUNT(*) FROM audit WHERE action='assign_entry_payment'") == [(1,)]


def test_f4_prints_the_receipt_paper_out_is_said_and_a_failed_receipt_prints_again(qtbot, till, printer):
    window, _customer = till
    qtbot.waitUntil(lambda: window.printer_label.text() == "Printer: ready", timeout=15000)
    sale_id = paid_by_code(qtbot, window, "4.20")
    assert window.print_button.isVisible() and window.print_button.text() == "F4  Print receipt"
    assert printer.jobs == []        # "key": nothing printed by itself
    qtbot.keyClick(window, Qt.Key_F4)
    job = printer.wait_for(lambda p: p.jobs, timeout=15)[0]
    receipt = decode(job)
    assert any("4.20" in line for line in receipt.texts) and receipt.cuts
    assert any(sale_id in payload for payload in receipt.qr), receipt.qr
    qtbot.waitUntil(lambda: window.hint.text() == "Receipt printed.", timeout=15000)

    printer.state = "paper_out"
    qtbot.keyClick(window, Qt.Key_Return)
    started = time.monotonic()
    second = paid_by_code(qtbot, window, "5.30")   # the sale goes on as before
    assert time.monotonic() - started < 20
    qtbot.keyClick(window, Qt.Key_F4)
    qtbot.waitUntil(lambda: window.printer_bar.isVisible() and "paper out" in window.printer_bar.text(),
                    timeout=15000)
    qtbot.waitUntil(lambda: window.failed_slip == second, timeout=15000)
    assert window.printer_label.text() == "Printer: not ready"
    assert window.print_button.text() == "F4  Print the receipt again"
    assert rows(window, "SELECT state FROM print_jobs WHERE txn=?", (second,)) == [("failed",)]

    printer.state = "ok"
    window.show_printer()
    qtbot.waitUntil(lambda: "Press F4" in window.printer_bar.text(), timeout=15000)
    before = len(printer.jobs)
    qtbot.keyClick(window, Qt.Key_F4)
    again = decode(printer.wait_for(lambda p: p.jobs[before:], timeout=15)[0])
    assert any("5.30" in line for line in again.texts)
    qtbot.waitUntil(lambda: not window.printer_bar.isVisible(), timeout=15000)
    assert rows(window, "SELECT copy, state FROM print_jobs WHERE txn=? ORDER BY id", (second,)) == \
        [("customer", "failed"), ("reprint", "printed")]


def test_the_manager_prints_a_slip_and_the_x_and_settles_an_unmatched_payment(qtbot, till, printer, sim):
    from test_manager_gui import open_window

    window, _customer = till
    sale_id = paid_by_code(qtbot, window, "6.10")
    answer = pay_entry_code(sim, "990")
    qtbot.waitUntil(lambda: window.unmatched_frame.isVisible(), timeout=15000)
    manager = open_window(qtbot, window.core)
    manager.select_id(sale_id)
    qtbot.waitUntil(lambda: manager.print_slip_button.isEnabled(), timeout=10000)
    manager.reprint_selected()
    qtbot.waitUntil(lambda: manager.busy == 0 and manager.status.text() == "Printed.", timeout=20000)
    assert any("6.10" in line for line in decode(printer.jobs[-1]).texts)

    manager.x_report()
    qtbot.waitUntil(lambda: manager.print_report_button.isEnabled(), timeout=10000)
    manager.print_report()
    qtbot.waitUntil(lambda: manager.busy == 0 and manager.report_message.text() == "Printed.", timeout=20000)
    assert rows(manager, "SELECT kind, state FROM print_jobs ORDER BY id DESC LIMIT 1") == [("x", "printed")]

    qtbot.waitUntil(lambda: manager.unmatched_table.rowCount() == 1, timeout=10000)
    assert not manager.assign_button.isEnabled()     # nothing waits for 9.90
    cut = cut_cells(manager.unmatched_table)
    assert cut == [], f"cells the table cuts off ('…'): {cut}"   # the wallet's name (ALIPAY_SANDBOX) was
    manager.assign_unmatched(to_sale=False)          # acknowledged (confirm answers yes in open_window)
    qtbot.waitUntil(lambda: manager.busy == 0 and manager.unmatched_table.rowCount() == 0, timeout=10000)
    assert rows(manager, "SELECT status, unmatched FROM transactions WHERE payment_id=?", (answer["paymentId"],)) == \
        [("SUCCESS", None)]
    assert rows(manager, "SELECT action FROM audit WHERE action='acknowledge_entry_payment'") == \
        [("acknowledge_entry_payment",)]
    qtbot.waitUntil(lambda: not window.unmatched_frame.isVisible(), timeout=10000)


def test_receipts_the_journal_could_not_save_are_said_on_the_printer_bar(qtbot, till):
    """A slip the journal refused (a full disk: the print worker keeps trying, PrinterState.unsaved) is said
    to the cashier in words on the printer bar, with the journal's reason, not only in --json."""
    from dataclasses import replace

    window, _customer = till
    qtbot.waitUntil(lambda: window.printer_state is not None and window.printer_state.checked_at is not None,
                    timeout=15000)
    window._printer_arrived(replace(window.printer_state, unsaved=("PR1",), unsaved_error="the disk is full"))
    assert window.printer_bar.isVisible()
    assert "1 receipt(s) not saved yet (the disk is full)" in window.printer_bar.text()
