"""The manager's window (opened with the manager's Grant from the PIN dialog): the day, refunds and
cancels, review, X and Z, and the store's day.

The tabs:

* **Day**: one business day's totals per currency and status (the ``day_report`` use case, the same as
  ``pos-terminal report``), an hourly chart of paid sales, and a table over :class:`DayModel`, which pages
  from SQLite and never holds the day in memory; a selected row shows its event history, audit entries
  and what is left to refund, and can be refunded (in full or in part) or cancelled, with a reason, or
  asked about at the gateway.
* **Review**: what is still open or needs a manager: retry the inquiry, retry the cancel, or mark it
  resolved with a note.
* **Reports**: the X report (the session so far), the Z report (closes the session: numbered, refused
  when nothing is new), the reprint of a stored Z by number, and exports to CSV and PDF.
* **Entry code**: entry-code payments no waiting sale took, assigned or acknowledged.
* **Settlement**: the business day held against the gateway's report files (issue 18): counts per class, the
  differences first, fee and net per currency, the files it came from; fetch over SFTP or import files
  (:mod:`ui.settlement_view` draws it).
* **Store** (only with ``[store]``, issue 17): every counter's day read from the store's PostgreSQL with a
  terminal column and the figures per terminal and for the store (``store_day``), the store's X
  (``store_x``), and the store's closing (``store_close``), which lists the counters missing their Z or
  lagging and closes past them only when the manager says so (:mod:`ui.store_views` draws it).

Every action is a use case of :mod:`pos_app.services`, called with the window's Grant, so the rule, the
refusal and the audit record are the CLI's: nothing here decides, computes money or writes SQL. Every
call that may wait (the journal beyond one bounded page, the gateway, a file) runs through
:meth:`ui.bridge.Core.call`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QDate, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app import services
from pos_app.errors import PosError
from pos_app.i18n import N_, _, stored
from pos_app.money import format_minor, parse_money
from pos_app.vocabulary import (
    CANCEL,
    FAILED,
    KIND_WORDS,
    REFUND,
    SALE,
    STATUSES,
    SUCCESS,
    TENDER_WORDS,
    status_words,
)

from .money import format_amount
from .operations import Operations, error_text, tell
from .settlement_view import SettlementPanel
from .store_views import StorePanel, blockers_words
from .widgets import TOUCH, ModeWindow, confirm_box, message_line, title
from .widgets import button as _button

#: (column, header) of the day table, in display order: the columns of ``offline_queue.daybook``.
COLUMNS = (("created_at", N_("Time")), ("id", N_("ID")), ("kind", N_("Kind")), ("tender", N_("Tender")),
           ("amount", N_("Amount")), ("currency", N_("Currency")), ("status", N_("Status")),
           ("result_code", N_("Result code")), ("description", N_("Description")))

TENDERS = tuple(TENDER_WORDS)
HIDDEN = frozenset({"currency", "result_code"})   # the amount carries its currency; the detail says the code
COLUMN_WIDTHS = {"created_at": 70, "id": 190, "kind": 60, "tender": 105, "amount": 100, "status": 95}
PRINT_WAIT = 15.0   # seconds a print waits (off the UI thread) for the printer to say printed or not
PRINT_AGAIN = 1.0   # seconds: Print again this soon for the same slip is the click repeated, not a copy more
SHOWN_ORDER = ("created_at", "amount", "status", "kind", "tender", "id", "description")


class DayModel(QAbstractTableModel):
    """The day's transactions, paged from the journal: never all rows in memory.

    ``rowCount`` is a ``COUNT(*)`` with the current filter (its ``day=?`` term uses the (day, created_at)
    index). Rows come in pages of ``page_size`` (``ORDER BY <column>, id LIMIT ? OFFSET ?``) when a row of a
    page not yet loaded is asked for; the last ``cache_pages`` pages are kept. The queries are
    :mod:`offline_queue.daybook`'s, reached through :mod:`pos_app.services.manager`; ``queries`` lists
    every one run (SQL, parameters), for tests and benchmarks.

    Threads: with ``run`` (``Core.call``-like: ``run(fn, *args, on_done=, on_error=)``) the count and the
    pages are read on a worker and ``data()`` shows an empty cell until its page arrives (then
    ``dataChanged``), so even an unindexed sort of a busy day or a LIKE filter never stalls the screen.
    Without ``run`` (tools, benchmarks) each query runs where it is asked; every page query is still
    bounded (LIMIT ``page_size``), and the default order (time) walks the (day, created_at) index.
    """

    page_loaded = Signal(int)   # the page number
    counted = Signal(int)       # the new row count

    def __init__(self, journal, day: str, *, run=None, page_size: int = 200, cache_pages: int = 8,
                 locale_name: str | None = None) -> None:
        super().__init__()
        self.journal, self.run = journal, run
        self.page_size, self.cache_pages = page_size, cache_pages
        self.locale_name = locale_name
        self.filter = services.manager.day_filter(day)
        self.sort_column, self.sort_order = 0, Qt.SortOrder.DescendingOrder
        self._count = 0
        self._pages: OrderedDict[int, list[tuple]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0
        self.queries: list[tuple[str, tuple]] = []   # every SQL run, for tests and benchmarks
        self.error: str = ""
        self.refresh()

    # -- what to show -------------------------------------------------------------------------------
    def set_filter(self, day_filter) -> None:
        """Show ``day_filter`` (from :func:`pos_app.services.manager.day_filter`, which refused a bad
        amount in words before anything changed)."""
        self.filter = day_filter
        self.refresh()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(COLUMNS):
            self.sort_column, self.sort_order = column, order
            self.refresh(keep_count=True)

    def refresh(self, *, keep_count: bool = False) -> None:
        """Drop the cached pages and count again (after a filter, a sort, or new transactions)."""
        self.beginResetModel()
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        if not keep_count:
            self._count = 0
        self.endResetModel()
        day_filter, generation = self.filter, self._generation
        self._do(lambda: services.manager.day_count(self.journal, day_filter, log=self.queries),
                 on_done=lambda n: self._set_count(generation, n))

    # -- queries ------------------------------------------------------------------------------------
    def _do(self, fn, on_done) -> None:
        if self.run is None:
            try:
                result = fn()
            except PosError as exc:
                self._failed(exc)
                return
            on_done(result)
        else:
            self.run(fn, on_done=on_done, on_error=self._failed)

    def _failed(self, exc: Exception) -> None:
        self.error = str(exc)

    def _set_count(self, generation: int, count: int) -> None:
        if generation != self._generation:
            return
        self.beginResetModel()
        self._count = count
        self._pages.clear()
        self._pending.clear()
        self.endResetModel()
        self.counted.emit(count)

    def _fetch(self, page: int) -> None:
        if page in self._pending:
            return
        self._pending.add(page)
        day_filter, generation = self.filter, self._generation
        order, descending = COLUMNS[self.sort_column][0], self.sort_order == Qt.SortOrder.DescendingOrder
        self._do(lambda: services.manager.day_page(self.journal, day_filter, order=order, descending=descending,
                                                   offset=page * self.page_size, limit=self.page_size,
                                                   log=self.queries),
                 on_done=lambda rows: self._arrived(generation, page, rows))

    def _arrived(self, generation: int, page: int, rows: list[tuple]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > self.cache_pages:
            self._pages.popitem(last=False)
        first = page * self.page_size
        last = min(first + len(rows), self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.page_loaded.emit(page)

    @property
    def pages_loaded(self) -> list[int]:
        return list(self._pages)

    # -- the model ------------------------------------------------------------------------------------
    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else self._count

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return _(COLUMNS[section][1])
        return None

    def row(self, row: int) -> tuple | None:
        """The raw row (columns as :data:`COLUMNS`), or None while its page is being read."""
        if not 0 <= row < self._count:
            return None
        page, offset = divmod(row, self.page_size)
        rows = self._pages.get(page)
        if rows is None:
            self._fetch(page)
            rows = self._pages.get(page)   # there at once when the model reads synchronously
            if rows is None:
                return None
        else:
            self._pages.move_to_end(page)
        return rows[offset] if offset < len(rows) else None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.UserRole):
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            return right if COLUMNS[index.column()][0] == "amount" else None
        values = self.row(index.row())
        if values is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return values[1]   # the transaction id
        name, value = COLUMNS[index.column()][0], values[index.column()]
        if name == "created_at":
            return time.strftime("%H:%M:%S", time.localtime(value))
        if name == "amount":
            return format_amount(value, values[5], self.locale_name)
        if name == "kind":
            return kind_words(value)
        if name == "tender":
            return tender_words(value)
        if name == "status":
            return _(status_words(values[2], value, values[7]))   # the day's columns: kind 2, result code 7
        return "" if value is None else str(value)


class HourlyChart(QWidget):
    """Paid sales per hour of the day: 24 bars, painted, for the largest currency of the day."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.values = [0] * 24
        self.currency = ""
        self.others: list[str] = []
        self.setMinimumHeight(140)

    def set_data(self, per_currency: dict[str, list[int]]) -> None:
        if per_currency:
            self.currency = max(per_currency, key=lambda c: sum(per_currency[c]))
            self.values = per_currency[self.currency]
            self.others = sorted(c for c in per_currency if c != self.currency)
        else:
            self.currency, self.values, self.others = "", [0] * 24, []
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#ffffff"))
        fm = p.fontMetrics()
        heading = _("Paid sales per hour") + (f" ({self.currency})" if self.currency else "")
        if self.others:
            heading += "  · " + _("also: {currencies}").format(currencies=", ".join(self.others))
        p.setPen(QColor("#1f2933"))
        p.drawText(8, fm.ascent() + 4, heading)
        top = fm.height() + 10
        bottom = self.height() - fm.height() - 6
        left, right = 8, self.width() - 8
        peak = max(self.values) or 1
        slot = (right - left) / 24
        p.setPen(QColor("#9aa5b1"))
        p.drawLine(left, bottom, right, bottom)
        for hour, value in enumerate(self.values):
            x = left + hour * slot
            height = (bottom - top) * value / peak
            if value:
                p.fillRect(QRectF(x + 2, bottom - height, slot - 4, height), QColor("#1b7f3b"))
            if hour % 3 == 0:
                p.setPen(QColor("#52606d"))
                p.drawText(QRectF(x, bottom + 2, slot * 3, fm.height()), Qt.AlignmentFlag.AlignLeft, f"{hour:02d}")
        if self.currency:
            p.setPen(QColor("#1f2933"))
            label = format_minor(peak, self.currency)
            p.drawText(QRectF(left, top, right - left, fm.height()), Qt.AlignmentFlag.AlignRight,
                       _("max {amount}").format(amount=label))
        p.end()


