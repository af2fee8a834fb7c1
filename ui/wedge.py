"""A scanner that types into the window: its keystrokes told apart from the cashier's by their speed.

A scanner that cannot be grabbed (or one plugged in as a plain keyboard) types into whatever has focus.
Its characters arrive far faster than anyone types, so a burst that passes the same
:class:`~drivers.burst.BurstRule` the drivers use is a scan, whether it ends on Enter or Tab (``end``) or
simply stops (``idle``, for a scanner set to send no suffix): the window takes back what the burst typed
and hands the text to the classifier. Anything slower is the cashier typing.

A person's last keys and a scan right after them can fall within one burst's gap (a quick typist's keys
come 60-100 ms apart); the scan then starts after the last gap far longer than the scanner's own pace,
and what came before it is the person's (:attr:`Burst.typed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from drivers.burst import BurstRule

PACE_FACTOR = 3   # a gap this many times the scanner's own pace (and longer than its average) is not its


@dataclass(frozen=True)
class Burst:
    """A burst of keys that is over: what a person typed, then what a scanner sent (None when nothing)."""

    typed: str
    scan: str | None


class WedgeBuffer:
    """Fed characters with their times; ``end`` and ``idle`` tell the scan from the typing."""

    def __init__(self, rule: BurstRule | None = None) -> None:
        self.rule = rule or BurstRule()
        self._chars: list[str] = []
        self._times: list[float] = []

    @property
    def length(self) -> int:
        return len(self._chars)

    @property
    def held(self) -> str:
        """The burst's characters so far."""
        return "".join(self._chars)

    @property
    def gap(self) -> float:
        """Seconds of silence after which a burst is over."""
        return self.rule.max_gap_ms / 1000

    def feed(self, char: str, t: float) -> bool:
        """Adds a character; returns True when it starts a new burst."""
        if self._chars and t - self._times[-1] <= self.gap:
            self._chars.append(char)
            self._times.append(t)
            return False
        self._chars, self._times = [char], [t]
        return True

    def reset(self) -> None:
        """A key that is not a character (F1, Esc, a modifier chord) breaks a burst."""
        self._chars, self._times = [], []

    def end(self, t: float) -> Burst:
        """Enter or Tab came at ``t``: the burst, its scan (if a scanner sent the last of it) split from what a
        person typed before it. An Enter long after the last key ends no scan."""
        chars, times = self._chars, self._times
        self.reset()
        if not chars:
            return Burst("", None)
        if t - times[-1] > self.gap:
            return Burst("".join(chars), None)
        return self._split(chars, [*times, t])

    def idle(self, t: float) -> Burst | None:
        """No key came for longer than a scanner's gap: the burst is over without Enter (or a key that is no
        character ended it: ``t`` = infinity). None while it may still go on."""
        if not self._chars or t - self._times[-1] <= self.gap:
            return None
        chars, times = self._chars, self._times
        self.reset()
        return self._split(chars, times)

    def _split(self, chars: list[str], times: list[float]) -> Burst:
        """``times``: one per character, then the terminator's when there was one (its gap counts as a key's)."""
        start = self._scan_start(times[:len(chars)])
        keys = times[start:]
        gaps = [b - a for a, b in pairwise(keys)]
        if self.rule.is_scan(len(chars) - start, keys[-1] - keys[0], len(gaps), max(gaps, default=0.0)):
            return Burst("".join(chars[:start]), "".join(chars[start:]))
        return Burst("".join(chars), None)

    def _scan_start(self, times: list[float]) -> int:
        """Where a scanner's keys begin (``times``: one per character): after the last gap far longer than the
        pace of the burst's last keys, when the keys before that gap came at a person's pace (a scanner's own
        hiccup splits nothing)."""
        gaps = [b - a for a, b in pairwise(times)]
        tail = gaps[-(self.rule.min_length - 1):]
        if not tail:
            return 0
        limit = max(self.rule.avg_ms / 1000, PACE_FACTOR * median(tail))
        for i in range(len(gaps) - 1, -1, -1):
            if gaps[i] > limit:
                before = gaps[:i]
                if not before or sum(before) / len(before) > self.rule.avg_ms / 1000:
                    return i + 1
                return 0
        return 0
