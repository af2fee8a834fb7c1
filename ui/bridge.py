"""The Qt side of the terminal: core work off the UI thread, results back as signals.

Every call into the terminal (start the runtime, a sale, an abort, a report) can wait on the network or
the disk, so it runs on a worker thread; its result comes back to the UI thread through a queued
signal. The terminal's own callbacks (a sale changed, an order code to show) and the scanners' events
arrive on background threads and are re-emitted as signals the same way. Widgets never touch I/O.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from pos_app.errors import PosError
from pos_app.i18n import _

if TYPE_CHECKING:   # both are imported when first used, after the first paint (start-up time)
    from concurrent.futures import ThreadPoolExecutor

    from pos_app.runtime import Runtime
    from pos_app.terminal import Terminal

log = logging.getLogger(__name__)


class Core(QObject):
    ready = Signal(object)            # the started Runtime
    start_failed = Signal(str, str)   # message, hint
    sale_changed = Signal(str)        # a transaction id (any of the terminal's)
    scanner_event = Signal(object)    # drivers.model.ScanEvent or StatusEvent
    printer_state = Signal(object)    # pos_app.printing.PrinterState, from the print worker's thread
    _finished = Signal(object, object, object, object)   # on_done, on_error, result, error

    def __init__(self, config_file: Path | None, data_dir: Path, *, scanners: bool = True,
                 scanner_hub=None) -> None:
        super().__init__()
        self.config_file, self.data_dir = config_file, data_dir
        self.runtime: Runtime | None = None
        self.hub = scanner_hub
        self.want_scanners = scanners
        self._pool: ThreadPoolExecutor | None = None   # made by the first call, after the first paint (ui.app.main)
        self._pool_lock = threading.Lock()
        self._stop = threading.Event()
        self._finished.connect(self._deliver)

    @property
    def terminal(self):
        return self.runtime.terminal if self.runtime else None

    @property
    def printing(self):
        """The running till's print worker (what the receipts use cases take), None before it is up."""
        return self.runtime.printing if self.runtime else None

    # -- start and stop -------------------------------------------------------------------------
    def start(self) -> None:
        self.call(self._start_runtime, on_done=self.ready.emit,
                  on_error=lambda exc: self.start_failed.emit(*error_words(exc)))

    def _start_runtime(self):
        from pos_app.runtime import Runtime

        runtime = Runtime(self.config_file, self.data_dir).start()
        terminal = runtime.terminal
        assert terminal is not None   # start() opens the terminal or raises
        terminal.on_change.add(self.sale_changed.emit)   # from any thread: Qt queues it
        if runtime.printing is not None:
            runtime.printing.on_state.add(self.printer_state.emit)   # the worker's thread: queued the same way
        self.runtime = runtime
        if self.want_scanners and self.hub is None:
            self._start_scanners(terminal)
        if self.hub is not None:
            threading.Thread(target=self._pump, name="scanner pump", daemon=True).start()
        return runtime

    def _start_scanners(self, terminal: Terminal) -> None:
        try:
            from drivers.hub import ScannerHub

            self.hub = ScannerHub(terminal.config.scanners).start()
        except Exception:   # the hub reports its devices' failures itself: anything here is a bug, logged
            log.exception("scanners not started")   # whole; no scanners is a state the screen shows, not a stop
            self.hub = None

    def _pump(self) -> None:
        events: queue.Queue = self.hub.events
        while not self._stop.is_set():
            try:
                event = events.get(timeout=0.25)
            except queue.Empty:
                continue
            self.scanner_event.emit(event)

    def stop(self) -> None:
        self._stop.set()
        with self._pool_lock:
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if self.hub is not None:
            self.hub.stop()
        if self.runtime is not None:
            self.runtime.stop()

    # -- calls ----------------------------------------------------------------------------------
    def call(self, fn: Callable, *args, on_done: Callable | None = None,
             on_error: Callable | None = None, **kwargs) -> None:
        """Run ``fn`` on a worker; ``on_done(result)`` or ``on_error(exc)`` run on the UI thread."""
        def work():
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # delivered to the screen, which says it in words
                if not isinstance(exc, PosError):
                    log.exception("core call %s failed", getattr(fn, "__name__", fn))
                self._finished.emit(on_done, on_error, None, exc)
                return
            self._finished.emit(on_done, on_error, result, None)
        with self._pool_lock:   # so that no pool is made, or fed, once stop has shut it down
            if self._stop.is_set():
                return
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="core")
            self._pool.submit(work)

    @Slot(object, object, object, object)
    def _deliver(self, on_done, on_error, result, error) -> None:
        if error is not None:
            if on_error is not None:
                on_error(error)
        elif on_done is not None:
            on_done(result)


def error_words(exc: Exception) -> tuple[str, str]:
    """(message, hint) for any failure a screen shows: a PosError's own words, else a bug said as one."""
    if isinstance(exc, PosError):
        return exc.message, exc.hint or ""
    return f"{type(exc).__name__}: {exc}", _("This is a bug: restart the terminal, and report it with the logs.")

