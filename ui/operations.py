"""A window's action as one call, its failure told in one place (after Anki's ``aqt/operations``).

The manager's and the technician's windows run every use case through :meth:`Operations._call`: off the UI
thread (``core.call``), counted in ``busy`` while in flight (tests and the screenshots wait on it), and on
failure said in the person's words on the window's status line — a PosError's message and next step, or
a bug said as one. One copy, so both windows fail the same way.
"""

from __future__ import annotations

from typing import Any

from .bridge import error_words

RED, GREEN = "#b3261e", "#1b7f3b"


def error_text(exc: Exception) -> str:
    """What a person reads for a failure: the message, then the next step on its own line."""
    message, hint = error_words(exc)
    return message + (f"\n→ {hint}" if hint else "")


def tell(label, text: str, *, error: bool = False) -> None:
    label.setStyleSheet(f"color: {RED if error else GREEN};")
    label.setText(text)


class Operations:
    """For a window with ``core`` (a :class:`ui.bridge.Core`) and a ``status`` label."""

    busy = 0
    core: Any     # set by the window
    status: Any

    def _call(self, fn, *args, on_done=None, on_error=None, say=None) -> None:
        """``core.call`` with a busy count; a failure is told on ``say`` (default: the status line)."""
        self.busy += 1
        say = say or self._say

        def done(result):
            self.busy -= 1
            if on_done is not None:
                on_done(result)

        def failed(exc):
            self.busy -= 1
            say(error_text(exc), error=True)
            if on_error is not None:
                on_error(exc)
        self.core.call(fn, *args, on_done=done, on_error=failed)

    def _say(self, text: str, *, error: bool = False) -> None:
        tell(self.status, text, error=error)
