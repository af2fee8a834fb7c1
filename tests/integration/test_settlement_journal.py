"""The journal's settlement tables (schema v9) on real SQLite files: the upgrade from v8 keeps every row, a file
imported twice is a no-op, a day's rows include a refund reported on a later day, and a run's findings replace
earlier ones per key. Every figure is read back with plain SQL over the raw rows."""

from __future__ import annotations

import sqlite3
import time
from types import SimpleNamespace

import sqlite_utils
from flowkit import journal_query

from offline_queue import schema
from offline_queue import settlement as store
from offline_queue.journal import Journal
from pos_app.settlement.rows import MATCHED, PENDING, Finding, LedgerRow, ReportRow
from pos_app.vocabulary import SALE, SUCCESS

DAY, NEXT = "2026-12-05", "2026-12-06"


def row(sha, line, request_id, amount, *, type="PAYMENT", day=DAY, settle=None, fee=None, kind="transactions"):
    return ReportRow(kind=kind, file=sha, line=line, report_date=day if kind == "transactions" else None,
                     batch=None, customer_id="CUST", request_id=request_id, transaction_id="T" + request_id,
                     original_id=None, type=type, currency="USD", amount=amount, settle_currency="USD",
                     settle_amount=settle, fee_currency="USD" if fee is not None else None, fee=fee)


def report(sha, rows, *, day=DAY, name=None):
    return SimpleNamespace(sha256=sha, name=name or f"transactionItems_{day}.csv", kind="transactions",
                           report_date=day, customer_ids={"CUST"}, rows=rows, summary=[], warnings=[])


def sale(j: Journal, id: str, amount: int, day: str = DAY) -> None:
    now = time.time()
    j.record({"id": id, "kind": SALE, "currency": "USD", "amount": amount, "status": SUCCESS, "phase": "done",
              "state": "{}", "final": 1, "created_at": now, "updated_at": now, "day": day}, insert=True)


def raw(j: Journal, sql: str, *params) -> list[tuple]:
    """The journal's raw rows by plain SQL (flowkit's read-only oracle)."""
    return journal_query(j.path.parent, sql, params)


