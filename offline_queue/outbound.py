"""The store's outbound queue in the journal (schema v7): what changed, in commit order, and how far the store has it.

Triggers number every change (:data:`offline_queue.schema._OUTBOUND_TRIGGERS`); this module reads a batch of
them back as rows to ship and moves the cursor once the store has committed them. The cursor only moves
forward and only after the store's commit, so a crash anywhere in between resends a batch the store already
has, which its keys make a no-op. What the rows mean to the store is :mod:`pos_app.store.replicator`'s business.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from .ledger import read
from .schema import QUEUE_HISTORY

CURSOR = "store"   # the one cursor today: the store's PostgreSQL


@dataclass
class Batch:
    """Changes ``(after, upto]``: the events, audit entries and Z reports queued, and each transaction
    changed in it once, as it is now (its newest state is what the store keeps)."""

    after: int
    upto: int
    count: int                  # outbound rows it covers
    oldest_at: float | None     # when the oldest of them was journaled
    events: list[sqlite3.Row] = field(default_factory=list)
    audit: list[sqlite3.Row] = field(default_factory=list)
    z_reports: list[sqlite3.Row] = field(default_factory=list)
    transactions: list[sqlite3.Row] = field(default_factory=list)


def journal_id(db) -> str:
    """This journal's own random id (schema v8), which the store records as the one that ships its terminal."""
    return read(db, "SELECT value FROM meta WHERE key = 'journal_id'")[0][0]


def cursor(db, name: str = CURSOR) -> int:
    """The last outbound number the store has committed (0: nothing yet)."""
    rows = read(db, "SELECT shipped FROM replication WHERE name = ?", (name,))
    return rows[0][0] if rows else 0


def batch(journal, limit: int, name: str = CURSOR) -> Batch | None:
    """The next ``limit`` changes after the cursor, read in one snapshot; None when the store has them all."""
    with journal.reading() as c:
        after = cursor(c, name)
        window = c.execute("SELECT max(seq), count(*), min(at) FROM (SELECT seq, at FROM outbound WHERE seq > ? "
                           "ORDER BY seq LIMIT ?)", (after, limit)).fetchone()
        if not window[1]:
            return None
        upto = window[0]
        span = (after, upto)
        b = Batch(after, upto, window[1], window[2])
        b.events = c.execute("SELECT o.seq AS oseq, e.txn, e.seq, e.at, e.kind, e.detail FROM outbound o "
                             "JOIN events e ON e.txn = o.k AND e.seq = o.n WHERE o.stream = 'event' "
                             "AND o.seq > ? AND o.seq <= ? ORDER BY o.seq", span).fetchall()
        b.audit = c.execute("SELECT o.seq AS oseq, a.* FROM outbound o JOIN audit a ON a.seq = o.n "
                            "WHERE o.stream = 'audit' AND o.seq > ? AND o.seq <= ? ORDER BY o.seq", span).fetchall()
        b.z_reports = c.execute("SELECT o.seq AS oseq, z.* FROM outbound o JOIN z_reports z ON z.number = o.n "
                                "WHERE o.stream = 'z' AND o.seq > ? AND o.seq <= ? ORDER BY o.seq", span).fetchall()
        b.transactions = c.execute(
            "SELECT t.* FROM transactions t WHERE t.id IN (SELECT DISTINCT k FROM outbound WHERE stream = 'txn' "
            "AND seq > ? AND seq <= ?) ORDER BY t.created_at, t.id", span).fetchall()
    return b


def advance(journal, upto: int, at: float, name: str = CURSOR) -> None:
    """The store committed everything up to ``upto``: move the cursor (never back) and clear the error. Not
    fsynced on its own: a cursor lost in a power cut only resends what the store has (a no-op there)."""
    with journal.relaxed_transaction() as c:
        c.execute("INSERT INTO replication (name, shipped, shipped_at, tried_at, error) VALUES (?, ?, ?, ?, NULL) "
                  "ON CONFLICT (name) DO UPDATE SET shipped = max(shipped, excluded.shipped), "
                  "shipped_at = excluded.shipped_at, tried_at = excluded.tried_at, error = NULL",
                  (name, upto, at, at))


