"""Recorded evdev traces: what a scanner sent, replayable through the live decoder.

A trace is JSON lines, one evdev event each: ``{"t": seconds, "type": n, "code": n, "value": n}``. A
technician records one at the store (``pos-terminal scanner record``) and we replay it here through the
very decoder a live device uses, timing included, so "the scanner does nothing" becomes a file we can
test. ``evtest`` output is read too, since it is what people already paste into bug reports.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from pos_app.errors import PosError
from pos_app.i18n import _

from .keydecoder import KeyDecoder

MAX_EVENTS = 5_000_000
_EVTEST = re.compile(r"Event: time (\d+)\.(\d+), type (\d+) \([^)]*\), code (\d+) \([^)]*\), value (-?\d+)")
_EVTEST_SYN = re.compile(r"Event: time (\d+)\.(\d+), -------------- (\w+) ------------")

Event = tuple[float, int, int, int]


class TraceError(PosError):
    """A trace file that cannot be replayed: names the file and line."""


def read_trace(path: Path | str) -> list[Event]:
    """Every event of a JSONL (or evtest) trace, checked; TraceError names the bad line."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return list(_parse(handle, path))
    except FileNotFoundError:
        raise TraceError(_("{path}: trace file not found").format(path=path)) from None
    except IsADirectoryError:
        raise TraceError(_("{path}: is a directory, not a trace file").format(path=path)) from None
    except PermissionError:
        raise TraceError(_("{path}: this user may not read it").format(path=path)) from None
    except UnicodeDecodeError as exc:
        raise TraceError(_("{path}: not UTF-8 text (bad byte at offset {offset})").format(path=path, offset=exc.start),
                         hint=_("a trace is JSON lines written by `pos-terminal scanner record`, "
                                "or evtest output")) from None


def _parse(lines: Iterable[str], path: Path) -> Iterator[Event]:
    count = 0
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        event = _json_event(text, path, number) if text.startswith("{") else _evtest_event(text)
        if event is None:  # an evtest line that is no key event
            continue
        count += 1
        if count > MAX_EVENTS:
            raise TraceError(_("{where}: more than {limit} events; split the trace").format(
                where=f"{path}:{number}", limit=MAX_EVENTS))
        yield event


def _json_event(text: str, path: Path, number: int) -> Event:
    where = f"{path}:{number}"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(_("{where}: not JSON ({reason})").format(where=where, reason=exc.msg)) from None
    if not isinstance(obj, dict):
        raise TraceError(_("{where}: expected an object with t, type, code and value").format(where=where))
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t != t or abs(t) > 1e12:
        raise TraceError(_("{where}: t must be a time in seconds, got {value}").format(where=where, value=repr(t)))
    values = []
    for key, high in (("type", 0x1F), ("code", 0x2FF), ("value", 2**31 - 1)):
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value <= high:
            raise TraceError(_("{where}: {key} must be a whole number (evdev {key}), got {value}").format(
                where=where, key=key, value=repr(value)))
        if key != "value" and value < 0:
            raise TraceError(_("{where}: {key} must not be negative, got {value}").format(where=where, key=key,
                                                                                          value=value))
        values.append(value)
    return (float(t), values[0], values[1], values[2])


def _evtest_event(text: str) -> Event | None:
    match = _EVTEST.search(text)
    if match:
        sec, usec, type_, code, value = match.groups()
        return (int(sec) + int(usec) / 10 ** len(usec), int(type_), int(code), int(value))
    match = _EVTEST_SYN.search(text)
    if match:
        sec, usec, _name = match.groups()
        return (int(sec) + int(usec) / 10 ** len(usec), 0, 0, 0)
    return None


def replay(events: Iterable[Event], decoder: KeyDecoder) -> list:
    """Feed a trace through ``decoder`` as time passed when it was recorded; returns every output.

    The gap timer runs on the trace's clock: before each event, and once after the last one (the live
    reader's timer would fire then too), so a scanner without a suffix replays as it worked live.
    """
    out: list = []
    last = None
    for t, type_, code, value in events:
        out.extend(decoder.tick(t))
        out.extend(decoder.feed(t, type_, code, value))
        last = t
    if last is not None:
        out.extend(decoder.tick(last + decoder.gap + 1.0))
    return out


def write_event(handle: TextIO, event: Event) -> None:
    t, type_, code, value = event
    handle.write(json.dumps({"t": round(t, 6), "type": type_, "code": code, "value": value}) + "\n")


def record(node, handle: TextIO, stop: threading.Event, *, limit: int | None = None) -> int:
    """Write every event ``node`` delivers until ``stop`` is set (or ``limit`` events); returns the count."""
    import select

    count = 0
    while not stop.is_set():
        ready, _, _ = select.select([node], [], [], 0.2)
        if not ready:
            continue
        for event in node.read():
            write_event(handle, event)
            count += 1
            if limit and count >= limit:
                return count
        handle.flush()
    return count