def item_amount(item: dict, locale_name: str | None = None) -> str:
    if item.get("currency") is None:
        return "—"
    return format_amount(item["amount"], item["currency"], locale_name)


def kind_words(kind: str | None) -> str:
    return _(KIND_WORDS[kind]) if kind in KIND_WORDS else (kind or "")


def tender_words(tender: str | None) -> str:
    return _(TENDER_WORDS[tender]) if tender in TENDER_WORDS else (tender or "")


def _clock(at: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) if at else ""


def detail_lines(detail: dict, locale_name: str | None = None) -> list[str]:
    """The selected transaction in words: what it is, then its history (the service's timeline: its steps,
    its refunds and cancels, and who asked for each and why)."""
    row = detail["row"] or {}
    if not row:
        return []
    amount = format_amount(row["amount"], row["currency"], locale_name)
    out = [_("{kind} {id}").format(kind=kind_words(row.get("kind")).capitalize(), id=row["id"]),
           f"{_(status_words(row['kind'], row['status'], row.get('result_code')))} · {amount}"
           + (f" · {tender_words(row.get('tender'))}" if row.get("tender") else "")]
    if row.get("parent"):
        out.append(_("for sale {id}").format(id=row["parent"]))
    if row.get("payment_id"):
        out.append(_("gateway payment id: {id}").format(id=row["payment_id"]))
    if row.get("message") and row.get("status") != SUCCESS:   # a success's message is the word "success"
        out.append(_("the gateway said: {message}").format(message=stored(row["message"])))
    out.append("")
    out.append(_("History"))
    out += [f"  {line}" for line in detail.get("timeline") or []] or ["  " + _("none")]
    return out


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class ManagerWindow(Operations, ModeWindow):
    """``ManagerWindow(core, grant, day=None)``: ``grant`` is what :class:`ui.pin_dialog.PinDialog` gave
    for the manager PIN (its ``asked_by`` fills the "asked by" box). ``core`` is a started Core.

    It covers the till (:class:`ui.widgets.ModeWindow`): Esc or "Back to the till" closes it and gives the
    till the keyboard back. Every confirmation defaults to No: an Enter pressed by habit moves no money
    and closes no session."""

    def __init__(self, core, grant: services.Grant, *, day: str | None = None, locale_name: str | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.core, self.grant, self.locale_name = core, grant, locale_name
        self.journal = core.terminal.journal
        self.till = services.manager.till(core.terminal)
        self.day = day or services.manager.today()
        self.shown: services.closing.Report | None = None   # the report on the Reports tab, for the exports
        self.store_day_shown: str | None = None   # the business day the Store tab last asked the store for
        self.store_day: services.store.StoreReport | None = None       # the store's day, its X, its closing:
        self.store_report: services.store.StoreReport | None = None    # as the use cases returned them (tests)
        self.store_closing: services.store.StoreClosing | None = None
        self.selected_id: str | None = None
        self.detail: dict | None = None
        self.busy = 0
        self._slips_printing: set[str] = set()            # the slips Print receipt is printing now
        self._slip_asked: tuple[str, float] | None = None  # the slip it last asked for, and when (monotonic)
        self._slip_said = ""                                # what became of it, in words (said again to a click)
        self._report_asked: tuple[object, float, bool] | None = None   # the report Print last sent, when, in flight
        # tests replace it (a modal box needs a person): confirm(text, yes_text) -> bool
        self.confirm: Callable[..., bool] = self._confirm
        self.setObjectName("manager")
        self.setWindowTitle(_("pos-terminal: manager"))
        self._build(grant.asked_by)
        self.set_day(self.day)

    # -- building -------------------------------------------------------------------------------------
    def _build(self, asked_by: str) -> None:
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(title(_("Manager")))
        top.addSpacing(12)
        top.addWidget(QLabel(_("Business day")))
        self.date_edit = QDateEdit(QDate.fromString(self.day, "yyyy-MM-dd"))
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setMinimumHeight(TOUCH)
        self.date_edit.dateChanged.connect(lambda d: self.set_day(d.toString("yyyy-MM-dd")))
        top.addWidget(self.date_edit)
        top.addWidget(QLabel(_("Asked by")))
        # Who asked for what follows (the audit's "asked by"); the counter's default is a code word, not a
        # name, so the box shows it as its placeholder in the person's language, and stays it when left empty.
        self.asked_by_edit = QLineEdit("" if asked_by == services.counter().asked_by else asked_by)
        self.asked_by_edit.setPlaceholderText(_("the cashier, or a name"))
        self.asked_by_edit.setMinimumHeight(TOUCH)
        self.asked_by_edit.setMaximumWidth(180)
        top.addWidget(self.asked_by_edit)
        top.addStretch(1)
        self.refresh_button = _button(_("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        self.back_to_till = self.back_button()
        top.addWidget(self.back_to_till)
        outer.addLayout(top)
        self.status = message_line(2)
        self.status.setObjectName("status")
        outer.addWidget(self.status)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._day_tab(), _("Day"))
        self.tabs.addTab(self._review_tab(), _("Review"))
        self.tabs.addTab(self._reports_tab(), _("Reports"))
        self.tabs.addTab(self._entry_tab(), _("Entry code"))
        self.settlement_panel = SettlementPanel(self)   # the day against the gateway's reports (issue 18)
        self.tabs.addTab(self.settlement_panel, _("Settlement"))
        self.store_panel: StorePanel | None = None   # the Store tab: only with [store] (issue 17)
        store = getattr(self.core.terminal.config, "store", None)
        if store is not None:
            self.store_panel = StorePanel(store.store_id, self.locale_name)
            self._cap_store_day()
            self.store_panel.refresh_button.clicked.connect(self.show_store_day)
            self.store_panel.x_button.clicked.connect(self.store_x_report)
            self.store_panel.close_button.clicked.connect(self.store_close)
            self.tabs.addTab(self.store_panel, _("Store"))
            self.tabs.currentChanged.connect(self._store_tab_shown)
        outer.addWidget(self.tabs, 1)

    def _day_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        head = QHBoxLayout()
        self.summary_box = QWidget()
        self.summary_box.setObjectName("summary")
        self.summary_grid = QGridLayout(self.summary_box)
        self.summary_grid.setContentsMargins(0, 0, 0, 0)
        self.summary_grid.setHorizontalSpacing(14)
        self.summary_grid.setVerticalSpacing(2)
        self.totals = QLabel(_("Loading…"))   # the summary's caption, or why there is none
        self.totals.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        head_left = QVBoxLayout()
        head_left.addWidget(self.totals)
        head_left.addWidget(self.summary_box)
        head_left.addStretch(1)
        head.addLayout(head_left, 1)
        self.chart = HourlyChart()
        self.chart.setMinimumWidth(300)
        self.chart.setMinimumHeight(120)
        self.chart.setMaximumHeight(150)
        head.addWidget(self.chart, 1)
        layout.addLayout(head)

        filters = QHBoxLayout()
        self.status_filter = QComboBox()
        self.status_filter.addItem(_("any status"), "")
        for status in STATUSES:   # a sale's word, and a refund's or cancel's where it differs ("Paid / Done")
            words = dict.fromkeys(_(status_words(kind, status)) for kind in (SALE, REFUND))
            self.status_filter.addItem(" / ".join(words), status)
        self.tender_filter = QComboBox()
        self.tender_filter.addItem(_("any tender"), "")
        for tender in TENDERS:
            self.tender_filter.addItem(tender_words(tender), tender)
        self.min_edit, self.max_edit = QLineEdit(), QLineEdit()
        self.min_edit.setPlaceholderText(_("from amount"))
        self.max_edit.setPlaceholderText(_("to amount"))
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText(_("id, paymentId or description"))
        for w in (self.status_filter, self.tender_filter, self.min_edit, self.max_edit, self.text_filter):
            w.setMinimumHeight(TOUCH)
        self.min_edit.setMaximumWidth(100)
        self.max_edit.setMaximumWidth(100)
        filters.addWidget(self.status_filter)
        filters.addWidget(self.tender_filter)
        filters.addWidget(self.min_edit)
        filters.addWidget(self.max_edit)
        filters.addWidget(self.text_filter, 1)
        self.filter_button = _button(_("Filter"))
        filters.addWidget(self.filter_button)
        self.rows_label = QLabel("")
        filters.addWidget(self.rows_label)
        layout.addLayout(filters)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.tender_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        for edit in (self.min_edit, self.max_edit, self.text_filter):
            edit.returnPressed.connect(self.apply_filter)
        self.filter_button.clicked.connect(self.apply_filter)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        self.model = DayModel(self.journal, self.day, run=self.core.call, locale_name=self.locale_name)
        self.model.counted.connect(self._rows_counted)
        self.model.page_loaded.connect(self._page_loaded)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)   # read-only rows: Tab and Ctrl+Tab are the window's (next tab)
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, (name, _label) in enumerate(COLUMNS):
            self.table.setColumnWidth(column, COLUMN_WIDTHS.get(name, 100))
            self.table.setColumnHidden(column, name in HIDDEN)
        names = [name for name, _label in COLUMNS]
        for place, name in enumerate(SHOWN_ORDER):   # what a manager reads first, first; the id further right
            header.moveSection(header.visualIndex(names.index(name)), place)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._row_selected(cur.row()))
        split.addWidget(self.table)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        self.detail_view = QPlainTextEdit()
        self.detail_view.setReadOnly(True)
        self.detail_view.setPlaceholderText(_("Select a transaction to see its history"))
        side_layout.addWidget(self.detail_view, 1)
        actions = QGroupBox(_("Refund, cancel or print the selected transaction"))
        form = QGridLayout(actions)
        self.refundable_label = QLabel("")
        self.refundable_label.setFixedHeight(self.refundable_label.fontMetrics().lineSpacing() + 4)
        self.amount_edit = QLineEdit()
        self.amount_edit.setPlaceholderText(_("empty: all that is left"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(_("required"))
        for edit in (self.amount_edit, self.reason_edit):
            edit.setMinimumHeight(36)
        form.addWidget(self.refundable_label, 0, 0, 1, 3)
        form.addWidget(QLabel(_("Amount")), 1, 0)
        form.addWidget(self.amount_edit, 1, 1, 1, 2)
        form.addWidget(QLabel(_("Reason")), 2, 0)
        form.addWidget(self.reason_edit, 2, 1, 1, 2)
        self.refund_button = _button(_("Refund…"))
        self.cancel_button = _button(_("Cancel sale…"))
        self.inquiry_button = _button(_("Ask the gateway"))
        self.print_slip_button = _button(_("Print receipt"))
        form.addWidget(self.refund_button, 3, 0)
        form.addWidget(self.cancel_button, 3, 1)
        form.addWidget(self.inquiry_button, 3, 2)
        form.addWidget(self.print_slip_button, 4, 0, 1, 3)
        for widget, name in ((self.amount_edit, "refund_amount"), (self.reason_edit, "refund_reason"),
                             (self.refund_button, "refund"), (self.cancel_button, "cancel_sale"),
                             (self.inquiry_button, "inquiry"), (self.refundable_label, "refundable"),
                             (self.print_slip_button, "print_slip"),
                             (self.detail_view, "detail"), (self.table, "day_table")):
            widget.setObjectName(name)   # what the end-to-end tests find them by, in any language
        self.refund_button.clicked.connect(self.refund_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.inquiry_button.clicked.connect(self.inquire_selected)
        self.print_slip_button.clicked.connect(self.reprint_selected)
        side_layout.addWidget(actions)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self._actions_enabled()
        return tab

    def _review_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(QLabel(_("Still open, or waiting for a manager")))
        self.review_table = QTableWidget(0, 6)
        self.review_table.setHorizontalHeaderLabels([_("Created"), _("ID"), _("Kind"), _("Amount"), _("Status"),
                                                     _("Message")])
        self.review_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.review_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.review_table.setTabKeyNavigation(False)
        self.review_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.review_table.verticalHeader().setVisible(False)
        self.review_table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((150, 220, 70, 110, 110)):
            self.review_table.setColumnWidth(column, width)
        layout.addWidget(self.review_table, 1)
        self.review_empty = message_line(1)
        layout.addWidget(self.review_empty)
        row = QHBoxLayout()
        self.retry_inquiry_button = _button(_("Retry inquiry"))
        self.retry_cancel_button = _button(_("Retry cancel"))
        self.note_edit = QLineEdit()
        self.note_edit.setMinimumHeight(TOUCH)
        self.note_edit.setPlaceholderText(_("note: what was found, e.g. checked on the gateway portal"))
        self.resolve_button = _button(_("Mark resolved"))
        row.addWidget(self.retry_inquiry_button)
        row.addWidget(self.retry_cancel_button)
        row.addWidget(self.note_edit, 1)
        row.addWidget(self.resolve_button)
        layout.addLayout(row)
        self.retry_inquiry_button.clicked.connect(self.retry_inquiry)
        self.retry_cancel_button.clicked.connect(self.retry_cancel)
        self.resolve_button.clicked.connect(self.resolve)
        return tab

    def _reports_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.x_button = _button(_("X report"))
        self.z_button = _button(_("Z report (close the session)…"))
        self.z_number = QSpinBox()
        self.z_number.setRange(1, 10 ** 9)
        self.z_number.setMinimumHeight(TOUCH)
        self.z_number.setPrefix(_("Z #"))
        self.reprint_button = _button(_("Reprint"))
        self.csv_button = _button(_("Export CSV…"))
        self.pdf_button = _button(_("Export PDF…"))
        self.print_report_button = _button(_("Print"))
        for w in (self.x_button, self.z_button, self.z_number, self.reprint_button):   # which report
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        out = QHBoxLayout()   # where it goes: a second row, so the tab fits a small screen in any language
        for w in (self.print_report_button, self.csv_button, self.pdf_button):
            out.addWidget(w)
        out.addStretch(1)
        layout.addLayout(out)
        self.report_message = message_line(2)
        self.report_message.setObjectName("report_message")
        layout.addWidget(self.report_message)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setFont(_mono())
        self.report_view.setPlaceholderText(_("An X report shows the session since the last Z at any time; the Z "
                                              "report closes it. A stored Z is reprinted by its number."))
        layout.addWidget(self.report_view, 1)
        for widget, name in ((self.x_button, "x_report"), (self.z_button, "z_report"),
                             (self.reprint_button, "reprint"), (self.report_view, "report_view"),
                             (self.print_report_button, "print_report")):
            widget.setObjectName(name)
        self.x_button.clicked.connect(self.x_report)
        self.z_button.clicked.connect(self.z_report)
        self.reprint_button.clicked.connect(lambda: self.z_reprint())
        self.csv_button.clicked.connect(lambda: self._export("csv"))
        self.pdf_button.clicked.connect(lambda: self._export("pdf"))
        self.print_report_button.clicked.connect(lambda: self.print_report())
        self.csv_button.setEnabled(False)
        self.pdf_button.setEnabled(False)
        self.print_report_button.setEnabled(False)
        return tab

    def _entry_tab(self) -> QWidget:
        """Entry-code payments that came with no waiting amount: assigned to the sale they belong to, or
        acknowledged as a sale of their own (a refund is the way back if nobody's)."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        intro = QLabel(_("Payments by the store's entry code that no waiting sale took. Assign one to the sale "
                         "it was for, or acknowledge it as a sale of its own (refund it from the Day tab if it "
                         "was nobody's)."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.unmatched_table = QTableWidget(0, 5)
        self.unmatched_table.setObjectName("unmatched_table")
        self.unmatched_table.setHorizontalHeaderLabels([_("Arrived"), _("Amount"), _("Wallet"), _("Payment"),
                                                        _("Waiting sale")])
        self.unmatched_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.unmatched_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.unmatched_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.unmatched_table.setTabKeyNavigation(False)
        self.unmatched_table.verticalHeader().setVisible(False)
        self.unmatched_table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((90, 110, 110, 230)):
            self.unmatched_table.setColumnWidth(column, width)
        layout.addWidget(self.unmatched_table, 1)
        self.unmatched_empty = message_line(1)
        self.unmatched_empty.setObjectName("unmatched_empty")
        layout.addWidget(self.unmatched_empty)
        row = QHBoxLayout()
        self.assign_button = _button(_("Assign to the waiting sale"))
        self.acknowledge_button = _button(_("Acknowledge as a sale of its own…"))
        self.refresh_unmatched_button = _button(_("Refresh"))
        for widget, name in ((self.assign_button, "assign"), (self.acknowledge_button, "acknowledge"),
                             (self.refresh_unmatched_button, "refresh_unmatched")):
            widget.setObjectName(name)
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.assign_button.clicked.connect(lambda: self.assign_unmatched(to_sale=True))
        self.acknowledge_button.clicked.connect(lambda: self.assign_unmatched(to_sale=False))
        self.refresh_unmatched_button.clicked.connect(self.refresh_unmatched)
        self.unmatched_table.currentCellChanged.connect(lambda *_args: self._unmatched_buttons())
        self.unmatched_items: list[dict] = []
        self._unmatched_buttons()
        return tab

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.table.setFocus()   # arrows pick a row; a digit typed by habit must not change the business day

    # -- helpers ----------------------------------------------------------------------------------------
    def _say_report(self, text: str, *, error: bool = False) -> None:
        tell(self.report_message, text, error=error)

    def _confirm(self, text: str, yes: str | None = None) -> bool:
        """A question whose default is No: Enter or Esc answers No; only Yes (or its words) goes on."""
        return confirm_box(self, text, yes)

    def _money(self, minor: int, currency: str) -> str:
        return format_amount(minor, currency, self.locale_name)

    def asked_by(self) -> str:
        return self.asked_by_edit.text().strip() or self.grant.asked_by

    def acting(self) -> services.Grant:
        """The window's Grant, asked by whoever the "asked by" box names: every action is taken with it."""
        return services.manager.on_behalf(self.grant, self.asked_by())

    # -- the day ------------------------------------------------------------------------------------------
    def set_day(self, day: str) -> None:
        self.day = day
        if self.date_edit.date().toString("yyyy-MM-dd") != day:
            self.date_edit.setDate(QDate.fromString(day, "yyyy-MM-dd"))
        self.apply_filter()
        self.refresh_summary()
        self.refresh_review()
        self.refresh_unmatched()
        self.store_day_shown = None   # the Store tab reads the new day when it is next looked at
        self._store_tab_shown()
        self.settlement_panel.day_changed()   # read again when looked at, or now if it is shown

    def refresh(self) -> None:
        self.model.refresh()
        self.refresh_summary()
        self.refresh_review()
        self.refresh_unmatched()
        self.settlement_panel.day_changed()   # the kept reconciliation too (read now if its tab is shown)
        if self.selected_id:
            self.show_detail(self.selected_id)

    def refresh_summary(self) -> None:
        """The day's takings in words: the ``day_report`` use case (``pos-terminal report``), and the chart."""
        day, grant, journal, till = self.day, self.acting(), self.journal, self.till

        def work():
            return (services.closing.day_report(grant, journal, day, till),
                    services.manager.paid_per_hour(journal, day))
        self._call(work, on_done=lambda result: self._show_summary(day, *result))

    def _show_summary(self, day: str, report, hourly: dict) -> None:
        if day != self.day:
            return
        self.day_report = report
        while self.summary_grid.count():
            item = self.summary_grid.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.deleteLater()
        figures = report.figures
        self.totals.setText(_("Takings on {day}").format(day=day) if figures else
                            _("No transactions on {day}").format(day=day))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for c, currency in enumerate(figures):   # one column pair a currency: label, count, amount
            base = 1 + 2 * c
            head = QLabel(currency)
            head.setStyleSheet("font-weight: bold;")
            self.summary_grid.addWidget(head, 0, base + 1, right)
            for r, figure in enumerate(figures[currency], start=1):
                if c == 0:
                    self.summary_grid.addWidget(QLabel(figure.label), r, 0)
                count = QLabel("" if figure.count is None else _("{n}×").format(n=figure.count))
                amount = QLabel(f"{figure.amount}")
                if figure.key == "net":
                    amount.setStyleSheet("font-weight: bold;")
                self.summary_grid.addWidget(count, r, base, right)
                self.summary_grid.addWidget(amount, r, base + 1, right)
        for column in range(self.summary_grid.columnCount()):
            self.summary_grid.setColumnStretch(column, 0)
        self.summary_grid.setColumnStretch(1 + 2 * len(figures), 1)
        self.chart.set_data(hourly)

    def current_filter(self):
        return services.manager.day_filter(
            self.day, status=self.status_filter.currentData(), tender=self.tender_filter.currentData(),
            min_amount=self.min_edit.text(), max_amount=self.max_edit.text(), text=self.text_filter.text())

    def apply_filter(self) -> None:
        try:
            day_filter = self.current_filter()
        except PosError as exc:
            self._say(error_text(exc), error=True)
            return
        self.model.set_filter(day_filter)
        self.selected_id = None
        self.detail = None
        self.detail_view.clear()
        self._actions_enabled()

    def _rows_counted(self, count: int) -> None:
        """The newest row is selected when nothing is: its history shows at once, and the arrow keys move
        from it (a current cell without a selection took the first Down to nowhere)."""
        self.rows_label.setText(_("{n} rows").format(n=count))
        if count and self.selected_id is None:
            self.table.selectRow(0)

    def _page_loaded(self, _page: int) -> None:
        current = self.table.currentIndex()
        if self.selected_id is None and current.isValid():   # selected while its page was still being read
            self._row_selected(current.row())

    def _row_selected(self, row: int) -> None:
        values = self.model.row(row) if row >= 0 else None
        self.selected_id = values[1] if values else None
        self._actions_enabled()
        if self.selected_id:
            self.show_detail(self.selected_id)

    def select_id(self, txn_id: str) -> None:
        """Select a transaction by id (what a click on its row does)."""
        self.selected_id = txn_id
        self._actions_enabled()
        self.show_detail(txn_id)

    def show_detail(self, txn_id: str) -> None:
        terminal = self.core.terminal
        self._call(lambda: services.manager.detail(terminal, txn_id), on_done=self._detail_arrived)

    def _detail_arrived(self, detail: dict) -> None:
        if not detail["row"] or detail["row"]["id"] != self.selected_id:
            return
        self.detail = detail
        self.detail_view.setPlainText("\n".join(detail_lines(detail, self.locale_name)))
        self._actions_enabled()

    def _actions_enabled(self) -> None:
        """The buttons as :func:`pos_app.services.manager.sale_actions` says; the use case has the last word."""
        detail = self.detail or {}
        current = (detail.get("row") or {}).get("id") == self.selected_id and self.selected_id is not None
        actions = detail.get("actions") if current else None
        self.refund_button.setEnabled(bool(actions and actions.can_refund))
        self.cancel_button.setEnabled(bool(actions and actions.can_cancel))
        self.inquiry_button.setEnabled(current)
        self.print_slip_button.setEnabled(current)
        if actions is not None and actions.can_refund:
            left = self._money(actions.refundable, actions.currency)
            self.refundable_label.setText(_("Left to refund: {amount}").format(amount=left))
        else:
            self.refundable_label.setText("")

    # -- refund, cancel, inquiry --------------------------------------------------------------------------
    def refund_selected(self) -> None:
        """Refund the amount typed, or all that is left when it is empty: what it would do is shown first
        (:func:`pos_app.services.manager.refund_preview`) and asked, then the ``refund`` use case."""
        row = (self.detail or {}).get("row")
        if not row:
            self._say(_("select a paid sale first"), error=True)
            return
        reason, text = self.reason_edit.text(), self.amount_edit.text().strip()
        try:
            services.manager.check_reason(reason, "refund")   # said at once; the use case checks it again
            amount = parse_money(text, row["currency"]) if text else None
        except PosError as exc:
            self._say(error_text(exc), error=True)
            return
        terminal, sale_id = self.core.terminal, row["id"]

        def asked(preview) -> None:
            if not self._refund_confirmed(preview, reason):
                self._say(_("Nothing was refunded."))
                return
            grant, money = self.acting(), services.manager.refund_money(preview)
            self._say(_("Refunding {amount}…").format(amount=self._money(preview.amount, preview.currency)))
            self._call(lambda: services.manager.refund(grant, terminal, preview.sale_id, money, reason),
                       on_done=lambda txn: self._refund_done(txn, preview))
        self._call(lambda: services.manager.refund_preview(terminal, sale_id, amount), on_done=asked)

    def _refund_confirmed(self, preview, reason: str) -> bool:
        """The sale, the amount, and what is left to refund now and after, asked with No as the default."""
        amount = self._money(preview.amount, preview.currency)
        text = "\n".join((
            _("Refund {amount} to the customer?").format(amount=amount), "",
            _("Sale: {id}").format(id=preview.sale_id),
            _("Paid: {amount} at {time}").format(amount=self._money(preview.sale_amount, preview.currency),
                                                 time=_clock(preview.paid_at))
            + (f" · {preview.description}" if preview.description else ""),
            _("Left to refund now: {amount}").format(amount=self._money(preview.refundable, preview.currency)),
            _("Left after this refund: {amount}").format(amount=self._money(preview.left_after, preview.currency)),
            _("Reason: {reason}").format(reason=reason.strip())))
        return self.confirm(text, _("Refund {amount}").format(amount=amount))

    def _refund_done(self, txn, preview) -> None:
        amount = self._money(preview.amount, preview.currency)
        if txn.status == SUCCESS:
            words = _("Refunded {amount} of sale {id}: it goes back to the customer's wallet. Left to refund: "
                      "{left}.").format(amount=amount, id=preview.sale_id,
                                        left=self._money(preview.left_after, preview.currency))
        elif txn.status == FAILED:
            words = _("The refund of {amount} was not made: nothing went back to the customer.").format(
                amount=amount) + (f" {txn.message}" if getattr(txn, "message", "") else "")
        else:
            words = _("The refund of {amount} is sent; the gateway has not confirmed it yet. The terminal keeps "
                      "asking; it shows under Review if it stays unsure.").format(amount=amount)
        self._followup_done(txn, words)

    def cancel_selected(self) -> None:
        """Cancel the selected sale in full: the ``cancel`` use case (a paid one is reversed, with a reason)."""
        detail = self.detail or {}
        row, actions = detail.get("row"), detail.get("actions")
        if not row:
            self._say(_("select a sale first"), error=True)
            return
        reason = self.reason_edit.text()
        if actions is not None and actions.cancel_needs_reason:
            try:
                services.manager.check_reason(reason, "cancel")
            except PosError as exc:
                self._say(error_text(exc), error=True)
                return
        amount = self._money(row["amount"], row["currency"])
        if not self.confirm(_("Cancel sale {id} in full ({amount})?").format(id=row["id"], amount=amount),
                            _("Cancel the sale")):
            self._say(_("Nothing was cancelled."))
            return
        grant, terminal, sale_id = self.acting(), self.core.terminal, row["id"]
        self._say(_("Cancelling…"))
        self._call(lambda: services.manager.cancel(grant, terminal, sale_id, reason),
                   on_done=lambda txn: self._followup_done(txn, _("Sale {id} ({amount}): {status}").format(
                       id=sale_id, amount=amount, status=_(status_words(CANCEL, txn.status)))))

    def _followup_done(self, txn, words: str) -> None:
        self.last_followup = txn
        self._say(words, error=txn.status == FAILED)
        self.reason_edit.clear()
        self.amount_edit.clear()
        self.refresh()

    def inquire_selected(self) -> None:
        """Ask the gateway about the selected transaction now: the ``inquiry`` use case."""
        txn_id = self.selected_id
        if not txn_id:
            self._say(_("select a transaction first"), error=True)
            return
        grant, terminal = self.acting(), self.core.terminal
        self._call(lambda: services.sales.inquiry(grant, terminal, txn_id),
                   on_done=lambda result: self._reviewed(txn_id, _inquiry_words(result)))

    # -- receipts ----------------------------------------------------------------------------------------
    def reprint_selected(self) -> None:
        """Print the selected transaction's slip on the receipt printer: a paid sale's receipt, a refund's or a
        cancel's slip (the ``print_receipt`` use case: a reprint, marked so, once one was printed). A transaction
        with no slip is refused in words, saying what there is."""
        txn_id = self.selected_id
        if not txn_id:
            self._say(_("select a transaction first"), error=True)
            return
        grant, printing = self.acting(), self.core.printing
        if printing is None:
            self._say(_("the printer is not started yet"), error=True)
            return
        now, asked = time.monotonic(), self._slip_asked
        if txn_id in self._slips_printing or (asked is not None and asked[0] == txn_id
                                              and now - asked[1] < PRINT_AGAIN):
            # a double or triple click asks for one slip: a print takes ~50 ms, so each click printed a copy
            self._slip_asked = (txn_id, now)
            again = _("Print clicked again at once: still one slip. For another copy, click Print receipt again.")
            self._say(f"{self._slip_said} {again}".strip())
            return
        self._slip_asked = (txn_id, now)
        self._slips_printing.add(txn_id)
        self._say(_("Printing the slip of {id}…").format(id=txn_id))
        self._slip_said = self.status.text()

        def printed(result):
            self._slips_printing.discard(txn_id)
            if not result.ok:
                self._slip_asked = None   # a click after a failed print is a new try, however soon
            self._printed(result, self._say)
            self._slip_said = self.status.text()

        def refused(_exc):
            self._slips_printing.discard(txn_id)
            self._slip_asked = None
        self._call(lambda: services.receipts.print_receipt(grant, printing, txn_id, wait=PRINT_WAIT),
                   on_done=printed, on_error=refused)

    def print_report(self, report=None) -> None:
        """Print the report on the Reports tab (an X, a Z just taken, a Z reprinted) on the receipt printer:
        the ``print_report`` use case. A Z that does not print is still taken; Print prints it again."""
        shown = report if report is not None else self.shown
        if shown is None:
            self._say_report(_("take an X or Z report first"), error=True)
            return
        grant, printing = self.acting(), self.core.printing
        if printing is None:
            self._say_report(_("the printer is not started yet"), error=True)
            return
        now, asked = time.monotonic(), self._report_asked
        if asked is not None and asked[0] is shown and (asked[2] or now - asked[1] < PRINT_AGAIN):
            # a double click asks for one copy, as Print receipt's (a report is a long slip: a second is paper)
            self._report_asked = (shown, now, asked[2])
            self._say_report(_("Print clicked again at once: still one copy. For another, click Print again."))
            return
        self._report_asked = (shown, now, True)

        def printed(result):
            # a click after a failed print is a new try, however soon; after a good one, a second a moment later
            self._report_asked = (shown, time.monotonic(), False) if result.ok else None
            self._printed(result, self._say_report)

        def refused(_exc):
            self._report_asked = None
        self._call(lambda: services.receipts.print_report(grant, printing, shown, wait=PRINT_WAIT),
                   on_done=printed, on_error=refused, say=self._say_report)

    def _printed(self, result, say) -> None:
        self.last_print = result
        if result.ok:
            say(_("Printed."))
        else:
            say(_("Not printed: {why}. It waits for a reprint; press Print again when the printer is ready.").format(
                why=stored(result.error or "") or result.words), error=True)

    # -- entry-code payments nobody waited for -------------------------------------------------------------
    def refresh_unmatched(self) -> None:
        """The unmatched entry-code payments: the ``entry_payments`` use case, with each one's wallet."""
        grant, terminal = self.acting(), self.core.terminal

        def read():
            from pos_app.sale_view import wallet_of
            items = services.sales.entry_payments(grant, terminal)
            return [(item, wallet_of(services.manager.detail(terminal, item["id"])["events"])) for item in items]
        self._call(read, on_done=self._show_unmatched)

    def _show_unmatched(self, rows: list) -> None:
        self.unmatched_items = [item for item, _wallet in rows]
        self.unmatched_table.setRowCount(len(rows))
        for r, (item, wallet) in enumerate(rows):
            amount = self._money(int(item["amount"]["value"]), item["amount"]["currency"])
            cells = (time.strftime("%H:%M:%S", time.localtime(item["arrivedAt"])), amount, wallet or "—",
                     item.get("paymentId") or item["id"], ", ".join(item["waiting"]) or _("none"))
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, item["id"])
                self.unmatched_table.setItem(r, c, cell)
        for column in range(self.unmatched_table.columnCount() - 1):   # the last one stretches
            self.unmatched_table.resizeColumnToContents(column)   # a wallet's name is as long as it is
        self.unmatched_empty.setText("" if rows else _("no entry-code payment waits to be assigned"))
        if rows and self.unmatched_table.currentRow() < 0:
            self.unmatched_table.selectRow(0)
        self._unmatched_buttons()

    def _unmatched_item(self) -> dict | None:
        row = self.unmatched_table.currentRow()
        return self.unmatched_items[row] if 0 <= row < len(self.unmatched_items) else None

    def _unmatched_buttons(self) -> None:
        item = self._unmatched_item()
        self.assign_button.setEnabled(bool(item and item["waiting"]))
        self.acknowledge_button.setEnabled(item is not None)

    def assign_unmatched(self, to_sale: bool = True) -> None:
        """Settle the selected unmatched payment: into the sale waiting for it, or acknowledged as a sale of its
        own (asked first): the ``assign_entry_payment`` use case, audited with who asked."""
        item = self._unmatched_item()
        if item is None:
            self._say(_("select a payment first"), error=True)
            return
        amount = self._money(int(item["amount"]["value"]), item["amount"]["currency"])
        sale = item["waiting"][0] if to_sale and item["waiting"] else None
        if to_sale and sale is None:
            self._say(_("no sale waits for {amount}: acknowledge it instead, or start the sale at the till (F3) "
                        "first").format(amount=amount), error=True)
            return
        if sale is None and not self.confirm(
                _("Acknowledge the entry-code payment of {amount} as a sale of its own? It stays counted in the "
                  "takings; refund it from the Day tab if it was nobody's.").format(amount=amount),
                _("Acknowledge it")):
            self._say(_("Nothing was changed."))
            return
        grant, terminal, payment = self.acting(), self.core.terminal, item["id"]
        words = _("The payment of {amount} is now sale {sale}'s.").format(amount=amount, sale=sale) if sale else \
            _("The payment of {amount} is acknowledged as a sale of its own.").format(amount=amount)
        self._call(lambda: services.sales.assign_entry_payment(grant, terminal, payment, sale),
                   on_done=lambda _txn: self._assigned(words))

    def _assigned(self, words: str) -> None:
        self._say(words)
        self.refresh()

    # -- review ----------------------------------------------------------------------------------------
    def refresh_review(self) -> None:
        grant, journal = self.acting(), self.journal
        self._call(lambda: services.manager.review(grant, journal), on_done=self._show_review)

    def _show_review(self, items: list[dict]) -> None:
        self.review_items = items
        self.review_table.setRowCount(len(items))
        for r, item in enumerate(items):
            kind = item.get("kind")
            cells = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item["createdAt"])), item["id"],
                     kind_words(kind), item_amount(item, self.locale_name),
                     _(status_words(kind, item["status"])) if kind in KIND_WORDS else item["status"],
                     stored(item["message"] or ""))
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, item["id"])
                self.review_table.setItem(r, c, cell)
        self.review_empty.setText("" if items else _("nothing open or waiting for review"))

    def review_selected(self) -> str | None:
        row = self.review_table.currentRow()
        item = self.review_table.item(row, 1) if row >= 0 else None
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def retry_inquiry(self) -> None:
        """Ask the gateway about the selected review item now: the ``review_retry`` use case (audited)."""
        txn_id = self.review_selected()
        if not txn_id:
            self._say(_("select an item first"), error=True)
            return
        grant, terminal = self.acting(), self.core.terminal
        self._call(lambda: services.manager.review_retry(grant, terminal, txn_id),
                   on_done=lambda result: self._reviewed(txn_id, _inquiry_words(result)))

    def retry_cancel(self) -> None:
        """Send the selected item's cancel again: the ``review_cancel`` use case (audited)."""
        txn_id = self.review_selected()
        if not txn_id:
            self._say(_("select an item first"), error=True)
            return
        grant, terminal = self.acting(), self.core.terminal
        self._call(lambda: services.manager.review_cancel(grant, terminal, txn_id),
                   on_done=lambda txn: self._reviewed(txn_id, _("now {status}").format(
                       status=_(status_words(CANCEL, txn.status)))))

    def resolve(self) -> None:
        """Mark the selected item resolved with the note: the ``review_resolve`` use case (audited)."""
        txn_id = self.review_selected()
        if not txn_id:
            self._say(_("select an item first"), error=True)
            return
        grant, journal, note = self.acting(), self.journal, self.note_edit.text()
        self._call(lambda: services.manager.review_resolve(grant, journal, txn_id, note),
                   on_done=lambda _r: self._resolved(txn_id))

    def _resolved(self, txn_id: str) -> None:
        self.note_edit.clear()
        self._reviewed(txn_id, _("marked resolved"))

    def _reviewed(self, txn_id: str, text: str) -> None:
        self._say(f"{txn_id}: {text}")
        self.refresh()

    # -- X, Z and reprints ------------------------------------------------------------------------------
    def x_report(self) -> None:
        """The session so far (nothing is stored): the ``x_report`` use case."""
        grant, journal, till = self.acting(), self.journal, self.till
        self._call(lambda: services.closing.x_report(grant, journal, till), on_done=self._show_report,
                   say=self._say_report)

    def z_report(self) -> None:
        """Close the session with the next Z: the ``z_report`` use case (refused when nothing is new). The
        question defaults to No."""
        if not self.confirm(_("Close the session with a Z report? It covers every transaction settled since the "
                              "last Z, gets the next number and can never be altered."), _("Take the Z report")):
            self._say_report(_("No Z report was taken."))
            return
        grant, journal, till = self.acting(), self.journal, self.till
        self._call(lambda: services.closing.z_report(grant, journal, till), on_done=self._z_taken,
                   say=self._say_report)

    def z_reprint(self, number: int | None = None) -> None:
        """Show a stored Z again, as it was taken: the ``z_reprint`` use case (audited)."""
        number = self.z_number.value() if number is None else number
        grant, journal = self.acting(), self.journal
        self._call(lambda: services.closing.z_reprint(grant, journal, number), on_done=self._reprinted,
                   say=self._say_report)

    def _z_taken(self, report) -> None:
        self._show_report(report)
        self._say_report(_("Z report #{number} taken").format(number=report.data["number"]))
        printing = self.core.printing
        if printing is not None and printing.configured:   # the Z's paper copy, at once; "Print" again if it fails
            self.print_report(report)

    def _reprinted(self, report) -> None:
        self._show_report(report)
        self._say_report(_("Z report #{number} reprinted").format(number=report.data["number"]))

    @property
    def report(self) -> dict | None:
        """The shown report's data (the ``--json`` shape), or None before the first."""
        return self.shown.data if self.shown is not None else None

    def _show_report(self, report: services.closing.Report) -> None:
        self.shown = report
        self.report_view.setPlainText("\n".join(report.lines))
        last_z = report.data.get("number") if report.data["type"] == "Z" else \
            (report.data.get("session") or {}).get("previousZ")
        if last_z:
            self.z_number.setValue(last_z)
        if report.data["type"] == "X":
            self._say_report("")
        self.csv_button.setEnabled(True)
        self.pdf_button.setEnabled(True)
        self.print_report_button.setEnabled(True)

    def _export(self, kind: str) -> None:
        report = self.report
        if report is None:
            return
        which = report.get("number") or report["day"]
        name = f"{report['type'].lower()}-report-{which}.{kind}"
        path, _filter = QFileDialog.getSaveFileName(self, _("Export the report"), str(Path.home() / name),
                                                    "CSV (*.csv)" if kind == "csv" else "PDF (*.pdf)")
        self.activateWindow()
        if path:
            (self.export_csv if kind == "csv" else self.export_pdf)(Path(path))

    def export_csv(self, path: Path) -> None:
        shown = self.shown
        if shown is None:
            self._say_report(_("take an X or Z report first"), error=True)
            return
        self._call(lambda: shown.write_csv(path), on_done=self._exported, say=self._say_report)

    def export_pdf(self, path: Path) -> None:
        shown = self.shown
        if shown is None:
            self._say_report(_("take an X or Z report first"), error=True)
            return
        self._call(lambda: shown.write_pdf(path), on_done=self._exported, say=self._say_report)

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self._say_report(_("written to {path}").format(path=path))


    # -- settlement (issue 18): the day against the gateway's reports (the tab: ui.settlement_view) -----------
    def reconcile_settlement(self, files=(), *, sftp: str | None = None) -> None:
        """Fetch the gateway's reports over ``sftp``, or import ``files``, and match them against the business
        day: the ``reconcile_settlement`` use case (``pos-terminal reconcile-settlement``), kept for later."""
        panel, day, files = self.settlement_panel, self.day, tuple(files)
        grant, journal, config = self.acting(), self.journal, self.core.terminal.config
        panel.busy(True)
        self._say(panel.waiting_words(files=files, sftp=sftp))
        self._call(lambda: services.settlement.reconcile_settlement(grant, journal, config, files=files, sftp=sftp,
                                                                    day=day, progress=panel.progress),
                   on_done=lambda result: panel.show_result(day, result, fresh=True),
                   on_error=lambda _exc: panel.unread(day))

    def refresh_settlement(self) -> None:
        """What the last reconciliation of the business day kept (nothing fetched): ``settlement_result``."""
        panel, day, grant, journal = self.settlement_panel, self.day, self.acting(), self.journal
        config = self.core.terminal.config
        panel.shown_day = day
        panel.busy(True)   # no fetch while the kept result is read: it would come back older than the fetch's
        self._call(lambda: services.settlement.settlement_result(grant, journal, day, config),
                   on_done=lambda result: panel.show_result(day, result, fresh=False),
                   on_error=lambda _exc: panel.unread(day))

    # -- the store (issue 17): every counter's day, the store's X and its closing --------------------------
    def _store_tab_shown(self, *_args) -> None:
        """The store's day is read when its tab is looked at (not at every opening of the window: it is a
        round trip to the store's database), and again when the business day changes while it is shown."""
        panel = self.store_panel
        if panel is not None:
            self._cap_store_day()
        if panel is not None and self.tabs.currentWidget() is panel and self.store_day_shown != self.day:
            self.show_store_day()

    def _cap_store_day(self) -> None:
        """With a store, the business day goes no further than today: a store's day closed before it came would
        be closed for ever, empty (the store refuses it too). Moved on when the window outlives midnight."""
        today = QDate.currentDate()
        if self.date_edit.maximumDate() != today:
            self.date_edit.setMaximumDate(today)

    def _store_call(self, fn, waiting: str, on_done, on_error=None) -> None:
        """A call to the store's database on a worker: the wait said in words, the buttons held meanwhile, a
        failure (unreachable, refused, no rights) in the status line with what to do next."""
        panel = self.store_panel
        if panel is None:
            return
        panel.busy(True)
        self._say(waiting)

        def done(result) -> None:
            panel.busy(False)
            on_done(result)

        def failed(exc) -> None:
            panel.busy(False)
            if on_error is not None:
                on_error(exc)
        self._call(fn, on_done=done, on_error=failed)

    def show_store_day(self) -> None:
        """Every counter's transactions of the business day with a terminal column, and the figures per
        terminal and for the store: the ``store_day`` use case (``pos-terminal store day``)."""
        grant, config, day = self.acting(), self.core.terminal.config, self.day
        self.store_day_shown = day
        self._store_call(lambda: services.store.store_day(grant, config, day),
                         _("Reading the store's day {day} from the store's database…").format(day=day),
                         lambda report: self._store_day_arrived(day, report),
                         on_error=lambda _exc: self._store_day_unread(day))

    def _store_day_unread(self, day: str) -> None:
        """No figures of another day, or of before, left under this one; the tab reads again when next looked at."""
        self.store_day_shown = None
        if day == self.day and self.store_panel is not None:
            self.store_panel.unread(day)

    def _store_day_arrived(self, day: str, report) -> None:
        self.store_day = report
        if day != self.day or self.store_panel is None:
            return
        self.store_panel.show_day(report.data)
        self._say(_("The store's day {day}, as the store's database holds it now.").format(day=day))

    def store_x_report(self) -> None:
        """The store's session so far, per counter: the ``store_x`` use case (nothing is stored)."""
        grant, config = self.acting(), self.core.terminal.config
        self._store_call(lambda: services.store.store_x(grant, config),
                         _("Taking the store X report from the store's database…"), self._store_x_arrived)

    def _store_x_arrived(self, report) -> None:
        self.store_report = report
        if self.store_panel is not None:
            self.store_panel.show_text(report.lines)
            self.store_panel.show_behind(report.data.get("behind") or [])
        self._say(_("Store X report taken: every counter's session so far; nothing was closed."))

    def store_close(self) -> None:
        """Close the store's business day: asked first (No is the default); the ``store_close`` use case then
        closes only when no counter misses its Z or lags. When some do, they are listed, and the manager is
        asked again whether to close anyway (kept in the closing)."""
        day = self.day
        if not self.confirm(_("Close the store's day {day}? The closing covers every counter's Z reports of that "
                              "day, is kept in the store's database and can never be altered. Counters still "
                              "missing their Z or lagging are listed first.").format(day=day),
                            _("Close the store's day")):
            self._say(_("The store's day was not closed."))
            return
        grant, config, journal = self.acting(), self.core.terminal.config, self.journal

        def first(outcome) -> None:
            if outcome.closed or outcome.existing or not outcome.blockers:
                self._store_closed(day, outcome)
                return
            words = blockers_words(outcome.blockers)
            if self.store_panel is not None:
                self.store_panel.show_text([_("Not ready to close the store's day {day}:").format(day=day), *words])
            self._say(_("The store's day {day} is not closed: {n} counters are not ready (listed on the Store "
                        "tab).").format(day=day, n=len(words)), error=True)
            if not self.confirm("\n".join([_("These counters are not ready:"), *words, "",
                                           _("Close the store's day {day} anyway? The closing keeps this list, "
                                             "and what they did not ship is not in it.").format(day=day)]),
                                _("Close it anyway")):
                return
            self._store_call(lambda: services.store.store_close(grant, config, day, anyway=True, journal=journal),
                             _("Closing the store's day {day} in the store's database…").format(day=day),
                             lambda again: self._store_closed(day, again))
        self._store_call(lambda: services.store.store_close(grant, config, day, journal=journal),
                         _("Checking every counter's Z and replication for {day}…").format(day=day), first)

    def _store_closed(self, day: str, outcome) -> None:
        self.store_closing = outcome
        if self.store_panel is not None:   # a closing past blockers lists them itself, and says it was anyway
            self.store_panel.show_text(outcome.lines)
        if outcome.existing and outcome.late:
            self._say(_("The store's day {day} was closed before: shown as it was closed; {n} Z reports of that "
                        "day reached the store after it and are not in it (listed on the Store tab).").format(
                          day=day, n=len(outcome.late)), error=True)
        elif outcome.existing:
            self._say(_("The store's day {day} was closed before: shown as it was closed.").format(day=day))
        elif outcome.closed:
            self._say(_("The store's day {day} is closed.").format(day=day))
        else:
            self._say(_("The store's day {day} is not closed.").format(day=day), error=True)


#: What the gateway answered an inquiry, in words (``Inquiry.gateway``: an outcome's status).
GATEWAY_WORDS = {"success": N_("it went through"), "failure": N_("it did not go through"),
                 "unknown": N_("it has no answer yet")}


def _inquiry_words(result) -> str:
    txn = result.txn
    status = _(status_words(getattr(txn, "kind", SALE), txn.status)) if txn is not None else "?"
    gateway = _(GATEWAY_WORDS[result.gateway]) if result.gateway in GATEWAY_WORDS else result.gateway
    return _("the gateway says {gateway}; now {status}").format(gateway=gateway, status=status)
