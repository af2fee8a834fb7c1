"""USB HID (keyboard-wedge) scanners through python-evdev.

One :class:`HidScanner` is one physical scanner: every event node it has is read (Odoo reads only the
first and misses scanners whose keys arrive on the second), and the nodes are grabbed only when the
device's role is "scanner", so scans never type into the desktop and a real keyboard is never taken
from the cashier. When the scanner is unplugged its partial scan is dropped and reported; when it comes
back, the hub hands the new nodes to :meth:`HidScanner.attach` and scans resume without a restart.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from typing import Protocol

from pos_app.config import ScannersConfig
from pos_app.i18n import N_, _

from . import model
from .discovery import InputDeviceInfo, open_error
from .keydecoder import BurstRule, DecodedScan, KeyDecoder, Rejected

log = logging.getLogger(__name__)

LED_NUML, LED_CAPSL = 0, 1
EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int)
Event = tuple[float, int, int, int]


class Node(Protocol):
    """What the reader needs of an event node: :class:`EvdevNode`, or a test's stand-in (a FIFO)."""

    path: str

    def fileno(self) -> int: ...
    def read(self) -> list[Event] | None: ...  # None: end of file, the node is gone
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...


class EvdevNode:
    """One ``/dev/input/eventN`` through python-evdev: events as ``(t, type, code, value)`` tuples.

    Timestamps are on the monotonic clock (the kernel is asked for it), so an NTP step in the middle of
    a scan cannot end it early or join two scans: the gap timer compares them with ``time.monotonic()``.
    """

    def __init__(self, path: str) -> None:
        import fcntl
        import struct

        import evdev  # only where a live device is opened: replay and tests need no evdev at all

        self.path = path
        self._offset: float | None
        try:
            self.device = evdev.InputDevice(path)
        except OSError as exc:
            raise open_error(path, exc) from None
        try:
            fcntl.ioctl(self.device.fd, EVIOCSCLOCKID, struct.pack("i", time.CLOCK_MONOTONIC))
            self._offset = 0.0
        except OSError:  # an old kernel: realtime stamps, moved onto the monotonic clock as they come
            self._offset = None

    def fileno(self) -> int:
        return self.device.fd

    def read(self) -> list[Event]:
        """The events waiting; [] when none; OSError (ENODEV) once the device is gone."""
        try:
            offset = self._offset if self._offset is not None else time.monotonic() - time.time()
            return [(e.sec + e.usec / 1e6 + offset, e.type, e.code, e.value) for e in self.device.read()]
        except BlockingIOError:
            return []

    def grab(self) -> None:
        self.device.grab()

    def ungrab(self) -> None:
        self.device.ungrab()

    def locks(self) -> tuple[bool, bool] | None:
        """(Num Lock, Caps Lock) from the device's LEDs, or None when it has none."""
        try:
            leds = set(self.device.leds())
        except OSError:
            return None
        return LED_NUML in leds, LED_CAPSL in leds

    def close(self) -> None:
        try:
            self.device.close()
        except OSError:
            pass


def decoder_for(device: InputDeviceInfo, settings: ScannersConfig) -> KeyDecoder:
    """The device's own layout and timing where configured, the [scanners] defaults otherwise."""
    cfg = device.config
    shared = (BurstRule(settings.shared_avg_ms, settings.shared_max_gap_ms, settings.shared_min_length)
              if device.role == "shared" else None)
    return KeyDecoder((cfg and cfg.layout) or settings.layout,
                      gap_ms=(cfg and cfg.gap_ms) or settings.gap_ms,
                      min_length=(cfg and cfg.min_length) or settings.min_length, shared=shared)


def scan_event(scan: DecodedScan, source: str, wall_offset: float = 0.0) -> model.ScanEvent:
    """The model's event; ``wall_offset`` turns the decoder's (monotonic) time into wall-clock time."""
    sym = scan.symbology
    return model.ScanEvent(scan.text, sym.name, sym.scan_data_type, sym.aim, source, scan.t + wall_offset,
                           scan.typed.encode(), scan.ended_by, scan.duration)


