"""The store's screens (issue 17): the manager's Store tab and the technician's Fleet tab.

* :class:`StorePanel`, the manager's **Store** tab: the store's business day over every counter (a table with
  a terminal column, like the Day tab's), its figures per terminal and for the whole store, and the text of a
  store X or a store closing.
* :class:`FleetPanel`, the technician's **Fleet** tab: the store's terminals as their heartbeats tell them,
  stale or failing first with each reason in words; this terminal's own replication (backlog, lag, last
  error); and the restore of a replaced terminal's history from the store.

Widgets and words only. The windows (:class:`ui.manager.ManagerWindow`, :class:`ui.technician.TechnicianWindow`)
call the use cases (:mod:`pos_app.services.store`, :mod:`pos_app.services.store_restore`) off the UI thread and
hand their results here; nothing here reads a database or decides a figure.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pos_app.i18n import N_, _, stored
from pos_app.printout import figures
from pos_app.vocabulary import KIND_WORDS, TENDER_WORDS, status_words

from .money import format_amount
from .operations import GREEN, RED
from .widgets import button, cell, message_line, table

#: The store day's columns (what a manager reads first, first; the terminal beside the time).
DAY_COLUMNS = (("terminal", N_("Terminal")), ("createdAt", N_("Time")), ("amount", N_("Amount")),
               ("status", N_("Status")), ("kind", N_("Kind")), ("tender", N_("Tender")), ("id", N_("ID")),
               ("description", N_("Description")))
#: The fleet's columns: each terminal's heartbeat, the reasons last (they wrap).
FLEET_COLUMNS = (N_("Terminal"), N_("State"), N_("Last seen"), N_("Version"), N_("Queue"), N_("Needs review"),
                 N_("Self-test"), N_("Replication lag"), N_("Clock offset"), N_("Why"))


def _mono():
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _clock(at) -> str:
    return "—" if at is None else time.strftime("%H:%M:%S", time.localtime(float(at)))


def _moment(at) -> str:
    return "—" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(at)))


def _seconds(value) -> str:
    """Seconds to a tenth; a -0.04 s clock offset reads 0.0 s, not -0.0 s."""
    return "—" if value is None else _("{seconds} s").format(seconds=f"{round(float(value), 1) + 0.0:.1f}")


class StorePanel(QWidget):
    """The manager's Store tab. :meth:`show_day` fills it from a ``store_day`` report's data; :meth:`show_text`
    shows a store X's or a closing's lines. The buttons are the window's to connect."""

    def __init__(self, store_id: str, locale_name: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.locale_name = locale_name
        self.setObjectName("store_tab")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.caption = QLabel(_("Store {store}: every counter's day, read from the store's database").format(
            store=store_id))
        self.caption.setObjectName("store_caption")
        self.caption.setWordWrap(True)
        row.addWidget(self.caption, 1)
        self.refresh_button = button(_("Refresh"))
        self.x_button = button(_("Store X report"))
        self.close_button = button(_("Close the store's day…"))
        for widget, name in ((self.refresh_button, "store_refresh"), (self.x_button, "store_x"),
                             (self.close_button, "store_close")):
            widget.setObjectName(name)
            row.addWidget(widget)
        layout.addLayout(row)
        # the counters the store may not hold everything of (silent, lagging, a backlog, a replication error):
        # their own reports may show more than this tab does
        self.behind_label = QLabel("")
        self.behind_label.setObjectName("store_behind")
        self.behind_label.setWordWrap(True)
        self.behind_label.setStyleSheet(f"color: {RED};")
        self.behind_label.hide()
        layout.addWidget(self.behind_label)
        self.totals = table([_("Terminal"), _("Currency"), _("Sales"), _("Gross sales"), _("Refunds"),
                             _("Cancels"), _("Net")])
        self.totals.setObjectName("store_totals")
        self.totals.setTabKeyNavigation(False)
        self.totals.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.totals.horizontalHeader().setStretchLastSection(False)   # the net beside the others, not far right
        self.totals.setMaximumHeight(170)
        layout.addWidget(self.totals)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        self.day_table = table([_(label) for _key, label in DAY_COLUMNS])
        self.day_table.setObjectName("store_day_table")
        self.day_table.setTabKeyNavigation(False)   # read-only rows: Tab and Ctrl+Tab are the window's
        split.addWidget(self.day_table)
        self.report_view = QPlainTextEdit()
        self.report_view.setObjectName("store_report_view")
        self.report_view.setReadOnly(True)
        self.report_view.setFont(_mono())
        self.report_view.setPlaceholderText(_("The store X report shows every counter's session since its last Z, "
                                              "at any time. Closing the store's day first lists the counters "
                                              "still missing their Z or lagging behind."))
        split.addWidget(self.report_view)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self.rows_label = message_line(1)
        self.rows_label.setObjectName("store_rows")
        layout.addWidget(self.rows_label)

    def busy(self, waiting: bool) -> None:
        """The buttons while a call to the store is under way: one at a time."""
        for widget in (self.refresh_button, self.x_button, self.close_button):
            widget.setEnabled(not waiting)

    def unread(self, day: str) -> None:
        """The day could not be read: nothing shown of an earlier read, and said so (the reason is the status
        line's, above the tabs)."""
        self.totals.setRowCount(0)
        self.day_table.setRowCount(0)
        self.show_behind([])
        self.rows_label.setText(_("The store's day {day} could not be read: see the message above.").format(day=day))

    # -- the day ----------------------------------------------------------------------------------------
    def show_day(self, data: dict) -> None:
        """A ``store_day`` report's data: its figures per terminal and for the store, and its transactions."""
        self.show_behind(data.get("behind") or [])
        self._figures(data)
        rows = data.get("transactions") or []
        self.day_table.setRowCount(len(rows))
        for r, txn in enumerate(rows):
            kind, status, amount = txn.get("kind") or "", txn.get("status") or "", txn.get("amount") or {}
            values = {
                "terminal": txn.get("terminalId") or "",
                "createdAt": _clock(txn.get("createdAt")),
                "amount": format_amount(int(amount.get("value") or 0), amount.get("currency") or "",
                                        self.locale_name),
                "status": _(status_words(kind, status, txn.get("resultCode"))) if kind in KIND_WORDS else status,
                "kind": _(KIND_WORDS[kind]) if kind in KIND_WORDS else kind,
                "tender": _(TENDER_WORDS[txn["tender"]]) if txn.get("tender") in TENDER_WORDS else
                txn.get("tender") or "",
                "id": txn.get("refundRequestId") or txn.get("paymentRequestId") or "",
                "description": stored(txn.get("description") or "")}
            for c, (key, _label) in enumerate(DAY_COLUMNS):
                item = cell(values[key])
                if key == "amount":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.day_table.setItem(r, c, item)
        day, terminals = data.get("date", ""), len(data.get("terminals") or {})
        self.rows_label.setText(
            _("{day}: {n} transactions at {terminals} terminals").format(day=day, n=len(rows), terminals=terminals)
            if rows else _("No transaction on {day} at any of the store's {terminals} terminals").format(
                day=day, terminals=terminals))

    def _figures(self, data: dict) -> None:
        """One row a terminal and currency, then the whole store's, bold: the report's summaries as they are."""
        rows: list[tuple[str, str, list, bool]] = []
        for name, terminal in (data.get("terminals") or {}).items():
            for currency, lines in figures(terminal.get("summary") or {}).items():
                rows.append((name, currency, lines, False))
        for currency, lines in figures(data.get("summary") or {}).items():
            rows.append((_("Whole store"), currency, lines, True))
        self.totals.setRowCount(len(rows))
        for r, (name, currency, lines, whole) in enumerate(rows):
            by_key = {f.key: f for f in lines}
            gross = by_key.get("gross")
            texts = [name, currency, "" if gross is None or gross.count is None else str(gross.count)]
            texts += [by_key[k].amount if k in by_key else "" for k in ("gross", "refunds", "cancels", "net")]
            for c, text in enumerate(texts):
                item = cell(text, bold=whole or c == 6)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.totals.setItem(r, c, item)

    def show_behind(self, behind: list[dict]) -> None:
        """The counters the store may not hold everything of, each with why (the closing's words); hidden when
        every counter is current."""
        words = [_("{terminal}: {why}").format(terminal=b["terminal"], why=stored(b["why"])) for b in behind]
        self.behind_label.setText("\n".join([_("Not current in the store's database (their own reports may "
                                                "show more):"), *words]) if words else "")
        self.behind_label.setVisible(bool(words))

    # -- reports -----------------------------------------------------------------------------------------
    def show_text(self, lines: list[str]) -> None:
        self.report_view.setPlainText("\n".join(lines))


def blockers_words(blockers) -> list[str]:
    """The counters holding the store's closing back, one line each: the terminal and why, in words."""
    return [_("{terminal}: {why}").format(terminal=b.terminal, why=stored(b.why)) for b in blockers]


class FleetPanel(QWidget):
    """The technician's Fleet tab: :meth:`show_fleet` (a ``store_terminals`` result) and
    :meth:`show_replication` (this terminal's own state); the buttons are the window's to connect."""

    def __init__(self, store_id: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("fleet_tab")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.caption = QLabel(_("The terminals of store {store}, as their last heartbeats tell the store: stale or "
                                "failing ones first").format(store=store_id))
        self.caption.setObjectName("fleet_caption")
        self.caption.setWordWrap(True)
        row.addWidget(self.caption, 1)
        self.refresh_button = button(_("Refresh"))
        self.refresh_button.setObjectName("fleet_refresh")
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        self.replication = QLabel(_("Loading…"))
        self.replication.setObjectName("replication")
        self.replication.setWordWrap(True)
        layout.addWidget(self.replication)
        self.fleet_table = table([_(label) for label in FLEET_COLUMNS])
        self.fleet_table.setObjectName("fleet_table")
        self.fleet_table.setTabKeyNavigation(False)
        layout.addWidget(self.fleet_table, 1)
        self.summary = message_line(1)
        self.summary.setObjectName("fleet_summary")
        layout.addWidget(self.summary)
        restore = QHBoxLayout()
        note = QLabel(_("After a disk swap: rebuild this terminal's history (final transactions, sessions, Z "
                        "reports) from the store; anything the store holds as open is then asked about at the "
                        "gateway."))
        note.setWordWrap(True)
        restore.addWidget(note, 1)
        self.restore_button = button(_("Restore from the store…"))
        self.restore_button.setObjectName("store_restore")
        restore.addWidget(self.restore_button)
        layout.addLayout(restore)

    def show_fleet(self, fleet) -> None:
        """One row a terminal, in the order the use case gives (stale or failing first), the failing ones red."""
        rows = list(fleet)
        self.fleet_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            d = row.data
            test = d.get("selftest")
            test_words = {"pass": _("passed"), "fail": _("failed")}.get(test, _("never run") if test is None else test)
            colour = GREEN if row.ok else RED
            state = _("stale") if d.get("stale") else _("ok") if row.ok else _("failing")
            texts = [row.terminal, state, _moment(d.get("lastSeen")),
                     d.get("version") or "—", _queue_words(d), str(d.get("needsReview", 0) or 0), test_words,
                     _seconds(d.get("lagSeconds")), _seconds(d.get("clockOffsetSeconds")),
                     "; ".join(stored(p) for p in row.problems)]
            for c, text in enumerate(texts):
                self.fleet_table.setItem(r, c, cell(text, colour if c == 1 else None, bold=c == 1))
        self.fleet_table.resizeRowsToContents()
        failing = sum(1 for row in rows if not row.ok)
        self.summary.setText(_("{n} terminals, {failing} need a look").format(n=len(rows), failing=failing)
                             if rows else _("No terminal of this store has sent a heartbeat yet"))

    def unread(self) -> None:
        """The fleet could not be read: no earlier read left standing as if current (the reason is below)."""
        self.fleet_table.setRowCount(0)
        self.summary.setText(_("The store's terminals could not be read: see the message below."))

    def show_replication(self, state: dict | None) -> None:
        """This terminal's shipping to the store: what waits, how old the oldest is, and the last error."""
        if state is None:
            self.replication.setText(_("This terminal has not started: nothing to say about its replication."))
            return
        words = _("This terminal → the store: {backlog} changes waiting, lag {lag}; last shipped at {at}").format(
            backlog=state.get("backlog", 0), lag=_seconds(state.get("lagSeconds")),
            at=_moment(state.get("shippedAt")))
        if state.get("connected") is False:
            words += "; " + _("not connected to the store now")
        error = state.get("error")
        if error:
            words += "\n" + _("Last error: {error}").format(error=stored(error))
        self.replication.setStyleSheet(f"color: {RED};" if error else "")
        self.replication.setText(words)


def _queue_words(d: dict) -> str:
    depth, age = d.get("queueDepth"), d.get("oldestAgeSeconds")
    if depth is None:
        return "—"
    return str(depth) if not depth or age is None else _("{n} (oldest {age})").format(n=depth, age=_seconds(age))
