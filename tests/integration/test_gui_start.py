"""The window as ``pos-terminal gui`` starts it (``ui.app.main``), in this process, against the simulator.

``main`` orders the start for speed: the cashier's application-wide key filter is off during the first
show and back on as the event loop's first task, and the terminal starts after that. These tests hold
what that ordering must not lose: the first key typed once the loop runs is heard, and Qt's X11 plugin's
missing libraries are still named.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import subprocess
import sys

import pytest
from flowkit import write_config
from kit import ROOT

from ui import app as ui_app

pytestmark = pytest.mark.timeout(60)


CHILD = r"""
import argparse, json, sys
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from ui import app as ui_app
from ui.cashier import CashierWindow

seen = {}

def windows():
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, CashierWindow)]

def first_turn():
    # queued before main's own first tasks: type on the turn after them, before the terminal is up
    QTimer.singleShot(0, type_keys)

def type_keys():
    window = windows()[0]
    seen["ready_when_typed"] = window.ready
    for key in (Qt.Key_4, Qt.Key_2):
        QTest.keyClick(window, key)
    seen["amount"] = window.amount_text
    wait_for_core()

def wait_for_core():  # quit only once the terminal is up, so that main stops all of it
    if windows()[0].ready or windows()[0].failed:
        QApplication.instance().quit()
    else:
        QTimer.singleShot(20, wait_for_core)

QTimer.singleShot(0, first_turn)
args = argparse.Namespace(config=sys.argv[1], data_dir=sys.argv[2], no_scanners=True, language="en")
seen["exit"] = ui_app.main(args)
print(json.dumps(seen))
"""


def test_keys_typed_as_soon_as_the_loop_runs_reach_the_cashier(sim, tmp_path):
    """In a process of its own, as ``pos-terminal gui`` runs: ``main`` runs and quits the application's
    event loop, which is not something to do to the one QApplication the other window tests share."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(write_config(sim)), str(tmp_path / "terminal")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=50, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"ready_when_typed": False, "amount": "42",
                                                                "exit": 0}


def test_a_missing_x11_library_is_named_by_its_package(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(ui_app, "XCB_LIBRARIES", {"libc.so.6": "libc6", "libpos-terminal-none.so.0": "no-such-pkg0"})
    assert ui_app.missing_platform_library() == "no-such-pkg0"
    monkeypatch.setattr(ui_app, "XCB_LIBRARIES", {"libc.so.6": "libc6"})
    assert ui_app.missing_platform_library() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(ui_app, "XCB_LIBRARIES", {"libpos-terminal-none.so.0": "no-such-pkg0"})
    assert ui_app.missing_platform_library() is None   # only the X11 plugin needs them
