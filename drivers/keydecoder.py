"""Key events to scans: the one decoder that live evdev devices, recorded traces and benchmarks share.

A keyboard-wedge scanner "types" its data. We read the key codes, not the characters the desktop would
make of them, and decode them with the layout the *scanner* is programmed to emulate (US unless told
otherwise), so a French desktop cannot garble a code (spec practice §1). The decoder is pure: it is fed
``(t, type, code, value)`` tuples with their own timestamps and never reads a clock, so a trace replays
exactly as it was recorded and the gap timer is tested without sleeping.

Rules:
- Shift, Caps Lock, Num Lock, AltGr and the keypad count; Ctrl and Meta chords type nothing, except the
  control-character emulation some scanners use for their suffix (Ctrl+M, Ctrl+J = Enter, Ctrl+I = Tab).
- Alt held with keypad digits is an Alt code (Alt+0065 = "A"): a scanner in "Alt mode" types the same on
  every layout.
- A scan ends on Enter or Tab, or when no key came for ``gap_ms`` (scanners without a suffix).
- A scan never contains a control character; shorter than ``min_length`` is rejected, longer than
  ``max_length`` is dropped (a stuck key), both reported, never silently lost.
- ``shared`` mode is for a device that also carries a person's typing (it cannot be grabbed): a burst
  counts as a scan only if it is fast enough for a scanner (:class:`BurstRule`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pos_app.i18n import _

from . import aim
from .burst import BurstRule
from .keymaps import compose, get_layout

EV_SYN, EV_KEY = 0, 1
SYN_DROPPED = 3
MAX_ALT_DIGITS = 7

# evdev key codes (linux/input-event-codes.h); fixed by the kernel ABI.
KEY_TAB, KEY_ENTER, KEY_KPENTER = 15, 28, 96
KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 29, 97, 42, 54
KEY_LEFTALT, KEY_RIGHTALT, KEY_LEFTMETA, KEY_RIGHTMETA = 56, 100, 125, 126
KEY_CAPSLOCK, KEY_NUMLOCK = 58, 69
KEY_I, KEY_J, KEY_M = 23, 36, 50
_KEYPAD_DIGITS = {82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}
_KEYPAD = frozenset(_KEYPAD_DIGITS) | {83, 98, 55, 74, 78, 117, 121}  # . / * - + = ,
_ENDS = {KEY_ENTER: "enter", KEY_KPENTER: "enter", KEY_TAB: "tab"}

MAX_LENGTH = 4096


@dataclass(frozen=True)
class DecodedScan:
    text: str = field(repr=False)   # the data: AIM prefix stripped
    symbology: aim.Symbology
    typed: str = field(repr=False)  # every character as typed, prefix included
    t: float                        # when it ended (the end key, or the last key for a gap)
    ended_by: str                   # "enter", "tab" or "gap"
    duration: float                 # first key to end


@dataclass(frozen=True)
class Rejected:
    """A burst that is not a scan. ``kind``: "rejected" (too short, prefix only), "dropped" (cut off),
    or "typed" (a person typing on a shared keyboard: not an error, just not ours)."""

    kind: str
    reason: str
    length: int
    t: float


class KeyDecoder:
    """One per physical device: modifier and lock state belong to the keyboard that pressed them."""

    def __init__(self, layout: str = "us", *, gap_ms: float = 100.0, min_length: int = 3,
                 max_length: int = MAX_LENGTH, numlock: bool = True, capslock: bool = False,
                 shared: BurstRule | None = None) -> None:
        self.layout = get_layout(layout)
        # Ctrl+M / Ctrl+J / Ctrl+I are CR, LF and HT wherever the layout puts M, J and I (AZERTY's M).
        self._ctrl_ends = {self.layout.keystrokes(letter)[0][0]: end
                           for letter, end in (("m", "enter"), ("j", "enter"), ("i", "tab"))}
        self.shared = shared
        self.gap = (shared.max_gap_ms if shared else gap_ms) / 1000.0
        self.min_length, self.max_length = min_length, max_length
        self.numlock, self.capslock = numlock, capslock
        self._locks = (numlock, capslock)
        self._held: set[int] = set()
        self._alt_digits: list[int] | None = None
        self._reset()

    def _reset(self) -> None:
        self._chars: list[str] = []
        self._first = self._last = 0.0
        self._max_gap = 0.0
        self._intervals = 0
        self._accent: str | None = None
        self._overflow = False

    @property
    def pending(self) -> int:
        """Characters of a scan in progress."""
        return len(self._chars)

    @property
    def deadline(self) -> float | None:
        """When :meth:`tick` must run for the gap rule to end the scan in progress, or None."""
        return self._last + self.gap if self._busy else None

    @property
    def _busy(self) -> bool:
        return bool(self._chars) or self._overflow or self._accent is not None or bool(self._alt_digits)

    # -- input ----------------------------------------------------------------------------------
    def feed(self, t: float, type_: int, code: int, value: int) -> list:
        """One evdev event; returns the scans and rejections it completed (usually none)."""
        if type_ != EV_KEY:
            if type_ == EV_SYN and code == SYN_DROPPED:  # the kernel's buffer overflowed: keys are missing
                return self.drop(_("the kernel dropped key events (the reader fell behind)"), t, forget_locks=False)
            return []
        out: list = []
        if value == 0:
            self._held.discard(code)
            if code == KEY_LEFTALT and self._alt_digits is not None:
                self._finish_alt_code(t, out)
            return out
        if code in _MODIFIERS:
            if value == 1:
                self._held.add(code)
                if code == KEY_LEFTALT:
                    self._alt_digits = []
            return out
        if value == 1 and code == KEY_CAPSLOCK:
            self.capslock = not self.capslock
            return out
        if value == 1 and code == KEY_NUMLOCK:
            self.numlock = not self.numlock
            return out
        if self._busy and t - self._last > self.gap:
            self._finish("gap", self._last, out)
        held = self._held
        end = _ENDS.get(code)
        if held and (KEY_LEFTCTRL in held or KEY_RIGHTCTRL in held):
            end = self._ctrl_ends.get(code)
            if end is None:
                return out  # a Ctrl chord types no text
        elif held and (KEY_LEFTMETA in held or KEY_RIGHTMETA in held):
            return out
        if end is not None:
            if self._busy:
                self._note_time(t)
                self._finish(end, t, out)
            return out
        if KEY_LEFTALT in held:
            if self._alt_digits is not None and code in _KEYPAD_DIGITS and value == 1 \
                    and len(self._alt_digits) < MAX_ALT_DIGITS:
                self._alt_digits.append(_KEYPAD_DIGITS[code])
                if not (self._chars or self._overflow or self._accent is not None):
                    self._first = t
                self._last = t  # an Alt code's keys are activity: the gap is between them
            return out  # Alt + anything else types no text
        shift = KEY_LEFTSHIFT in held or KEY_RIGHTSHIFT in held
        altgr = KEY_RIGHTALT in held
        if code in _KEYPAD:
            char = self.layout.keypad(code, numlock=self.numlock)
        else:
            char = self.layout.lookup(code, shift=shift, altgr=altgr, caps=self.capslock)
            if char is None:
                accent = self.layout.dead_key(code, shift=shift, altgr=altgr)
                if accent is not None:
                    self._note_time(t)
                    if self._accent is not None:  # two dead keys: the first stands alone
                        self._append(self._accent, t, out)
                    self._accent = accent
                return out
        if char is not None:
            if self._accent is not None:
                char, self._accent = compose(self._accent, char), None
            self._append(char, t, out)
        return out

    def tick(self, now: float) -> list:
        """Ends the scan in progress if the gap has passed by ``now``."""
        out: list = []
        if self._busy and now - self._last > self.gap:
            self._finish("gap", self._last, out)
        return out

    def drop(self, reason: str, now: float, *, forget_locks: bool = True) -> list:
        """The device went away: throw away a partial scan and say so (never deliver half a code). The
        held keys go too, and (unless only events were lost) the lock state, since a replugged scanner
        starts afresh."""
        self._held.clear()
        self._alt_digits = None
        if forget_locks:
            self.numlock, self.capslock = self._locks
        if not self._busy:
            return []
        length = len(self._chars)
        self._reset()
        return [Rejected("dropped", _("partial scan of {length} characters dropped: {reason}").format(
            length=length, reason=reason), length, now)]

    # -- internals ------------------------------------------------------------------------------
    def _note_time(self, t: float) -> None:
        if self._chars or self._accent is not None:
            gap = t - self._last
            if gap > self._max_gap:
                self._max_gap = gap
            self._intervals += 1
        else:
            self._first = t
        self._last = t

    def _append(self, text: str, t: float, out: list) -> None:
        if self._overflow:
            self._last = t
            return
        self._note_time(t)
        for char in text:
            if char.isprintable():
                self._chars.append(char)
        if len(self._chars) > self.max_length:
            length = len(self._chars)
            self._chars = []
            self._overflow = True
            out.append(Rejected("dropped", _("more than {n} characters without an end: a stuck key or a runaway "
                                             "device").format(n=self.max_length), length, t))

    def _finish_alt_code(self, t: float, out: list) -> None:
        digits, self._alt_digits = self._alt_digits, None
        if not digits:
            return
        number = int("".join(map(str, digits)))
        if digits[0] == 0 and number < 256:
            char = bytes([number]).decode("cp1252", errors="replace")
        elif number < 256:
            char = bytes([number]).decode("cp437")
        else:
            char = chr(number) if number < 0x110000 else ""
        if char.isprintable() and char != "\ufffd":
            self._append(char, t, out)

    def _finish(self, ended_by: str, t: float, out: list) -> None:
        if self._accent is not None:
            self._chars.append(self._accent)
        typed = "".join(self._chars)
        overflow, duration = self._overflow, t - self._first
        intervals, max_gap = self._intervals, self._max_gap
        self._reset()
        if overflow:
            return
        if self.shared is not None and not self.shared.is_scan(len(typed), duration, intervals, max_gap):
            out.append(Rejected("typed", _("typed by a person (too slow for a scanner)"), len(typed), t))
            return
        text, symbology = aim.identify(typed)
        if len(text) < self.min_length:
            what = _("only an AIM prefix") if symbology.aim and not text else \
                _("{n} characters").format(n=len(text))
            out.append(Rejected("rejected", _("too short for a scan ({what}; at least {least})").format(
                what=what, least=self.min_length), len(text), t))
            return
        out.append(DecodedScan(text, symbology, typed, t, ended_by, duration))


_MODIFIERS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTALT, KEY_RIGHTALT,
                        KEY_LEFTMETA, KEY_RIGHTMETA})