def test_v8_upgrades_to_v9_keeping_every_row(tmp_path):
    path = tmp_path / "journal.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    for migration in schema.MIGRATIONS[:8]:
        migration(db)
    conn.execute("PRAGMA user_version = 8")
    conn.execute("INSERT INTO transactions (id, kind, currency, amount, status, phase, state, final, created_at, "
                 "updated_at, day) VALUES ('p1', 'SALE', 'USD', 1234, 'SUCCESS', 'done', '{}', 1, 1, 1, ?)", (DAY,))
    before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
              for t in ("transactions", "events", "outbound", "meta", "audit")}
    conn.close()
    with Journal.open(tmp_path) as j:
        assert raw(j, "PRAGMA user_version") == [(9,)]
        for table, rows in before.items():
            assert raw(j, f"SELECT * FROM {table} ORDER BY 1") == [tuple(r) for r in rows], table
        assert raw(j, "SELECT count(*) FROM settlement_files") == [(0,)]
        # not replicated: no trigger writes to the store's queue from a settlement table
        assert raw(j, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'settlement%'") == []


def test_the_same_file_twice_is_a_no_op(tmp_path):
    with Journal.open(tmp_path) as j:
        f = report("a" * 64, [row("a" * 64, 2, "p1", 1234), row("a" * 64, 3, "p2", 500)])
        entry = {"action": "settlement_import", "asked_by": "ann", "approved_by": "manager"}
        assert store.import_file(j, f, "ann", audit=entry) is True
        first = store.imported(j, "a" * 64)
        assert first is not None and first[0] == f.name
        assert store.import_file(j, f, "ann", audit=entry) is False
        assert store.imported(j, "a" * 64) == first
        assert raw(j, "SELECT count(*), sum(amount) FROM settlement_rows") == [(2, 1734)]
        assert raw(j, "SELECT count(*), rows, imported_by FROM settlement_files") == [(1, 2, "ann")]
        assert raw(j, "SELECT count(*) FROM audit WHERE action = 'settlement_import'") == [(1,)]


def test_a_day_sees_a_refund_reported_on_a_later_day_and_files_in_import_order(tmp_path):
    with Journal.open(tmp_path) as j:
        sale(j, "p1", 1234)
        sale(j, "other", 99, NEXT)
        store.import_file(j, report("b" * 64, [row("b" * 64, 2, "p1", 1234)]), "ann")
        store.import_file(j, report("c" * 64, [row("c" * 64, 2, "r1", -234, type="REFUND", day=NEXT),
                                                row("c" * 64, 3, "x9", 50, day=NEXT)], day=NEXT), "ann")
        store.import_file(j, report("d" * 64, [row("d" * 64, 2, "p1", 1234, settle=1200, fee=-34)]), "ann")
        got = store.rows_for(j, DAY, ["r1"])
        assert [(r.file[0], r.request_id) for r in got] == [("b", "p1"), ("c", "r1"), ("d", "p1")]
        assert got[2].settle_amount == 1200 and got[2].fee == -34
        ledger = store.ledger_rows(j, DAY, ["other"], terminal="T1")
        assert {(r.id, r.day, r.terminal) for r in ledger} == {("p1", DAY, "T1"), ("other", NEXT, "T1")}


def test_a_later_run_replaces_a_keys_finding(tmp_path):
    with Journal.open(tmp_path) as j:
        ours = LedgerRow("p1", SALE, SUCCESS, "USD", 1234, DAY)
        theirs = (row("e" * 64, 2, "p1", 1234),)
        store.import_file(j, report("e" * 64, list(theirs)), "ann")
        first = store.save_run(j, DAY, "journal", ["e" * 64],
                               [Finding("p1", "PAYMENT", PENDING, ours, theirs, "fees not final", DAY)], "ann")
        second = store.save_run(j, DAY, "journal", ["e" * 64],
                                [Finding("p1", "PAYMENT", MATCHED, ours, theirs, "", DAY)], "bob",
                                audit={"action": "settlement_run", "asked_by": "bob", "approved_by": "manager"})
        assert second > first
        assert raw(j, "SELECT request_id, cls, run FROM settlement_findings") == [("p1", MATCHED, second)]
        findings, runs = store.result(j, DAY)
        assert [(f["cls"], f["their_amount"]) for f in findings] == [(MATCHED, 1234)]
        assert [r["id"] for r in runs] == [second, first]
        assert [(t.file, t.line) for t in store.theirs(j, [["e" * 64, 2]])] == [("e" * 64, 2)]
        assert raw(j, "SELECT json_extract(detail, '$.run') FROM audit WHERE action = 'settlement_run'") == [(second,)]


def test_a_later_days_ledger_holds_the_parent_sale_of_a_named_refund(tmp_path):
    with Journal.open(tmp_path) as j:
        sale(j, "p1", 1000)
        now = time.time()
        j.record({"id": "r1", "kind": "REFUND", "currency": "USD", "amount": 200, "status": SUCCESS, "phase": "done",
                  "state": "{}", "final": 1, "created_at": now, "updated_at": now, "day": DAY, "parent": "p1"},
                 insert=True)
        sale(j, "n1", 50, NEXT)
        got = store.ledger_rows(j, NEXT, ["r1"])
        assert sorted((r.id, r.day) for r in got) == sorted(
            raw(j, "SELECT id, day FROM transactions WHERE day = ? OR id = 'r1' OR id = "
                   "(SELECT parent FROM transactions WHERE id = 'r1')", NEXT))


def test_a_days_run_removes_the_days_findings_it_no_longer_produces(tmp_path):
    with Journal.open(tmp_path) as j:
        ours = LedgerRow("p1", SALE, SUCCESS, "USD", 1234, DAY)
        phantom = Finding("X", "PAYMENT", "missing_in_journal", None, (), "", DAY)
        other_day = Finding("Y", "PAYMENT", "missing_in_journal", None, (), "", NEXT)
        store.save_run(j, DAY, "journal", [], [Finding("p1", "PAYMENT", PENDING, ours, (), "", DAY), phantom], "ann")
        store.save_run(j, NEXT, "journal", [], [other_day], "ann")
        second = store.save_run(j, DAY, "journal", [], [Finding("p1", "PAYMENT", MATCHED, ours, (), "", DAY)], "ann")
        assert raw(j, "SELECT request_id, day, cls, run = ? FROM settlement_findings ORDER BY request_id", second) == [
            ("Y", NEXT, "missing_in_journal", 0), ("p1", DAY, MATCHED, 1)]
        assert store.counts_of(j, DAY) == {MATCHED: 1}


def test_a_row_that_did_not_move_money_is_kept_but_never_read_for_a_match(tmp_path):
    with Journal.open(tmp_path) as j:
        f = report("f" * 64, [row("f" * 64, 3, "p1", 1000)])
        f.other_rows = [row("f" * 64, 2, "p1", 1000)]     # a failed attempt before the success
        store.import_file(j, f, "ann")
        assert raw(j, "SELECT line, moved FROM settlement_rows ORDER BY line") == [(2, 0), (3, 1)]
        assert [(r.line, r.request_id) for r in store.rows_for(j, DAY, ["p1"])] == [(3, "p1")]
        assert store.named_ids(j, DAY) == {"p1", "Tp1"}
