"""Manager mode on screen (pytest-qt, offscreen) against a real simulator: the PIN dialog and its lockout
(and the Grant it hands over), the paged day view and its filters, a partial refund, "the rest" and a
cancel through the window, review, and the X, the Z (refused when nothing is new) and a Z's reprint.

``POS_MANAGER_SHOTS=/tmp/manager-shots`` also saves each tab at 1280x800 for review.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import time
from pathlib import Path

import pytest
from kit import payment_code, usd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from offline_queue import daybook
from offline_queue.journal import business_day
from pos_app import closing, services
from pos_app.roles import MAX_TRIES, audit_log
from ui.manager import COLUMNS, DayModel, ManagerWindow
from ui.pin_dialog import REFUSED, SET, VERIFY, PinDialog

pytestmark = pytest.mark.timeout(120)


def sales(core, *amounts) -> list:
    """Real sales at the simulator (the test thread waits for each; the window is not involved)."""
    return [core.terminal.start_sale(usd(a), code=payment_code()) for a in amounts]


def synthetic_day(journal, n: int, day: str) -> None:
    """``n`` settled sales written straight into the journal: enough rows to page through."""
    base = time.time() - n
    rows = []
    for i in range(n):
        status = "FAILED" if i % 10 == 0 else "SUCCESS"
        rows.append(({"id": f"PRSYN{i:06d}", "kind": "sale", "tender": "order_code" if i % 4 == 0 else "payment_code",
                      "currency": "USD", "amount": 100 + i, "status": status, "phase": "PAID", "state": "{}",
                      "final": 1, "created_at": base + i, "updated_at": base + i, "day": day,
                      "description": f"synthetic {i}"}, {"insert": True}))
    journal.record_many(rows)


MANAGER_PIN = "2468"


def manager_grant(core, asked_by: str = "cashier") -> services.Grant:
    """The Grant the PIN dialog hands the window: the manager PIN set once, then unlocked with it."""
    journal = core.terminal.journal
    if not services.registry.pin_is_set(journal, "manager"):
        services.technician.pin_set(services.counter(), journal, "manager", MANAGER_PIN)
    return services.unlock(journal, "manager", MANAGER_PIN, asked_by=asked_by)


def open_window(qtbot, core, *, asked_by: str = "cashier", **kw) -> ManagerWindow:
    window = ManagerWindow(core, manager_grant(core, asked_by), **kw)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.confirm = lambda *_args: True
    qtbot.waitUntil(lambda: window.busy == 0, timeout=10000)
    return window


def summary_words(window) -> list[str]:
    """The Day tab's summary as a person reads it: its labels, row by row."""
    from PySide6.QtWidgets import QLabel

    grid, words = window.summary_grid, []
    for row in range(grid.rowCount()):
        for column in range(grid.columnCount()):
            item = grid.itemAtPosition(row, column)
            if item is not None and isinstance(item.widget(), QLabel) and item.widget().text():
                words.append(item.widget().text())
    return words


def wait_idle(qtbot, window, timeout=20000) -> None:
    qtbot.waitUntil(lambda: window.busy == 0, timeout=timeout)


