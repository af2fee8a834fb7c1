"""Traces in the recorded format, made from text: what a scanner or a person would send.

This machine has no /dev/input, so traces are synthesized event for event as the kernel delivers them
from a USB keyboard (EV_MSC/MSC_SCAN, EV_KEY, SYN_REPORT per report; a press report and a release
report per character; Shift pressed around shifted characters) with the timing of the device:
- a fast scanner sends one report per USB poll (1 ms at full speed, bInterval 1);
- a slow one (8 ms polls, or an inter-character delay set in the scanner) is slower;
- a person takes 100–300 ms per key and holds each key for ~60–120 ms.
``FifoNode`` is a stand-in, named as such: it reads the kernel's binary ``struct input_event`` from a
FIFO where a live ``/dev/input/eventN`` cannot exist; everything behind it is the production code.
"""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

from drivers.keymaps import get_layout

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
MSC_SCAN = 4
KEY_LEFTSHIFT, KEY_RIGHTALT, KEY_ENTER, KEY_TAB, KEY_SPACE = 42, 100, 28, 15, 57
SUFFIX_KEYS = {"enter": KEY_ENTER, "tab": KEY_TAB, None: None}
INPUT_EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit Linux: timeval, type, code, value

# USB HID usage ids for the MSC_SCAN value (cosmetic: the decoder ignores EV_MSC, real traces have it)
_USAGE = {30: 0x1E, 2: 0x1E, 28: 0x28, 42: 0xE1, 100: 0xE6}


def _report(t: float, code: int, value: int) -> list[tuple[float, int, int, int]]:
    return [(t, EV_MSC, MSC_SCAN, 0x70000 + _USAGE.get(code, code)), (t, EV_KEY, code, value), (t, EV_SYN, 0, 0)]


def key_events(strokes, t0: float, report: float, char_delay: float = 0.0, hold: float | None = None):
    """Events for ``(code, shift, altgr)`` strokes: each key a press report then a release report."""
    events, t = [], t0
    hold = report if hold is None else hold
    for code, shift, altgr in strokes:
        mods = [m for m, on in ((KEY_LEFTSHIFT, shift), (KEY_RIGHTALT, altgr)) if on]
        for m in mods:
            events += _report(t, m, 1)
            t += report
        events += _report(t, code, 1)
        t += hold
        events += _report(t, code, 0)
        t += report
        for m in mods:
            events += _report(t, m, 0)
            t += report
        t += char_delay
    return events, t


def scanner(text: str, *, layout: str = "us", t0: float = 1_700_000_000.0, report: float = 0.001,
            char_delay: float = 0.0, suffix: str | None = "enter"):
    """A scanner programmed for ``layout`` sending ``text`` then its suffix key."""
    strokes = get_layout(layout).keystrokes(text)
    if suffix:
        strokes = [*strokes, (SUFFIX_KEYS[suffix], False, False)]
    return key_events(strokes, t0, report, char_delay)


def person(text: str, *, layout: str = "us", t0: float = 1_700_000_000.0, seed: int = 1,
           suffix: str | None = "enter"):
    """A person typing ``text``: 100–300 ms a key, keys held 60–120 ms."""
    rng = random.Random(seed)
    events, t = [], t0
    strokes = get_layout(layout).keystrokes(text) + ([(SUFFIX_KEYS[suffix], False, False)] if suffix else [])
    for stroke in strokes:
        part, t = key_events([stroke], t, 0.015, hold=rng.uniform(0.06, 0.12))
        events += part
        t += rng.uniform(0.1, 0.3) - 0.075
    return events, t


def interleave(*streams):
    """Several devices' events merged by time, as one reader would see them."""
    merged = [e for stream in streams for e in stream]
    return sorted(merged, key=lambda e: e[0])


def write_jsonl(path: Path, events) -> Path:
    with open(path, "w") as handle:
        for t, type_, code, value in events:
            handle.write(json.dumps({"t": round(t, 6), "type": type_, "code": code, "value": value}) + "\n")
    return path


def pack(events) -> bytes:
    out = bytearray()
    for t, type_, code, value in events:
        sec = int(t)
        out += INPUT_EVENT.pack(sec, round((t - sec) * 1e6), type_, code, value)
    return bytes(out)


class FifoNode:
    """STAND-IN for a live evdev node (none can exist here): a FIFO carrying ``struct input_event``
    stamped on the monotonic clock, as EvdevNode delivers them.

    Same interface as :class:`drivers.hid.EvdevNode`. ``grab`` records the call (EVIOCGRAB needs a real
    evdev device); ``grab_error`` makes it fail as the kernel would. EOF on the FIFO (the writer closed)
    is an unplug, as ENODEV is for a real node.
    """

    grab_error: OSError | None = None

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            from drivers.discovery import open_error
            raise open_error(path, exc) from None
        self.grabbed = False
        self._buffer = b""

    def fileno(self) -> int:
        return self.fd

    def read(self):
        try:
            data = os.read(self.fd, 24 * 512)
        except BlockingIOError:
            return []
        if not data:
            raise OSError(19, "No such device")  # ENODEV: the writer is gone
        data = self._buffer + data
        whole = len(data) - len(data) % INPUT_EVENT.size
        self._buffer = data[whole:]
        return [(sec + usec / 1e6, type_, code, value)
                for sec, usec, type_, code, value in INPUT_EVENT.iter_unpack(data[:whole])]

    def grab(self) -> None:
        if self.grab_error:
            raise self.grab_error
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def locks(self):
        return None

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
