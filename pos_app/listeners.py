"""Callbacks with any number of listeners: a sale's change goes to the window, the CLI's progress line
and a test alike, and one listener's failure neither silences the others nor stops the payment."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Listeners:
    def __init__(self, what: str) -> None:
        self.what = what
        self._fns: list[Callable] = []

    def add(self, fn: Callable) -> Callable[[], None]:
        """Call ``fn`` on every event from now on; returns the function that stops it."""
        self._fns.append(fn)
        return lambda: self._fns.remove(fn) if fn in self._fns else None

    def __call__(self, *args) -> None:
        for fn in list(self._fns):
            try:
                fn(*args)
            except Exception:  # a display problem must never stop a payment
                log.exception("%s listener %r failed", self.what, fn)