def shot(widget, name: str) -> None:
    folder = os.environ.get("POS_MANAGER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))


# -- the PIN -------------------------------------------------------------------------------------------
@pytest.fixture
def sandbox_core(qtbot, tmp_path):
    """A started Core in sandbox mode (no config: the embedded simulator), as `pos-terminal gui` runs it."""
    from pos_app.i18n import set_language
    from ui.bridge import Core

    set_language("en")
    started = Core(None, tmp_path / "sandbox", scanners=False)
    started.start()
    qtbot.waitUntil(lambda: started.terminal is not None, timeout=30000)
    yield started
    started.stop()


def test_a_live_terminal_without_a_pin_says_how_to_set_one_and_refuses(qtbot, core):
    dialog = PinDialog(core, "manager")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.mode == REFUSED, timeout=5000)
    words = dialog.prompt.text()
    assert "No manager PIN is set on this terminal" in words and "pos-terminal pin set manager" in words
    assert "pos-terminal setup" in words
    assert not dialog.pin_edit.isVisible() and not dialog.again_edit.isVisible() and not dialog.ok_button.isVisible()
    assert dialog.cancel_button.text() == "Back to the till"
    dialog.pin_edit.setText("482915")           # even typed in, nothing is set: the window does not choose it
    dialog.again_edit.setText("482915")
    dialog.submit()
    assert not dialog.busy and not services.registry.pin_is_set(core.terminal.journal, "manager")
    qtbot.keyClick(dialog, Qt.Key_Escape)
    assert dialog.result() == QDialog.Rejected and dialog.grant is None


def test_pin_first_use_sets_it_then_wrong_tries_count_and_lock(qtbot, sandbox_core):
    core = sandbox_core
    dialog = PinDialog(core, "manager")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.mode == SET, timeout=5000)
    assert dialog.again_edit.isVisible() and "No manager PIN is set yet (sandbox mode)" in dialog.prompt.text()
    qtbot.keyClicks(dialog.pin_edit, "48a29b15")          # the field takes digits only
    assert dialog.pin_edit.text() == "482915"
    assert dialog.pin_edit.echoMode() == dialog.pin_edit.EchoMode.Password
    qtbot.keyClicks(dialog.again_edit, "482916")
    dialog.submit()
    assert "the two PINs differ" in dialog.message.text() and dialog.result() != QDialog.Accepted
    dialog.pin_edit.setText("482915")
    qtbot.keyClicks(dialog.again_edit, "482915")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.Accepted, timeout=5000)
    assert dialog.grant.role == "manager" and dialog.grant.approved_by == "manager"
    assert dialog.grant.asked_by == "cashier"
    shot(dialog, "pin-first-use")

    dialog = PinDialog(core, "manager")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.mode == VERIFY, timeout=5000)
    assert not dialog.again_edit.isVisible()
    for tries in range(1, MAX_TRIES):
        qtbot.keyClicks(dialog.pin_edit, "000000")
        qtbot.keyClick(dialog.pin_edit, Qt.Key_Return)
        qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)
        assert f"wrong PIN ({MAX_TRIES - tries} tries left" in dialog.message.text()
        assert dialog.isVisible() and dialog.result() != QDialog.Accepted and dialog.pin_edit.text() == ""
    shot(dialog, "pin-wrong")
    dialog.pin_edit.setText("000000")
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)
    assert "manager mode is now locked for 5 minutes" in dialog.message.text()
    dialog.pin_edit.setText("482915")                   # even the right PIN waits out the lock
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)
    assert "manager mode is locked for" in dialog.message.text() and "after 5 wrong PINs" in \
        dialog.message.text() and "wait, then try again" in dialog.message.text()
    assert dialog.result() != QDialog.Accepted and dialog.grant is None


def test_the_technician_pin_chosen_in_the_dialog_may_not_be_the_managers(qtbot, sandbox_core):
    core = sandbox_core
    services.technician.pin_set(services.counter(), core.terminal.journal, "manager", "482915")
    dialog = PinDialog(core, "technician")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.mode == SET, timeout=5000)
    qtbot.keyClicks(dialog.pin_edit, "482915")
    qtbot.keyClicks(dialog.again_edit, "482915")
    qtbot.keyClick(dialog.again_edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.message.text() != "Checking…", timeout=5000)
    assert "the technician PIN may not be the same as the manager PIN" in dialog.message.text()
    assert "choose another PIN" in dialog.message.text()
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted and dialog.mode == SET
    assert not services.registry.pin_is_set(core.terminal.journal, "technician")