class HidScanner(model.Scanner):
    """One physical USB scanner. The reader runs from claim to release (so an unplug is seen even while
    disabled); enable and disable only decide whether its scans are delivered."""

    kind = N_("USB HID scanner")   # a person reads it through _()
    PERMISSION_GRACE = 2.0  # udev creates a node root-only and fixes its mode a moment later

    def __init__(self, device: InputDeviceInfo, settings: ScannersConfig, events: queue.Queue | None = None,
                 *, opener: Callable[[str], Node] = EvdevNode) -> None:
        super().__init__(device.id, events)
        self.device = device
        self.settings = settings
        self.opener = opener
        self.decoder = decoder_for(device, settings)
        self.grabbing = device.role == "scanner"
        self._nodes: dict[str, Node] = {}
        self._nodes_lock = threading.Lock()
        self._wake_r = self._wake_w = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._delivering = False
        self._retry: threading.Timer | None = None

    @property
    def connected(self) -> bool:
        with self._nodes_lock:
            return bool(self._nodes)

    @property
    def node_paths(self) -> list[str]:
        with self._nodes_lock:
            return sorted(self._nodes)

    # -- life cycle -----------------------------------------------------------------------------
    def _open(self) -> None:
        self._open_nodes(self.device, first=True)

    def _claim(self) -> None:
        with self._nodes_lock:
            nodes = list(self._nodes.values())
        for node in nodes:
            self._grab(node)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.source}", daemon=True)
        self._thread.start()

    def _enable(self) -> None:
        self._delivering = True
        self._report(model.CONNECTED, _("{name} ready ({how})").format(name=self.device.name or self.source,
                                                                       how=self._describe()))

    def _disable(self) -> None:
        self._delivering = False

    def _release(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        if self.grabbing:
            with self._nodes_lock:
                nodes = list(self._nodes.values())
            for node in nodes:
                try:
                    node.ungrab()
                except OSError:
                    pass

    def _close(self) -> None:
        if self._retry:
            self._retry.cancel()
        with self._nodes_lock:
            nodes, self._nodes = list(self._nodes.values()), {}
        for node in nodes:
            node.close()

    # -- hotplug --------------------------------------------------------------------------------
    def attach(self, device: InputDeviceInfo, *, grace: bool = True) -> bool:
        """The scanner is back (maybe under new node names), or a node of it became readable: open and
        grab what is new, resume reading. Runs under the life-cycle lock, so never beside close()."""
        with self._lock:
            if self.state is model.State.CLOSED:
                return False
            was_connected = self.connected
            opened = self._open_nodes(device, first=False, grace=grace)
            if not opened:
                return False
            self.device = device
            if self.state in (model.State.CLAIMED, model.State.ENABLED):
                for node in opened:
                    try:
                        self._grab(node)
                    except model.ScannerError as exc:
                        self._report(model.ERROR, str(exc))
            self._wake()
            if not was_connected:
                self.stats.reconnects += 1
                self._report(model.CONNECTED, _("{name} plugged back in ({how})").format(
                    name=device.name or self.source, how=self._describe()))
            return True

    def _open_nodes(self, device: InputDeviceInfo, first: bool, grace: bool = False) -> list[Node]:
        opened: list[Node] = []
        errors: list[tuple[str, model.ScannerError]] = []
        for path in device.paths:
            with self._nodes_lock:
                if path in self._nodes:
                    continue
            try:
                node = self.opener(path)
            except model.ScannerError as exc:
                errors.append((path, exc))
                continue
            except OSError as exc:
                errors.append((path, open_error(path, exc)))
                continue
            if len(opened) == 0 and first:
                self._init_locks(node)
            with self._nodes_lock:
                self._nodes[path] = node
            opened.append(node)
        if errors and not opened and first:
            raise errors[0][1]
        if errors and grace:
            self._complain_later(device, errors)
        else:
            for _path, error in errors:
                self._report(model.ERROR, str(error))
        return opened

    def _complain_later(self, device: InputDeviceInfo, errors: list[tuple[str, model.ScannerError]]) -> None:
        """A node refused on a replug is usually udev not done yet: try again after a grace period, and
        only report what still fails then."""
        if self._retry:
            self._retry.cancel()

        def again():
            with self._lock:
                if self.state is model.State.CLOSED:
                    return
                self._retry = None
                if any(p not in self.node_paths and os.path.exists(p) for p, _e in errors):
                    self.attach(device, grace=False)  # what still fails is reported now

        self._retry = threading.Timer(self.PERMISSION_GRACE, again)
        self._retry.daemon = True
        self._retry.start()

    def _init_locks(self, node: Node) -> None:
        locks = getattr(node, "locks", lambda: None)()
        if locks is not None and not self.grabbing:  # a shared keyboard's lock state is the desktop's
            self.decoder.numlock, self.decoder.capslock = locks

    def _grab(self, node: Node) -> None:
        if not self.grabbing:
            return
        try:
            node.grab()
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                raise model.ScannerError(
                    _("scanner {path}: another program has grabbed it, so its scans go there").format(path=node.path),
                    hint=_("stop the other program (another pos-terminal, an IoT box service), then replug")) from None
            raise model.ScannerError(_("scanner {path}: cannot grab it: {reason}").format(
                                         path=node.path, reason=exc.strerror or exc),
                                     hint=_("without a grab its scans would also type into the desktop; "
                                            'set role = "shared" for this device to read it without one')) from None

    # -- reading --------------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._pass()
            except Exception as exc:  # a reader that dies silently is a scanner that "does nothing"
                log.exception("scanner %s: reader failed", self.source)
                self._emit(self.decoder.drop(_("the reader hit an error"), time.monotonic()))
                self._report(model.ERROR, _("{source}: reading failed ({error}); still listening, but report "
                                            "this").format(source=self.source, error=type(exc).__name__))
                time.sleep(0.1)

    def _pass(self) -> None:
        decoder = self.decoder
        with self._nodes_lock:
            nodes = list(self._nodes.values())
        deadline = decoder.deadline
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        watched: list[int | Node] = [self._wake_r, *nodes]
        try:
            ready, _writable, _errors = select.select(watched, [], [], timeout)
        except (OSError, ValueError):  # a node closed under us: look again
            ready = []
            time.sleep(0.01)
        if self._stop.is_set():
            return
        for node in ready:
            if isinstance(node, int):  # the wake pipe
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
                continue
            try:
                events = node.read()
            except OSError as exc:
                self._lost(node, exc)
                continue
            if events is None:
                self._lost(node, OSError(errno.ENODEV, _("end of file")))
                continue
            for event in events:
                self._emit(decoder.feed(*event))
        now = time.monotonic()
        if decoder.deadline is not None and now > decoder.deadline and self._waiting():
            return  # read what waits (more keys, or the node's end) before the gap may end the scan
        self._emit(decoder.tick(now))

    def _waiting(self) -> bool:
        """Whether a node has input or its end waiting. The gap rule ends a scan when no key came for the
        gap; a reader that fell behind (a busy till) must not judge that from the clock alone: the rest of
        the scan, or the unplug that cut it short, may already wait behind what it read. Asked after
        ``now`` was taken, so anything stamped before ``now`` is seen."""
        with self._nodes_lock:
            nodes = list(self._nodes.values())
        try:
            ready, _writable, _errors = select.select(nodes, [], [], 0)
        except (OSError, ValueError):  # a node closed under us: the gap rule decides
            return False
        return bool(ready)

    def _lost(self, node: Node, exc: OSError) -> None:
        with self._nodes_lock:
            self._nodes.pop(node.path, None)
            left = len(self._nodes)
        node.close()
        if left:
            return
        self._emit(self.decoder.drop(_("scanner unplugged mid-scan"), time.monotonic()))
        name = self.device.name or self.source
        why = _("{name} unplugged").format(name=name) if exc.errno in (errno.ENODEV, errno.ENOENT) else \
            _("{name} lost ({reason})").format(name=name, reason=exc.strerror or exc)
        self._report(model.DISCONNECTED, why + _("; plug it back in and it resumes by itself"))

    def _emit(self, outputs: list) -> None:
        for out in outputs:
            if not self._delivering:
                continue  # disabled: the scanner stays grabbed, its scans go nowhere
            if isinstance(out, DecodedScan):
                self._deliver_scan(scan_event(out, self.source, time.time() - time.monotonic()))
            elif isinstance(out, Rejected) and out.kind != "typed":
                self._report(model.DROPPED if out.kind == "dropped" else model.REJECTED, out.reason)

    # -- health ---------------------------------------------------------------------------------
    def _describe(self) -> str:
        d = self.decoder
        how = _("grabbed") if self.grabbing else _("shared with typing")
        return _("{nodes} node(s), {how}, layout {layout}, ends on Enter/Tab or a {gap:g} ms gap").format(
            nodes=len(self.node_paths), how=how, layout=d.layout.name, gap=d.gap * 1000)

    def _health(self, level: int) -> str:
        if level == model.HEALTH_INTERACTIVE:
            return _("{source}: the interactive check runs from the technician screen (scan a test "
                     "barcode)").format(source=self.source)
        s = self.stats
        state = _("connected") if self.connected else _("not connected (unplugged?)")
        text = _("{source}: {state}, {mode}, {how}; {good} good scans, {errors} errors, {reconnects} "
                 "reconnects").format(source=self.source, state=state, mode=_(self.state.value), how=self._describe(),
                                      good=s.good_scans, errors=s.errors, reconnects=s.reconnects)
        if s.ended_by_gap:
            text += _("; {n} scans had no suffix and waited for the gap: program the scanner to send Enter after "
                      "each scan").format(n=s.ended_by_gap)
        if level == model.HEALTH_EXTERNAL:
            for path in self.node_paths:
                if not os.path.exists(path):
                    text += _("; {path} is gone").format(path=path)
        return text
