"""Who acts at a prompt, as the use cases need it: the counter, the shell, or the manager's PIN.

The manager's PIN comes from ``$POS_TERMINAL_MANAGER_PIN``, else it is asked on the terminal (or read
from standard input when that is not a terminal, for scripts). Who asked is ``--by``, else the login
name; both land in the audit log through the use case.
"""

from __future__ import annotations

import getpass
import os
import sys

from ..i18n import _


def ask(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def who(by: str | None = None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):   # a uid with no name (a container): still someone, and said so
        return f"uid {os.getuid()}"


def counter(by: str | None = None):
    from ..services import counter
    return counter(who(by))


def shell(by: str | None = None):
    from ..services import shell
    return shell(who(by))


def manager(journal, by: str | None = None):
    """The manager's grant: the PIN checked (wrong tries count, a locked mode stays locked)."""
    from ..roles import MANAGER
    from ..services import unlock
    pin = os.environ.get("POS_TERMINAL_MANAGER_PIN") or ask(_("manager PIN: "))
    return unlock(journal, MANAGER, pin, asked_by=who(by))