def test_right_pin_opens(qtbot, core):
    from pos_app.roles import PinBook

    PinBook(core.terminal.journal).set("manager", "1357")
    dialog = PinDialog(core, "manager", asked_by="alice")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.mode == VERIFY, timeout=5000)
    for key in "1357":   # the on-screen keypad
        button = next(b for b in dialog.findChildren(type(dialog.ok_button)) if b.text() == key)
        qtbot.mouseClick(button, Qt.LeftButton)
    assert dialog.pin_edit.text() == "1357"
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.Accepted, timeout=5000)
    assert isinstance(dialog.grant, services.Grant) and dialog.grant.role == "manager"
    assert dialog.grant.asked_by == "alice"


# -- over the till, and back -------------------------------------------------------------------------------
def test_esc_and_back_to_the_till_close_the_window_and_the_till_has_the_keyboard_again(qtbot, core):
    from PySide6.QtWidgets import QMainWindow

    till = QMainWindow()
    qtbot.addWidget(till)
    till.resize(780, 700)   # within the offscreen screen: the window covers the till (in a kiosk: full screen)
    till.show()
    for close in ("Escape", "button"):
        window = ManagerWindow(core, manager_grant(core))
        qtbot.addWidget(window)
        window.show()                                  # as the till shows a mode: the till is its opener
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        assert window.opener is till and window.geometry() == till.geometry()
        back = window.findChild(type(window.refresh_button), "back")
        assert back is window.back_to_till and back.isVisible() and back.text() == "Back to the till  (Esc)"
        if close == "Escape":
            qtbot.keyClick(window.table, Qt.Key_Escape)
        else:
            qtbot.mouseClick(back, Qt.LeftButton)
        qtbot.waitUntil(lambda w=window: not w.isVisible(), timeout=5000)
        qtbot.waitUntil(till.isActiveWindow, timeout=5000)


def test_enter_on_the_z_question_answers_no(qtbot, core):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    sales(core, 500)
    window = ManagerWindow(core, manager_grant(core))
    qtbot.addWidget(window)
    window.show()
    wait_idle(qtbot, window)
    seen = []

    def press_enter() -> None:   # what a manager's habit does on the box: Enter
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press_enter)
            return
        seen.append((box.text(), box.defaultButton().text(), [b.text() for b in box.buttons()]))
        qtbot.keyClick(box, Qt.Key_Return)
    QTimer.singleShot(0, press_enter)
    qtbot.mouseClick(window.z_button, Qt.LeftButton)
    wait_idle(qtbot, window)
    assert seen and "can never be altered" in seen[0][0]
    assert seen[0][1] == "No, go back" and sorted(seen[0][2]) == ["No, go back", "Take the Z report"]
    assert window.report_message.text() == "No Z report was taken." and closing.z_reports(core.terminal.journal) == []


