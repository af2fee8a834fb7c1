"""A scanner that types into the window: its keystrokes told apart from the cashier's by their speed.

A scanner that cannot be grabbed (or one plugged in as a plain keyboard) types into whatever has focus.
Its characters arrive far faster than anyone types, so a burst that ends on Enter or Tab and passes the
same :class:`~drivers.burst.BurstRule` the drivers use is a scan: the window takes back what the
burst typed and hands the text to the classifier. Anything slower is the cashier typing.
"""

from __future__ import annotations

from drivers.burst import BurstRule


class WedgeBuffer:
    """Fed characters with their times; ``end`` returns the scan, or None when it was typing."""

    def __init__(self, rule: BurstRule | None = None) -> None:
        self.rule = rule or BurstRule()
        self._chars: list[str] = []
        self._first = self._last = 0.0
        self._max_gap = 0.0

    @property
    def length(self) -> int:
        return len(self._chars)

    def feed(self, char: str, t: float) -> bool:
        """Adds a character; returns True when it starts a new burst (the caller snapshots its input)."""
        gap = t - self._last
        if self._chars and gap * 1000 <= self.rule.max_gap_ms:
            self._max_gap = max(self._max_gap, gap)
            self._chars.append(char)
            self._last = t
            return False
        self._chars, self._first, self._last, self._max_gap = [char], t, t, 0.0
        return True

    def reset(self) -> None:
        """A key that is not a character (F1, Esc, a modifier chord) breaks a burst."""
        self._chars = []

    def end(self, t: float) -> str | None:
        """Enter or Tab came: the burst's text if a scanner typed it, else None."""
        chars, self._chars = self._chars, []
        if not chars or (t - self._last) * 1000 > self.rule.max_gap_ms:
            return None
        max_gap = max(self._max_gap, t - self._last)
        if self.rule.is_scan(len(chars), t - self._first, len(chars), max_gap):
            return "".join(chars)
        return None
