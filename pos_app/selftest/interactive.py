"""The interactive level: a person scans a test code, and :func:`scan_check` names the scanner setting to change.

The test code is chosen so that each common mis-setting garbles it recognisably (a wrong keyboard layout,
case conversion, extra prefix or suffix, no Enter, a slow inter-character delay); the layout is found by
typing the code through the production key decoder for every other layout.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from ..i18n import N_, _
from .results import Check, failed, passed, skipped

#: What the interactive check asks to scan: digits, "-" and q/w/a/z/y differ between the us, de and fr
#: layouts, so a scanner typing for the wrong one garbles it in a recognisable way.
TEST_CODE = "POS-TEST-qwazy-0123456789"
SLOW_CHAR_SECONDS = 0.030        # a scanner types faster than this per character
SCAN_TIMEOUT = 30.0
#: What ended a scan (a ScanEvent's ``ended_by``) in words; the serial endings (cr, lf, crlf) are the bytes' names.
ENDED_WORDS = {"enter": N_("enter"), "tab": N_("tab"), "gap": N_("gap")}


def ended_words(ended_by: str) -> str:
    return _(ENDED_WORDS[ended_by]) if ended_by in ENDED_WORDS else ended_by


def typed_on(text: str, scanner_layout: str, decode_layout: str) -> str | None:
    """What ``text`` becomes when a scanner types it for ``scanner_layout`` and the terminal decodes the
    keys with ``decode_layout`` (the production decoder), or None when the scanner's layout cannot type it."""
    from drivers.keydecoder import (
        EV_KEY,
        KEY_ENTER,
        KEY_LEFTSHIFT,
        KEY_RIGHTALT,
        DecodedScan,
        KeyDecoder,
    )
    from drivers.keymaps import get_layout

    try:
        strokes = get_layout(scanner_layout).keystrokes(text)
    except ValueError:
        return None
    decoder = KeyDecoder(decode_layout, gap_ms=10_000, min_length=1)
    t, out = 0.0, []
    for code, shift, altgr in [*strokes, (KEY_ENTER, False, False)]:
        mods = [m for m, on in ((KEY_LEFTSHIFT, shift), (KEY_RIGHTALT, altgr)) if on]
        for key, value in [*((m, 1) for m in mods), (code, 1), (code, 0), *((m, 0) for m in mods)]:
            out += decoder.feed(t, EV_KEY, key, value)
            t += 0.001
    scans = [o for o in out if isinstance(o, DecodedScan)]
    return scans[0].typed if scans else ""