# -- the day view --------------------------------------------------------------------------------------
def test_day_view_pages_from_sqlite_and_filters(qtbot, core):
    day = business_day(time.time())
    real = sales(core, 1000, 9905)                     # one paid, one declined, at the simulator
    synthetic_day(core.terminal.journal, 1000, day)
    window = open_window(qtbot, core)
    model = window.model
    qtbot.waitUntil(lambda: model.rowCount() == 1002, timeout=10000)
    assert window.rows_label.text() == "1002 rows"
    counts = [q for q in model.queries if q[0].startswith("SELECT COUNT(*)")]
    assert counts and all("day=?" in sql for sql, _p in counts)
    qtbot.waitUntil(lambda: 0 in model.pages_loaded, timeout=5000)   # the view asked for what it shows
    assert model.pages_loaded == [0]
    pages_before = [q for q in model.queries if "LIMIT ? OFFSET ?" in q[0]]
    assert all(params[-2] == 200 for _sql, params in pages_before)

    far = model.index(950, 1)
    assert model.data(far) is None                      # not loaded: asked for, on a worker
    qtbot.waitUntil(lambda: 4 in model.pages_loaded, timeout=5000)
    page_queries = [q for q in model.queries if "LIMIT ? OFFSET ?" in q[0]]
    assert page_queries[-1][1][-2:] == (200, 800)       # one bounded page, not the rows before it
    assert len(page_queries) == len(pages_before) + 1
    assert sorted(model.pages_loaded) == [0, 4]
    assert model.data(far) and model.data(far).startswith("PR")
    newest_first = model.data(model.index(0, 1))
    assert newest_first == real[1].id                   # newest first by default

    assert [name for name, _label in COLUMNS] == list(daybook.COLUMNS)   # row tuples are daybook's columns
    plain = DayModel(core.terminal.journal, day, page_size=200)   # no worker: each page read where asked
    assert plain.rowCount() == 1002 and plain.pages_loaded == []
    assert plain.data(plain.index(999, 1)) == model.data(model.index(999, 1)) or 4 not in model.pages_loaded
    assert plain.pages_loaded == [4] and len(plain.queries) == 2

    window.status_filter.setCurrentIndex(window.status_filter.findData("FAILED"))
    qtbot.waitUntil(lambda: model.rowCount() == 101, timeout=5000)   # 100 synthetic + the declined one
    window.text_filter.setText("PRSYN00099")
    window.apply_filter()
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    qtbot.waitUntil(lambda: model.data(model.index(0, 1)) == "PRSYN000990", timeout=5000)
    window.text_filter.clear()
    window.status_filter.setCurrentIndex(0)
    window.min_edit.setText("10.00")
    window.max_edit.setText("10.05")
    window.apply_filter()
    qtbot.waitUntil(lambda: model.rowCount() == 7, timeout=5000)    # 1000 (real) and 1000..1005 (synthetic)
    window.min_edit.clear()
    window.max_edit.clear()
    window.tender_filter.setCurrentIndex(window.tender_filter.findData("order_code"))
    qtbot.waitUntil(lambda: model.rowCount() == 250, timeout=5000)
    window.tender_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: model.rowCount() == 1002, timeout=5000)

    window.table.sortByColumn(4, Qt.DescendingOrder)     # by amount
    qtbot.waitUntil(lambda: model.data(model.index(0, 1)) == real[1].id, timeout=5000)   # 99.05
    assert "ORDER BY amount DESC, id DESC" in model.queries[-1][0]

    wait_idle(qtbot, window)
    summary = summary_words(window)
    count, gross = core.terminal.journal.query("SELECT COUNT(*), SUM(amount) FROM transactions "
                                               "WHERE kind='sale' AND status='SUCCESS'")[0]
    assert window.totals.text() == f"Takings on {day}"
    assert ["USD", "Gross sales", f"{count}×", f"{gross // 100}.{gross % 100:02d}"] == summary[:4]
    assert "Net" in summary and "Average sale" in summary and "FAILED" not in summary
    assert sum(window.chart.values) == 1000 + sum(100 + i for i in range(1000) if i % 10)
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: real[1].id in window.detail_view.toPlainText(), timeout=5000)
    history = window.detail_view.toPlainText()
    assert "Not paid" in history and "{" not in history   # words, not the journal's JSON
    assert not window.refund_button.isEnabled()         # a declined sale has nothing to refund
    shot(window, "manager-day")


# -- refund and cancel ---------------------------------------------------------------------------------
def left_to_refund(journal, sale_id: str) -> int:
    """Independent of the terminal: the sale's amount less its refunds not failed, in plain SQL."""
    return journal.query("SELECT s.amount - COALESCE((SELECT SUM(r.amount) FROM transactions r WHERE r.parent = s.id "
                         "AND r.kind = 'refund' AND r.status != 'FAILED'), 0) FROM transactions s WHERE s.id = ?",
                         (sale_id,))[0][0]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