def failed(journal, at: float, error: str, name: str = CURSOR) -> None:
    """A try that did not reach the store: keep why (status and the self-test show it)."""
    with journal.transaction() as c:
        c.execute("INSERT INTO replication (name, shipped, tried_at, error) VALUES (?, 0, ?, ?) "
                  "ON CONFLICT (name) DO UPDATE SET tried_at = excluded.tried_at, error = excluded.error",
                  (name, at, error))


def backlog(db, name: str = CURSOR) -> dict:
    """How much the store does not have yet: ``count`` changes, the oldest journaled at ``oldest_at``
    (None: none), and the cursor's last success and error."""
    state = read(db, "SELECT shipped, shipped_at, tried_at, error FROM replication WHERE name = ?", (name,))
    shipped, shipped_at, tried_at, error = (tuple(state[0]) if state else (0, None, None, None))
    row = read(db, "SELECT count(*), min(at), max(seq) FROM outbound WHERE seq > ?", (shipped,))[0]
    return {"count": row[0], "oldest_at": row[1], "shipped": shipped, "last": max(row[2] or 0, shipped),
            "shipped_at": shipped_at, "tried_at": tried_at, "error": error}


def wrote(db, number: int, txn: str, seq: int) -> bool:
    """Whether this journal wrote change ``number`` as its event ``(txn, seq)``: the queue row says so, or,
    pruned, the event is here (an event's own seq is microseconds: another journal does not share it). How a
    store's history is told from another disk's that merely reached a higher number."""
    queued = read(db, "SELECT stream, k, n FROM outbound WHERE seq = ?", (number,))
    if queued:
        return tuple(queued[0]) == ("event", txn, seq)
    return bool(read(db, "SELECT 1 FROM events WHERE txn = ? AND seq = ?", (txn, seq)))


def prune(journal, older_than: float, name: str = CURSOR) -> int:
    """Forget queue rows the store has had since before ``older_than`` (the rows themselves stay)."""
    with journal.transaction() as c:
        return c.execute("DELETE FROM outbound WHERE seq <= (SELECT coalesce(max(shipped), 0) FROM replication "
                         "WHERE name = ?) AND at < ?", (name, older_than)).rowcount


def rewind_to(journal, held: int, name: str = CURSOR) -> bool:
    """The store lost what it had committed (its server restored from an older backup): when it holds events
    only up to ``held`` but the cursor is past an event after that, move the cursor back to ``held`` so the
    rest is sent again (a no-op for whatever the store still has). True when it moved."""
    with journal.transaction() as c:
        shipped = cursor(c, name)
        if not c.execute("SELECT 1 FROM outbound WHERE stream = 'event' AND seq > ? AND seq <= ? LIMIT 1",
                         (held, shipped)).fetchone():
            return False
        c.execute("UPDATE replication SET shipped = ? WHERE name = ?", (held, name))
        return True


def forget_unshipped(journal, older_than: float) -> int:
    """On a terminal without a store: forget queue rows older than ``older_than`` (the journal's own rows stay;
    :func:`requeue_history` queues them all again if a store is added later), so the queue does not grow the
    journal for ever."""
    with journal.transaction() as c:
        return c.execute("DELETE FROM outbound WHERE at < ?", (older_than,)).rowcount


def requeue_history(journal, name: str = CURSOR) -> int:
    """The store holds nothing of this terminal: make sure it gets all of it. When any event is missing from the
    queue (forgotten while there was no store, or shipped to a store since emptied), queue the whole history
    again in the order it happened, under new numbers, with the cursor at 0; otherwise change nothing. How many
    rows were queued (0: nothing missing)."""
    with journal.transaction() as c:
        # Events are never deleted and each is queued once: fewer queued than journaled means some were forgotten
        # (two counts, not an anti-join: that read every queue row for every event, seconds on a big journal).
        queued = c.execute("SELECT count(*) FROM outbound WHERE stream = 'event'").fetchone()[0]
        if queued >= c.execute("SELECT count(*) FROM events").fetchone()[0]:
            return 0
        c.execute("DELETE FROM outbound")
        for sql in QUEUE_HISTORY:
            c.execute(sql)
        c.execute("INSERT INTO replication (name, shipped) VALUES (?, 0) ON CONFLICT (name) DO UPDATE SET shipped = 0",
                  (name,))
        return c.execute("SELECT count(*) FROM outbound").fetchone()[0]
