"""Who may do what: the manager's and the technician's PINs, and the audit log of manager actions.

PINs are stored as scrypt hashes (a stolen journal does not give them away; scrypt makes guessing a
4-digit PIN offline cost seconds per guess instead of microseconds). Five wrong tries lock the mode for
five minutes, and the count and the lock are in the journal, so restarting the terminal does not reset
them. Every manager action is written to the audit log with who asked and who approved; the log
refuses UPDATE and DELETE in the database itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time

from offline_queue import audit as audit_store
from offline_queue import pins
from offline_queue.journal import Journal

from .errors import PosError
from .i18n import _
from .printout import ROLE_WORDS

MANAGER, TECHNICIAN = "manager", "technician"
ROLES = (MANAGER, TECHNICIAN)
MAX_TRIES = 5
LOCK_SECONDS = 300.0
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}   # about 50 ms and 16 MB per try on this class of machine


class PinError(PosError):
    """A wrong, locked or missing PIN."""


def role_words(role: str) -> str:
    """A role as a person reads it, in their language ("manager" in English)."""
    return _(ROLE_WORDS[role]) if role in ROLE_WORDS else role


def check_pin_format(pin: str) -> None:
    if not re.fullmatch(r"[0-9]{4,12}", pin or ""):
        raise PinError(_("a PIN is 4 to 12 digits"), hint=_("choose digits only, e.g. a 6-digit number"))


def _hash(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


class PinBook:
    def __init__(self, journal: Journal, *, clock=time.time) -> None:
        self.journal, self.clock = journal, clock

    def _row(self, role: str):
        if role not in ROLES:
            raise PinError(_("no such role {role!r}").format(role=role), hint=_("the roles are manager and technician"))
        return pins.get(self.journal, role)

    def is_set(self, role: str) -> bool:
        return self._row(role) is not None

    def set(self, role: str, pin: str, *, current: str | None = None) -> None:
        """Set a role's PIN; changing an existing one needs the current PIN."""
        check_pin_format(pin)
        if self._row(role) is not None:
            if current is None:
                raise PinError(_("the {role} PIN is already set").format(role=role_words(role)),
                               hint=_("give the current PIN to change it"))
            self.verify(role, current)   # first: the refusal below must not tell a stranger the other PIN
        for other in ROLES:   # one PIN for both modes would let the manager's holder into the technician's
            if other != role and self.matches(other, pin):
                raise PinError(_("the {role} PIN may not be the same as the {other} PIN").format(
                    role=role_words(role), other=role_words(other)),
                    hint=_("choose another PIN: each mode has its own"))
        salt = os.urandom(16)
        digest = _hash(pin, salt, **SCRYPT)
        with self.journal.transaction() as c:
            pins.put(c, role, salt=salt, digest=digest, set_at=self.clock(), **SCRYPT)
            audit_store.append(c, at=self.clock(), action="pin_set", txn=None, asked_by=role, approved_by=role,
                               detail={})

    def matches(self, role: str, pin: str) -> bool:
        """Whether ``pin`` is ``role``'s PIN (False when none is set); not a try: nothing is counted."""
        row = self._row(role)
        return row is not None and hmac.compare_digest(_hash(pin or "", row["salt"], row["n"], row["r"], row["p"]),
                                                       row["hash"])

    def verify(self, role: str, pin: str) -> None:
        """Raises PinError unless ``pin`` is right and the mode is not locked; counts wrong tries."""
        row = self._row(role)
        if row is None:
            raise PinError(_("no {role} PIN is set yet").format(role=role_words(role)),
                           hint=_("set it now, or with: pos-terminal pin set {role}").format(role=role))
        now = self.clock()
        if row["locked_until"] and now < row["locked_until"]:
            left = int(row["locked_until"] - now + 0.999)
            raise PinError(_("{role} mode is locked for {m} min {s} s after {n} wrong PINs").format(
                role=role_words(role), m=left // 60, s=left % 60, n=MAX_TRIES), hint=_("wait, then try again"))
        ok = hmac.compare_digest(_hash(pin or "", row["salt"], row["n"], row["r"], row["p"]), row["hash"])
        with self.journal.transaction() as c:
            if ok:
                pins.set_failures(c, role, 0, None)
                return
            failures = (0 if row["locked_until"] else row["failures"]) + 1
            locked = now + LOCK_SECONDS if failures >= MAX_TRIES else None
            pins.set_failures(c, role, failures, locked)
            audit_store.append(c, at=now, action="pin_wrong", txn=None, asked_by=role, approved_by=None,
                               detail={"failures": failures, "locked": bool(locked)})
        if locked:
            raise PinError(_("wrong PIN: {role} mode is now locked for 5 minutes").format(role=role_words(role)),
                           hint=_("wait, then try again"))
        raise PinError(_("wrong PIN ({left} tries left before a 5-minute lock)").format(left=MAX_TRIES - failures))


def audit(journal: Journal, action: str, *, txn: str | None = None, asked_by: str, approved_by: str | None,
          detail: dict | None = None, at: float | None = None) -> None:
    """Record a manager action: what, on which transaction, who asked, who approved (with the PIN)."""
    with journal.transaction() as c:
        audit_store.append(c, at=time.time() if at is None else at, action=action, txn=txn, asked_by=asked_by,
                           approved_by=approved_by, detail=detail or {})


def audit_log(journal: Journal, *, txn: str | None = None, limit: int = 500) -> list[dict]:
    rows = audit_store.entries(journal, txn=txn, limit=limit)
    return [{"seq": r["seq"], "at": r["at"], "action": r["action"], "txn": r["txn"], "askedBy": r["asked_by"],
             "approvedBy": r["approved_by"], "detail": json.loads(r["detail"] or "{}")} for r in rows]