class Answers:
    """Stands in for the confirmation box (modal: it would need a person): records each question and its
    button's words, and answers from a script."""

    def __init__(self, *answers: bool) -> None:
        self.answers, self.asked = list(answers), []

    def __call__(self, text: str, yes: str | None = None) -> bool:
        self.asked.append((plain(text), plain(yes or "")))
        return self.answers.pop(0)


def test_partial_refund_the_rest_and_cancel_through_the_window(qtbot, core, sim):
    paid, other = sales(core, 1000, 700)
    assert paid.status == "SUCCESS" and other.status == "SUCCESS"
    window = open_window(qtbot, core, asked_by="alice", locale_name="en_US")
    model = window.model
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=5000)
    qtbot.waitUntil(lambda: model.data(model.index(1, 1)) == paid.id, timeout=5000)
    window.table.selectRow(1)
    qtbot.waitUntil(lambda: window.refund_button.isEnabled(), timeout=5000)
    assert plain(window.refundable_label.text()) == "Left to refund: USD 10.00"
    layout_before = window.tabs.geometry()

    qtbot.mouseClick(window.refund_button, Qt.LeftButton)  # no reason yet
    assert "needs a reason" in window.status.text()
    assert window.tabs.geometry() == layout_before        # the error took its fixed line: nothing moved
    window.amount_edit.setText("3.00")
    window.reason_edit.setText("damaged")
    journal = core.terminal.journal
    window.confirm = Answers(False, True)                   # first "No": nothing is sent
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.status.text() == "Nothing was refunded.", timeout=10000)
    assert journal.query("SELECT COUNT(*) FROM transactions WHERE kind = 'refund'")[0][0] == 0
    question, yes = window.confirm.asked[0]
    assert question.splitlines()[0] == "Refund USD 3.00 to the customer?" and yes == "Refund USD 3.00"
    assert f"Sale: {paid.id}" in question and "Paid: USD 10.00 at " in question
    assert "Left to refund now: USD 10.00" in question and "Left after this refund: USD 7.00" in question
    assert "Reason: damaged" in question
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)   # then "Refund USD 3.00"
    qtbot.waitUntil(lambda: getattr(window, "last_followup", None) is not None, timeout=20000)
    refund = window.last_followup
    assert plain(window.status.text()) == (f"Refunded USD 3.00 of sale {paid.id}: it goes back to the customer's "
                                           "wallet. Left to refund: USD 7.00.")
    assert window.tabs.geometry() == layout_before
    row = journal.get(refund.id)
    assert row["status"] == "SUCCESS" and row["kind"] == "refund" and row["parent"] == paid.id and row["amount"] == 300
    entry = next(e for e in audit_log(journal, txn=paid.id) if e["action"] == "refund")
    assert entry["askedBy"] == "alice" and entry["approvedBy"] == "manager"
    assert entry["detail"]["reason"] == "damaged" and entry["detail"]["amount"] == "3.00"
    qtbot.waitUntil(lambda: "alice" in window.detail_view.toPlainText().split("History")[-1], timeout=5000)
    history = window.detail_view.toPlainText().split("History")[-1]
    assert "3.00" in history and "damaged" in history and "{" not in history, history
    # what the window says is left is what the journal's rows say, counted here without the terminal's rule
    assert left_to_refund(journal, paid.id) == 700
    qtbot.waitUntil(lambda: plain(window.refundable_label.text()) == "Left to refund: USD 7.00", timeout=5000)

    window.amount_edit.setText("8.00")                  # more than is left: said in words, nothing asked or sent
    window.reason_edit.setText("again")
    window.confirm = Answers()
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "8.00 USD is more than is left to refund: 7.00 USD" in window.status.text(),
                    timeout=10000)
    assert window.confirm.asked == [] and window.tabs.geometry() == layout_before

    window.amount_edit.clear()                          # empty: "all that is left", the use case's rule
    window.confirm = Answers(True)
    qtbot.mouseClick(window.refund_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.last_followup is not refund, timeout=20000)
    assert "Left after this refund: USD 0.00" in window.confirm.asked[0][0]
    rest = window.last_followup
    assert journal.get(rest.id)["amount"] == 700 and journal.get(rest.id)["status"] == "SUCCESS"
    assert left_to_refund(journal, paid.id) == 0
    entries = [e for e in audit_log(journal, txn=paid.id) if e["action"] == "refund"]
    assert [e["detail"]["amount"] for e in entries] == ["7.00", "3.00"]    # newest first
    qtbot.waitUntil(lambda: not window.refund_button.isEnabled() and window.refundable_label.text() == "",
                    timeout=5000)

    window.select_id(other.id)
    qtbot.waitUntil(lambda: window.cancel_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)   # a paid sale's cancel needs a reason
    assert "a cancel needs a reason" in window.status.text()
    window.reason_edit.setText("customer changed their mind")
    window.confirm = Answers(True)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "last_followup", rest) is not rest, timeout=20000)
    cancel = window.last_followup
    assert journal.get(cancel.id)["kind"] == "cancel"
    qtbot.waitUntil(lambda: journal.get(cancel.id)["status"] == "SUCCESS", timeout=20000)
    entry = next(e for e in audit_log(journal, txn=other.id) if e["action"] == "cancel")
    assert entry["detail"]["reason"] == "customer changed their mind" and entry["askedBy"] == "alice"


