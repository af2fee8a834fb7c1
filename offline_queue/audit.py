"""The audit log's store: one row per manager action (what, on which transaction, who asked, who
approved, a JSON detail). Append-only: the database itself refuses UPDATE and DELETE (schema v4).
Which actions exist and when to write them is :mod:`pos_app.roles`' and the use cases' business."""

from __future__ import annotations

import json
import sqlite3

from .ledger import read


def append(c: sqlite3.Connection, *, at: float, action: str, txn: str | None, asked_by: str,
           approved_by: str | None, detail: dict) -> None:
    """Inside a ``journal.transaction()``, so an entry lands in the same commit as what it records."""
    c.execute("INSERT INTO audit (at, action, txn, asked_by, approved_by, detail) VALUES (?, ?, ?, ?, ?, ?)",
              (at, action, txn, asked_by, approved_by, json.dumps(detail, separators=(",", ":"))))


def entries(db, *, txn: str | None = None, limit: int = 500) -> list[sqlite3.Row]:
    """The newest first, all or those about one transaction."""
    if txn:
        return read(db, "SELECT * FROM audit WHERE txn = ? ORDER BY seq DESC LIMIT ?", (txn, limit))
    return read(db, "SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,))


def txns_with_action(db, action: str) -> set[str]:
    """The transactions (or review items) an entry of ``action`` is about, e.g. those marked resolved."""
    return {r["txn"] for r in read(db, "SELECT txn FROM audit WHERE action = ? AND txn IS NOT NULL", (action,))}
