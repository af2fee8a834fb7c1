"""The manager's window and the CLI are one set of rules (issue 14, defect 4).

The same refund ("3.00", then "the rest"), the same cancel of a paid sale and the same Z are taken once
through the window (pytest-qt, offscreen, a started Core) and once through real ``pos-terminal``
processes, each on its own journal against the same simulator. The audit records are read back from
both journals in plain SQL and must agree: same action, same who-asked and who-approved, same detail
keys and values (the ids each run made aside). A Z with nothing new is refused in the same words by
both, and writes nothing. (That ``ui/`` holds no SQL at all is integration/test_windows_hold_no_sql.py's.)
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import sqlite3
from pathlib import Path

import pytest
from flowkit import MANAGER_PIN, cli_json, set_manager_pin, write_config
from kit import payment_code, usd
from PySide6.QtCore import Qt

from pos_app import services
from ui.manager import ManagerWindow

pytestmark = pytest.mark.timeout(180)

IDS = {"refund", "cancel"}        # detail values that are the follow-up's own id: differ between the runs


# -- the two front ends ------------------------------------------------------------------------------------
def open_window(qtbot, core, asked_by: str) -> ManagerWindow:
    """The window as F9 opens it: with the Grant the PIN dialog hands over for the manager PIN."""
    journal = core.terminal.journal
    services.technician.pin_set(services.counter(), journal, "manager", MANAGER_PIN)
    window = ManagerWindow(core, services.unlock(journal, "manager", MANAGER_PIN, asked_by=asked_by))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.confirm = lambda *_question: True     # the "are you sure" box needs a person
    qtbot.waitUntil(lambda: window.busy == 0, timeout=10000)
    return window


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.busy == 0, timeout=20000)


@pytest.fixture
def shell(sim, tmp_path):
    """A second terminal for the CLI: its own journal (the window's Core holds the other), its own
    notification port, the same simulator, and the manager PIN set as a manager would set it."""
    config, data_dir = write_config(sim, "cli.toml"), tmp_path / "cli"
    set_manager_pin(data_dir)

    def run(*args) -> tuple[int, dict]:
        return cli_json(*args, config=config, data_dir=data_dir, input=f"{MANAGER_PIN}\n")
    run.data_dir = data_dir
    return run


def cli_sale(shell, amount: str) -> str:
    rc, sale = shell("sale", "--amount", amount, "--code", payment_code())
    assert rc == 0 and sale["status"] == "SUCCESS", sale
    return sale["paymentRequestId"]


# -- read back, independently of the code under test ----------------------------------------------------------
def audit_rows(data_dir: Path) -> list[dict]:
    """The audit table as stored, oldest first, less the setting of the PIN both runs began with: plain
    SQL on the journal file (read-only)."""
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT action, txn, asked_by, approved_by, detail FROM audit WHERE action != 'pin_set' "
                            "ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [{"action": a, "txn": t, "asked_by": asked, "approved_by": approved, "detail": json.loads(d or "{}")}
            for a, t, asked, approved, d in rows]


def shape(entry: dict) -> dict:
    """An audit record less what differs between two runs by nature (the transaction ids)."""
    return {"action": entry["action"], "asked_by": entry["asked_by"], "approved_by": entry["approved_by"],
            "has_txn": entry["txn"] is not None, "detail_keys": sorted(entry["detail"]),
            "detail": {k: v for k, v in entry["detail"].items() if k not in IDS}}


def left_to_refund(data_dir: Path, sale_id: str) -> int:
    """The sale's amount less its refunds not failed, in plain SQL over the raw rows."""
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT s.amount - COALESCE((SELECT SUM(r.amount) FROM transactions r WHERE "
                            "r.parent = s.id AND r.kind = 'refund' AND r.status != 'FAILED'), 0) "
                            "FROM transactions s WHERE s.id = ?", (sale_id,)).fetchone()[0]
    finally:
        conn.close()


# -- refund and cancel -------------------------------------------------------------------------------------
def test_refund_and_the_rest_write_the_same_audit_as_the_cli(qtbot, core, shell):
    paid = core.terminal.start_sale(usd(1000), code=payment_code())
    assert paid.status == "SUCCESS"
    window = open_window(qtbot, core, "alice")
    window.select_id(paid.id)
    qtbot.waitUntil(lambda: window.refund_button.isEnabled(), timeout=5000)
    window.amount_edit.setText("3.00")
    window.reason_edit.setText("damaged")
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "last_followup", None) is not None, timeout=20000)
    first = window.last_followup
    # what is left, as the window shows it, is what the raw rows say
    assert left_to_refund(core.data_dir, paid.id) == 700
    qtbot.waitUntil(lambda: "7.00" in window.refundable_label.text(), timeout=5000)
    window.reason_edit.setText("damaged")              # the amount left empty: all that is left
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.last_followup is not first, timeout=20000)
    wait_idle(qtbot, window)
    assert left_to_refund(core.data_dir, paid.id) == 0

    sale_id = cli_sale(shell, "10.00")
    rc, part = shell("refund", sale_id, "--amount", "3.00", "--reason", "damaged", "--by", "alice")
    assert rc == 0 and part["status"] == "SUCCESS", part
    assert left_to_refund(shell.data_dir, sale_id) == 700
    rc, rest = shell("refund", sale_id, "--reason", "damaged", "--by", "alice")
    assert rc == 0 and rest["status"] == "SUCCESS", rest
    assert left_to_refund(shell.data_dir, sale_id) == 0

    window_audit, cli_audit = audit_rows(core.data_dir), audit_rows(shell.data_dir)
    assert [shape(e) for e in window_audit] == [shape(e) for e in cli_audit]
    assert [(e["action"], e["detail"]["amount"], e["asked_by"], e["approved_by"]) for e in window_audit] == \
        [("refund", "3.00", "alice", "manager"), ("refund", "7.00", "alice", "manager")]
    assert [e["txn"] for e in window_audit] == [paid.id, paid.id]


