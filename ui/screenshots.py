"""``pos-terminal screenshots --out DIR``: every screen state rendered to PNG, for review.

It runs the real windows against a sandbox terminal in a scratch data directory and walks them through
the states a cashier and a customer meet (ready, waiting for a code, sending, waiting for the
customer, checking, paid, declined, queued offline, an order code, cancelled, a start-up failure), in
English and in Simplified Chinese, plus the customer display's test pattern; then the manager's screens
(the PIN, the day with a transaction's history, review, the X and Z reports) and the technician's (devices,
a self-test run, the test scan, the customer display test, the queue with a sale waiting, logs).
Offscreen unless a display is set (run it under Xvfb to see it as a person would).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path


def _code() -> str:
    return "28" + "".join(random.choice("0123456789") for _ in range(16))


def _grant(core, role: str):
    """What the PIN dialog hands a mode's window: the role's PIN set (first use), then unlocked."""
    from pos_app import services

    journal, pin = core.terminal.journal, "2468"
    if not services.registry.pin_is_set(journal, role):
        services.technician.pin_set(services.counter(), journal, role, pin)
    return services.unlock(journal, role, pin, asked_by="cashier")


def manager_screens(core, paid_id, tag, wait, shoot) -> None:
    """The manager's PIN (first use: set it), the day, a paid sale's history, review, the X and the Z."""
    from .manager import ManagerWindow
    from .pin_dialog import CHECKING, PinDialog

    pin = PinDialog(core, "manager")
    pin.show()
    wait(lambda: pin.mode != CHECKING)
    shoot(pin, f"{tag}-manager-01-pin-first-use")
    pin.close()
    window = ManagerWindow(core, _grant(core, "manager"))
    window.confirm = lambda _question: True     # the Z's "are you sure" box needs a person
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-manager-02-day")
    if paid_id:
        window.select_id(paid_id)
        wait(lambda: window.busy == 0 and window.detail is not None)
        shoot(window, f"{tag}-manager-03-transaction-detail")
    window.tabs.setCurrentIndex(1)
    window.refresh_review()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-manager-04-review")
    window.tabs.setCurrentIndex(2)
    window.x_report()
    wait(lambda: window.busy == 0 and window.report is not None)
    shoot(window, f"{tag}-manager-05-x-report")
    window.z_report()
    wait(lambda: window.busy == 0 and window.report is not None and window.report["type"] == "Z")
    shoot(window, f"{tag}-manager-06-z-report")
    window.close()


def technician_screens(core, customer, tag, wait, shoot):
    """The technician's tabs; the window is returned open, for the queue once the link is down."""
    from pos_app import selftest

    from .technician import TechnicianWindow

    window = TechnicianWindow(core, _grant(core, "technician"), customer)
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-technician-01-devices")
    window.run_selftest("external")
    wait(lambda: window.report is not None, 60)
    shoot(window, f"{tag}-technician-02-selftest")
    window.run_selftest("interactive", scan_timeout=30)
    wait(lambda: window.scan_panel.isVisible(), 60)
    shoot(window, f"{tag}-technician-03-test-scan")
    window.scan_field.setText("]Q1" + selftest.TEST_CODE)
    window._first_key = time.monotonic() - 0.05
    window.scan_field.returnPressed.emit()
    wait(lambda: window.report is not None, 30)
    window.tabs.setCurrentIndex(2)
    window.show_test_pattern()
    shoot(window, f"{tag}-technician-04-customer-display")
    window.show_idle()
    window.tabs.setCurrentIndex(4)
    window.refresh_logs()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-technician-05-logs")
    return window


