"""A disk swap, the journal's side: a new journal takes the history the store holds of this terminal.

Why this shape:

- only into a journal with no history of its own (no transaction, Z report or event; audit entries only of a
  PIN being set, which is how ``setup`` starts a terminal): restoring over live history could count a payment
  twice, or hide one under a store row of the same id;
- in one SQLite transaction (the caller's ``journal.transaction()``): a crash mid-restore leaves the journal
  as it was;
- the store keys events by this journal's outbound number: the numbering continues above what the store
  holds (``sqlite_sequence`` and the replication cursor), so a new change never reuses a key the store would
  drop as a resend; the rows restored are not queued for shipping again (the v7 triggers queue them as they go
  in; that queue is emptied in the same commit);
- the PIN entries a fresh ``setup`` wrote are kept, renumbered after the restored audit log (the store has
  other entries under their numbers); the append-only trigger is lifted for that one move, inside the same
  transaction, and put back as it was.

What the rows mean (masking, open sales) is :mod:`pos_app.services.store_restore`'s business.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from .outbound import CURSOR

#: Audit actions a fresh journal may hold (``setup`` and ``pos-terminal pin set`` write them).
FRESH_ACTIONS = ("pin_set", "pin_wrong")

TXN_COLUMNS = ("id", "kind", "tender", "parent", "payment_id", "currency", "amount", "status", "phase", "result_code",
               "message", "description", "code_masked", "state", "next_at", "final", "created_at", "updated_at",
               "day", "z_number", "unmatched")
Z_COLUMNS = ("number", "day", "taken_at", "taken_by", "body", "sha256", "prev_sha256")
AUDIT_COLUMNS = ("seq", "at", "action", "txn", "asked_by", "approved_by", "detail")
EVENT_COLUMNS = ("txn", "seq", "at", "kind", "detail")


def own_history(c: sqlite3.Connection) -> dict[str, int]:
    """What this journal holds of its own that a restore could collide with: counts per kind (all 0: fresh)."""
    marks = ",".join("?" * len(FRESH_ACTIONS))
    return {
        "transactions": c.execute("SELECT count(*) FROM transactions").fetchone()[0],
        "zReports": c.execute("SELECT count(*) FROM z_reports").fetchone()[0],
        "events": c.execute("SELECT count(*) FROM events").fetchone()[0],
        "audit": c.execute(f"SELECT count(*) FROM audit WHERE action NOT IN ({marks})", FRESH_ACTIONS).fetchone()[0],
    }


def _insert(c: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[dict]) -> int:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    n = 0
    for row in rows:
        c.execute(sql, tuple(row[k] for k in columns))
        n += 1
    return n


def _move_fresh_audit(c: sqlite3.Connection) -> list[tuple]:
    """Take the fresh journal's PIN entries out (to go back in after the restored log); their queue rows go too."""
    kept = c.execute("SELECT at, action, txn, asked_by, approved_by, detail FROM audit ORDER BY seq").fetchall()
    if kept:
        trigger = c.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_no_delete'"
                            ).fetchone()
        c.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        c.execute("DELETE FROM audit")
        if trigger is not None:
            c.execute(trigger[0])
    return [tuple(r) for r in kept]


def restore(c: sqlite3.Connection, *, transactions: Sequence[dict], z_reports: Sequence[dict],
            audit: Sequence[dict], events: Sequence[dict], upto: int, at: float) -> dict[str, int]:
    """Write the store's rows into a fresh journal, inside the caller's transaction ``c``; counts per kind.

    ``upto``: the highest outbound number the store holds of this terminal; the journal's outbound numbering
    and the store cursor continue from it. The caller checked :func:`own_history` in the same transaction.
    """
    fresh = _move_fresh_audit(c)
    counts = {
        "audit": _insert(c, "audit", AUDIT_COLUMNS, audit),
        "transactions": _insert(c, "transactions", TXN_COLUMNS, transactions),
        "zReports": _insert(c, "z_reports", Z_COLUMNS, z_reports),
        "events": _insert(c, "events", EVENT_COLUMNS, events),
    }
    c.execute("DELETE FROM outbound")   # the store has every row just restored: none is shipped again
    if c.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'outbound'").fetchone():
        c.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbound'", (upto,))
    else:
        c.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbound', ?)", (upto,))
    c.execute("INSERT INTO replication (name, shipped, shipped_at, tried_at, error) VALUES (?, ?, ?, ?, NULL) "
              "ON CONFLICT (name) DO UPDATE SET shipped = excluded.shipped, shipped_at = excluded.shipped_at, "
              "tried_at = excluded.tried_at, error = NULL", (CURSOR, upto, at, at))
    # The PIN entries go back after the restored log (AUTOINCREMENT: above its numbers), queued for the store.
    c.executemany("INSERT INTO audit (at, action, txn, asked_by, approved_by, detail) VALUES (?, ?, ?, ?, ?, ?)",
                  fresh)
    counts["keptAudit"] = len(fresh)
    return counts
