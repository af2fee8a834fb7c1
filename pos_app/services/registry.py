"""The use-case registry: every action a person takes, the role it needs, and where it is bound.

Modelled on Electrum's ``commands.py``: one decorator registers a use case and checks the caller's
:class:`Grant` before the body runs, so no front end can forget a PIN. The windows and the CLI call the
registered functions and nothing else; ``tests/integration/test_parity.py`` checks that each use case has its CLI
command and its binding in the windows, and that the README documents the command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import PosError
from ..i18n import N_, _
from ..roles import MANAGER, TECHNICIAN, PinBook, PinError

CASHIER = "cashier"
ANYONE = frozenset({CASHIER, TECHNICIAN, MANAGER})

_SEAL = object()   # a Grant is made only here: by a PIN, or as the counter's or the shell's own


@dataclass(frozen=True)
class Grant:
    """Who is acting: the role a PIN (or the place) proved, who approved it and who asked."""

    role: str
    approved_by: str | None
    asked_by: str
    seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seal is not _SEAL:
            raise TypeError("a Grant comes from services.unlock, services.counter or services.shell")


def unlock(journal, role: str, pin: str, *, asked_by: str) -> Grant:
    """Check ``role``'s PIN (wrong tries count; a locked mode stays locked) and grant that role."""
    PinBook(journal).verify(role, pin)
    return Grant(role, role, asked_by, _SEAL)


def pin_is_set(journal, role: str) -> bool:
    """Whether ``role`` has a PIN yet (a first use sets one through ``pin_set`` instead of unlocking)."""
    return PinBook(journal).is_set(role)


VERIFY, CHOOSE = "verify", "choose"   # what the PIN dialog asks for: the PIN, or a first one (twice)
ROLE_WORDS = {MANAGER: N_("manager"), TECHNICIAN: N_("technician")}   # a role as a person reads it


def role_words(role: str) -> str:
    return _(ROLE_WORDS.get(role, role))


def pin_entry(journal, role: str, *, sandbox: bool) -> str:
    """How a mode opens at the window: :data:`VERIFY` its PIN once one is set; :data:`CHOOSE` a first one
    only in sandbox mode (nothing real to protect); otherwise refused in words (:func:`first_pin_here`)."""
    if PinBook(journal).is_set(role):
        return VERIFY
    first_pin_here(role, sandbox=sandbox)
    return CHOOSE


def first_pin_here(role: str, *, sandbox: bool) -> None:
    """A first PIN chosen at the window, by whoever presses the key first, is taken in sandbox mode only: a
    live terminal's PINs come from ``pos-terminal setup`` or ``pos-terminal pin set`` at its prompt, which
    only the store's own people reach."""
    if not sandbox:
        raise PinError(_("No {role} PIN is set on this terminal, so {role} mode cannot open yet.").format(
                           role=role_words(role)),
                       hint=_("Close the till first (an installed terminal: sudo systemctl stop pos-terminal), "
                              "then at its prompt: pos-terminal pin set {role} (or pos-terminal setup); then start "
                              "it again. The command refuses while the till runs: one program writes the journal."
                              ).format(role=role))


def counter(asked_by: str = "cashier") -> Grant:
    """The cashier at the counter: no PIN; sales, aborts, inquiries, the queue."""
    return Grant(CASHIER, None, asked_by, _SEAL)


def shell(asked_by: str) -> Grant:
    """The terminal's own OS account at a prompt. It can already read the journal and the keys, so it
    counts as a technician (diagnostics, devices, logs); money moves and closing still need the manager PIN."""
    return Grant(TECHNICIAN, None, asked_by, _SEAL)


def require(grant: Grant, roles: frozenset[str], what: str) -> None:
    if grant.role not in roles:
        need = _(" or ").join(sorted(roles))
        raise PosError(_("{what} needs the {need} PIN").format(what=what, need=need),
                       hint=_("open {need} mode with its PIN, or give it at the prompt").format(need=need))


@dataclass(frozen=True)
class UseCase:
    name: str
    fn: Callable
    roles: frozenset[str]
    cli: str            # the ``pos-terminal`` command that runs it
    gui: str | None     # the window method bound to it ("module:Class.method"), None for CLI-only tools
    why: str | None = None  # with gui None: why no window offers it


REGISTRY: dict[str, UseCase] = {}


def use_case(name: str, *, roles: frozenset[str] = ANYONE, cli: str, gui: str | None, why: str | None = None):
    """Register ``fn(grant, ...)`` as the use case ``name``; it runs only for a grant of ``roles``.
    ``gui`` None (no window offers it) needs ``why``: tests/integration/test_parity.py checks both."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(grant: Grant, *args, **kwargs):
            if not isinstance(grant, Grant):
                raise TypeError(f"{name}: the first argument is a Grant")
            require(grant, roles, name.replace("_", " "))
            return fn(grant, *args, **kwargs)
        if name in REGISTRY:
            raise RuntimeError(f"use case {name!r} registered twice")
        REGISTRY[name] = UseCase(name, run, roles, cli, gui, why)
        return run
    return wrap


def record(journal, grant: Grant, action: str, *, txn: str | None = None, detail: dict | None = None) -> None:
    """The audit entry of a use case: what, on which transaction, who asked, who approved."""
    from ..roles import audit
    audit(journal, action, txn=txn, asked_by=grant.asked_by, approved_by=grant.approved_by, detail=detail)