def scan_check(expected: str, got: Any, *, layout: str | None = "us", duration: float | None = None,
               expect_aim: bool = False) -> Check:
    """Judge a test scan of ``expected`` and say which setting to change.

    ``got`` is a :class:`~drivers.model.ScanEvent` (or anything with ``data``, ``aim``, ``ended_by``) or the
    raw text as typed (an AIM prefix is then parsed off). ``layout`` is the layout the terminal decodes
    this scanner with (None for a serial scanner: no keys, no layout). ``duration`` (first key to last, in
    seconds) is taken from ``got.duration`` when it has one; without it the timing is not judged.
    """
    from drivers import aim as aim_ids
    from drivers.keymaps import LAYOUTS

    from ..scan import mask

    if isinstance(got, str):
        raw = got.rstrip("\r\n")
        ended_by = "enter" if raw != got else None
        aim, data = aim_ids.split_prefix(raw)
    else:
        data, aim, ended_by = got.data, getattr(got, "aim", None), getattr(got, "ended_by", None) or None
    if duration is None:
        duration = getattr(got, "duration", None)
    problems: list[tuple[str, str]] = []
    if data != expected:
        garbled = {}
        if layout:
            for name in LAYOUTS:
                if name != layout:
                    typed = typed_on(expected, name, layout)
                    if typed:
                        garbled[name] = typed
        wrong = next((name for name, typed in garbled.items()
                      if data == typed or (len(typed) >= 6 and data.endswith(typed))), None)
        if wrong is not None:
            problems.append((
                _("the scanner types for layout {wrong} ({title}), the terminal decodes {layout}").format(
                    wrong=repr(wrong), title=_(LAYOUTS[wrong].title), layout=repr(layout)),
                _('set layout = "{wrong}" under [scanners] (or in this scanner\'s [[scanners.hid]] entry), or '
                  'program the scanner\'s keyboard country for layout "{layout}"').format(wrong=wrong, layout=layout)))
        elif data == expected.swapcase():
            problems.append((_("the letters arrive in the wrong case"),
                             _("turn off the scanner's case conversion or Caps Lock emulation")))
        elif expected in data:
            before, _sep, after = data.partition(expected)
            if before and after:
                extra = _("the scanner adds characters before {before} and after {after} the data").format(
                    before=repr(before), after=repr(after))
            elif before:
                extra = _("the scanner adds characters before {before} the data").format(before=repr(before))
            else:
                extra = _("the scanner adds characters after {after} the data").format(after=repr(after))
            problems.append((extra, _("remove the scanner's prefix/suffix characters (keep only Enter as the "
                                      "suffix; the AIM id prefix is fine)")))
        elif data and expected.startswith(data):
            problems.append((_("only {got} of {count} characters arrived").format(got=len(data), count=len(expected)),
                             _("the scan was cut short: set the scanner's inter-character delay to 0, or raise gap_ms")
                             if ended_by == "gap" else _("check that the whole code was in the scanner's view")))
        else:
            shown = mask(data) if len(data) >= 16 and data.isdigit() else data  # a customer's code, by mistake?
            problems.append((_("read {got}, expected {expected}").format(got=repr(shown), expected=repr(expected)),
                             _("scan the test code shown by this self-test, not another barcode")))
    if ended_by == "gap":
        problems.append((_("the scan had no suffix and ended on the time gap"),
                         _("program the scanner to send Enter (CR) after each scan")))
    if aim is None and expect_aim:
        problems.append((_("the scanner sends no AIM symbology identifier"),
                         _("enable the scanner's 'AIM ID' (code identifier) prefix")))
    elif aim is not None and not aim.startswith("]Q") and data == expected:
        problems.append((_("the AIM id {aim} does not say QR Code").format(aim=aim),
                         _("scan the QR code shown by this self-test")))
    if duration is not None and data:
        per_char = duration / max(1, len(data))
        if per_char > SLOW_CHAR_SECONDS:
            problems.append((_("the scanner types slowly ({ms} ms a character)").format(ms=f"{per_char * 1000:.0f}"),
                             _("set the scanner's inter-character delay to 0 (and its USB polling to the fastest)")))
    if problems:
        return failed("scan", "; ".join(p for p, _hint in problems), "; ".join(h for _p, h in problems))
    facts = [_("read {count} characters as expected").format(count=len(data)),
             _("AIM id {aim}").format(aim=aim) if aim else _("no AIM id (optional)"),
             _("ended by {how}").format(how=ended_words(ended_by)) if ended_by else "",
             _("{ms} ms a character").format(ms=f"{duration / max(1, len(data)) * 1000:.1f}")
             if duration is not None else _("timing not reported by the driver")]
    return passed("scan", ", ".join(f for f in facts if f))


def _wait_for_scan(events: queue.Queue, timeout: float):
    """The first scan within ``timeout`` seconds, and the last problem a scanner reported meanwhile."""
    from drivers import model

    deadline = time.monotonic() + timeout
    problem = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, problem
        try:
            event = events.get(timeout=min(remaining, 0.25))
        except queue.Empty:
            continue
        if isinstance(event, model.ScanEvent):
            return event, problem
        if event.kind in (model.REJECTED, model.DROPPED, model.ERROR):
            problem = f"{event.source}: {event.message}"


def check_test_scan(hub, own_hub: bool, layout: str | None, scan: Callable[[str, float], Any] | None,
                    prompt: Callable[[str], None] | None, timeout: float) -> Check:
    """The ``scan`` check: ``prompt`` asks for the test code, then ``scan(code, timeout)`` (the GUI's) or,
    without it, the hub opened for this run (``own_hub``) is listened to. ``layout`` is the configured
    one, for a scan handed in by ``scan``; a scan from the hub is judged against its own decoder's."""
    if scan is not None:
        if prompt:
            prompt(TEST_CODE)
        got = scan(TEST_CODE, timeout)
    else:
        if hub is None or not own_hub:
            return skipped("scan", _("no scanner to test") if hub is None else _("run from the technician screen"))
        usable = [s for s in hub.scanners if getattr(s, "connected", True)]
        if not usable:
            return skipped("scan", _("no scanner to test (see scanners)"))
        while True:  # what came before the prompt is not the test scan
            try:
                hub.events.get_nowait()
            except queue.Empty:
                break
        if prompt:
            prompt(TEST_CODE)
        got, problem = _wait_for_scan(hub.events, timeout)
        if got is None:
            detail = _("no scan within {seconds} s").format(seconds=f"{timeout:g}")
            if problem:
                detail += _(" (last problem: {problem})").format(problem=problem)
            return failed("scan", detail, _("scan the QR shown here; if the scanner beeps but nothing arrives, "
                                            "`pos-terminal scanner listen` shows what it sends"))
        source = hub.hid.get(got.source) if hasattr(hub, "hid") else None
        layout = source.decoder.layout.name if source is not None else None
    if got is None:
        return failed("scan", _("no scan within {seconds} s").format(seconds=f"{timeout:g}"),
                      _("scan the QR shown on the technician screen"))
    return scan_check(TEST_CODE, got, layout=layout)
