"""The scanner device model, after UnifiedPOS (spec practice §4).

A scanner goes open → claim → enable, delivers events while enabled, then disable → release → close.
Claim is where the hardware becomes ours (a grabbed evdev node, an open serial port); enable is where
events start to flow. Every scanner puts its events on a queue that can be shared, so a front end reads
one stream from every scanner. The point of the model is that a cashier screen, ``scanner listen`` and
the self-test treat a USB and a serial scanner alike.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Self

from pos_app.errors import PosError
from pos_app.i18n import N_, _
from pos_app.scan import mask

HEALTH_INTERNAL = 1     # tests that change nothing physically
HEALTH_EXTERNAL = 2     # may act on the device
HEALTH_INTERACTIVE = 3  # walks a person through it ("scan this test barcode")
HEALTH_LEVELS = {"internal": HEALTH_INTERNAL, "external": HEALTH_EXTERNAL, "interactive": HEALTH_INTERACTIVE}


class ScannerError(PosError):
    """A scanner cannot be used: names the device, the reason and what to do."""


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    CLAIMED = "claimed"
    ENABLED = "enabled"


#: The states as a technician reads them: shown through ``_(state.value)``.
STATE_WORDS = (N_("closed"), N_("open"), N_("claimed"), N_("enabled"))


@dataclass(frozen=True)
class ScanEvent:
    """One decoded scan (a UnifiedPOS DataEvent). ``data`` has the AIM prefix and the suffix removed."""

    data: str = field(repr=False)     # may be a payment code: never in a repr or a log
    symbology: str                    # e.g. "QR Code", "EAN-13", or "unknown"
    scan_data_type: int               # UnifiedPOS ScanDataType (SCAN_SDT_*), 0 when unknown
    aim: str | None                   # the AIM identifier as sent, e.g. "]Q1", or None
    source: str                       # the device's stable id (by-id name or serial port)
    timestamp: float                  # wall-clock time the scan ended
    raw: bytes = field(repr=False)    # what arrived: the serial bytes, or the decoded keys as UTF-8
    ended_by: str = ""                # "enter", "tab", "gap", "cr", "lf", "crlf", ...
    duration: float = 0.0             # first key (or byte) to the end: how fast the scanner sends

    @property
    def masked(self) -> str:
        return mask(self.data) if len(self.data) >= 16 and self.data.isdigit() else self.data

    def to_json(self, reveal: bool = False) -> dict:
        return {"data": self.data if reveal else self.masked, "symbology": self.symbology,
                "scan_data_type": self.scan_data_type, "aim": self.aim, "source": self.source,
                "timestamp": self.timestamp, "ended_by": self.ended_by}


# What a StatusEvent reports.
CONNECTED = "connected"
DISCONNECTED = "disconnected"
DROPPED = "dropped"      # a partial scan thrown away (unplug mid-scan, runaway input)
REJECTED = "rejected"    # a complete burst that is not a scan (too short, typed by a person, garbled)
ERROR = "error"


@dataclass(frozen=True)
class StatusEvent:
    """Anything else a scanner has to say: plugged, unplugged, a scan dropped or rejected, an error."""

    source: str
    kind: str
    message: str
    timestamp: float

    def to_json(self) -> dict:
        return {"event": self.kind, "source": self.source, "message": self.message, "timestamp": self.timestamp}


@dataclass
class Statistics:
    """What a technician expects to read off a scanner."""

    good_scans: int = 0
    errors: int = 0           # rejected and dropped scans, read and open failures
    dropped: int = 0
    ended_by_gap: int = 0     # scans that had no suffix: the scanner may need one programmed
    reconnects: int = 0
    last_seen: float | None = None
    connected_since: float | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


class Scanner:
    """Base of every scanner: the life cycle, the event queue and the statistics.

    Subclasses implement ``_open``/``_claim``/``_enable``/``_disable``/``_release``/``_close`` and
    ``_health``; this class enforces the order, so a front end cannot enable what it never claimed.
    """

    kind = N_("scanner")   # a person reads it through _()

    def __init__(self, source: str, events: queue.Queue | None = None) -> None:
        self.source = source
        self.events: queue.Queue = events if events is not None else queue.Queue()
        self.stats = Statistics()
        self._state = State.CLOSED
        self._lock = threading.RLock()

    @property
    def state(self) -> State:
        return self._state

    # -- life cycle -------------------------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            self._expect(State.CLOSED, "open")
            self._open()
            self._state = State.OPEN

    def claim(self) -> None:
        with self._lock:
            self._expect(State.OPEN, "claim")
            self._claim()
            self._state = State.CLAIMED

    def enable(self) -> None:
        with self._lock:
            self._expect(State.CLAIMED, "enable")
            self._enable()
            self._state = State.ENABLED

    def disable(self) -> None:
        with self._lock:
            self._expect(State.ENABLED, "disable")
            self._disable()
            self._state = State.CLAIMED

    def release(self) -> None:
        with self._lock:
            self._expect(State.CLAIMED, "release")
            self._release()
            self._state = State.OPEN

    def close(self) -> None:
        """Back to CLOSED from any state, undoing each step; never raises for a device already gone."""
        with self._lock:
            if self._state is State.ENABLED:
                self.disable()
            if self._state is State.CLAIMED:
                self.release()
            if self._state is State.OPEN:
                self._close()
                self._state = State.CLOSED

    def start(self) -> Self:
        """open, claim and enable: the usual way to bring a scanner up."""
        self.open()
        try:
            self.claim()
            self.enable()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _expect(self, state: State, action: str) -> None:
        if self._state is not state:
            raise ScannerError(_("scanner {source}: cannot {action} while {state}").format(
                                   source=self.source, action=action, state=_(self._state.value)),
                               hint=_("the order is open, claim, enable; {action} needs it {state}").format(
                                   action=action, state=_(state.value)))

    # -- events -----------------------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> ScanEvent | StatusEvent | None:
        """The next event from the queue, or None after ``timeout`` seconds."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def _deliver_scan(self, scan: ScanEvent) -> None:
        self.stats.good_scans += 1
        self.stats.last_seen = scan.timestamp
        if scan.ended_by == "gap":
            self.stats.ended_by_gap += 1
        self.events.put(scan)

    def _report(self, kind: str, message: str) -> None:
        now = time.time()
        if kind in (DROPPED, REJECTED, ERROR):
            self.stats.errors += 1
        if kind == DROPPED:
            self.stats.dropped += 1
        if kind == CONNECTED:
            self.stats.connected_since = now
        if kind == DISCONNECTED:
            self.stats.connected_since = None
        self.events.put(StatusEvent(self.source, kind, message, now))

    # -- health -----------------------------------------------------------------------------------
    def check_health(self, level: int | str) -> str:
        """A one-paragraph text result, as UnifiedPOS checkHealth; an unknown level is refused."""
        number = HEALTH_LEVELS.get(level) if isinstance(level, str) else level
        if number is None or number not in HEALTH_LEVELS.values():
            raise ScannerError(_("scanner {source}: no health check level {level}").format(source=self.source,
                                                                                         level=repr(level)),
                               hint=_("the levels are internal, external and interactive"))
        return self._health(number)

    def _health(self, level: int) -> str:
        if level != HEALTH_INTERNAL:
            return _("{source}: {kind} has no {level} check; internal: {internal}").format(
                source=self.source, kind=_(self.kind), level=_level_name(level), internal=self._health(1))
        s = self.stats
        return (_("{source}: {state}, {good} good scans, {errors} errors").format(
                    source=self.source, state=_(self._state.value), good=s.good_scans, errors=s.errors)
                + (_(", {n} without a suffix").format(n=s.ended_by_gap) if s.ended_by_gap else ""))

    # -- for subclasses ---------------------------------------------------------------------------
    def _open(self) -> None: ...
    def _claim(self) -> None: ...
    def _enable(self) -> None: ...
    def _disable(self) -> None: ...
    def _release(self) -> None: ...
    def _close(self) -> None: ...


def _level_name(level: int) -> str:
    return {v: k for k, v in HEALTH_LEVELS.items()}[level]
