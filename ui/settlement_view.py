"""The manager's Settlement tab (issue 18): the business day held against the gateway's own report files.

The gateway settles what it believes happened; this tab shows, for the window's business day, what the last
reconciliation kept: the count of each class in words (the differences red), a row a transaction with the
differences first, the fee and net settlement per currency, which report files it came from and when, and the
warnings a file gave. Its buttons fetch the gateway's reports over the configured SFTP, import files the manager
downloaded from the dashboard, and export the result as CSV or PDF; Enter or a double click on a row shows that
transaction's history on the Day tab.

Widgets and words only. The window (:class:`ui.manager.ManagerWindow`) holds the two bound methods that call the
use cases (``reconcile_settlement`` and ``refresh_settlement``, :mod:`pos_app.services.settlement`); the work runs
off the UI thread through the window's :meth:`ui.operations.Operations._call`, and a failure is said on the
window's status line, its one place for errors. Nothing here reads a file or the journal, or decides a class.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pos_app.i18n import N_, _, stored
from pos_app.settlement.rows import CLASS_WORDS, CLASSES, DIFFERENCES, PENDING

from .money import format_amount
from .operations import RED
from .widgets import button, cell, message_line, table

AMBER = "#9a5b00"   # pending: not wrong, not final either

#: The rows' columns: what a manager reads first, first; the gateway's words last (they wrap).
ROW_COLUMNS = (N_("Class"), N_("Transaction"), N_("Type"), N_("Ours"), N_("The gateway's"), N_("Detail"))
TOTAL_COLUMNS = (N_("Currency"), N_("Transactions"), N_("Gross"), N_("Fee"), N_("Net settlement"))
#: A report file's kind in words (pos_app.settlement.columns' kinds).
KIND_WORDS = {"transactions": N_("transaction details"), "settlement": N_("settlement details"),
              "summary": N_("settlement summary")}
#: The report files Antom writes, for the import dialog's filter.
REPORT_FILTER = N_("Antom report files (*.csv *.xlsx);;All files (*)")


def class_words(cls: str) -> str:
    return _(CLASS_WORDS[cls]) if cls in CLASS_WORDS else cls


def _colour(cls: str) -> str | None:
    return RED if cls in DIFFERENCES else AMBER if cls == PENDING else None


def _moment(at) -> str:
    """A kept time (epoch seconds, or the text the service wrote) as a person reads it."""
    if at is None or at == "":
        return "—"
    if isinstance(at, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(at)))
    return str(at)


class SettlementPanel(QWidget):
    """The Settlement tab of ``window`` (a :class:`ui.manager.ManagerWindow`): it reads the window's ``day``,
    calls the window's bound methods and says its waits and results on the window's status line.

    ``result`` is the :class:`pos_app.services.settlement.Reconciliation` shown (None before the first);
    ``shown_day`` the business day it is for, so a day change reads again when the tab is next looked at."""

    progressed = Signal(str)   # words from the worker (the service's progress), said on the UI thread

    def __init__(self, window, parent=None) -> None:
        super().__init__(parent)
        self.window_ = window
        self.locale_name = window.locale_name
        self.result: Any = None
        self.shown_day: str | None = None
        self.last_export: Path | None = None
        self.rows: list[dict] = []   # the table's findings, in its order
        self.setObjectName("settlement_tab")
        self.progressed.connect(self._progressed)   # a bound method: queued to this (the UI) thread
        self._build()

    # -- building -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setObjectName("settlement_caption")
        self.caption.setWordWrap(True)
        top.addWidget(self.caption, 1)
        self.fetch_button = button(_("Fetch the gateway's reports"))
        self.import_button = button(_("Import report files…"))
        for widget, name in ((self.fetch_button, "settlement_fetch"), (self.import_button, "settlement_import")):
            widget.setObjectName(name)
            top.addWidget(widget)
        layout.addLayout(top)
        self.fetch_note = QLabel("")   # why Fetch is off, when it is
        self.fetch_note.setObjectName("settlement_fetch_note")
        self.fetch_note.setWordWrap(True)
        self.fetch_note.hide()
        layout.addWidget(self.fetch_note)
        self.counts = QLabel("")
        self.counts.setObjectName("settlement_counts")
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.counts)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.table = table([_(label) for label in ROW_COLUMNS])
        self.table.setObjectName("settlement_table")
        self.table.setTabKeyNavigation(False)   # read-only rows: Tab and Ctrl+Tab are the window's
        self.table.setSelectionMode(self.table.SelectionMode.SingleSelection)
        self.table.setToolTip(_("Enter or a double click shows the transaction's history on the Day tab"))
        self.table.activated.connect(lambda index: self.open_row(index.row()))   # Enter, or a double click
        split.addWidget(self.table)
        below = QWidget()
        below_layout = QHBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        self.totals = table([_(label) for label in TOTAL_COLUMNS])
        self.totals.setObjectName("settlement_totals")
        self.totals.setTabKeyNavigation(False)
        self.totals.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.totals.horizontalHeader().setStretchLastSection(False)   # the net beside the others
        self.totals.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.totals.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        below_layout.addWidget(self.totals)
        self.how = QPlainTextEdit()   # which files, when, by whom, and the warnings: as long as they are
        self.how.setObjectName("settlement_how")
        self.how.setReadOnly(True)
        self.how.setPlaceholderText(_("Which report files the day was reconciled from, and when, show here."))
        below_layout.addWidget(self.how, 1)
        split.addWidget(below)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

        out = QHBoxLayout()
        self.rows_label = message_line(2)   # two lines beside the export buttons take no more height
        self.rows_label.setObjectName("settlement_rows")
        out.addWidget(self.rows_label, 1)
        self.csv_button = button(_("Export CSV…"))
        self.pdf_button = button(_("Export PDF…"))
        for widget, name in ((self.csv_button, "settlement_csv"), (self.pdf_button, "settlement_pdf")):
            widget.setObjectName(name)
            widget.setEnabled(False)
            out.addWidget(widget)
        layout.addLayout(out)

        self.fetch_button.clicked.connect(self.fetch)
        self.import_button.clicked.connect(self.choose_files)
        self.csv_button.clicked.connect(lambda: self._export("csv"))
        self.pdf_button.clicked.connect(lambda: self._export("pdf"))
        self.window_.tabs.currentChanged.connect(lambda _index: self.looked_at())
        self._fetch_enabled()
        self.caption.setText(self._caption(None))

    # -- what the window asks --------------------------------------------------------------------------------
    @property
    def sftp(self) -> str | None:
        """The configured ``[settlement] sftp`` URL, or None (then only imported files reconcile)."""
        terminal = self.window_.core.terminal
        settlement = getattr(getattr(terminal, "config", None), "settlement", None)
        return getattr(settlement, "sftp", None) or None

    def looked_at(self) -> None:
        """The kept result is read when the tab is looked at, and again when the business day changed."""
        if self.window_.tabs.currentWidget() is self and self.shown_day != self.window_.day:
            self.window_.refresh_settlement()

    def day_changed(self) -> None:
        """The window's business day moved: nothing of the old day stays shown as if it were the new one's."""
        self.shown_day = None
        self.result = None
        self._clear(self._caption(None))
        self.looked_at()

    def busy(self, waiting: bool) -> None:
        """One reconciliation at a time: the buttons held while one runs."""
        self.import_button.setEnabled(not waiting)
        self._fetch_enabled(waiting)
        has = self.result is not None and not waiting
        self.csv_button.setEnabled(has)
        self.pdf_button.setEnabled(has)

    def _fetch_enabled(self, waiting: bool = False) -> None:
        url = self.sftp
        self.fetch_button.setEnabled(bool(url) and not waiting)
        if url:
            self.fetch_button.setToolTip(url)
            self.fetch_note.hide()
        else:
            self.fetch_note.setText(_("Fetching needs the gateway's SFTP server: [settlement] sftp in the terminal's "
                                      "config (a technician sets it). Until then, download the reports from the "
                                      "gateway's dashboard and import them."))
            self.fetch_note.show()

    # -- the buttons ------------------------------------------------------------------------------------------
    def fetch(self) -> None:
        url = self.sftp
        if not url:
            self._fetch_enabled()
            return
        self.window_.reconcile_settlement(sftp=url)

    def choose_files(self) -> None:
        """Qt's own file dialog (never the platform's: a kiosk has none, and a person can type a path in it),
        several files at once."""
        dialog = QFileDialog(self, _("Import the gateway's report files"), str(Path.home()))
        dialog.setObjectName("settlement_files")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilters(_(REPORT_FILTER).split(";;"))
        chosen = dialog.selectedFiles() if dialog.exec() else []
        self.window_.activateWindow()   # no window manager hands the keyboard back when the dialog closes
        if chosen:
            self.window_.reconcile_settlement(files=[Path(p) for p in chosen])

    def waiting_words(self, *, files=(), sftp: str | None = None) -> str:
        if sftp:
            return _("Fetching the reports from the gateway's SFTP server…")
        if files:
            return _("Reading {n} report files and matching them against the journal…").format(n=len(files))
        return _("Reading the kept reconciliation of {day}…").format(day=self.window_.day)

    def progress(self, words: str) -> None:
        """What the worker waits for now (called on the worker's thread): said on the status line."""
        self.progressed.emit(words)

    def _progressed(self, words: str) -> None:
        if self.window_.busy:   # a word that arrives after the result must not cover what it came to
            self.window_._say(words)

    # -- the result --------------------------------------------------------------------------------------------
    def show_result(self, day: str, result, *, fresh: bool) -> None:
        """A Reconciliation for ``day``; ``fresh`` when it was just made (then the status line says what came)."""
        if day != self.window_.day:   # the business day moved meanwhile: its own read is under way or to come
            self.busy(False)
            return
        self.result, self.shown_day = result, day
        data = result.data
        self.caption.setText(self._caption(data))
        self._counts(data.get("counts") or {})
        self._rows(data.get("findings") or [])
        self._totals(data.get("totals") or {})
        self.how.setPlainText("\n".join(self.how_lines(data)))
        warnings = len(data.get("warnings") or []) + len(data.get("refused") or [])
        if warnings:   # said where the eye is, beside the row count; the words are in the box below
            self.rows_label.setText(self.rows_label.text() + "  ·  " + _(
                "{n} warnings or refused files (in the box above)").format(n=warnings))
        self.busy(False)
        if fresh:
            words, error = self.outcome_words(day, data)
            self.window_._say(words, error=error)

    def outcome_words(self, day: str, data: dict) -> tuple[str, bool]:
        """What a run came to, for the status line (two lines): a refused file first, as a failure is said
        (what is wrong, then what to do, on its own line; the rest of the run is on the tab), else the differences."""
        refused = data.get("refused") or []
        if refused:
            first = refused[0]
            words = stored(str(first.get("why") or first.get("name", "")))
            if len(refused) > 1:
                words += " " + _("(and {n} more files refused: listed below the table)").format(n=len(refused) - 1)
            if first.get("hint"):
                words += f"\n→ {stored(str(first['hint']))}"
            return words, True
        differences = int(data.get("differences") or 0)
        skipped = data.get("skipped") or []
        words = "" if data.get("imported") or not skipped else _("Nothing new: {why}.").format(
            why=stored(str(skipped[0].get("why")))) + " "
        words += (_("Reconciled {day}: {n} differences need a look (red, first in the table).").format(
            day=day, n=differences) if differences else
            _("Reconciled {day}: no difference with the gateway's reports.").format(day=day))
        return words, bool(differences)

    def unread(self, day: str) -> None:
        """It failed: nothing of an earlier read left as if current (the reason is on the status line)."""
        self.busy(False)
        if day == self.window_.day and self.result is None:
            self.shown_day = None
            self._clear(_("The reconciliation of {day} could not be read: see the message above.").format(day=day))

    def _clear(self, caption: str) -> None:
        self.caption.setText(caption)
        self.counts.setText("")
        self.rows = []
        self.table.setRowCount(0)
        self.totals.setRowCount(0)
        self.how.setPlainText("")
        self.rows_label.setText("")
        self.busy(False)

    def _caption(self, data: dict | None) -> str:
        day = self.window_.day
        if not data or not (data.get("findings") or data.get("runs")):
            return _("{day}: not reconciled against the gateway's reports yet. Fetch them, or import the files "
                     "downloaded from the gateway's dashboard.").format(day=day)
        source = data.get("source") or "journal"
        against = _("the store's database") if source == "store" else _("this terminal's journal")
        return _("{day} held against the gateway's reports, matched with {against}").format(day=day, against=against)

    def _counts(self, counts: dict) -> None:
        parts = []
        for cls in CLASSES:
            n = int(counts.get(cls) or 0)
            words = f"{class_words(cls)}: {n}"
            colour = _colour(cls) if n else None
            parts.append(f"<span style='color:{colour}; font-weight:bold'>{words}</span>" if colour else words)
        self.counts.setText(" · ".join(parts))

    def _rows(self, findings: list[dict]) -> None:
        self.rows = list(findings)   # in the service's order: differences first, then pending, then matched
        self.table.setRowCount(len(self.rows))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, f in enumerate(self.rows):
            cls = _cls(f)
            texts = (class_words(cls), _request(f), f.get("type") or "", self._ours(f), self._theirs(f),
                     f.get("detail") or "")   # in words already (the service's detail_text)
            where = ", ".join(f"{row.get('file')}:{row.get('line')}" for row in f.get("rows") or [])
            for c, text in enumerate(texts):
                item = cell(text, _colour(cls) if c == 0 else None, bold=c == 0 and cls in DIFFERENCES)
                item.setData(Qt.ItemDataRole.UserRole, r)
                if where:
                    item.setToolTip(_("the gateway's report lines: {where}").format(where=where))
                if c in (3, 4):
                    item.setTextAlignment(right)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        differences = sum(1 for f in self.rows if _cls(f) in DIFFERENCES)
        self.rows_label.setText(_("{n} rows, {d} differences first; Enter or a double click on one shows its "
                                  "history").format(n=len(self.rows), d=differences) if self.rows else "")

    def _ours(self, f: dict) -> str:
        ours = f.get("ours") or {}
        return self._money(ours.get("amount"), ours.get("currency"))

    def _theirs(self, f: dict) -> str:
        return self._money(f.get("theirAmount"), f.get("theirCurrency"))

    def _money(self, amount, currency) -> str:
        if amount is None or not currency:
            return "—"
        return format_amount(int(amount), str(currency), self.locale_name)

    def _totals(self, totals: dict) -> None:
        self.totals.setRowCount(len(totals))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, (currency, t) in enumerate(sorted(totals.items())):
            count = str(t.get("count", ""))
            if t.get("pending"):   # rows whose settlement amount is not known yet: not in the sums
                count = _("{n} (+{pending} pending)").format(n=count, pending=t["pending"])
            texts = (currency, count, self._money(t.get("gross"), currency),
                     self._money(t.get("fee"), currency), self._money(t.get("net"), currency))
            for c, text in enumerate(texts):
                item = cell(text, bold=c == 4)
                if c:
                    item.setTextAlignment(right)
                self.totals.setItem(r, c, item)

    def how_lines(self, data: dict) -> list[str]:
        """How the day was reconciled: the runs (when, by whom, against what), the files this run read (kind,
        rows), those skipped or refused and why, and the warnings."""
        lines = []
        for run in data.get("runs") or []:
            source = _("the store's database") if run.get("source") == "store" else _("this terminal's journal")
            lines.append(_("Reconciled at {at} by {by}, against {source}").format(
                at=_moment(run.get("at")), by=run.get("by") or "—", source=source))
        imported = data.get("imported") or []
        behind = sorted({row.get("file") for f in data.get("findings") or [] for row in f.get("rows") or []} - {None})
        if behind:   # the kept result: the files its rows came from, whichever run read them
            lines.append(_("The gateway's rows come from: {files}").format(files=", ".join(behind)))
        if imported:
            lines.append(_("This time, from {n} report files:").format(n=len(imported)))
            for f in imported:
                kind = f.get("kind", "")
                lines.append("  " + _("{name} ({kind}, {rows} rows)").format(
                    name=f.get("name", ""), kind=_(KIND_WORDS[kind]) if kind in KIND_WORDS else kind,
                    rows=f.get("rows", 0)))
        for f in data.get("skipped") or []:
            lines.append(_("Skipped {name}: {why}").format(name=f.get("name", ""), why=stored(str(f.get("why", "")))))
        for f in data.get("refused") or []:
            lines.append(_("REFUSED {name}: {why}").format(name=f.get("name", ""), why=stored(str(f.get("why", "")))))
            if f.get("hint"):
                lines.append(f"  → {stored(str(f['hint']))}")
        warnings = data.get("warnings") or []
        if warnings:
            lines.append(_("Warnings:"))
            lines += ["  " + stored(str(w)) for w in warnings]
        return lines

    # -- a row's history ---------------------------------------------------------------------------------------
    def open_row(self, row: int) -> None:
        """The transaction's history, the way the Day tab shows a selected one; a row the journal has not got
        is said so (only the gateway has it: nothing to show but its row)."""
        if not 0 <= row < len(self.rows):
            return
        f = self.rows[row]
        ledger_id = _ledger_id(f)
        if not ledger_id:
            self.window_._say(_("{id} is not in this terminal's journal: only the gateway's report has it ({detail})."
                                ).format(id=_request(f), detail=f.get("detail") or class_words(_cls(f))),
                              error=True)
            return
        window = self.window_
        here = getattr(getattr(getattr(window.core.terminal, "config", None), "merchant", None), "terminal_id", None)
        if f.get("terminal") and here and f["terminal"] != here:   # matched from the store's database
            window._say(_("{id} was made at terminal {terminal}: its history is in that terminal's journal "
                          "(there: pos-terminal report --txn {id}).").format(id=ledger_id, terminal=f["terminal"]))
            return
        window.tabs.setCurrentIndex(0)
        window.table.selectionModel().clearCurrentIndex()   # no other row left highlighted beside its history
        window.table.clearSelection()
        window.select_id(ledger_id)
        window._say(_("The history of {id} ({cls}), from the Settlement tab.").format(
            id=ledger_id, cls=class_words(_cls(f))))

    # -- exports -------------------------------------------------------------------------------------------------
    def _export(self, kind: str) -> None:
        if self.result is None:
            return
        name = f"settlement-{self.shown_day}.{kind}"
        path, _filter = QFileDialog.getSaveFileName(self, _("Export the reconciliation"), str(Path.home() / name),
                                                    "CSV (*.csv)" if kind == "csv" else "PDF (*.pdf)")
        self.window_.activateWindow()
        if path:
            self.export(Path(path), kind)

    def export(self, path: Path, kind: str) -> None:
        """The shown reconciliation as CSV or PDF, written off the UI thread (a slow or full disk waits there)."""
        result = self.result
        if result is None:
            self.window_._say(_("nothing reconciled to export yet"), error=True)
            return
        write = result.write_csv if kind == "csv" else result.write_pdf
        self.window_._call(lambda: write(path), on_done=self._exported)

    def _exported(self, path) -> None:
        self.last_export = Path(path)
        self.window_._say(_("written to {path}").format(path=path))


# -- a finding's fields, as the service's ``.data`` writes them ----------------------------------------------------
def _cls(f: dict) -> str:
    return f.get("class") or ""


def _request(f: dict) -> str:
    return f.get("requestId") or ""


def _ledger_id(f: dict) -> str | None:
    """The journal's id of the transaction (a sale paid by entry code is kept under its own id, not the
    merchant page's request id), or None when the journal has no row for it."""
    return f.get("ledgerId") or None
