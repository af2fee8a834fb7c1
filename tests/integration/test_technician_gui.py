"""Technician mode on screen (pytest-qt, offscreen) against a real simulator: devices, the self-test with
rows as they finish and its export, the customer display's test pattern, the queue and its drain, logs
and their export for support (the masked .tar.gz of ``pos-terminal logs --export``).

``POS_TECHNICIAN_SHOTS=/tmp/tech-shots`` also saves each tab at 1280x800 for review.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import logging
import tarfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from pos_app import selftest, services
from ui.customer import CustomerDisplay
from ui.technician import TechnicianWindow

pytestmark = pytest.mark.timeout(120)


TECHNICIAN_PIN = "97531"


def technician_grant(core) -> services.Grant:
    """The Grant the PIN dialog hands the window: the technician PIN set once, then unlocked with it."""
    journal = core.terminal.journal
    if not services.registry.pin_is_set(journal, "technician"):
        services.technician.pin_set(services.counter(), journal, "technician", TECHNICIAN_PIN)
    return services.unlock(journal, "technician", TECHNICIAN_PIN, asked_by="cashier")


def open_window(qtbot, core, customer=None) -> TechnicianWindow:
    window = TechnicianWindow(core, technician_grant(core), customer)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    wait_idle(qtbot, window)
    return window


def wait_idle(qtbot, window, timeout=20000) -> None:
    qtbot.waitUntil(lambda: window.busy == 0, timeout=timeout)


def shot(window, index: int, name: str) -> None:
    folder = os.environ.get("POS_TECHNICIAN_SHOTS")
    if folder:
        window.tabs.setCurrentIndex(index)
        Path(folder).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(folder) / f"{name}.png"))


def column(table, c: int) -> list[str]:
    return [table.item(r, c).text() if table.item(r, c) else "" for r in range(table.rowCount())]


def check_codes(table) -> list[str]:
    """The checks table's rows by check code (the Check column shows the check's words, the code is its data)."""
    return [table.item(r, 1).data(Qt.UserRole) for r in range(table.rowCount())]


def test_devices_tab_lists_the_screens(qtbot, core):
    window = open_window(qtbot, core)
    kinds, names = column(window.devices_table, 0), column(window.devices_table, 1)
    screen = QGuiApplication.primaryScreen()
    assert "display" in kinds and (screen.name() or "screen 1") in names
    details = column(window.devices_table, 3)[kinds.index("display")]
    assert f"{screen.geometry().width()}x{screen.geometry().height()}" in details
    assert "no scanner hub" in column(window.devices_table, 2)   # scanners=False: said, not hidden
    assert "printer" in kinds and column(window.devices_table, 2)[kinds.index("printer")] == "none found"
    assert f"{len(QGuiApplication.screens())} displays" in window.devices_label.text()
    window.refresh_devices()
    wait_idle(qtbot, window)
    assert "display" in column(window.devices_table, 0)
    shot(window, 0, "devices")


def test_selftest_against_the_healthy_simulator_shows_rows_and_exports(qtbot, core, tmp_path, no_devices):
    customer = CustomerDisplay("Test store")
    qtbot.addWidget(customer)
    window = open_window(qtbot, core, customer)
    rows_seen = []
    window.check_done.connect(lambda check: rows_seen.append(window.checks_table.rowCount()))

    window.run_selftest("internal", **no_devices._asdict())
    assert window.running and not window.run_button.isEnabled()
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    assert [c.name for c in window.report.checks] == check_codes(window.checks_table)
    internal = {"config", "keys", "journal", "disk", "clock", "scanners", "printer", "replication"}
    assert internal == set(check_codes(window.checks_table))
    assert column(window.checks_table, 1)[:2] == ["Configuration", "Keys"]     # words, not the codes
    assert "FAIL" not in column(window.checks_table, 0), window.report.lines()
    assert "0 failed" in window.summary.text() and window.run_button.isEnabled()

    rows_seen.clear()
    window.level_combo.setCurrentIndex(window.level_combo.findData("external"))
    window.run_selftest(**no_devices._asdict())
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    report = window.report
    assert report.level == "external" and report.ok, report.lines()
    results = dict(zip(check_codes(window.checks_table), column(window.checks_table, 0), strict=True))
    assert "FAIL" not in results.values()
    for name in ("gateway", "round-trip", "clock-skew", "notifications"):
        assert results[name] == "PASS", report.lines()
    assert results["display"] == "PASS" and customer.mode == "test"     # shown through the UI thread
    assert rows_seen == list(range(1, len(report.checks) + 1))            # a row per check, as each ended
    assert "external:" in window.summary.text() and "0 failed" in window.summary.text()
    assert window.checks_table.item(0, 0).foreground().color().name() == "#1b7f3b"   # config passed: green
    shot(window, 1, "selftest")

    window.export(tmp_path / "report.json")
    window.export(tmp_path / "report.txt")
    wait_idle(qtbot, window)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["level"] == "external" and data["ok"] is True
    assert [c["name"] for c in data["checks"]] == [c.name for c in report.checks]
    assert (tmp_path / "report.txt").read_text().splitlines()[-1].startswith("selftest (external):")
    assert "written to" in window.status.text()


def test_customer_display_pattern_and_back(qtbot, core):
    customer = CustomerDisplay("Test store")
    qtbot.addWidget(customer)
    window = open_window(qtbot, core, customer)
    assert window.pattern_button.isEnabled() and customer.mode == "idle"
    window.tabs.setCurrentIndex(2)
    qtbot.mouseClick(window.pattern_button, Qt.LeftButton)
    assert customer.mode == "test" and "test pattern" in window.display_state.text()
    shot(window, 2, "customer-display")
    qtbot.mouseClick(window.idle_button, Qt.LeftButton)
    assert customer.mode == "idle" and "idle" in window.display_state.text()


def test_customer_display_absent_disables_the_buttons(qtbot, core):
    window = open_window(qtbot, core)
    assert not window.pattern_button.isEnabled() and not window.idle_button.isEnabled()
    assert "No customer display" in window.display_note.text()


def test_queue_shows_zero_and_drains(qtbot, core):
    window = open_window(qtbot, core)
    assert window.queue_status["count"] == 0 and window.queue_table.rowCount() == 0
    assert "Waiting: 0" in window.queue_label.text()
    window.drain()
    assert not window.drain_button.isEnabled()
    wait_idle(qtbot, window)
    assert "Drain: 0 advanced" in window.status.text()
    assert window.drain_button.isEnabled() and window.queue_status["count"] == 0
    shot(window, 3, "queue")


def archive(path: Path) -> dict[str, str]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}


def test_logs_show_the_tills_own_log_and_the_export_is_the_clis_masked_archive(qtbot, core, tmp_path):
    """The Logs tab shows the file this till writes (issue 15, 3.7), not whichever file in the folder changed
    last (a crash report of a command, say). The window's export is the one ``pos-terminal logs --export``
    writes: both call the technician's log_export use case (test_parity checks each binding), called here
    directly as the command does."""
    from pos_app import services

    window = open_window(qtbot, core)
    logs = Path(core.data_dir) / "logs"
    own = logs / "pos-terminal.log"
    assert window.log_file == str(own) and "not written yet" in window.log_label.text()
    logs.mkdir(parents=True, exist_ok=True)
    old, new = logs / "crash-20240101-000000.txt", logs / "crash-20240102-000000.txt"
    code = "281234567890123456"                           # a payment code an old version logged in full
    own.write_text(f"2024-01-02 10:00:00 INFO pos_app: the till's own line, scanned {code}\n")
    old.write_text(f"old: scanned {code}\n")
    new.write_text("Traceback (most recent call last):\n  boom\n")
    os.utime(own, (1_700_000_000, 1_700_000_000))
    os.utime(old, (1_700_000_000, 1_700_000_000))        # the crash report "new" is the newest file
    window.refresh_logs()
    wait_idle(qtbot, window)
    assert window.log_file == str(own), window.log_label.text()
    text = window.log_view.toPlainText()
    assert "the till's own line" in text and "boom" not in text and code not in text   # masked again
    assert "export packs too: 2" in window.log_label.text()
    assert window.log_view.isReadOnly() and window.export_logs_button.isEnabled()
    shot(window, 4, "logs")

    window.export_logs(tmp_path / "support.txt")          # not a .tar.gz: refused in words, nothing written
    wait_idle(qtbot, window)
    assert "the export is a .tar.gz archive" in window.status.text() and not (tmp_path / "support.txt").exists()
    window.export_logs(tmp_path / "window.tar.gz")
    wait_idle(qtbot, window)
    assert "window.tar.gz" in window.status.text() and "payment codes masked" in window.status.text()
    shown = archive(tmp_path / "window.tar.gz")
    services.technician.log_export(services.shell("support"), logs, tmp_path / "cli.tar.gz",
                                   config=str(core.config_file))
    printed = archive(tmp_path / "cli.tar.gz")
    rename = {name.replace("cli/", "window/", 1): text for name, text in printed.items()}
    names = ["window/logs/" + f.name for f in (old, new, own)]
    assert sorted(shown) == sorted([*names, "window/system.txt"])
    for name in shown:
        assert name in rename
    for name in names:
        assert shown[name] == rename[name]                # the same files, masked the same way
    assert code not in shown["window/logs/" + old.name] and "old: scanned" in shown["window/logs/" + old.name]
    assert window.log_export.log_files == 3


def test_the_windows_log_is_written_from_the_first_start_and_is_what_the_tab_shows(qtbot, core, tmp_path):
    """Issue 15 (3.7): the window's log set-up makes the data directory's log at once (a first start used to
    keep its lines in memory until some later record), and the Logs tab shows the file this process writes."""
    from pos_app import logs

    try:
        fresh = tmp_path / "fresh-data"
        path = services.technician.start_window_log(fresh)
        assert path == fresh / "logs" / "pos-terminal.log" and path.is_file()
        assert ": gui" in path.read_text()
        path = services.technician.start_window_log(Path(core.data_dir))
        logging.getLogger("test").warning("a line the till wrote")
        window = open_window(qtbot, core)
        assert window.log_file == str(path)
        assert ": gui" in window.log_view.toPlainText() and "a line the till wrote" in window.log_view.toPlainText()
    finally:
        logs.shutdown()


def test_back_to_the_till_takes_the_pattern_off_the_customer_display(qtbot, core):
    """Issue 15 (3.1): leaving (the button, as Esc does; tests/e2e/gui/test_technician.py presses the real
    keys) closes the window and puts the customer display back to idle."""
    customer = CustomerDisplay("Test store")
    qtbot.addWidget(customer)
    window = open_window(qtbot, core, customer)
    assert window.back_to_till.text() == "Back to the till  (Esc)" and window.back_to_till.objectName() == "back"
    window.show_test_pattern()
    assert customer.mode == "test"
    qtbot.mouseClick(window.back_to_till, Qt.LeftButton)
    assert not window.isVisible() and customer.mode == "idle"


# -- the interactive level: the test scan ---------------------------------------------------------------

def run_interactive(qtbot, window, no_devices, **options):
    window.level_combo.setCurrentIndex(window.level_combo.findData("interactive"))
    window.run_selftest(**no_devices._asdict(), **options)
    qtbot.waitUntil(lambda: window.scan_panel.isVisible(), timeout=30000)   # after the external checks
    assert window.scan_qr.payload == selftest.TEST_CODE and window.tabs.currentIndex() == 1
    assert "Scan this test code" in window.scan_prompt.text()


def scan_row(window) -> tuple[str, str, str]:
    report = {c.name: c for c in window.report.checks}
    check = report["scan"]
    return check.status, check.detail, check.hint


def test_interactive_scan_typed_by_a_wedge_scanner_passes(qtbot, core, no_devices):
    window = open_window(qtbot, core)
    run_interactive(qtbot, window, no_devices)
    assert window.scan_field.hasFocus() or not window.isActiveWindow()
    shot(window, 1, "selftest-scan")
    qtbot.keyClicks(window.scan_field, "]Q1" + selftest.TEST_CODE)   # AIM id for QR, then the data
    qtbot.keyClick(window.scan_field, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    status, detail, _hint = scan_row(window)
    assert status == selftest.PASS, window.report.lines()
    assert "AIM id ]Q1" in detail and "ended by enter" in detail
    assert not window.scan_panel.isVisible()
    assert check_codes(window.checks_table)[-1] == "scan" and column(window.checks_table, 1)[-1] == "Test scan"


def test_interactive_scan_from_the_hub_with_the_wrong_layout_says_which_setting(qtbot, core, no_devices):
    from drivers.model import ScanEvent
    from pos_app.selftest.interactive import typed_on

    window = open_window(qtbot, core)
    run_interactive(qtbot, window, no_devices)
    garbled = typed_on(selftest.TEST_CODE, "de", "us")     # a QWERTZ scanner read as US keys
    assert garbled != selftest.TEST_CODE
    core.scanner_event.emit(ScanEvent(garbled, "QR Code", 0, "]Q1", "usb-scanner", 0.0, b"", "enter", 0.05))
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    status, detail, hint = scan_row(window)
    assert status == selftest.FAIL and "'de'" in detail and 'layout = "de"' in hint
    assert "FAILED" in window.summary.text()


def test_interactive_scan_skipped_fails_with_a_hint(qtbot, core, no_devices):
    window = open_window(qtbot, core)
    run_interactive(qtbot, window, no_devices)
    qtbot.mouseClick(window.scan_skip, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    status, detail, hint = scan_row(window)
    assert status == selftest.FAIL and "no scan" in detail and hint
    window.run_selftest("internal", **no_devices._asdict())     # the skip left nothing behind for the next run
    qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
    assert window.report.ok, window.report.lines()


# -- the queue with something in it ------------------------------------------------------------------------

def test_queue_lists_a_queued_sale_and_drains_it_when_the_link_is_back(qtbot, make_sim, tmp_path):
    from flowkit import gateway_down, write_config
    from kit import payment_code

    from pos_app.money import parse_money
    from ui.bridge import Core

    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 120})
    started = Core(config, tmp_path / "terminal", scanners=False)
    started.start()
    try:
        qtbot.waitUntil(lambda: started.terminal is not None, timeout=15000)
        sale = started.terminal.start_sale(parse_money("4.56", "USD"), code=payment_code())
        assert sale.status == "QUEUED"
        window = open_window(qtbot, started)
        assert window.queue_status["count"] == 1 and window.queue_table.rowCount() == 1
        assert "4.56" in window.queue_table.item(0, 4).text() and "4.56" in window.queue_label.text()
        # words, not the outbox's codes (pay, sale, QUEUED)
        assert [window.queue_table.item(0, c).text() for c in (1, 2, 3)] == ["payment", "sale", "Queued"]
        shot(window, 3, "queue-waiting")
        back()                                           # the cable is back
        window.drain()                                   # (the reconciler's own retry may beat it to it)
        wait_idle(qtbot, window)
        assert "Drain:" in window.status.text() and "advanced" in window.status.text(), window.status.text()
        # the drain, or the reconciler's retry that got there first, sends it; its answer may still be on the way
        qtbot.waitUntil(lambda: started.terminal.load(sale.id).status == "SUCCESS", timeout=15000)
        window.refresh_queue()
        wait_idle(qtbot, window)
        assert window.queue_status["count"] == 0 and window.queue_table.rowCount() == 0
    finally:
        started.stop()


def test_the_printer_in_devices_and_in_the_selftest_through_the_tills_own_worker(qtbot, sim, tmp_path, no_devices):
    """Issue 16: a network printer (the stand-in on 127.0.0.1) is a row of the devices tab with its status in
    words and the [printer] lines; paper out there, and in the self-test's printer row (asked through the till's
    own print worker, as the window passes it)."""
    from flowkit import write_config
    from printerkit import PrinterStandIn

    from ui.bridge import Core

    with PrinterStandIn() as printer:
        config = write_config(sim)
        config.write_text(config.read_text() + f'\n[printer]\nkind = "network"\nhost = "127.0.0.1"\n'
                          f'port = {printer.port}\ntimeout = 2\n')
        core = Core(config, tmp_path / "terminal", scanners=False)
        core.start()
        try:
            qtbot.waitUntil(lambda: core.terminal is not None and core.printing is not None, timeout=15000)
            printer.state = "paper_out"
            window = open_window(qtbot, core)
            kinds = column(window.devices_table, 0)
            assert "printer" in kinds, kinds
            row = kinds.index("printer")
            assert "paper out" in column(window.devices_table, 2)[row]
            assert f"port = {printer.port}" in column(window.devices_table, 3)[row]
            assert "1 printers" in window.devices_label.text()
            window.run_selftest("internal", **no_devices._asdict())
            qtbot.waitUntil(lambda: window.report is not None, timeout=20000)
            check = next(c for c in window.report.checks if c.name == "printer")
            assert check.status == "fail" and "paper out" in check.detail.lower(), check
        finally:
            core.stop()
