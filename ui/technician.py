"""The technician's window (opened with the technician's Grant from the PIN dialog): prove the hardware
and the link work.

The tabs:

* **Devices**: the ``devices`` use case (what ``pos-terminal devices`` lists): scanners (from the running
  :class:`drivers.hub.ScannerHub`, with state and statistics), input devices and their grab state, serial
  ports, and the screens Qt sees.
* **Self-test**: the ``selftest`` use case at the internal, external or interactive level, one row per
  check as it ends (PASS green, FAIL red, SKIP grey) with its detail and hint, a summary, and exports to
  JSON and text. The interactive level shows the test QR here and takes the test scan from the scanner
  hub, or from a keyboard-wedge scanner typing into the test-scan field.
* **Customer display**: the test pattern and back to idle.
* **Queue**: what waits in the outbox (``queue``), and a manual drain (``drain``).
* **Logs**: the till's own log (the file this process writes, ``<data dir>/logs/pos-terminal.log``),
  masked, and the export for support: the ``log_export`` use case, the same masked .tar.gz as
  ``pos-terminal logs --export``, with every file of the folder (rotated logs, crash reports).
* **Fleet** (only with ``[store]``, issue 17): the store's terminals from their heartbeats, stale or failing
  first (``store_terminals``), this terminal's replication (backlog, lag, last error), and the restore of a
  replaced disk's history from the store (``store_restore``); :mod:`ui.store_views` draws it.

A kiosk has no window manager: no title bar, no close box. So Esc and a "Back to the till" button close the
window, take the test pattern off the customer display, and hand the keyboard back to the till.

The self-test checks what this terminal uses: its own config is passed (``running``), so the gateway checked
is the one the till talks to (sandbox mode: its embedded simulator) and nothing else is started.

Every read and write runs through :meth:`ui.bridge.Core.call`: nothing here waits on a disk or a network
on the UI thread. ``busy`` counts the calls under way (tests wait for it to fall to 0).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app import selftest, services
from pos_app.errors import PosError
from pos_app.i18n import N_, _
from pos_app.money import Money
from pos_app.vocabulary import KIND_WORDS, REQUEST_WORDS, status_words

from .operations import Operations, error_text
from .qr import QrWidget
from .store_views import FleetPanel
from .widgets import TOUCH, ModeWindow, confirm_box, title
from .widgets import button as _button
from .widgets import cell as _cell
from .widgets import table as _table


def _read_only_table(headers: list[str]):
    """A shared table whose Tab and Ctrl+Tab are the window's: to the next widget, to the next tab (a
    read-only table has no cell to tab to; by default it kept both keys to itself)."""
    widget = _table(headers)
    widget.setTabKeyNavigation(False)
    return widget

LOG_TAIL_BYTES = 256 * 1024      # the viewer shows the end of a big log; the export copies all of it
DISPLAY_WAIT = 5.0               # seconds the self-test waits for the customer display to show the pattern

STATUS_COLOURS = {selftest.PASS: "#1b7f3b", selftest.FAIL: "#b3261e", selftest.SKIP: "#7b8794"}
STATUS_WORDS = {selftest.PASS: N_("PASS"), selftest.FAIL: N_("FAIL"), selftest.SKIP: N_("SKIP")}
LEVEL_WORDS = (("internal", N_("internal: this machine only")),
               ("external", N_("external: also the gateway, notifications and the customer display")),
               ("interactive", N_("interactive: also a test scan")))
LEVEL_NAMES = {"internal": N_("internal"), "external": N_("external"), "interactive": N_("interactive")}
#: An input device's role (drivers.discovery) as a technician reads it.
ROLE_WORDS = {"scanner": N_("scanner"), "keyboard": N_("keyboard"), "shared": N_("shared with typing"),
              "other": N_("other"), "ignore": N_("ignored")}
#: A running scanner's statistics (drivers.model.Statistics), by their JSON names.
STAT_WORDS = {"good_scans": N_("good scans"), "errors": N_("errors"), "dropped": N_("dropped"),
              "ended_by_gap": N_("without a suffix"), "reconnects": N_("reconnects"),
              "last_seen": N_("last scan"), "connected_since": N_("connected since")}


def _money(api) -> str:
    """A gateway amount (``{"currency", "value"}`` in minor units) as "12.34 USD"."""
    try:
        return str(Money.from_api(api))
    except Exception:  # noqa: BLE001 -- shown as it came rather than not at all
        return str(api)


def _whole(seconds) -> str:
    return "" if seconds is None else f"{float(seconds):.0f}"


def _stats_words(stats: dict) -> str:
    """A scanner's statistics in words: counts as numbers, moments as the local time of day."""
    parts = []
    for key, value in stats.items():
        if key in ("last_seen", "connected_since"):
            value = "—" if value is None else time.strftime("%H:%M:%S", time.localtime(value))
        parts.append(_("{what} {value}").format(what=_(STAT_WORDS[key]) if key in STAT_WORDS else key, value=value))
    return ", ".join(parts)




