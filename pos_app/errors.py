"""The one exception type a person sees.

Every failure that a cashier, manager or technician can act on is a :class:`PosError`: it says what is
wrong, where (a file, a key, a device), and what to do next. The CLI and the GUI print these as they are;
anything else that escapes is a bug and is reported as one, never as a bare traceback.
"""

from __future__ import annotations


class PosError(Exception):
    """An error with a plain-words message and, when there is one, the next step to take."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  → {self.hint}"


class ConfigError(PosError):
    """The configuration file, or something it points at, is wrong."""


class KeyFileError(PosError):
    """A key file is missing, unreadable, too open, or not an RSA key."""


class MoneyError(PosError, ValueError):
    """An amount or currency the terminal cannot accept."""


class OutcomeNotJournaled(PosError):
    """A request left, but the journal could not record its answer (a full disk, unreadable pages).

    The outcome is unknown to us, not failed: the gateway may have moved the money. What was committed
    before the send lets the next start settle it with the gateway, so a front end reports it as
    UNKNOWN (exit 3), with the request's id, never as "nothing happened".
    """

    def __init__(self, message: str, *, hint: str, summary: dict) -> None:
        super().__init__(message, hint=hint)
        self.summary = summary


def cannot_write(path, exc: OSError) -> PosError:
    """A file a person asked for (a report, a receipt, a log export) that could not be written, in words: a full
    disk says to free space, anything else to pick a folder this user can write to."""
    import errno

    from .i18n import _
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return PosError(_("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc),
                    hint=_("free some space on that disk, or pick another folder") if full else
                    _("pick a folder that exists and that you can write to"))