def test_ask_the_gateway_about_the_selected_sale(qtbot, core):
    paid, = sales(core, 1200)
    window = open_window(qtbot, core)
    window.select_id(paid.id)
    qtbot.waitUntil(lambda: window.inquiry_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(window.inquiry_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "the gateway says" in window.status.text(), timeout=10000)
    assert window.status.text() == f"{paid.id}: the gateway says it went through; now Paid"


# -- review --------------------------------------------------------------------------------------------
def test_review_mark_resolved_with_a_note(qtbot, core):
    day = business_day(time.time())
    core.terminal.journal.record({"id": "PRREVIEW1", "kind": "sale", "tender": "payment_code", "currency": "USD",
                                  "amount": 500, "status": "NEEDS_REVIEW", "phase": "REVIEW", "state": "{}",
                                  "final": 0, "created_at": time.time(), "updated_at": time.time(), "day": day,
                                  "message": "the gateway never answered"}, insert=True)
    window = open_window(qtbot, core)
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.review_table.rowCount() == 1, timeout=5000)
    assert window.review_table.item(0, 1).text() == "PRREVIEW1"
    shot(window, "manager-review")
    window.review_table.selectRow(0)
    qtbot.mouseClick(window.resolve_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "needs a note" in window.status.text(), timeout=5000)   # the use case's words
    assert window.review_table.rowCount() == 1
    window.note_edit.setText("checked on the gateway portal: not paid")
    qtbot.mouseClick(window.resolve_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.review_table.rowCount() == 0, timeout=5000)
    assert window.review_empty.text() == "nothing open or waiting for review"
    entry = audit_log(core.terminal.journal, txn="PRREVIEW1")[0]
    assert entry["action"] == "resolved" and entry["detail"]["note"].startswith("checked")


