"""Every scanner the terminal uses, kept up across unplugs and replugs: what front ends start.

The hub finds the USB scanners (configured paths first, then name and vendor heuristics), starts the
configured serial scanners, and watches ``/dev/input`` with inotify. When a node comes or goes it looks
again: a known scanner that came back is re-attached, a new one is started. Problems are reported as
:class:`~drivers.model.StatusEvent` on the same queue as the scans, so a cashier screen shows "scanner
not connected" instead of a traceback, and a scanner that could not be opened (say, udev had not set its
permissions yet) is tried again on the next change.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from pos_app.config import ScannersConfig
from pos_app.i18n import _

from . import model
from .discovery import InputDeviceInfo, scan_input_devices
from .hid import EvdevNode, HidScanner
from .hotplug import DirectoryWatcher

log = logging.getLogger(__name__)

READ_ROLES = ("scanner", "shared")


class ScannerHub:
    def __init__(self, settings: ScannersConfig, events: queue.Queue | None = None, *,
                 input_dir: Path | str = "/dev/input", sys_dir: Path | str = "/sys/class/input",
                 opener=EvdevNode, serial: bool = True, watch: bool = True, retry_interval: float = 2.0) -> None:
        self.settings = settings
        self.events: queue.Queue = events if events is not None else queue.Queue()
        self.input_dir, self.sys_dir = Path(input_dir), Path(sys_dir)
        self.opener = opener
        self.hid: dict[str, HidScanner] = {}
        self.serial: dict[str, model.Scanner] = {}
        self._want_serial = serial
        self._want_watch = watch
        self._retry_interval = retry_interval
        self._lock = threading.Lock()
        self._rescan_lock = threading.Lock()  # the watcher and start() may both look at once
        self._watcher: DirectoryWatcher | None = None
        self._stop = threading.Event()
        self._retry: threading.Thread | None = None
        self._failed: dict[str, str] = {}   # source -> last error, so one failure is reported once

    @property
    def scanners(self) -> list[model.Scanner]:
        with self._lock:
            return [*self.hid.values(), *self.serial.values()]

    def start(self) -> ScannerHub:
        if self._want_watch:
            try:
                self._watcher = DirectoryWatcher(self.input_dir, lambda _names: self.rescan()).start()
            except OSError as exc:
                self._note(str(self.input_dir), _("cannot watch {folder} for scanners being plugged in: {reason}; "
                                                  "restart after plugging one in").format(
                                                      folder=self.input_dir, reason=exc.strerror or exc))
        self.rescan()
        if self._want_serial and self.settings.serial:
            self._start_serial()
            self._retry = threading.Thread(target=self._retry_serial, name="serial retry", daemon=True)
            self._retry.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watcher:
            self._watcher.stop()
        for scanner in self.scanners:
            try:
                scanner.close()
            except Exception:  # closing must go on for the others
                log.exception("closing %s", scanner.source)

    def __enter__(self) -> ScannerHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- USB ------------------------------------------------------------------------------------
    def devices(self) -> list[InputDeviceInfo]:
        return scan_input_devices(self.settings, self.input_dir, self.sys_dir)

    def rescan(self) -> None:
        """Look at the input devices again: start new scanners, re-attach ones that came back, open nodes
        that became readable."""
        with self._rescan_lock:
            if self._stop.is_set():
                return
            for device in self.devices():
                if device.role not in READ_ROLES:
                    continue
                scanner = self._scanner_for(device)
                if scanner is None:
                    self._start_hid(device)
                elif set(device.paths) - set(scanner.node_paths):
                    scanner.attach(device)

    def _scanner_for(self, device: InputDeviceInfo) -> HidScanner | None:
        """By id, or by a node it already reads (an id can change if udev's by-id link came late)."""
        with self._lock:
            if device.id in self.hid:
                return self.hid[device.id]
            for scanner in self.hid.values():
                if set(device.paths) & set(scanner.node_paths):
                    return scanner
        return None

    def _start_hid(self, device: InputDeviceInfo) -> None:
        scanner = HidScanner(device, self.settings, self.events, opener=self.opener)
        try:
            scanner.start()
        except model.ScannerError as exc:
            self._note(device.id, str(exc))
            return
        self._failed.pop(device.id, None)
        with self._lock:
            self.hid[device.id] = scanner

    # -- serial ---------------------------------------------------------------------------------
    def _start_serial(self) -> None:
        from .serial_scanner import SerialScanner

        for settings in self.settings.serial:
            with self._lock:
                if settings.port in self.serial:
                    continue
            scanner = SerialScanner(settings, self.events)
            try:
                scanner.start()
            except model.ScannerError as exc:
                self._note(settings.port, str(exc))
                continue
            self._failed.pop(settings.port, None)
            with self._lock:
                self.serial[settings.port] = scanner

    def _retry_serial(self) -> None:
        """A configured serial scanner missing at start is tried again (a port has no hotplug folder
        we can rely on: /dev/serial/by-id exists only while a USB-serial device is plugged in)."""
        while not self._stop.wait(self._retry_interval):
            if len(self.serial) < len(self.settings.serial):
                self._start_serial()

    def _note(self, source: str, message: str) -> None:
        if self._failed.get(source) == message:
            return
        self._failed[source] = message
        self.events.put(model.StatusEvent(source, model.ERROR, message, time.time()))

    # -- for screens and self-tests ---------------------------------------------------------------
    def status(self) -> list[dict]:
        rows = []
        for scanner in self.scanners:
            connected = getattr(scanner, "connected", scanner.state is model.State.ENABLED)
            rows.append({"source": scanner.source, "kind": scanner.kind, "state": scanner.state.value,
                         "connected": connected, "stats": scanner.stats.to_json()})
        for source, message in self._failed.items():
            if all(row["source"] != source for row in rows):
                rows.append({"source": source, "kind": "scanner", "state": "closed", "connected": False,
                             "error": message})
        return rows
