"""The background reconciler: while the terminal is up, whatever is due gets done.

It is deliberately dumb: ask the terminal to advance what is due, then sleep until the next due time
or until something changes (a new sale, a notification, the link coming back). All the rules live in
the flows; this thread only supplies the passing of time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, advance_due: Callable[[], int], next_due_at: Callable[[], float | None],
                 changed: threading.Condition, *, clock: Callable[[], float] = time.time,
                 max_sleep: float = 1.0, housekeeping: Callable[[], None] = lambda: None) -> None:
        self.advance_due = advance_due
        self.next_due_at = next_due_at
        self.changed = changed
        self.clock = clock
        self.max_sleep = max_sleep  # also how soon a link that came back is noticed
        self.housekeeping = housekeeping
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> Reconciler:
        self.thread = threading.Thread(target=self._run, name="reconciler", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self.changed:
            self.changed.notify_all()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                advanced = self.advance_due()
                self.housekeeping()
                soonest = self.next_due_at()
                if not advanced and soonest is not None and soonest <= self.clock():
                    soonest = None  # due but held back (the link is down): look again in max_sleep
            except Exception:  # keep going: a journal hiccup must not end settlement for the day
                log.exception("reconciler round failed; retrying")
                soonest = None
            with self.changed:
                if self._stop.is_set():
                    return
                wait = self.max_sleep if soonest is None else min(self.max_sleep, soonest - self.clock())
                # At least a breath between rounds: a row that keeps failing must not spin a core.
                self.changed.wait(max(wait, 0.05))
