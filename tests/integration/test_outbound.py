"""The journal's outbound queue (schema v7, issue 17): every change is queued by a trigger in the commit that
makes it, in commit order, whatever the clock does; a Z's cover queues each row it covers; the cursor never moves
back; only rows the store has are forgotten. Real journal files, read back with plain sqlite3."""

from __future__ import annotations

import sqlite3
import time

import pytest

from offline_queue import outbound, schema
from offline_queue.journal import Journal
from pos_app import closing


def raw(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "journal.sqlite")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def sale_row(i: int, at: float) -> dict:
    return {"id": f"S{i}", "kind": "sale", "tender": "payment_code", "parent": None, "payment_id": f"P{i}",
            "currency": "USD", "amount": 100 + i, "status": "SUCCESS", "phase": "DONE", "result_code": "SUCCESS",
            "message": None, "description": None, "code_masked": None, "state": "{}", "next_at": None, "final": 1,
            "created_at": at, "updated_at": at, "day": time.strftime("%Y-%m-%d", time.localtime(at))}


def test_every_change_is_queued_in_commit_order_even_when_the_clock_goes_back(tmp_path):
    now = time.time()
    with Journal.open(tmp_path) as j:
        j.record(sale_row(1, now), insert=True, events=[("created", {})])
    with Journal.open(tmp_path) as j:   # a restart with the clock set back a month
        j.record(sale_row(2, now - 86_400 * 30), insert=True, events=[("created", {})])
        j.record({"id": "S1", "status": "SUCCESS", "updated_at": now + 1}, events=[("answered", {})])
        j.log_event(None, "notification_unreadable", {"x": 1})
    queued = raw(tmp_path, "SELECT seq, stream, k FROM outbound ORDER BY seq")
    assert [(s, k) for _seq, s, k in queued] == [("txn", "S1"), ("event", "S1"), ("txn", "S2"), ("event", "S2"),
                                                  ("txn", "S1"), ("event", "S1"), ("event", "")]
    assert [q[0] for q in queued] == sorted(q[0] for q in queued)
    # the event numbered lower (clock back) is still queued after the one before it
    events = raw(tmp_path, "SELECT e.txn, e.seq FROM outbound o JOIN events e ON e.txn = o.k AND e.seq = o.n "
                           "WHERE o.stream = 'event' ORDER BY o.seq")
    assert events[1][1] < events[0][1]


def test_a_batch_reads_each_changed_transaction_once_as_it_is_now_and_the_cursor_never_goes_back(tmp_path):
    with Journal.open(tmp_path) as j:
        now = time.time()
        j.record(sale_row(1, now), insert=True, events=[("created", {})])
        j.record({"id": "S1", "status": "FAILED", "updated_at": now + 1}, events=[("answered", {})])
        b = outbound.batch(j, 100)
        assert b is not None and b.count == 4 and [r["status"] for r in b.transactions] == ["FAILED"]
        assert [r["kind"] for r in b.events] == ["created", "answered"]
        outbound.advance(j, b.upto, now)
        assert outbound.batch(j, 100) is None
        outbound.advance(j, 1, now)   # an old batch's late success: the cursor stays
        assert outbound.cursor(j) == b.upto
        outbound.failed(j, now, "down")
        assert outbound.backlog(j)["error"] == "down" and outbound.cursor(j) == b.upto
        j.record(sale_row(2, now), insert=True)
        assert outbound.backlog(j)["count"] == 1 and outbound.backlog(j)["error"] == "down"
        outbound.advance(j, b.upto + 1, now)
        assert outbound.backlog(j)["error"] is None


def test_a_z_queues_itself_its_audit_entry_and_every_row_it_covers(tmp_path):
    with Journal.open(tmp_path) as j:
        now = time.time()
        for i in range(3):
            j.record(sale_row(i, now), insert=True)
        outbound.advance(j, outbound.backlog(j)["last"], now)
        closing.take_z(j, by="manager")
        streams = [r[0] for r in raw(tmp_path, "SELECT stream FROM outbound WHERE seq > ? ORDER BY seq",
                                     (outbound.cursor(j),))]
    assert streams.count("txn") == 3 and streams.count("z") == 1


def test_prune_forgets_only_what_the_store_has_and_is_old(tmp_path):
    with Journal.open(tmp_path) as j:
        now = time.time()
        for i in range(4):
            j.record(sale_row(i, now), insert=True)
        assert outbound.prune(j, now + 10) == 0, "nothing shipped: nothing forgotten"
        outbound.advance(j, 2, now)
        assert outbound.prune(j, now - 10) == 0, "shipped but recent"
        assert outbound.prune(j, now + 10) == 2
        assert outbound.backlog(j)["count"] == 2 and raw(tmp_path, "SELECT count(*) FROM transactions")[0][0] == 4


def test_an_older_journal_queues_its_whole_history_once_when_upgraded(tmp_path):
    conn = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    for number in range(6):   # a v6 journal, as the release before issue 17 left it
        schema.MIGRATIONS[number](db)
    conn.execute("PRAGMA user_version = 6")
    now = time.time()
    for i in range(2):
        row = sale_row(i, now + i)
        cols = ",".join(row)
        conn.execute(f"INSERT INTO transactions ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values()))
        conn.execute("INSERT INTO events (txn, seq, at, kind, detail) VALUES (?, ?, ?, 'created', '{}')",
                     (f"S{i}", i + 1, now + i))
    conn.close()
    with Journal.open(tmp_path) as j:
        assert raw(tmp_path, "PRAGMA user_version")[0][0] == schema.VERSION
        b = outbound.batch(j, 100)
        assert b is not None and b.count == 4
        assert sorted(r["id"] for r in b.transactions) == ["S0", "S1"] and len(b.events) == 2


def test_the_cursor_commit_is_relaxed_and_every_other_commit_stays_durable(tmp_path):
    """Only the store's cursor is written without its own fsync (a lost one resends a no-op); the journal's
    connection is back to synchronous=FULL after it, a failed one included, so a sale's commit never loses it."""
    with Journal.open(tmp_path) as j:
        full = j.conn.execute("PRAGMA synchronous").fetchone()[0]
        outbound.advance(j, 0, time.time())
        assert j.conn.execute("PRAGMA synchronous").fetchone()[0] == full == 2
        with pytest.raises(RuntimeError), j.relaxed_transaction() as c:
            assert c.execute("PRAGMA synchronous").fetchone()[0] == 1
            raise RuntimeError("a failure inside")
        assert j.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert outbound.cursor(j) == 0
