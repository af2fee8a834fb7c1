"""The cashier's window: amount, tender, what is happening, and an outcome nobody can misread.

It only binds widgets to the core: the counter's rules are :mod:`pos_app.checkout`, the words are
:mod:`pos_app.sale_view`, and every call that may wait (the gateway, the journal) goes through
:class:`ui.bridge.Core` on a worker thread. The window itself never blocks.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from drivers import model as scanner_model
from pos_app import checkout, sale_view
from pos_app import payment_flow as pf
from pos_app.brand import BRAND_TEXT
from pos_app.errors import PosError
from pos_app.i18n import _
from pos_app.money import EXPONENTS, Money
from pos_app.scan import classify, mask
from pos_app.vocabulary import KIND_WORDS

from .bridge import Core
from .money import format_amount, format_money
from .qr import QrWidget
from .wedge import Burst, WedgeBuffer

log = logging.getLogger(__name__)


def _sentence(text: str) -> str:
    """``text`` ended as a sentence in its own script: a Chinese one with "。", any other with "."."""
    if text.endswith((".", "。", "!", "\uff01")):
        return text
    return text + ("。" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else ".")

MODIFIERS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta,
             Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock}
QUEUE_GRACE = 5.0   # seconds before a request still in the outbox counts as queued
TOUCH = 56          # keypad and tender buttons: above the 48 px touch minimum
PRINT_WAIT = 15.0   # seconds a print key's call waits (off the UI thread) for the printer to say printed or not
PRINT_AGAIN = 1.0   # seconds: F4 again this soon for the same slip is the key pressed twice, not a copy more
QR_MIN_MODULE = 3   # device pixels per module at the least: below it a phone across the counter struggles
COLOURS = {sale_view.WORKING: ("#1f3b57", "#e8f1fb"), sale_view.PAID: ("#ffffff", "#1b7f3b"),
           sale_view.DECLINED: ("#ffffff", "#b3261e"), sale_view.UNSURE: ("#3d2b00", "#ffd166"),
           sale_view.QUEUED: ("#3d2b00", "#ffe8a3"), "idle": ("#1f2933", "#f3f4f6")}


def _font(size: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    return font


class CashierWindow(QMainWindow):
    scanned = Signal(str)   # a scan from any source, before classification (tests and benchmarks use it)

    def __init__(self, core: Core, customer=None, *, sandbox: bool = True, store_name: str = "",
                 currency: str = "USD", locale_name: str | None = None) -> None:
        super().__init__()
        self.core, self.customer = core, customer
        self.sandbox = sandbox
        self.locale_name = locale_name
        self._counter = checkout.Counter()
        self.sale: pf.Sale | None = None
        self.view: sale_view.CashierView | None = None
        self.phase_since = time.monotonic()   # when the payment on screen started: its whole wait is counted
        self.code_text = ""   # typed while waiting for a code: by a scanner in the window, or by hand
        self.wedge = WedgeBuffer()
        self._entries: list[str] = []         # the amount as it was before each key of the burst going on
        self._burst_route = checkout.NOWHERE  # where that burst's keys went
        self._clock_offset = 0.0              # monotonic time minus the keys' own clock (see _key_time)
        self.ready = False          # the terminal (journal, gateway client) is up
        self.failed = False         # it could not start
        self._pending: checkout.StartSale | None = None   # a sale asked for before it was up: sent when it is
        self.entry_configured = False   # [entry_code] code is set: F3 takes the store's static code
        self.entry_window = math.inf    # [entry_code] match_window: an unmatched payment older is the manager's
        self.receipts_mode = "auto"     # [receipts] customer: auto | key | off (what F4 says it does)
        self.printer_state = None       # the latest pos_app.printing.PrinterState (None: no printing, or not yet)
        self.last_paid: str | None = None       # the last sale this window saw paid: F4 prints its receipt
        self.failed_slip: str | None = None     # a transaction whose slip failed to print: F4 prints it again
        self._printing: set[str] = set()        # the slips F4 is printing now (each one once at a time)
        self._print_asked: tuple[str, float] | None = None   # the slip F4 last asked for, and when (_now)
        self._print_said = ""                   # what became of it, in words (said again to a repeated press)
        self.unmatched: list[dict] = []         # entry-code payments nobody waited for (the entry_payments use case)
        self.unmatched_wallet: dict[str, str | None] = {}   # their wallets, by id, once read
        self.setWindowTitle(_("pos-terminal: cashier") + (_(" (SANDBOX)") if sandbox else ""))
        self._build(store_name, currency)
        self._wire()
        self._render()
        self.amount_label.setFocus()   # the amount owns the keyboard from the first paint

    @property
    def counter(self) -> checkout.Counter:
        return self._counter

    @counter.setter
    def counter(self, new: checkout.Counter) -> None:
        if checkout.clock_restarts(self._counter, new):
            self.phase_since = time.monotonic()
        self._counter = new

    @property
    def amount_text(self) -> str:
        """The amount as typed for the next payment."""
        return self._counter.entry

    # -- building -------------------------------------------------------------------------------
    def _build(self, store_name: str, currency: str) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(12, 8, 12, 8)
        outer.setSpacing(8)

        self.sandbox_bar = QLabel(_("SANDBOX: test payments against the built-in gateway simulator. "
                                    "No real money moves."))
        self.sandbox_bar.setObjectName("sandbox")
        self.sandbox_bar.setStyleSheet("background:#e67e22;color:white;font-weight:bold;padding:6px;")
        self.sandbox_bar.setVisible(self.sandbox)
        outer.addWidget(self.sandbox_bar)

        top = QHBoxLayout()
        self.store_label = QLabel(store_name)
        self.store_label.setFont(_font(14, True))
        top.addWidget(self.store_label)
        top.addStretch(1)
        devices = QVBoxLayout()   # one above the other: side by side they made the window wider than 1024 px
        devices.setSpacing(0)
        self.display_label = QLabel("")
        self.display_label.setObjectName("display")
        self.display_label.setStyleSheet("color:#6b7280;font-weight:bold;")
        self.display_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.display_label.hide()
        devices.addWidget(self.display_label)
        self.scanner_label = QLabel(_("Scanner: looking…"))
        self.scanner_label.setObjectName("scanner")
        self.scanner_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        devices.addWidget(self.scanner_label)
        self.printer_label = QLabel("")
        self.printer_label.setObjectName("printer")
        self.printer_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.printer_label.hide()
        devices.addWidget(self.printer_label)
        top.addLayout(devices)
        self.manager_button = QPushButton(_("F9  Manager"))
        self.manager_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.manager_button.setMinimumHeight(40)
        self.manager_button.clicked.connect(self.open_manager)
        top.addWidget(self.manager_button)
        self.technician_button = QPushButton(_("F10  Technician"))
        self.technician_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.technician_button.setMinimumHeight(40)
        self.technician_button.clicked.connect(self.open_technician)
        top.addWidget(self.technician_button)
        outer.addLayout(top)

        self.offline_bar = QLabel("")
        self.offline_bar.setObjectName("offline")
        self.offline_bar.setWordWrap(True)
        self.offline_bar.setStyleSheet("background:#ffd166;color:#3d2b00;font-weight:bold;padding:6px;")
        self.offline_bar.hide()
        outer.addWidget(self.offline_bar)

        self.printer_bar = QLabel("")   # the printer cannot print, or a slip waits to be printed again: what to do
        self.printer_bar.setObjectName("printer_bar")
        self.printer_bar.setWordWrap(True)
        self.printer_bar.setStyleSheet("background:#ffe8a3;color:#3d2b00;font-weight:bold;padding:6px;")
        self.printer_bar.hide()

        self.unmatched_frame = QFrame()   # an entry-code payment nobody waited for: what came, what to do
        self.unmatched_frame.setObjectName("unmatched_frame")
        self.unmatched_frame.setStyleSheet("QFrame#unmatched_frame{background:#e3f2fd;border:2px solid #1565c0;"
                                           "border-radius:6px;}")
        row = QHBoxLayout(self.unmatched_frame)
        row.setContentsMargins(8, 4, 8, 4)
        self.unmatched_label = QLabel("")
        self.unmatched_label.setObjectName("unmatched")
        self.unmatched_label.setWordWrap(True)
        self.unmatched_label.setStyleSheet("color:#0d2b4e;font-weight:bold;")
        row.addWidget(self.unmatched_label, 1)
        self.assign_button = QPushButton(_("F5  Assign to this sale"))
        self.assign_button.setObjectName("assign_unmatched")
        self.assign_button.setMinimumHeight(44)
        self.assign_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.assign_button)
        self.unmatched_frame.hide()

        body = QHBoxLayout()
        outer.addLayout(body, 1)
        body.addWidget(self._entry_panel(currency), 0)
        right = QVBoxLayout()
        body.addLayout(right, 1)
        # the printer's trouble and an unmatched payment beside the sale, not above the keypad: the entry
        # panel keeps its height at 1024x768, and the QR gives way instead (it has a minimum module size)
        right.addWidget(self.printer_bar)
        right.addWidget(self.unmatched_frame)
        right.addWidget(self._status_panel(), 1)

        self.recent = QTableWidget(0, 4)
        self.recent.setObjectName("recent")
        self.recent.setHorizontalHeaderLabels([_("Time"), _("Amount"), _("Tender"), _("Result")])
        self.recent.verticalHeader().hide()
        self.recent.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.recent.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recent.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.recent.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.recent.setFixedHeight(150)
        self.recent_label = QLabel(_("Today's last transactions"))
        right.addWidget(self.recent_label)
        right.addWidget(self.recent)
        self.setCentralWidget(root)
        self.resize(1100, 760)

    def _entry_panel(self, currency: str) -> QWidget:
        panel = QFrame()
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(panel)
        self.amount_label = QLabel()
        self.amount_label.setObjectName("amount")
        self.amount_label.setFont(_font(30, True))
        self.amount_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.amount_label.setMinimumWidth(360)
        self.amount_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        # The one widget the keyboard reaches by itself (a person's digits and a wedge scanner's keys): its
        # frame shows where typing goes. The description takes the keys only when tapped.
        self.amount_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.amount_label.setStyleSheet("QLabel#amount{border:2px solid transparent;border-radius:6px;"
                                        "padding:0 6px;} QLabel#amount:focus{border-color:#1565c0;}")
        layout.addWidget(self.amount_label)
        row = QHBoxLayout()
        self.currency = QComboBox()
        self.currency.addItems(sorted(EXPONENTS))
        self.currency.setCurrentText(currency)
        self.currency.setMinimumHeight(40)
        self.currency.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(QLabel(_("Currency")))
        row.addWidget(self.currency, 1)
        layout.addLayout(row)
        self.description = QLineEdit()
        self.description.setObjectName("description")
        self.description.setPlaceholderText(_("Description or reference (optional)"))
        self.description.setMinimumHeight(40)
        self.description.setMaxLength(256)
        self.description.setFocusPolicy(Qt.FocusPolicy.ClickFocus)   # tapped, never by itself: see eventFilter
        self.description.textEdited.connect(lambda _text: self._guard_description())
        layout.addWidget(self.description)

        grid = QGridLayout()
        keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", ".", "0", "⌫"]
        self.keypad: dict[str, QPushButton] = {}
        for i, key in enumerate(keys):
            button = QPushButton(key)
            button.setMinimumSize(TOUCH, TOUCH - 4)   # 52 px: still above the touch minimum, and the F3 key fits 768 px
            button.setFont(_font(18, True))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, k=key: self.press(k))
            grid.addWidget(button, i // 3, i % 3)
            self.keypad[key] = button
        clear = QPushButton(_("Clear"))
        clear.setMinimumHeight(TOUCH - 8)   # 48 px, the touch minimum: with the offline banner all fits 768 px
        clear.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        clear.clicked.connect(lambda: self.press("C"))
        grid.addWidget(clear, 4, 0, 1, 3)
        self.keypad["C"] = clear
        layout.addLayout(grid)

        self.scan_button = QPushButton(_("F1  Scan customer's code"))
        self.qr_button = QPushButton(_("F2  Show QR to customer"))
        self.entry_button = QPushButton(_("F3  Entry code"))   # its words follow the config (_on_ready)
        self.entry_button.setObjectName("entry_code")
        for button, colour, height in ((self.scan_button, "#1565c0", TOUCH), (self.qr_button, "#00796b", TOUCH),
                                       (self.entry_button, "#6a1b9a", TOUCH - 8)):
            button.setMinimumHeight(height)
            button.setFont(_font(15, True))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet(f"QPushButton{{background:{colour};color:white;border-radius:6px;}}"
                                 "QPushButton:disabled{background:#9aa5b1;}")
            layout.addWidget(button)
        layout.addStretch(1)
        return panel

    def _status_panel(self) -> QWidget:
        self.status_frame = QFrame()
        self.status_frame.setObjectName("status")
        layout = QVBoxLayout(self.status_frame)
        layout.setContentsMargins(24, 16, 24, 16)
        self.headline = QLabel()
        self.headline.setObjectName("headline")
        self.headline.setFont(_font(34, True))
        self.headline.setWordWrap(True)
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sale_amount = QLabel()
        self.sale_amount.setObjectName("sale_amount")
        self.sale_amount.setFont(_font(26, True))
        self.sale_amount.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel()
        self.detail.setObjectName("detail")
        self.detail.setFont(_font(15))
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_step = QLabel()
        self.next_step.setObjectName("next")
        self.next_step.setFont(_font(16, True))
        self.next_step.setWordWrap(True)
        self.next_step.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting = QLabel()
        self.waiting.setObjectName("waiting")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting.setWordWrap(True)   # "… voided in 60 s unless the link is back" must not widen the window
        self.waiting.setFont(_font(13))
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(10)
        self.qr = QrWidget(min_module=QR_MIN_MODULE)
        self.qr.setObjectName("qr")
        self.qr.hide()
        # The scanning page's brand (Alipay+ rules): the acceptance mark, or its words, under the code; the
        # code's centre icon is set with the first code shown (Pillow loads then, not at start-up).
        self.brand_label = QLabel(BRAND_TEXT)
        self.brand_label.setObjectName("brand")
        self.brand_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.brand_label.setFont(_font(16, True))
        self.brand_label.hide()
        self.brand_config = None
        self._branded = False
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setFont(_font(13))
        buttons = QHBoxLayout()
        self.abort_button = QPushButton(_("Esc  Abort"))
        self.abort_button.setObjectName("abort")
        self.new_button = QPushButton(_("Enter  Next sale"))
        self.new_button.setObjectName("next_sale")
        self.print_button = QPushButton(_("F4  Print receipt"))
        self.print_button.setObjectName("print_receipt")
        for button in (self.abort_button, self.print_button, self.new_button):
            button.setMinimumHeight(56)
            button.setFont(_font(14, True))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        layout.addStretch(1)
        for widget in (self.headline, self.sale_amount, self.detail, self.next_step, self.waiting, self.busy,
                       self.hint):
            layout.addWidget(widget)
        # The QR takes the room the words leave (it is drawn at the largest whole module size that fits, its
        # quiet zone included), never less than its minimum: the layout gives way elsewhere, not on the QR.
        layout.addWidget(self.qr, 8)
        layout.addWidget(self.brand_label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.status_frame.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return self.status_frame

    def _wire(self) -> None:
        self.scan_button.clicked.connect(self.choose_scan)
        self.qr_button.clicked.connect(self.choose_qr)
        self.entry_button.clicked.connect(self.choose_entry_code)
        self.print_button.clicked.connect(self.print_receipt)
        self.assign_button.clicked.connect(self.assign_unmatched)
        self.core.printer_state.connect(self._printer_arrived)
        self.abort_button.clicked.connect(self.escape)
        self.new_button.clicked.connect(self.next_sale)
        self.core.ready.connect(self._on_ready)
        self.core.start_failed.connect(self._on_start_failed)
        self.core.sale_changed.connect(self._on_sale_changed)
        self.core.scanner_event.connect(self._on_scanner_event)
        self.ticker = QTimer(self)
        self.ticker.setInterval(250)
        self.ticker.timeout.connect(self._tick)
        self.ticker.start()
        self.poller = QTimer(self)
        self.poller.setInterval(2000)
        self.poller.timeout.connect(self._poll_link)
        self.burst_timer = QTimer(self)   # a burst that stops without Enter: decided once it is over
        self.burst_timer.setSingleShot(True)
        self.burst_timer.setInterval(math.ceil(self.wedge.gap * 1000) + 30)
        self.burst_timer.timeout.connect(lambda: self._settle_burst(self._now()))
        self.unmatched_timer = QTimer(self)   # many changes in a moment: the unmatched list read once after them
        self.unmatched_timer.setSingleShot(True)
        self.unmatched_timer.setInterval(150)
        self.unmatched_timer.timeout.connect(self.refresh_unmatched)
        app = QApplication.instance()
        if app is not None:   # there is one (a window needs it); instance() is typed as optional
            app.installEventFilter(self)

    # -- start-up -------------------------------------------------------------------------------
    def _on_ready(self, runtime) -> None:
        self.ready = True
        pending, self._pending = self._pending, None
        config = runtime.terminal.config
        self.store_label.setText(config.merchant.store_name)
        self.currency.setCurrentText(config.merchant.currency)
        self.entry_configured = bool(config.entry_code.code)
        self.entry_window = config.entry_code.match_window
        self.receipts_mode = config.receipts.customer
        self.brand_config = config.brand
        self.entry_button.setText(_("F3  Entry code") if self.entry_configured else _("F3  Entry code: not set up"))
        self.entry_button.setToolTip("" if self.entry_configured else _(checkout.NO_ENTRY_CODE))
        if self.customer is not None:
            self.customer.show_idle()
        self._show_scanners()
        self.poller.start()
        self._poll_link()
        self._refresh_recent()
        self.show_printer()
        self.refresh_unmatched()
        self.handle_action(pending)
        self._render()

    def _on_start_failed(self, message: str, hint: str) -> None:
        self.ready, self.failed = False, True
        if self._pending is not None:  # nothing was sent: say so, and give the cashier the counter back
            self._pending = None
            self.counter = checkout.Counter(hint=_("The payment was not sent: the terminal could not start."),
                                            entry=self.counter.entry)
            if self.customer is not None:
                self.customer.show_idle()
        self._render(error=(message, hint))

    # -- entry ----------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        """A key for the amount (the keypad, or a digit typed): :func:`pos_app.checkout.type_key`."""
        if self.counter.stage == checkout.OUTCOME:
            self.next_sale()   # typing on an outcome's screen starts the next sale
        self.counter = checkout.type_key(self.counter, key, EXPONENTS.get(self.currency.currentText(), 2))
        if self.description.hasFocus():
            self.amount_label.setFocus()   # the keypad was tapped: the amount has the keyboard again
        self._render()

    def amount(self) -> Money | None:
        return checkout.entry_amount(self.counter, self.currency.currentText())

    # -- actions --------------------------------------------------------------------------------
    def choose_scan(self) -> None:
        if self.failed:
            return
        self.counter, _action = checkout.scan_tender(self.counter, self.amount())
        due = self.counter.amount
        if self.counter.stage == checkout.AWAITING_CODE and due is not None and self.customer is not None:
            self.customer.show_view(sale_view.CustomerView("amount", due, message=_("Amount due")))
        self._render()

    def choose_qr(self) -> None:
        if self.failed:
            return
        self.counter, action = checkout.qr_tender(self.counter, self.amount(), self.description.text())
        self.handle_action(action)
        self._render()

    def choose_entry_code(self) -> None:
        """F3: the customer pays the typed amount by scanning the store's static entry code."""
        if self.failed:
            return
        self.counter, action = checkout.entry_tender(self.counter, self.amount(), self.description.text(),
                                                     configured=self.entry_configured or not self.ready)
        self.handle_action(action)
        self._render()

    def escape(self) -> None:
        can_abort = bool(self.view and self.view.can_abort)
        self.counter, action = checkout.escape(self.counter, can_abort)
        if self.counter.stage == checkout.ENTRY and self.customer is not None:
            self.customer.show_idle()
        self.handle_action(action)
        self._render()

    def next_sale(self) -> None:
        self.counter = checkout.next_sale(self.counter)
        if self.counter.stage == checkout.ENTRY:
            self.sale = self.view = None
            self.code_text = ""
            self.description.clear()
            if self.customer is not None:
                self.customer.show_idle()
        self._render()

    def confirm(self) -> None:
        """Enter: the obvious next thing, depending on where the counter is."""
        if self.counter.stage == checkout.OUTCOME:
            self.next_sale()
        elif self.counter.stage == checkout.ENTRY and self.amount() is not None:
            self.choose_scan()

    def handle_scan(self, text: str, source: str = "") -> None:
        self.scanned.emit(text)
        self.code_text = ""   # whatever it was (a product barcode too), the next code starts afresh
        self.wedge.reset()
        self.counter, action = checkout.on_scan(self.counter, classify(text), self.description.text())
        self.handle_action(action)
        self._render()

    def handle_action(self, action) -> None:
        """Carry out what the counter decided: a sale (the ``sale`` use case) or an abort (``abort``), both
        for the cashier at the counter (:func:`pos_app.services.counter`)."""
        from pos_app import services

        t = self.core.terminal
        if isinstance(action, checkout.StartSale) and t is None:
            self._pending = action  # the window came up before the terminal: the sale waits for it
            return
        if isinstance(action, checkout.AbortSale) and self._pending is not None:
            self._pending = None
            self.counter = checkout.Counter(checkout.ENTRY, self.counter.amount,
                                            hint=_("Not sent: nothing was charged."), entry=self.counter.entry)
            return
        if isinstance(action, checkout.StartSale) and t is not None:
            if self.customer is not None:
                self.customer.show_view(sale_view.CustomerView("amount", action.amount, message=_("Amount due")))
            grant = services.counter()
            self.core.call(lambda: services.sales.sale(grant, t, action.amount, code=action.code,
                                                       order_code=action.code is None and not action.entry_code,
                                                       entry_code=action.entry_code, description=action.description),
                           on_done=self._on_started, on_error=self._on_refused)
        elif isinstance(action, checkout.AbortSale) and t is not None:
            grant = services.counter()
            self.core.call(lambda: services.sales.abort(grant, t, action.sale_id), on_done=self._show_sale,
                           on_error=self._on_refused)

    def _on_started(self, sale: pf.Sale) -> None:
        if self.counter.sale_id is None:
            self.counter = checkout.started(self.counter, sale.id)
        self._show_sale(sale)

    def _on_refused(self, exc: Exception) -> None:
        message = exc.message if isinstance(exc, PosError) else str(exc)
        hint = exc.hint if isinstance(exc, PosError) else ""
        if self.counter.stage == checkout.RUNNING and self.counter.sale_id is None:
            self.counter = checkout.failed_to_start(self.counter, message + (f" ({hint})" if hint else ""))
            if self.customer is not None:
                self.customer.show_idle()
        else:
            self.counter = checkout.with_hint(self.counter, message)
        self._render()

    # -- the sale -------------------------------------------------------------------------------
    def _on_sale_changed(self, txn_id: str) -> None:
        t = self.core.terminal
        if t is None:
            return
        if self.counter.stage == checkout.RUNNING and self.counter.sale_id is None and txn_id == t.last_sale_id:
            self.counter = checkout.started(self.counter, txn_id)  # journaled, its pay still on the way
        if txn_id == self.counter.sale_id:
            self.core.call(t.load, txn_id, on_done=self._show_sale)
        else:   # perhaps an entry-code payment nobody waited for, or one assigned elsewhere
            self.unmatched_timer.start()

    def _show_sale(self, sale) -> None:
        if not isinstance(sale, pf.Sale) or sale.id != self.counter.sale_id:
            return
        self.sale = sale
        self.view = sale_view.cashier_view(sale)
        if self.customer is not None:
            self.customer.show_view(sale_view.customer_view(sale))
        if self.view.final and self.view.tone == sale_view.PAID:
            self.last_paid = sale.id
        if self.unmatched and sale.tender == pf.ENTRY_CODE and not self.view.final:
            self.unmatched_timer.start()   # an unmatched payment may be this waiting sale's: F5 is offered
        if self.view.final or (sale.accepted_at_risk and sale.phase is pf.Phase.NEW):
            self.counter = checkout.finished(self.counter, sale.id)
            self.unmatched_timer.start()   # the sale it might have been assigned to is over
            self._refresh_recent()
            self._poll_link()
        self._render()

    # -- keyboard: the cashier's keys and a scanner typing into the window ------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Every key of the window: where it goes is :func:`pos_app.checkout.route`; a burst of keys at a
        scanner's speed is taken back from wherever it went and handled as a scan (:mod:`ui.wedge`)."""
        if (event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent) or not isinstance(obj, QWidget)
                or obj.window() is not self):
            return False
        focus = QApplication.focusWidget()
        if focus is not None and focus.window() is self and obj is not focus:
            return False  # once per key, not once per parent it bubbles to
        key, text = event.key(), event.text()
        now = self._key_time(event)
        in_description = self.description.hasFocus()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            self._enter(now, key == Qt.Key.Key_Tab)
            return True
        if (not text or not text.isprintable()) and key not in MODIFIERS:
            self._settle_burst(math.inf)   # a key that is no character ends a burst
        if key == Qt.Key.Key_Escape:
            if in_description:
                self._leave_description()
            else:
                self.escape()
            return True
        if key in (Qt.Key.Key_F1, Qt.Key.Key_F2, Qt.Key.Key_F3, Qt.Key.Key_F4, Qt.Key.Key_F5, Qt.Key.Key_F9,
                   Qt.Key.Key_F10):
            if in_description:
                self._leave_description()
            if key == Qt.Key.Key_F1:
                self.choose_scan()
            elif key == Qt.Key.Key_F2:
                self.choose_qr()
            elif key == Qt.Key.Key_F3:
                self.choose_entry_code()
            elif key == Qt.Key.Key_F4:
                self.print_receipt()
            elif key == Qt.Key.Key_F5:
                self.assign_unmatched()
            elif key == Qt.Key.Key_F9:
                self.open_manager()
            else:
                self.open_technician()
            return True
        if text and text.isprintable():
            self._char(text, now, in_description)
            return True
        if key == Qt.Key.Key_Backspace and self.counter.stage == checkout.AWAITING_CODE:
            self.code_text = self.code_text[:-1]
            self._render()
            return True
        if key == Qt.Key.Key_Backspace and not in_description:
            self.press("⌫")
            return True
        return False   # the description's own keys (Backspace, arrows, a paste: checked by _guard_description)

    def _key_time(self, event: QKeyEvent) -> float:
        """When the key was pressed, in seconds: the X server's time of the event when it has one (a window
        busy for a moment then reads a person's keys in a rush, which must not look like a scanner's), else
        the time it is read. The burst timer reads the same clock through :meth:`_now`."""
        stamp = event.timestamp()
        self._clock_offset = time.monotonic() - stamp / 1000 if stamp else 0.0
        return self._now()

    def _now(self) -> float:
        return time.monotonic() - self._clock_offset

    def _char(self, text: str, now: float, in_description: bool) -> None:
        route = checkout.route(self.counter.stage, in_description, text)
        self._settle_burst(now)   # the burst before it, if it is over (its timer may not have fired yet)
        if self.wedge.feed(text, now):
            self._entries, self._burst_route = [], route
        self._entries.append(self.counter.entry)
        if route == checkout.CODE:
            self.code_text = (self.code_text + text)[-64:]
            self._render()
        elif route == checkout.AMOUNT:
            self.press("." if text == "," else text)
        # DESCRIPTION: held back in the wedge until the burst is over and known to be typing
        self.burst_timer.start()

    def _enter(self, now: float, tab: bool) -> None:
        """Enter (or Tab, a scanner's other suffix): a scan if a burst ends on it; else the description gives
        the keyboard back, or the code typed by hand is taken, or the obvious next step (:meth:`confirm`)."""
        if self._burst_over(self.wedge.end(now)):
            return
        if self.description.hasFocus():
            self._leave_description()
        elif self.counter.stage == checkout.AWAITING_CODE and self.code_text:
            self.handle_scan(self.code_text, "keyboard")
        elif not tab:
            self.confirm()

    def _settle_burst(self, now: float) -> None:
        """A burst that went quiet without Enter, or ended on a key that is no character (``now`` = inf)."""
        burst = self.wedge.idle(now)
        if burst is None:
            if self.wedge.length and now != math.inf:
                self.burst_timer.start()
            return
        self._burst_over(burst)

    def _burst_over(self, burst: Burst) -> bool:
        """What a person typed goes where it belongs (held-back characters into the description); a scanner's
        part is taken back from wherever its keys went (the amount as it was before them; the code typed is
        dropped by handle_scan) and handled as a scan. True when there was a scan."""
        if burst.typed and self._burst_route == checkout.DESCRIPTION:
            self._put_in_description(burst.typed)
        if burst.scan is None:
            return False
        first = len(burst.typed)
        if self._burst_route != checkout.CODE and self.counter.stage == checkout.ENTRY and first < len(self._entries):
            self.counter = replace(self.counter, entry=self._entries[first])
        if self.description.hasFocus():
            self._leave_description()
        self.handle_scan(burst.scan, "keyboard")
        return True

    def _put_in_description(self, text: str) -> None:
        if self.description.isEnabled():
            self.description.insert(text)
            self._guard_description()

    def _guard_description(self) -> None:
        """Whatever the classifier calls a payment code is cut out of the description at once (pos_app.checkout
        does it again before a sale is sent)."""
        text = self.description.text()
        clean = checkout.without_payment_codes(text)
        if clean != text:
            self.description.setText(clean)
            self.counter = checkout.with_hint(self.counter, _("That was a payment code: it is not kept in the "
                                                              "description. Press F1, then scan it."))
            self._render()

    def _leave_description(self) -> None:
        self.amount_label.setFocus()

    # -- scanners -------------------------------------------------------------------------------
    def _on_scanner_event(self, event) -> None:
        if isinstance(event, scanner_model.ScanEvent):
            self.handle_scan(event.data, event.source)
        else:
            if event.kind in (scanner_model.REJECTED, scanner_model.DROPPED, scanner_model.ERROR):
                self.counter = checkout.with_hint(self.counter,
                                                  _("Scanner: {message}").format(message=event.message))
                self._render()
            self._show_scanners()

    def _show_scanners(self) -> None:
        hub = self.core.hub
        rows = hub.status() if hub is not None else []
        live = [r for r in rows if r.get("connected")]
        if live:
            text, colour = _("Scanner: connected ({n})").format(n=len(live)), "#1b7f3b"
        elif rows:
            text, colour = _("Scanner: not connected. Plug it in, or type the code."), "#b3261e"
        else:
            text, colour = _("Scanner: none found. A scanner typing into this window works too."), "#6b7280"
        self.scanner_label.setText(text)
        self.scanner_label.setStyleSheet(f"color:{colour};font-weight:bold;")

    # -- background status ----------------------------------------------------------------------
    def _poll_link(self) -> None:
        from pos_app import services

        t = self.core.terminal
        if t is None:
            return
        if self.unmatched:   # settled elsewhere (the manager's window, the CLI) goes from this screen too
            self.refresh_unmatched()
        grant = services.counter()

        def link():
            t.link.up()   # while it is down, a probe (at most one a second): the banner goes when the link is back
            return t.link.offline_words(), services.sales.queue(grant, t.journal)
        self.core.call(link, on_done=self._show_link)

    def _show_link(self, result) -> None:
        """Offline: said for as long as the link is down (or a hop, the proxy or TLS, refuses the calls: the link
        names it), queued or not. Online, requests waiting longer than a moment are being sent (a payment in
        flight is not "queued")."""
        offline, queue = result
        down = offline is not None
        waiting = [i for i in queue["items"] if down or i["ageSeconds"] >= QUEUE_GRACE]
        if not down and not waiting:
            self.offline_bar.hide()
            return
        head, when = offline if offline is not None else (_("Sending queued payments."),
                                                          _("they are sent when the link is back"))
        if waiting:
            totals: dict[str, int] = {}
            for item in waiting:
                currency = item["amount"]["currency"]
                totals[currency] = totals.get(currency, 0) + int(item["amount"]["value"])
            text = ", ".join(format_amount(v, c, self.locale_name) for c, v in sorted(totals.items()))
            head = _("{head} {count} waiting in the queue ({totals}); {when}.").format(
                head=head, count=len(waiting), totals=text, when=when)
        self.offline_bar.setText(head)
        self.offline_bar.show()

    def _refresh_recent(self) -> None:
        t = self.core.terminal
        if t is None:
            return
        from pos_app import services

        grant = services.counter()

        def today():
            return services.closing.day_report(grant, t.journal, services.manager.today())
        self.core.call(today, on_done=self._show_recent)

    def _show_recent(self, report) -> None:
        rows = report.data["transactions"][-8:][::-1]
        self.recent.setRowCount(len(rows))
        for i, row in enumerate(rows):
            amount = Money(int(row["amount"]["value"]), row["amount"]["currency"])
            sign = "-" if row["kind"] != "sale" else ""
            cells = [datetime.fromtimestamp(row["createdAt"]).strftime("%H:%M:%S"),
                     sign + format_money(amount, self.locale_name),
                     _("QR shown") if row["tender"] == pf.ORDER_CODE else _("entry code")
                     if row["tender"] == pf.ENTRY_CODE and row["kind"] == "sale" else (
                         _("code scanned") if row["kind"] == "sale" else _(KIND_WORDS.get(row["kind"], row["kind"]))),
                     _(checkout.result_words(row["kind"], row["status"], row.get("resultCode")))]
            for j, cell in enumerate(cells):
                self.recent.setItem(i, j, QTableWidgetItem(cell))

    # -- the receipt printer --------------------------------------------------------------------------
    def show_printer(self) -> None:
        """The printer's state on the status panel: the ``printer_status`` use case asks the worker to ask the
        printer now; what it finds arrives through ``on_state`` (:meth:`_printer_arrived`), as every change does."""
        from pos_app import services

        printing = self.core.printing
        if printing is None:
            return
        grant = services.counter()
        self.core.call(lambda: services.receipts.printer_status(grant, printing, fresh=True),
                       on_done=self._printer_arrived)

    def _printer_arrived(self, state) -> None:
        """A :class:`~pos_app.printing.PrinterState` (on the UI thread: the bridge queued it). Which slips
        failed is read off the UI thread, for F4 to print the newest again."""
        self.printer_state = state
        printing = self.core.printing
        if state.failed and printing is not None:
            jobs = tuple(state.failed)
            self.core.call(lambda: [printing.printed(job) for job in jobs], on_done=self._failed_slips)
        else:
            self.failed_slip = None
        self._render_printer()

    def _failed_slips(self, printed: list) -> None:
        from pos_app.printing import SLIP_OF

        slips = [p.txn for p in printed if p.kind in SLIP_OF.values() and p.txn and not p.ok]
        self.failed_slip = slips[-1] if slips else None
        self._render_printer()

    def _render_printer(self) -> None:
        state = self.printer_state
        if state is None:
            self.printer_label.hide()
            self.printer_bar.hide()
            return
        configured = state.configured
        trouble = configured and state.checked_at is not None and not state.ready
        if not configured:
            short, colour = _("Printer: none (receipts as files only)"), "#6b7280"
        elif state.checked_at is None:
            short, colour = _("Printer: checking…"), "#6b7280"
        elif trouble:
            short, colour = _("Printer: not ready"), "#b3261e"
        else:
            short, colour = (_("Printer: ready") if not state.failed else _("Printer: ready, a slip to reprint")), \
                "#1b7f3b" if not state.failed else "#8a5a00"
        self.printer_label.setText(short)
        self.printer_label.setStyleSheet(f"color:{colour};font-weight:bold;")
        self.printer_label.show()
        if trouble or (configured and (state.failed or state.unsaved)):
            parts = [state.status_words or _("Printer: not ready")] if trouble else []
            if state.unsaved:   # the journal refused them (a full disk): the worker keeps trying
                parts.append(_("{n} receipt(s) not saved yet ({reason}). They print once the journal can save "
                               "them; tell the technician.").format(n=len(state.unsaved),
                                                                    reason=state.unsaved_error or ""))
            if state.failed:
                parts.append(_("Slips not printed yet: {n}.").format(n=len(state.failed)))
                if self.failed_slip is not None:
                    parts.append(_("Press F4 to print the receipt again.") if state.ready else
                                 _("Once the printer is ready, press F4 to print the receipt again."))
                else:
                    parts.append(_("The manager prints them again (Manager, F9)."))
            if trouble:
                parts.append(_("Sales go on: a receipt that cannot print waits, and is never lost."))
            self.printer_bar.setText("  ".join(_sentence(part) for part in parts))
            self.printer_bar.show()
        else:
            self.printer_bar.hide()
        self._render_print_key(self.counter.stage)

    def _brand_the_code(self) -> None:
        """The merchant's artwork on this window's scanning page, as on the customer display: the QR's centre
        icon (``[brand] qr_icon``, else a plain "+"; the code is then made at level H) and the acceptance mark
        (else its words). A file gone bad since start-up leaves the words and the "+", and the log says why."""
        from pos_app import brand

        from .qr import qimage

        self._branded = True
        try:
            icon = brand.qr_icon(self.brand_config)
        except brand.ArtworkError as exc:
            log.warning("cashier: the QR's centre icon is the plain '+': %s", exc)
            icon = None
        self.qr.set_icon(qimage(icon if icon is not None else brand.neutral_icon(96)))
        try:
            mark = brand.mark(self.brand_config)
        except brand.ArtworkError as exc:
            log.warning("cashier: the acceptance mark is not shown: %s", exc)
            mark = None
        if mark is not None:
            picture = QPixmap.fromImage(qimage(mark))
            self.brand_label.setPixmap(picture.scaledToHeight(40, Qt.TransformationMode.SmoothTransformation))

    def print_receipt(self) -> None:
        """F4: print the receipt owed (a failed one again, else the last paid sale's): the ``print_receipt``
        use case, on the till's print worker; the outcome arrives through the printer's state."""
        from pos_app import services

        printing = self.core.printing
        configured = bool(printing is not None and printing.configured)
        action, hint = checkout.print_key(printer=configured, last_paid=self.last_paid, failed=self.failed_slip)
        now, asked = self._now(), self._print_asked
        if action is not None and (action.txn in self._printing or (
                asked is not None and asked[0] == action.txn and now - asked[1] < PRINT_AGAIN)):
            # a key hammered (or held) asks for one slip: a print takes ~50 ms, so each press printed a copy
            self._print_asked = (action.txn, now)
            again = _("F4 pressed again at once: still one receipt. For another copy, press F4 again.")
            self.counter = checkout.with_hint(self.counter, f"{self._print_said} {again}".strip())
            self._render()
            return
        self.counter = checkout.with_hint(self.counter, hint)
        self._render()
        if action is None or printing is None:
            return
        self._print_said = hint
        txn = action.txn
        self._printing.add(txn)
        self._print_asked = (txn, now)
        grant = services.counter()
        self.core.call(lambda: services.receipts.print_receipt(grant, printing, action.txn, wait=PRINT_WAIT),
                       on_done=lambda result: self._printed(result, txn),
                       on_error=lambda exc: self._print_refused(exc, txn))

    def _printed(self, result, txn: str) -> None:
        self._printing.discard(txn)
        words = (_("Receipt printed again (marked REPRINT).") if result.copy == "reprint" else _("Receipt printed.")
                 ) if result.ok else _("The receipt did not print: {why}").format(why=result.error or result.words)
        self.counter = checkout.with_hint(self.counter, words)
        self._print_said = words
        if not result.ok:
            self._print_asked = None   # a press after a failed print is a new try, however soon
        if result.ok and result.txn == self.failed_slip:
            self.failed_slip = None
        self.show_printer()
        self._render()

    def _print_refused(self, exc: Exception, txn: str) -> None:
        self._printing.discard(txn)
        self._print_asked = None
        message = exc.message if isinstance(exc, PosError) else str(exc)
        hint = exc.hint if isinstance(exc, PosError) else ""
        self.counter = checkout.with_hint(self.counter, message + (f" ({hint})" if hint else ""))
        self._render()

    def _render_print_key(self, stage: str) -> None:
        state = self.printer_state
        printer = bool(state is not None and state.configured)
        failed = self.failed_slip is not None
        self.print_button.setText(checkout.print_key_label(printer=printer, mode=self.receipts_mode, failed=failed))
        paid_on_screen = stage == checkout.OUTCOME and self.view is not None and self.view.tone == sale_view.PAID
        self.print_button.setVisible(printer and stage != checkout.RUNNING and (failed or paid_on_screen))

    # -- entry-code payments nobody waited for ------------------------------------------------------------
    def refresh_unmatched(self) -> None:
        """The unmatched entry-code payments (the ``entry_payments`` use case), with each one's wallet."""
        from pos_app import services

        t = self.core.terminal
        if t is None:
            return
        grant = services.counter()
        known = dict(self.unmatched_wallet)

        def read():
            items = services.sales.entry_payments(grant, t)
            wallets = {i["id"]: known[i["id"]] if i["id"] in known else
                       sale_view.wallet_of(services.manager.detail(t, i["id"])["events"]) for i in items}
            return items, wallets
        self.core.call(read, on_done=self._unmatched_arrived)

    def _unmatched_arrived(self, result) -> None:
        self.unmatched, self.unmatched_wallet = result
        self._render_unmatched()

    def _render_unmatched(self) -> None:
        if not self.unmatched:
            self.unmatched_frame.hide()
            return
        waiting = self.counter.sale_id if self.counter.stage == checkout.RUNNING else None
        item = checkout.assignable(self.unmatched, waiting)
        shown = item or self.unmatched[0]
        amount = Money(int(shown["amount"]["value"]), shown["amount"]["currency"])
        at = datetime.fromtimestamp(shown["arrivedAt"]).strftime("%H:%M:%S")
        what, todo = sale_view.unmatched_words(format_money(amount, self.locale_name),
                                               self.unmatched_wallet.get(shown["id"]), at,
                                               assignable=item is not None, others=len(self.unmatched) - 1,
                                               offerable=time.time() - shown["arrivedAt"] <= self.entry_window)
        self.unmatched_label.setText(f"{what}\n{todo}")
        self.assign_button.setVisible(item is not None)
        self.unmatched_frame.show()

    def assign_unmatched(self) -> None:
        """F5: make the unmatched entry-code payment the waiting sale's payment (the ``assign_entry_payment``
        use case, the cashier's; audited). Only the one the terminal offers to the sale on screen."""
        from pos_app import services

        t = self.core.terminal
        waiting = self.counter.sale_id if self.counter.stage == checkout.RUNNING else None
        item = checkout.assignable(self.unmatched, waiting)
        if t is None or item is None or waiting is None:
            self.counter = checkout.with_hint(self.counter, _("No entry-code payment to assign to this sale: F5 "
                                                              "works while a sale waits for its entry-code payment."))
            self._render()
            return
        grant = services.counter()
        payment = item["id"]
        self.core.call(lambda: services.sales.assign_entry_payment(grant, t, payment, waiting),
                       on_done=self._show_sale, on_error=self._on_refused)
        self.unmatched_timer.start()

    # -- rendering ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.unmatched:   # a payment ages out of the match window with no other event: its words follow
            self._render_unmatched()
        if self.view is not None and not self.view.final and self.view.waiting_for:
            self._render_waiting(self.view.waiting_for)

    def _render_waiting(self, what: str) -> None:
        seconds = int(time.monotonic() - self.phase_since)
        self.waiting.setText(sale_view.waiting_line(self.view, seconds, time.time()) if self.view else what)

    def _render(self, error: tuple[str, str] | None = None) -> None:
        currency = self.currency.currentText()
        stage = self.counter.stage
        shown = self.counter.amount if stage == checkout.RUNNING else self.amount()
        self.amount_label.setText(format_money(shown, self.locale_name) if shown
                                  else format_amount(0, currency, self.locale_name))
        idle = stage in (checkout.ENTRY, checkout.AWAITING_CODE)
        self.scan_button.setEnabled(not self.failed and stage == checkout.ENTRY)
        self.qr_button.setEnabled(not self.failed and idle)
        self.entry_button.setEnabled(not self.failed and idle and (self.entry_configured or not self.ready))
        self.currency.setEnabled(stage == checkout.ENTRY)
        self.description.setEnabled(not self.failed and stage == checkout.ENTRY)
        if not self.description.isEnabled() and QApplication.focusWidget() in (None, self.description):
            self.amount_label.setFocus()
        for button in self.keypad.values():
            button.setEnabled(not self.failed and stage != checkout.RUNNING)
        view = self.view if stage in (checkout.RUNNING, checkout.OUTCOME) else None
        if error is not None:
            tone, headline, detail, nxt, waiting = "declined", _("The terminal could not start"), error[0], error[1], ""
        elif not self.ready and stage == checkout.RUNNING:
            tone, headline, detail, nxt, waiting = sale_view.WORKING, _("Starting the terminal…"), \
                _("The payment is sent as soon as the terminal is ready."), "", _("the terminal")
        elif view is not None:
            tone, headline, detail, nxt, waiting = view.tone, view.headline, view.detail, view.next_step, \
                view.waiting_for
        elif stage == checkout.RUNNING:
            tone, headline, detail, nxt, waiting = sale_view.WORKING, _("Sending the payment"), "", "", \
                _("the gateway")
        elif stage == checkout.AWAITING_CODE and self.counter.amount is not None:
            tone, headline, detail, nxt, waiting = "idle", _("Scan the customer's payment code"), "", \
                _("No scanner? Type the code and press Enter. Esc: stop waiting."), ""
            if self.code_text:
                detail = _("Code typed: {code}").format(code=mask(self.code_text))
        else:
            tone, headline, detail, nxt, waiting = "idle", _("Ready"), \
                (_("Enter the amount, then F1 to scan the customer's code, F2 to show a QR or F3 for the store's "
                   "entry code.") if self.entry_configured else
                 _("Enter the amount, then F1 to scan the customer's code or F2 to show a QR.")), "", ""
        if not self.ready and error is None and stage != checkout.RUNNING:
            detail += ("\n" if detail else "") + _("Opening the journal and connecting to the gateway…")
        code = self.sale.code_value if (view is not None and self.sale is not None and not view.final
                                        and self.sale.phase is pf.Phase.WAITING) else None
        if code is not None and self.customer is None:   # one screen: the QR is here, not on a customer display
            detail = _("No customer display: turn this screen to the customer to scan the QR below.")
            if self.sale is not None and self.sale.tender == pf.ENTRY_CODE:
                detail = _("No customer display: turn this screen to the customer. They scan the store's entry "
                           "code below and enter {amount} in the wallet.").format(
                    amount=format_money(Money(self.sale.amount, self.sale.currency), self.locale_name))
        fg, bg = COLOURS.get(tone, COLOURS["idle"])
        self.status_frame.setStyleSheet(f"QFrame#status{{background:{bg};border-radius:10px;}}"
                                        f"QFrame#status QLabel{{color:{fg};background:transparent;}}")
        self.status_frame.setProperty("tone", tone)
        self.headline.setText(headline)
        # PAID / NOT PAID / Ready: readable from afar; the longer words of a sale on its way, smaller
        big = len(headline) <= 14 and stage != checkout.RUNNING
        self.headline.setFont(_font(56 if big else (22 if code is not None else 28), True))
        due = self.counter.amount if stage != checkout.ENTRY else None
        self.sale_amount.setText(format_money(due, self.locale_name) if due is not None else "")
        self.sale_amount.setVisible(due is not None)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.next_step.setText(nxt)
        self.next_step.setVisible(bool(nxt))
        working = bool(waiting) and not (view is not None and view.final)
        self.busy.setVisible(working)
        self.waiting.setVisible(working)
        if working:
            if view is None:
                self.waiting.setText(_("Waiting for {what}").format(what=waiting))
            else:
                self._render_waiting(view.waiting_for)
        self.hint.setText(self.counter.hint)
        self.hint.setVisible(bool(self.counter.hint))
        if code is not None and not self._branded:
            self._brand_the_code()
        self.qr.set_payload(code)  # also here: the customer display may be off, or out of order
        self.qr.setVisible(code is not None)
        self.brand_label.setVisible(code is not None)
        self.recent_label.setVisible(code is None)   # the QR needs the room more than the list does
        self.recent.setVisible(code is None)
        self.abort_button.setVisible(stage == checkout.AWAITING_CODE or bool(view and view.can_abort))
        self.new_button.setVisible(stage == checkout.OUTCOME)
        self._render_print_key(stage)
        self._render_unmatched()

    def open_manager(self) -> None:
        """The manager's mode, behind the manager PIN (set on first use). Not during a sale."""
        grant = self._mode_grant("manager")
        if grant is not None:
            from .manager import ManagerWindow

            self.manager_window = ManagerWindow(self.core, grant, locale_name=self.locale_name)
            self._show_mode(self.manager_window)

    def open_technician(self) -> None:
        """The technician's mode (devices, self-test, display test, queue, logs), behind its own PIN."""
        grant = self._mode_grant("technician")
        if grant is not None:
            from .technician import TechnicianWindow

            self.technician_window = TechnicianWindow(self.core, grant, self.customer)
            self._show_mode(self.technician_window)

    def _mode_grant(self, role: str):
        """The role's Grant from its PIN dialog; None (and why, on the hint line) when the mode cannot open."""
        if not self.ready or self.counter.stage == checkout.RUNNING:
            self.counter = checkout.with_hint(
                self.counter, _("Manager mode opens between sales, once the terminal is up.") if role == "manager"
                else _("Technician mode opens between sales, once the terminal is up."))
            self._render()
            return None
        from .pin_dialog import PinDialog

        return PinDialog.ask(self.core, role, self)

    def _show_mode(self, window) -> None:
        window.resize(self.size())
        window.show()

    def customer_display_off(self) -> None:
        """One screen only: say so where the scanner status is, once."""
        self.customer = None
        self.store_label.setToolTip(_("No second screen: the customer display is off. Turn this screen to "
                                      "the customer to show a QR."))
        self.display_label.setText(_("Customer display: off (one screen)"))
        self.display_label.show()

    def changeEvent(self, event: QEvent) -> None:
        """Back from the manager's or the technician's window (a refund, a cancel): the recent list read again."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and self.ready:
            self._refresh_recent()
            self.refresh_unmatched()

    def closeEvent(self, event) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(event)