class _PatternAsk:
    """The self-test's request to show the test pattern, answered on the UI thread."""

    def __init__(self) -> None:
        self.answered = threading.Event()
        self.shown = False


class TechnicianWindow(Operations, ModeWindow):
    """``TechnicianWindow(core, grant, customer=None)``: ``grant`` is what :class:`ui.pin_dialog.PinDialog`
    gave for the technician (or manager) PIN; ``core`` is a started :class:`ui.bridge.Core`; ``customer``
    the :class:`ui.customer.CustomerDisplay`, or None when there is none.

    Methods for tests and tools: :meth:`refresh_devices`, :meth:`run_selftest`, :meth:`export`,
    :meth:`refresh_queue`, :meth:`drain`, :meth:`refresh_logs`, :meth:`export_logs`, :meth:`leave`.

    It covers the till as the manager's does (:class:`ui.widgets.ModeWindow`): Esc or "Back to the till"
    closes it, and the till gets the keyboard back.
    """

    check_done = Signal(object)          # a selftest.Check, from the worker running the self-test
    _show_pattern = Signal(object)       # a _PatternAsk: answered once the pattern is on screen, or cannot be
    _ask_scan = Signal(str, float)       # the test code and how long the check waits for it
    _sample_index = -1                   # the branded screen the display test showed last (SAMPLES)

    def __init__(self, core, grant: services.Grant, customer=None, parent=None) -> None:
        super().__init__(parent)
        self.core, self.grant, self.customer = core, grant, customer
        self.busy = 0
        self.report: selftest.Report | None = None
        self.devices: dict | None = None
        self.queue_status: dict | None = None
        self.log_file: str | None = None
        self.fleet: services.store.Fleet | None = None          # the store's terminals, as last read
        self.replication: dict | None = None                    # this terminal's replication, as last read
        self.restored: services.store_restore.Restored | None = None
        # tests replace it (a modal box needs a person): confirm(text, yes_text) -> bool
        self.confirm: Callable[..., bool] = lambda text, yes=None: confirm_box(self, text, yes)
        self.log_export: services.technician.LogExport | None = None
        self.running = False
        self.left = False                # gone back to the till: the self-test's display check shows nothing
        self.setWindowTitle(_("pos-terminal: technician"))
        self.check_done.connect(self._add_check)
        self._show_pattern.connect(self._on_show_pattern, Qt.ConnectionType.QueuedConnection)
        self._ask_scan.connect(self._on_ask_scan, Qt.ConnectionType.QueuedConnection)
        self._scans: queue.Queue = queue.Queue()     # test scans, put by the UI thread, taken by the worker
        self._awaiting_scan = False
        self._first_key: float | None = None
        self.core.scanner_event.connect(self._on_scanner_event)
        self._build()
        self.refresh_devices()
        self.refresh_queue()
        self.refresh_logs()

    # -- building -------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        header = QHBoxLayout()
        header.addWidget(title(_("Technician mode")), 1)
        self.back_to_till = self.back_button()   # and Esc anywhere in the window (a popup list takes its own)
        header.addWidget(self.back_to_till)
        outer.addLayout(header)
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.tabBar().setObjectName("technician_tabs")
        self.tabs.addTab(self._devices_tab(), _("Devices"))
        self.tabs.addTab(self._selftest_tab(), _("Self-test"))
        self.tabs.addTab(self._display_tab(), _("Customer display"))
        self.tabs.addTab(self._queue_tab(), _("Queue"))
        self.logs_page = self._logs_tab()
        self.tabs.addTab(self.logs_page, _("Logs"))
        self.fleet_panel: FleetPanel | None = None   # the Fleet tab: only with [store] (issue 17)
        store = getattr(self._config(), "store", None)
        if store is not None:
            self.fleet_panel = FleetPanel(store.store_id)
            self.fleet_panel.refresh_button.clicked.connect(self.refresh_fleet)
            self.fleet_panel.restore_button.clicked.connect(self.store_restore)
            self.tabs.addTab(self.fleet_panel, _("Fleet"))
        # the log grows while the till runs, the fleet's heartbeats come and go: a tab shows them as they are
        # when it is opened
        self.tabs.currentChanged.connect(self._tab_opened)
        outer.addWidget(self.tabs, 1)
        outer.addWidget(self.status)

    def _tab_opened(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.logs_page:
            self.refresh_logs()
        elif page is not None and page is self.fleet_panel:
            self.refresh_fleet()

    def _devices_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        top = QHBoxLayout()
        self.devices_label = QLabel(_("Loading…"))
        top.addWidget(self.devices_label, 1)
        self.devices_button = _button(_("Refresh"))
        self.devices_button.clicked.connect(self.refresh_devices)
        top.addWidget(self.devices_button)
        layout.addLayout(top)
        self.devices_table = _read_only_table([_("Type"), _("Name"), _("State"), _("Details")])
        layout.addWidget(self.devices_table, 1)
        return tab

    def _selftest_tab(self) -> QWidget:
        """The level by its short name, what it covers beside it in words that wrap, and the exports under the
        table beside the summary: nothing in it needs more than 1024 px, in either language."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Level")))
        self.level_combo = QComboBox()
        self.level_combo.setMinimumHeight(TOUCH)
        for level, _words in LEVEL_WORDS:
            self.level_combo.addItem(_(LEVEL_NAMES[level]), level)
        top.addWidget(self.level_combo)
        self.run_button = _button(_("Run self-test"))
        self.run_button.setObjectName("run_selftest")
        self.run_button.clicked.connect(lambda: self.run_selftest())
        top.addWidget(self.run_button)
        self.level_note = QLabel("")
        self.level_note.setWordWrap(True)
        top.addWidget(self.level_note, 1)
        self.level_combo.currentIndexChanged.connect(self._show_level_note)
        # external by default: at the counter, what matters is the gateway, notifications and the display
        self.level_combo.setCurrentIndex(self.level_combo.findData("external"))
        self._show_level_note()
        layout.addLayout(top)
        layout.addWidget(self._scan_panel())
        self.checks_table = _read_only_table([_("Result"), _("Check"), _("Seconds"), _("Detail"), _("Hint")])
        self.checks_table.setObjectName("selftest_checks")
        header = self.checks_table.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        # a row's height follows its wrapped words when a column's width changes, so no detail is elided
        header.sectionResized.connect(lambda *_: self.checks_table.resizeRowsToContents())
        layout.addWidget(self.checks_table, 1)
        bottom = QHBoxLayout()
        self.summary = QLabel(_("Not run yet."))
        self.summary.setObjectName("selftest_summary")
        self.summary.setWordWrap(True)
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        bottom.addWidget(self.summary, 1)
        self.json_button = _button(_("Export JSON…"))
        self.json_button.clicked.connect(lambda: self._ask_export(_("JSON report (*.json)"), "selftest.json"))
        self.text_button = _button(_("Export text…"))
        self.text_button.clicked.connect(lambda: self._ask_export(_("Text report (*.txt)"), "selftest.txt"))
        for button in (self.json_button, self.text_button):
            button.setEnabled(False)
            bottom.addWidget(button)
        layout.addLayout(bottom)
        return tab

    def _show_level_note(self, *_args) -> None:
        level = self.level_combo.currentData()
        self.level_note.setText(next((_(words) for name, words in LEVEL_WORDS if name == level), ""))

    def _scan_panel(self) -> QWidget:
        """The interactive check's prompt: the test QR, what to do, and a field a wedge scanner types into."""
        self.scan_panel = panel = QWidget()
        row = QHBoxLayout(panel)
        row.setContentsMargins(0, 0, 0, 0)
        self.scan_qr = QrWidget()
        self.scan_qr.setFixedSize(220, 220)
        row.addWidget(self.scan_qr)
        column = QVBoxLayout()
        self.scan_prompt = QLabel("")
        self.scan_prompt.setWordWrap(True)
        font = self.scan_prompt.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.scan_prompt.setFont(font)
        column.addWidget(self.scan_prompt)
        self.scan_field = QLineEdit()
        self.scan_field.setMinimumHeight(TOUCH)
        self.scan_field.setPlaceholderText(_("A keyboard-wedge scanner types here; then Enter"))
        self.scan_field.textEdited.connect(self._on_scan_typed)
        self.scan_field.returnPressed.connect(self._on_scan_entered)
        column.addWidget(self.scan_field)
        self.scan_skip = _button(_("Skip the test scan"))
        self.scan_skip.clicked.connect(lambda: self._scans.put(None))
        column.addWidget(self.scan_skip)
        column.addStretch(1)
        row.addLayout(column, 1)
        panel.setVisible(False)
        return panel

    def _display_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.display_note = QLabel(
            _("Shows colour bars, a grid, text sizes and a test QR code on the customer display.")
            if self.customer is not None else
            _("No customer display in this session: start the terminal with a customer display to test it."))
        self.display_note.setWordWrap(True)
        layout.addWidget(self.display_note)
        row = QHBoxLayout()
        self.pattern_button = _button(_("Show test pattern"))
        self.pattern_button.clicked.connect(self.show_test_pattern)
        self.brand_button = _button(_("Show the branded screens"))   # each press: the next (issue 16)
        self.brand_button.clicked.connect(self.show_branded)
        self.idle_button = _button(_("Back to idle"))
        self.idle_button.clicked.connect(self.show_idle)
        for button in (self.pattern_button, self.brand_button, self.idle_button):
            button.setEnabled(self.customer is not None)
            button.setMinimumWidth(220)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.display_state = QLabel("")
        layout.addWidget(self.display_state)
        layout.addStretch(1)
        self._update_display_state()
        return tab

    def _queue_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        top = QHBoxLayout()
        self.queue_label = QLabel(_("Loading…"))
        self.queue_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.queue_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.queue_label, 1)
        self.queue_button = _button(_("Refresh"))
        self.queue_button.clicked.connect(self.refresh_queue)
        self.drain_button = _button(_("Drain now"))
        self.drain_button.clicked.connect(self.drain)
        top.addWidget(self.queue_button)
        top.addWidget(self.drain_button)
        layout.addLayout(top)
        self.queue_table = _read_only_table([_("ID"), _("Request"), _("Kind"), _("Status"), _("Amount"), _("Age (s)")])
        self.queue_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.queue_table, 1)
        return tab

    def _logs_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        top = QHBoxLayout()
        self.log_label = QLabel(_("Loading…"))
        self.log_label.setObjectName("log_label")
        self.log_label.setWordWrap(True)
        top.addWidget(self.log_label, 1)
        self.logs_button = _button(_("Refresh"))
        self.logs_button.clicked.connect(self.refresh_logs)
        self.export_logs_button = _button(_("Export for support…"))
        self.export_logs_button.clicked.connect(self._ask_export_logs)
        top.addWidget(self.logs_button)
        top.addWidget(self.export_logs_button)
        layout.addLayout(top)
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("log_view")
        self.log_view.setReadOnly(True)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.log_view, 1)
        return tab

    # -- back to the till ---------------------------------------------------------------------------------
    def leave(self) -> None:
        """Back to the till (Esc, or the button): the window closes, see :meth:`closeEvent`."""
        self.back()

    def showEvent(self, event) -> None:
        self.left = False
        super().showEvent(event)        # over the till, with the keyboard (ModeWindow)
        self.tabs.tabBar().setFocus()   # the arrow keys and Ctrl+Tab walk the tabs from the start

    def closeEvent(self, event) -> None:
        """However the window goes (Esc, the button, a desktop's close box): the test pattern leaves the
        customer display and a test scan still awaited is given up; ModeWindow then gives the till the
        keyboard back."""
        self.left = True
        if self._awaiting_scan:
            self._awaiting_scan = False
            self._scans.put(None)
        if self.customer is not None and (self.customer.mode == "test" or self.customer.sample):
            self.customer.show_idle()
        self._update_display_state()
        super().closeEvent(event)

    # -- helpers ----------------------------------------------------------------------------------------
    def _config(self):
        terminal = self.core.terminal
        return getattr(terminal, "config", None) if terminal is not None else None

    # -- devices ----------------------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        """The ``devices`` use case, as ``pos-terminal devices`` lists them, plus the screens."""
        self.devices_button.setEnabled(False)
        grant, hub, config = self.grant, self.core.hub, self._config()

        def work():
            from pos_app.config import ScannersConfig

            settings = config.scanners if config is not None else ScannersConfig()
            return services.technician.devices(grant, settings, hub=hub,
                                               printer=config.printer if config is not None else None)

        def failed(_exc):
            self.devices_button.setEnabled(True)
        self._call(work, on_done=self._show_devices, on_error=failed)

    def _screens(self) -> list[dict]:
        """The screens Qt sees (read on the UI thread: Qt objects, no I/O)."""
        out = []
        primary = QGuiApplication.primaryScreen()
        for n, screen in enumerate(QGuiApplication.screens(), 1):
            g = screen.geometry()
            out.append({"name": screen.name() or screen.model() or _("screen {n}").format(n=n),
                        "geometry": f"{g.width()}x{g.height()}+{g.x()}+{g.y()}",
                        "scale": round(screen.devicePixelRatio(), 2), "primary": screen is primary,
                        "refresh": round(screen.refreshRate(), 1)})
        return out

    def _show_devices(self, devices: dict) -> None:
        self.devices_button.setEnabled(True)
        devices = dict(devices, displays=self._screens())
        self.devices = devices
        rows: list[tuple[str, str, str, str, str | None]] = []   # kind, name, state, detail, colour (None: plain)
        devices.setdefault("scanners", None)   # no hub in this session
        if devices["scanners"] is None:
            rows.append((_("scanner"), "—", _("no scanner hub"), _("scanners are not started in this session"),
                         "#7b8794"))
        elif not devices["scanners"]:
            rows.append((_("scanner"), "—", _("none found"), _("no scanner configured or discovered"), "#7b8794"))
        for row in devices["scanners"] or []:
            detail = row.get("error") or _stats_words(row.get("stats") or {})
            state = _(row["state"]) if row.get("state") else ""
            if not row.get("connected"):
                state += " · " + _("disconnected")
            colour = "#1b7f3b" if row.get("connected") else "#b3261e"
            kind = _("{what} ({kind})").format(what=_("scanner"), kind=_(row["kind"])) if row.get("kind") \
                else _("scanner")
            rows.append((kind, row.get("source", ""), state, detail, colour))
        for device in devices["input_devices"]:
            role = device.get("role", "")
            state = _(ROLE_WORDS[role]) if role in ROLE_WORDS else role
            if device.get("grabbed"):
                state += " · " + _("grabbed: {state}").format(state=device["grabbed"])
            nodes = ", ".join(n.get("path", "") for n in device.get("nodes") or [])
            detail = "; ".join(x for x in (device.get("reason"), nodes) if x)
            rows.append((_("input device"), device.get("name", ""), state, detail, None))
        for part, words in (("input_devices", _("input device")), ("serial_ports", _("serial port"))):
            if devices["errors"].get(part):
                rows.append((words, "—", _("cannot list"), devices["errors"][part], "#b3261e"))
        for port in devices["serial_ports"]:
            marks = [_("configured")] if port.get("configured") else []
            if port.get("likely_scanner"):
                marks.append(_("looks like a scanner"))
            detail = "; ".join(x for x in (port.get("description"), port.get("reason")) if x and x != "n/a")
            rows.append((_("serial port"), port.get("device", ""), ", ".join(marks), detail, None))
        if not devices.get("printers"):   # said, not left out: a technician looks for the printer's row
            rows.append((_("printer"), "—", _("none found"),
                         _("no printer configured or found; `pos-terminal devices` lists the [printer] lines for one"),
                         "#7b8794"))
        for printer in devices.get("printers") or []:
            status = printer.get("status")
            state = status["words"] if status else (_("configured") if printer.get("configured") else "")
            shade = None if status is None else ("#1b7f3b" if status.get("ready") else "#b3261e")
            lines = "  ".join(printer.get("config") or ())   # what to write in [printer] to use it
            detail = "; ".join(x for x in (printer.get("where"), printer.get("note"), lines) if x)
            rows.append((_("printer"), printer.get("name", ""), state, detail, shade))
        for screen in devices["displays"]:
            state = _("primary") if screen["primary"] else ""
            detail = _("{geometry}, scale {scale}, {refresh} Hz").format(**screen)
            rows.append((_("display"), screen["name"], state, detail, None))
        table = self.devices_table
        table.setRowCount(len(rows))
        for r, (kind, name, state, detail, shade) in enumerate(rows):
            table.setItem(r, 0, _cell(kind))
            table.setItem(r, 1, _cell(name))
            table.setItem(r, 2, _cell(state, shade))
            table.setItem(r, 3, _cell(detail))
        table.resizeRowsToContents()
        scanners = devices["scanners"] or []
        self.devices_label.setText(
            _("{scanners} scanners, {inputs} input devices, {ports} serial ports, {printers} printers, "
              "{displays} displays").format(
                scanners=len(scanners), inputs=len(devices["input_devices"]), ports=len(devices["serial_ports"]),
                printers=len(devices.get("printers") or []), displays=len(devices["displays"])))

    # -- the self-test ------------------------------------------------------------------------------------
    def run_selftest(self, level: str | None = None, **options) -> None:
        """Run the self-test at ``level`` (default: the combo's) on a worker: the ``selftest`` use case; rows
        appear as checks end.

        ``options`` go to :func:`pos_app.selftest.run` as they are (tests pass ``input_dir``, ``sys_dir``)."""
        if self.running:
            return
        level = level or self.level_combo.currentData()
        if level not in selftest.LEVELS:
            raise ValueError(f"no self-test level {level!r}")
        self.level_combo.setCurrentIndex(self.level_combo.findData(level))
        self.running = True
        self.report = None
        self.checks_table.setRowCount(0)
        self.summary.setStyleSheet("")
        self.summary.setText(_("Running the {level} self-test…").format(level=_(LEVEL_NAMES[level])))
        for w in (self.run_button, self.level_combo, self.json_button, self.text_button):
            w.setEnabled(False)
        display = self._display_probe if self.customer is not None else None
        if display is None:
            options.setdefault("display_absent", _("no customer display in this session (one screen): the till's "
                                                   "own window shows the QR"))
        displays = self._screens()
        core, emit, grant = self.core, self.check_done.emit, self.grant
        running = self._config()      # the gateway and receiver this terminal uses, not a second simulator

        while not self._scans.empty():   # a stale answer must not pass for this run's test scan
            self._scans.get_nowait()
        if level == "interactive":
            options = {"scan": self._scan_probe, **options}

        def run():
            return services.technician.selftest(grant, level, core.config_file, core.data_dir, running=running,
                                                scanners=core.hub, display=display, displays=displays,
                                                printing=core.printing, on_check=emit, **options)
        self._call(run, on_done=self._selftest_done, on_error=self._selftest_failed)

    def _display_probe(self, _test_code: str):
        """On the self-test's worker: ask the UI thread to show the pattern, and wait until it has."""
        ask = _PatternAsk()
        self._show_pattern.emit(ask)
        if not ask.answered.wait(DISPLAY_WAIT):
            return False, _("the customer display did not answer within {seconds} s").format(
                seconds=f"{DISPLAY_WAIT:g}")
        if not ask.shown:
            return False, _("not shown: the technician went back to the till before the display test")
        return True, _("the customer display shows the test pattern and the test QR")

    @Slot(object)
    def _on_show_pattern(self, ask: _PatternAsk) -> None:
        if self.customer is not None and not self.left:
            self.customer.show_test_pattern()
            self._update_display_state()
            ask.shown = True
        ask.answered.set()

    def _scan_probe(self, test_code: str, timeout: float):
        """On the self-test's worker: show the test QR and wait for the test scan (None: skipped or none)."""
        while not self._scans.empty():     # only what arrives after the prompt is the test scan
            self._scans.get_nowait()
        self._ask_scan.emit(test_code, timeout)
        try:
            return self._scans.get(timeout=timeout)
        except queue.Empty:
            return None
        finally:
            self._ask_scan.emit("", 0.0)

    @Slot(str, float)
    def _on_ask_scan(self, test_code: str, timeout: float) -> None:
        self._awaiting_scan = bool(test_code)
        self.scan_panel.setVisible(self._awaiting_scan)
        self.scan_field.clear()
        self._first_key = None
        if test_code:
            self.tabs.setCurrentIndex(1)
            self.scan_qr.set_payload(test_code)
            self.scan_prompt.setText(
                _("Scan this test code with the scanner under test (within {seconds:.0f} s).").format(seconds=timeout))
            self.scan_field.setFocus()

    @Slot(object)
    def _on_scanner_event(self, event) -> None:
        from drivers.model import ScanEvent

        if self._awaiting_scan and isinstance(event, ScanEvent):
            self._awaiting_scan = False
            self._scans.put(event)

    def _on_scan_typed(self, text: str) -> None:
        if text and self._first_key is None:
            self._first_key = time.monotonic()
        elif not text:
            self._first_key = None

    def _on_scan_entered(self) -> None:
        """A wedge scanner (or a person) typed the code and Enter: judged like a hub scan, with its timing."""
        from drivers import aim as aim_ids

        raw = self.scan_field.text()
        if not self._awaiting_scan or not raw:
            return
        self._awaiting_scan = False
        aim, data = aim_ids.split_prefix(raw)
        duration = time.monotonic() - self._first_key if self._first_key is not None else None
        self._scans.put(SimpleNamespace(data=data, aim=aim, ended_by="enter", duration=duration))
        self.scan_field.clear()

    @Slot(object)
    def _add_check(self, check: selftest.Check) -> None:
        table = self.checks_table
        r = table.rowCount()
        table.insertRow(r)
        colour = STATUS_COLOURS.get(check.status)
        table.setItem(r, 0, _cell(_(STATUS_WORDS.get(check.status, check.status)), colour, bold=True))
        name = _cell(selftest.title(check.name))
        name.setData(Qt.ItemDataRole.UserRole, check.name)     # the code, as the JSON and the text report name it
        table.setItem(r, 1, name)
        table.setItem(r, 2, _cell(f"{check.seconds:.2f}"))
        table.setItem(r, 3, _cell(check.detail))
        table.setItem(r, 4, _cell(check.hint))
        table.resizeRowsToContents()   # every row: a new row can narrow the wrapping columns of the others
        table.scrollToBottom()

    def _selftest_done(self, report: selftest.Report) -> None:
        self.running = False
        self.report = report
        for w in (self.run_button, self.level_combo, self.json_button, self.text_button):
            w.setEnabled(True)
        if self.isActiveWindow() and self.tabs.currentIndex() == 1:
            self.run_button.setFocus()     # it had to give the keyboard away while disabled: Enter runs again
        if self.checks_table.rowCount() != len(report.checks):  # signals lost? show the report as it is
            self.checks_table.setRowCount(0)
            for check in report.checks:
                self._add_check(check)
        n = report.counts()
        text = _("{level}: {passed} passed, {failed} failed, {skipped} skipped").format(
            level=_(LEVEL_NAMES.get(report.level, report.level)), passed=n[selftest.PASS],
            failed=n[selftest.FAIL], skipped=n[selftest.SKIP])
        if not report.ok:
            verdict = _("FAILED: fix what the red rows say, then run it again")
        elif n[selftest.SKIP]:
            verdict = _("no check failed (the grey rows did not apply here)")
        else:
            verdict = _("all checks passed")
        self.summary.setStyleSheet(f"color: {STATUS_COLOURS[selftest.PASS if report.ok else selftest.FAIL]};")
        self.summary.setText(f"{text}: {verdict}")
        self._update_display_state()

    def _selftest_failed(self, exc: Exception) -> None:
        self.running = False
        self.run_button.setEnabled(True)
        self.level_combo.setEnabled(True)
        self.summary.setStyleSheet(f"color: {STATUS_COLOURS[selftest.FAIL]};")
        self.summary.setText(_("The self-test could not run: {reason}").format(reason=error_text(exc)))

    def export(self, path) -> None:
        """Write the last report to ``path`` (JSON when it ends in .json, else text), on a worker."""
        if self.report is None:
            self._say(_("Run the self-test first."), error=True)
            return
        report, path = self.report, str(path)

        def write():
            report.write(path)
            return path
        self._call(write, on_done=lambda p: self._say(_("Report written to {path}").format(path=p)))

    def _ask_export(self, kind: str, name: str) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, _("Export the self-test report"),
                                                    str(Path.home() / name), kind)
        if path:
            self.export(path)

    # -- the customer display -------------------------------------------------------------------------------
    def show_test_pattern(self) -> None:
        if self.customer is not None:
            self.customer.show_test_pattern()
            self._update_display_state()

    def show_branded(self) -> None:
        """The next branded screen (the payment zone with the mark, the order code with its centre icon, the
        entry-code page), as the customer would see it, with a test code and amount."""
        if self.customer is None:
            return
        from pos_app.money import Money

        from .customer import SAMPLES
        self._sample_index = (self._sample_index + 1) % len(SAMPLES)
        config = self._config()
        self.customer.show_sample(SAMPLES[self._sample_index],
                                  Money(1234, config.merchant.currency if config is not None else "USD"))
        self._update_display_state()

    def show_idle(self) -> None:
        if self.customer is not None:
            self.customer.show_idle()
            self._update_display_state()

    def _update_display_state(self) -> None:
        if self.customer is None:
            self.display_state.setText("")
            return
        if self.customer.sample:
            self.display_state.setText(_("The customer display is: {state}").format(state={
                "amount": _("the payment zone with the acceptance mark (a sample)"),
                "qr": _("the order-code page with the mark and the centre icon (a sample)"),
                "entry_code": _("the entry-code page (a sample)")}.get(self.customer.mode, self.customer.mode)))
            return
        words = {"test": _("showing the test pattern"), "idle": _("idle")}
        self.display_state.setText(_("The customer display is: {state}").format(
            state=words.get(self.customer.mode, self.customer.mode)))

    # -- the queue -------------------------------------------------------------------------------------
    def refresh_queue(self) -> None:
        """What waits in the outbox: the ``queue`` use case."""
        terminal = self.core.terminal
        if terminal is None:
            self.queue_label.setText(_("The terminal has not started."))
            self.drain_button.setEnabled(False)
            return
        grant, journal = self.grant, terminal.journal
        self._call(lambda: services.sales.queue(grant, journal), on_done=self._show_queue)

    def _show_queue(self, status: dict) -> None:
        self.queue_status = status
        totals = ", ".join(_money(t) for t in status.get("totals", {}).values()) or "—"
        age = status.get("oldestAgeSeconds")
        self.queue_label.setText(_("Waiting: {count}   Totals: {totals}   Oldest: {age}").format(
            count=status.get("count", 0), totals=totals,
            age="—" if age is None else _("{seconds} s").format(seconds=f"{age:.0f}")))
        items = status.get("items", [])
        table = self.queue_table
        table.setRowCount(len(items))
        for r, item in enumerate(items):
            api, kind, state = item.get("api") or "", item.get("kind") or "", item.get("status") or ""
            for c, value in enumerate((item.get("id"), _(REQUEST_WORDS[api]) if api in REQUEST_WORDS else api,
                                       _(KIND_WORDS[kind]) if kind in KIND_WORDS else kind,
                                       _(status_words(kind, state)) if state else "",
                                       _money(item.get("amount")), _whole(item.get("ageSeconds")))):
                table.setItem(r, c, _cell(value))
        self.drain_button.setEnabled(True)

    def drain(self) -> None:
        """Send what waits now instead of at its next try: the ``drain`` use case."""
        terminal = self.core.terminal
        if terminal is None:
            return
        self.drain_button.setEnabled(False)
        grant = self.grant

        def drained(result) -> None:
            self._say(_("Drain: {count} advanced").format(count=result.advanced))
            self._show_queue(result.queue)

        def failed(_exc):
            self.drain_button.setEnabled(True)
        self._call(lambda: services.sales.drain(grant, terminal), on_done=drained, on_error=failed)

    # -- logs ----------------------------------------------------------------------------------------
    def refresh_logs(self) -> None:
        """The till's own log: the file this terminal writes, not whichever file changed last."""
        data_dir = Path(self.core.data_dir)
        self._call(lambda: services.technician.own_log(data_dir, LOG_TAIL_BYTES), on_done=self._show_log)

    def _show_log(self, log: dict) -> None:
        self.log_file = log["path"]
        if log["text"] is None:
            self.log_label.setText(_("This till's log {path} is not written yet.").format(path=log["path"]))
            self.log_view.setPlainText("")
            return
        text = _("This till's log {path}: {size} bytes").format(**log)
        if log["others"]:
            text += "; " + _("other files in its folder, which the export packs too: {count}").format(
                count=log["others"])
        if log["truncated"]:
            text += " " + _("(showing the last {kb} KiB)").format(kb=LOG_TAIL_BYTES // 1024)
        self.log_label.setText(text)
        self.log_view.setPlainText(log["text"])
        self.log_view.moveCursor(self.log_view.textCursor().MoveOperation.End)

    def export_logs(self, path) -> None:
        """Pack every log, masked again, with a system summary into the .tar.gz ``path`` for support: the
        ``log_export`` use case, the same archive as ``pos-terminal logs --export``."""
        grant, folder, target = self.grant, Path(self.core.data_dir) / "logs", Path(path)
        config = str(self.core.config_file) if self.core.config_file else None

        def exported(result) -> None:
            self.log_export = result
            self._say(_("Logs written to {path}: {files} log files and system.txt, payment codes masked, "
                        "no keys").format(path=result.path, files=result.log_files))
        self._call(lambda: services.technician.log_export(grant, folder, target, config=config), on_done=exported)

    def _ask_export_logs(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, _("Export the logs for support"),
                                                    str(Path.home() / "pos-terminal-logs.tar.gz"),
                                                    _("Log archive (*.tar.gz)"))
        if path:
            self.export_logs(path)

    # -- the store's fleet (issue 17) ---------------------------------------------------------------------
    def refresh_fleet(self) -> None:
        """The store's terminals from their heartbeats, stale or failing first (the ``store_terminals`` use
        case, ``pos-terminal store terminals``), and this terminal's own replication: what waits, the lag, the
        last error."""
        panel, terminal = self.fleet_panel, self.core.terminal
        if panel is None or terminal is None:
            return
        grant, config, journal = self.grant, terminal.config, terminal.journal
        replicator = getattr(self.core.runtime, "replicator", None)
        panel.refresh_button.setEnabled(False)
        self._say(_("Reading the store's terminals from the store's database…"))

        def read():
            state = services.technician.replication_state(journal, replicator)   # this journal: never fails on
            try:                                                                 # the store being away
                return state, services.store.store_terminals(grant, config), None
            except PosError as exc:   # the store away, or refusing: said below, with this terminal's own state
                return state, None, exc

        def done(result) -> None:
            state, fleet, failure = result
            panel.refresh_button.setEnabled(True)
            self.replication = state
            panel.show_replication(state)
            if failure is not None:
                panel.unread()
                self._say(error_text(failure), error=True)
                return
            self.fleet = fleet
            panel.show_fleet(fleet)
            self._say(_("The store's terminals as their last heartbeats tell it."))
        self._call(read, on_done=done, on_error=lambda _exc: panel.refresh_button.setEnabled(True))

    def store_restore(self) -> None:
        """After a disk swap: rebuild this terminal's history from the store (the ``store_restore`` use case,
        ``pos-terminal store restore``), asked first; a journal with history of its own is refused in words."""
        terminal = self.core.terminal
        if terminal is None:
            self._say(_("The terminal has not started."), error=True)
            return
        if not self.confirm(_("Restore this terminal's history from the store? Only for a replaced disk: the "
                              "journal must have no history of its own. Final transactions, sessions and Z reports "
                              "come back; what the store holds as open is asked about at the gateway."),
                            _("Restore from the store")):
            self._say(_("Nothing was restored."))
            return
        grant, journal, config = self.grant, terminal.journal, terminal.config
        self._say(_("Restoring this terminal's history from the store's database…"))

        def restored(result) -> None:
            self.restored = result
            self._say("\n".join(result.lines()))
            self._refresh_replication()   # not the fleet: its words would take the status line from these
        self._call(lambda: services.store_restore.store_restore(grant, journal, config), on_done=restored)

    def _refresh_replication(self) -> None:
        """This terminal's replication line alone (its journal only: no call to the store)."""
        panel, terminal = self.fleet_panel, self.core.terminal
        if panel is None or terminal is None:
            return
        journal, replicator = terminal.journal, getattr(self.core.runtime, "replicator", None)

        def shown(state) -> None:
            self.replication = state
            panel.show_replication(state)
        self._call(lambda: services.technician.replication_state(journal, replicator), on_done=shown)