def main(out: Path, languages: list[str]) -> int:
    """Every screen state as PNGs in ``out``, per language (the ``screenshots`` command)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from drivers import model
    from pos_app.i18n import set_language

    from .app import build

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    shots: list[Path] = []

    def pump(seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.01)

    def wait(predicate, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            if predicate():
                return True
            time.sleep(0.02)
        return False

    def shoot(widget, name: str) -> None:
        pump(0.3)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        shots.append(path)
        print(path, flush=True)

    def sale(window, amount: str, key=Qt.Key.Key_F1) -> None:
        window.next_sale()
        for ch in amount:
            window.press(ch)
        (window.choose_scan if key == Qt.Key.Key_F1 else window.choose_qr)()

    def scan(window, code: str) -> None:
        window.core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, None, "screenshot", time.time(),
                                                       code.encode(), "enter"))

    for language in languages:
        set_language(language)
        tag = language.replace("_", "-")
        with tempfile.TemporaryDirectory(prefix="pos-shots-") as scratch:
            core, window, customer = build(None, Path(scratch), scanners=False)
            window.resize(1280, 800)
            customer.resize(1280, 800)
            window.show()
            customer.show()
            shoot(window, f"{tag}-cashier-01-starting")
            core.start()
            wait(lambda window=window: window.ready)
            shoot(window, f"{tag}-cashier-02-ready")
            shoot(customer, f"{tag}-customer-01-idle")
            sale(window, "12.34")
            shoot(window, f"{tag}-cashier-03-awaiting-code")
            shoot(customer, f"{tag}-customer-02-amount-due")
            scan(window, "4006381333931")
            shoot(window, f"{tag}-cashier-04-product-barcode-hint")
            scan(window, _code())
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-05-paid")
            paid_id = window.sale.id if window.sale is not None else None
            shoot(customer, f"{tag}-customer-03-paid")
            sale(window, "99.05")
            scan(window, _code())
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-06-declined")
            shoot(customer, f"{tag}-customer-04-not-paid")
            sale(window, "99.03")
            scan(window, _code())
            wait(lambda window=window: (window.view is not None and window.view.waiting_for
                                        and "1 s" in window.waiting.text()))
            shoot(window, f"{tag}-cashier-07-waiting-for-customer")
            shoot(customer, f"{tag}-customer-05-confirm-in-wallet")
            wait(lambda window=window: window.view is not None and window.view.final)
            sale(window, "99.01")  # the pay answers U: checked by inquiry
            scan(window, _code())
            wait(lambda window=window: window.view is not None and window.view.tone == "unsure")
            shoot(window, f"{tag}-cashier-08-checking")
            wait(lambda window=window: window.view is not None and window.view.final)
            sale(window, "20.00", key=Qt.Key.Key_F2)
            wait(lambda customer=customer: customer.mode == "qr")
            shoot(window, f"{tag}-cashier-09-order-code")
            shoot(customer, f"{tag}-customer-06-qr")
            window.escape()
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-10-cancelled")
            manager_screens(core, paid_id, tag, wait, shoot)
            technician = technician_screens(core, customer, tag, wait, shoot)
            core.runtime.sim.stop()  # the gateway goes away: queued
            sale(window, "7.77")
            scan(window, _code())
            wait(lambda window=window: window.offline_bar.isVisible(), 10)
            shoot(window, f"{tag}-cashier-11-offline-queued")
            shoot(customer, f"{tag}-customer-07-offline-amount")
            customer.show_test_pattern()
            shoot(customer, f"{tag}-customer-08-test-pattern")
            technician.refresh_queue()
            wait(lambda technician=technician: technician.busy == 0 and technician.queue_table.rowCount() > 0, 10)
            technician.tabs.setCurrentIndex(3)
            shoot(technician, f"{tag}-technician-06-queue-waiting")
            technician.close()
            core.stop()
            window.close()
            customer.close()
        with tempfile.TemporaryDirectory(prefix="pos-shots-") as scratch:
            broken = Path(scratch) / "not-a-folder"
            broken.write_text("")
            core, window, customer = build(None, broken, scanners=False)
            window.resize(1280, 800)
            window.show()
            core.start()
            wait(lambda window=window: window.status_frame.property("tone") == "declined", 10)
            shoot(window, f"{tag}-cashier-12-start-failure")
            core.stop()
            window.close()
            customer.close()
    print(f"{len(shots)} screenshots in {out}", file=sys.stderr)
    app.quit()
    return 0
