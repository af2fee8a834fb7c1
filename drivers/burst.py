"""Scanner or person? The timing rule that tells a scanner's burst of keys from someone typing.

Its own small module because the cashier window applies it to keys typed into the window, and must
not load the whole key decoder (and its layout tables) before it can show itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BurstRule:
    """A scanner's keys come faster than anyone types (spec practice §1: people take 100–300 ms a key;
    scanners send with no delay, or at most ~50 ms when set to)."""

    avg_ms: float = 30.0
    max_gap_ms: float = 100.0
    min_length: int = 6

    def is_scan(self, length: int, duration: float, intervals: int, max_gap: float) -> bool:
        if length < self.min_length or max_gap * 1000 > self.max_gap_ms:
            return False
        return intervals == 0 or duration * 1000 / intervals <= self.avg_ms