def test_cancel_of_a_paid_sale_writes_the_same_audit_as_the_cli(qtbot, core, shell):
    paid = core.terminal.start_sale(usd(700), code=payment_code())
    window = open_window(qtbot, core, "bob")
    window.select_id(paid.id)
    qtbot.waitUntil(lambda: window.cancel_button.isEnabled(), timeout=5000)
    window.reason_edit.setText("customer changed their mind")
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "last_followup", None) is not None, timeout=20000)
    qtbot.waitUntil(lambda: core.terminal.journal.get(window.last_followup.id)["status"] == "SUCCESS",
                    timeout=20000)
    wait_idle(qtbot, window)

    sale_id = cli_sale(shell, "7.00")
    rc, cancel = shell("cancel", sale_id, "--reason", "customer changed their mind", "--by", "bob")
    assert rc == 0 and cancel["status"] == "SUCCESS", cancel

    window_audit, cli_audit = audit_rows(core.data_dir), audit_rows(shell.data_dir)
    assert [shape(e) for e in window_audit] == [shape(e) for e in cli_audit]
    assert [(e["action"], e["asked_by"], e["approved_by"], e["detail"]["reason"]) for e in window_audit] == \
        [("cancel", "bob", "manager", "customer changed their mind")]


# -- the Z -------------------------------------------------------------------------------------------------
def test_z_and_a_z_with_nothing_new_agree_with_the_cli(qtbot, core, shell):
    core.terminal.start_sale(usd(1250), code=payment_code())
    window = open_window(qtbot, core, "carol")
    window.tabs.setCurrentIndex(2)
    window.z_report()
    qtbot.waitUntil(lambda: window.report is not None and window.report["type"] == "Z", timeout=10000)
    wait_idle(qtbot, window)
    assert window.report["number"] == 1 and window.report["totals"]["USD"]["net"] == 1250

    cli_sale(shell, "12.50")
    rc, z = shell("report", "--z", "--by", "carol")
    assert rc == 0 and z["number"] == 1 and z["totals"]["USD"]["net"] == 1250, z
    assert [shape(e) for e in audit_rows(core.data_dir)] == [shape(e) for e in audit_rows(shell.data_dir)]
    assert [(e["action"], e["asked_by"], e["approved_by"]) for e in audit_rows(core.data_dir)] == \
        [("z_report", "carol", "manager")]

    # nothing settled since: both refuse, in the same words, and store nothing
    window.z_report()
    wait_idle(qtbot, window)
    rc, refused = shell("report", "--z", "--by", "carol")
    assert rc == 2 and refused["error"].startswith("nothing to close"), refused
    assert window.report_message.text() == f"{refused['error']}\n→ {refused['hint']}"
    assert window.report["number"] == 1
    for data_dir in (core.data_dir, shell.data_dir):
        assert [e["action"] for e in audit_rows(data_dir)] == ["z_report"]
        conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
        assert conn.execute("SELECT COUNT(*) FROM z_reports").fetchone()[0] == 1
        conn.close()

    # a reprint by number is the same record in both
    window.z_reprint(1)
    qtbot.waitUntil(lambda: window.report_message.text() == "Z report #1 reprinted", timeout=5000)
    rc, again = shell("report", "--z", "--number", "1", "--by", "carol")
    assert rc == 0 and again["reprint"] is True and window.report["reprint"] is True
    assert [shape(e) for e in audit_rows(core.data_dir)] == [shape(e) for e in audit_rows(shell.data_dir)]
    assert audit_rows(core.data_dir)[-1]["action"] == "z_report_reprint"


