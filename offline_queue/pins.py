"""The PINs' store: per role, a scrypt hash with its salt and cost, and the wrong tries that lock the
mode (kept here, so a restart does not reset them). How a PIN is checked and when a mode locks is
:mod:`pos_app.roles`' business."""

from __future__ import annotations

import sqlite3

from .ledger import read


def get(db, role: str) -> sqlite3.Row | None:
    rows = read(db, "SELECT * FROM pins WHERE role = ?", (role,))
    return rows[0] if rows else None


def put(c: sqlite3.Connection, role: str, *, salt: bytes, digest: bytes, n: int, r: int, p: int,
        set_at: float) -> None:
    """A new PIN for ``role``, its wrong tries and lock cleared."""
    c.execute("INSERT OR REPLACE INTO pins (role, salt, hash, n, r, p, set_at, failures, locked_until) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL)", (role, salt, digest, n, r, p, set_at))


def set_failures(c: sqlite3.Connection, role: str, failures: int, locked_until: float | None) -> None:
    c.execute("UPDATE pins SET failures = ?, locked_until = ? WHERE role = ?", (failures, locked_until, role))
