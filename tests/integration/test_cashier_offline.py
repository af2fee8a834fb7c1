"""The cashier's offline banner (issue 15, 2.3): it says OFFLINE for as long as the link to the gateway is
down, also once nothing is queued any more (a stopped payment that never left is voided). In-process
(pytest-qt, offscreen) against a simulator taken down for real: the end-to-end kit's sandbox gateway runs
inside the app, where no test can take it down."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time

import pytest
from flowkit import gateway_down, write_config
from kit import payment_code
from PySide6.QtCore import Qt

from drivers import model
from pos_app.i18n import set_language
from ui.app import build

pytestmark = pytest.mark.timeout(90)


def test_the_banner_stays_while_the_link_is_down(qtbot, make_sim, tmp_path):
    set_language("en")
    sim, back = gateway_down(make_sim)
    core, window, customer = build(write_config(sim, payments={"code_validity": 120}), tmp_path / "terminal",
                                   scanners=False)
    qtbot.addWidget(window)
    qtbot.addWidget(customer)
    window.show()
    core.start()
    try:
        qtbot.waitUntil(lambda: window.ready, timeout=15000)
        keys = window.focusWidget()   # where the window's keys go: the amount
        for ch in "7.00":
            qtbot.keyClick(keys, ch)
        qtbot.keyClick(keys, Qt.Key.Key_F1)
        code = payment_code()
        window.core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, "]Q1", "test-scanner", time.time(),
                                                       code.encode(), "enter"))
        qtbot.waitUntil(lambda: window.offline_bar.isVisible() and "1 waiting" in window.offline_bar.text(),
                        timeout=10000)
        qtbot.keyClick(keys, Qt.Key.Key_Escape)   # stopped before it left: voided, the queue is empty
        qtbot.waitUntil(lambda: window.view is not None and window.view.final, timeout=10000)
        qtbot.waitUntil(lambda: window.core.terminal.journal.open_transactions() == [], timeout=10000)
        polls = []
        window.poller.timeout.connect(lambda: polls.append(window.offline_bar.isVisible()))
        qtbot.waitUntil(lambda: len(polls) >= 3, timeout=10000)
        qtbot.wait(200)   # the last poll's answer is shown
        assert window.offline_bar.isVisible(), "the banner went with the queue while the link is still down"
        assert window.offline_bar.text() == "OFFLINE: no link to the gateway."
        back()   # the link is back: the banner goes
        qtbot.waitUntil(lambda: not window.offline_bar.isVisible(), timeout=15000)
    finally:
        core.stop()