# -- X and Z -------------------------------------------------------------------------------------------
def test_x_z_refused_when_nothing_is_new_reprint_and_exports(qtbot, core, tmp_path):
    paid, _declined, _small = sales(core, 1000, 9905, 250)
    core.terminal.refund(paid.id, usd(300), "damaged")
    day = business_day(time.time())
    journal = core.terminal.journal
    window = open_window(qtbot, core, asked_by="alice")
    window.tabs.setCurrentIndex(2)
    qtbot.mouseClick(window.x_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.report is not None, timeout=5000)
    assert window.report_view.toPlainText().startswith(f"X REPORT  {day}")
    assert window.report["session"]["number"] == 1 and window.report["session"]["count"] == 4
    window.confirm = Answers(False)                  # the manager says no: nothing happens
    qtbot.mouseClick(window.z_button, Qt.LeftButton)
    wait_idle(qtbot, window)
    assert "can never be altered" in window.confirm.asked[0][0] and closing.z_reports(journal) == []
    assert window.confirm.asked[0][1] == "Take the Z report"
    assert window.report_message.text() == "No Z report was taken."

    window.confirm = lambda *_args: True
    qtbot.mouseClick(window.z_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.report and window.report["type"] == "Z", timeout=10000)
    z = window.report
    assert z["number"] == 1 and window.report_message.text() == "Z report #1 taken"
    usd_totals = z["totals"]["USD"]       # the inputs above: 10.00 and 2.50 paid, 99.05 declined, 3.00 back
    assert usd_totals["sale"]["SUCCESS"] == {"count": 2, "value": 1250} and usd_totals["net"] == 950
    assert usd_totals["sale"]["FAILED"]["count"] == 1 and usd_totals["refund"]["SUCCESS"]["value"] == 300
    text = window.report_view.toPlainText()
    assert text.startswith(f"Z REPORT #1  {day}") and "9.50" in text and f"sha256 {z['sha256']}" in text
    assert window.z_number.value() == 1
    shot(window, "manager-reports")

    qtbot.mouseClick(window.z_button, Qt.LeftButton)     # nothing settled since: refused, in words
    qtbot.waitUntil(lambda: "nothing to close" in window.report_message.text(), timeout=5000)
    assert "no transaction has settled since Z report #1" in window.report_message.text()
    assert "pos-terminal report --z --number 1" in window.report_message.text()
    assert window.report["number"] == 1 and len(closing.z_reports(journal)) == 1

    window.report_view.clear()
    qtbot.mouseClick(window.reprint_button, Qt.LeftButton)   # the stored Z, as it was taken
    qtbot.waitUntil(lambda: window.report_message.text() == "Z report #1 reprinted", timeout=5000)
    assert window.report["sha256"] == z["sha256"] and "REPRINT" in window.report_view.toPlainText()
    window.z_reprint(7)
    qtbot.waitUntil(lambda: "there is no Z report #7" in window.report_message.text(), timeout=5000)

    sales(core, 400)                                   # a new session: the next Z covers only it
    window.z_report()
    qtbot.waitUntil(lambda: window.report["number"] == 2 and window.report["type"] == "Z", timeout=10000)
    assert window.report["totals"]["USD"]["net"] == 400 and window.report["session"]["previousZ"] == 1
    assert window.report_message.text() == "Z report #2 taken" and window.z_number.value() == 2

    csv, pdf = tmp_path / "z.csv", tmp_path / "z.pdf"
    window.export_csv(csv)
    qtbot.waitUntil(lambda: csv.exists() and "written to" in window.report_message.text(), timeout=5000)
    assert csv.read_text().splitlines()[0].startswith("report,number,day,currency,kind,status,count,value,amount,")
    assert f"Z,2,{day},USD,sale,SUCCESS,1,400,4.00," in csv.read_text()
    window.export_pdf(pdf)
    qtbot.waitUntil(lambda: pdf.exists() and str(pdf) in window.report_message.text(), timeout=10000)
    assert pdf.read_bytes().startswith(b"%PDF")
    window.export_csv(tmp_path / "no-such-folder" / "z.csv")
    qtbot.waitUntil(lambda: "cannot write" in window.report_message.text(), timeout=5000)
    log = audit_log(journal)
    assert [e["action"] for e in log if e["action"].startswith("z_report")] == \
        ["z_report", "z_report_reprint", "z_report"]       # newest first; no extra "approved" entry
    assert all(e["askedBy"] == "alice" and e["approvedBy"] == "manager" for e in log
               if e["action"].startswith("z_report"))
    assert json.loads(json.dumps(z))["number"] == 1
