"""``pos-terminal screenshots --out DIR``: every screen state rendered to PNG, for review.

It runs the real windows against a sandbox terminal in a scratch data directory and walks them through
the states a cashier and a customer meet (ready, waiting for a code, sending, waiting for the
customer, checking, paid, declined, queued offline, an order code, cancelled, a start-up failure), in
English and in Simplified Chinese, plus the customer display's test pattern. Offscreen unless a display
is set (run it under Xvfb to see it as a person would).
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


def main(args) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from drivers import model
    from pos_app.i18n import set_language

    from .app import build

    out = Path(args.out)
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

    def sale(window, amount: str, key=Qt.Key_F1) -> None:
        window.next_sale()
        for ch in amount:
            window.press(ch)
        (window.choose_scan if key == Qt.Key_F1 else window.choose_qr)()

    def scan(window, code: str) -> None:
        window.core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, None, "screenshot", time.time(),
                                                       code.encode(), "enter"))

    for language in args.languages:
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
            wait(lambda: window.ready)
            shoot(window, f"{tag}-cashier-02-ready")
            shoot(customer, f"{tag}-customer-01-idle")
            sale(window, "12.34")
            shoot(window, f"{tag}-cashier-03-awaiting-code")
            shoot(customer, f"{tag}-customer-02-amount-due")
            scan(window, "4006381333931")
            shoot(window, f"{tag}-cashier-04-product-barcode-hint")
            scan(window, _code())
            wait(lambda: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-05-paid")
            shoot(customer, f"{tag}-customer-03-paid")
            sale(window, "99.05")
            scan(window, _code())
            wait(lambda: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-06-declined")
            shoot(customer, f"{tag}-customer-04-not-paid")
            sale(window, "99.03")
            scan(window, _code())
            wait(lambda: window.view is not None and window.view.waiting_for and "1 s" in window.waiting.text())
            shoot(window, f"{tag}-cashier-07-waiting-for-customer")
            shoot(customer, f"{tag}-customer-05-confirm-in-wallet")
            wait(lambda: window.view is not None and window.view.final)
            sale(window, "99.01")  # the pay answers U: checked by inquiry
            scan(window, _code())
            wait(lambda: window.view is not None and window.view.tone == "unsure")
            shoot(window, f"{tag}-cashier-08-checking")
            wait(lambda: window.view is not None and window.view.final)
            sale(window, "20.00", key=Qt.Key_F2)
            wait(lambda: customer.mode == "qr")
            shoot(window, f"{tag}-cashier-09-order-code")
            shoot(customer, f"{tag}-customer-06-qr")
            window.escape()
            wait(lambda: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-10-cancelled")
            core.runtime.sim.stop()  # the gateway goes away: queued
            sale(window, "7.77")
            scan(window, _code())
            wait(lambda: window.offline_bar.isVisible(), 10)
            shoot(window, f"{tag}-cashier-11-offline-queued")
            shoot(customer, f"{tag}-customer-07-offline-amount")
            customer.show_test_pattern()
            shoot(customer, f"{tag}-customer-08-test-pattern")
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
            wait(lambda: window.status_frame.property("tone") == "declined", 10)
            shoot(window, f"{tag}-cashier-12-start-failure")
            core.stop()
            window.close()
            customer.close()
    print(f"{len(shots)} screenshots in {out}", file=sys.stderr)
    app.quit()
    return 0
