"""The durable journal on real SQLite files: opening, refusing, migrating, and keeping codes masked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest
from flowkit import gateway_down, write_config
from kit import payment_code, usd

from offline_queue import schema
from offline_queue.journal import Journal, JournalError
from pos_app.runtime import Runtime
from pos_app.sim import scenarios as sc


def test_a_new_journal_is_durable_wal_with_the_current_schema(tmp_path):
    with Journal.open(tmp_path) as j:
        assert j.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert j.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert j.conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        tables = {r[0] for r in j.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"transactions", "outbox", "events"} <= tables


def test_a_second_instance_is_refused_with_the_holders_pid(tmp_path):
    with Journal.open(tmp_path):
        with pytest.raises(Exception) as info:
            Journal.open(tmp_path)
        assert f"another pos-terminal (pid {os.getpid()}) uses {tmp_path}" in str(info.value)
        opener = f"from offline_queue.journal import Journal; Journal.open({str(tmp_path)!r})"
        other = subprocess.run([sys.executable, "-c", opener], capture_output=True, text=True, check=False)
        assert f"another pos-terminal (pid {os.getpid()})" in other.stderr
    Journal.open(tmp_path).close()  # released on close


def test_readers_do_not_need_the_lock(tmp_path):
    with Journal.open(tmp_path), Journal.open(tmp_path, readonly=True) as reader:
        assert reader.open_transactions() == []


def test_a_corrupt_journal_is_refused_with_its_path_and_never_recreated(tmp_path):
    path = tmp_path / "journal.sqlite"
    garbage = b"this is not a database at all" * 200
    path.write_bytes(garbage)
    with pytest.raises(JournalError) as info:
        Journal.open(tmp_path)
    assert str(path) in info.value.message and "recover" in (info.value.hint or "")
    assert path.read_bytes() == garbage, "the damaged file is left exactly as it was"


def test_a_journal_from_a_newer_terminal_is_refused(tmp_path):
    with Journal.open(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer"):
        Journal.open(tmp_path)


def test_migrations_run_forward_in_order(tmp_path):
    conn = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    assert schema.migrate(conn) == 0
    assert schema.migrate(conn) == schema.VERSION, "running again changes nothing"
    conn.close()


def _all_text(data_dir) -> bytes:
    """Every byte the journal's files hold, the WAL included."""
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("journal.sqlite"))


def test_the_full_payment_code_is_kept_only_while_the_pay_may_be_resent(sim, tmp_path):
    data_dir = tmp_path / "t"
    code = payment_code()
    with Runtime(write_config(sim), data_dir, background=False) as rt:
        sale = rt.terminal.start_sale(usd(1200), code=code)
        assert sale.status == "SUCCESS"
        row = rt.terminal.journal.get(sale.id)
        assert row["code_masked"] == code[:2] + "*" * (len(code) - 6) + code[-4:]
        assert rt.terminal.journal.outbox_body(sale.id, "pay") is None
    assert code.encode() not in _all_text(data_dir)


def test_the_code_leaves_the_wal_soon_while_the_terminal_runs(sim, tmp_path):
    data_dir = tmp_path / "t"
    code = payment_code()
    with Runtime(write_config(sim), data_dir) as rt:
        assert rt.terminal.start_sale(usd(1250), code=code).status == "SUCCESS"
        deadline = time.monotonic() + 10
        while code.encode() in _all_text(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert code.encode() not in _all_text(data_dir), "the background reconciler truncates the WAL"


def test_a_queued_pay_keeps_its_code_until_it_leaves(make_sim, tmp_path):
    sim, _ = gateway_down(make_sim)
    code = payment_code()
    config = write_config(sim, payments={"code_validity": 1})
    with Runtime(config, tmp_path / "t", background=False) as rt:
        sale = rt.terminal.start_sale(usd(1300), code=code)
        assert sale.status == "QUEUED"
        assert code.encode() in rt.terminal.journal.outbox_body(sale.id, "pay")
        result = rt.terminal.settle(10)
        assert result["items"][0]["status"] == "FAILED" and result["items"][0]["resultCode"] == "NOT_SENT"
    assert code.encode() not in _all_text(tmp_path / "t")


def test_logs_never_hold_the_full_code(sim, tmp_path, caplog):
    code = payment_code()
    caplog.set_level("DEBUG")
    with Runtime(write_config(sim, payments={"inquiry_intervals": [0.1], "cancel_intervals": [0.1]}),
                 tmp_path / "t", background=False) as rt:
        rt.terminal.start_sale(usd(sc.STUCK), code=code)
        rt.terminal.settle(10)
    assert code not in caplog.text
    with Journal.open(tmp_path / "t", readonly=True) as j:
        events = j.conn.execute("SELECT detail FROM events").fetchall()
    assert all(code not in (e[0] or "") for e in events)


def test_an_upgrade_keeps_pending_requests(tmp_path):
    """A journal of schema v1 with a queued pay and a queued refund migrates forward with both intact."""
    conn = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    db = __import__("sqlite_utils").Database(conn)
    conn.execute("BEGIN")
    schema.MIGRATIONS[0](db)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    for txn, api, body in (("PR1", "pay", b'{"pay":1}'), ("RF1", "refund", b'{"refund":1}')):
        conn.execute("INSERT INTO transactions (id, kind, currency, amount, status, phase, state, final, created_at, "
                     "updated_at, day, parent) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (txn, "sale" if api == "pay" else "refund", "USD", 100, "QUEUED", "NEW", "{}", 0, 1.0, 1.0,
                      "2026-11-22", None if api == "pay" else "PR0"))
        conn.execute("INSERT INTO outbox VALUES (?,?,?,?,?,?)", (txn, api, body, "USD", 100, 1.0))
    conn.close()
    with Journal.open(tmp_path) as j:
        assert j.conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        assert j.outbox_body("PR1", "pay") == b'{"pay":1}' and j.outbox_body("RF1", "refund") == b'{"refund":1}'
        assert [r["id"] for r in j.children("PR0")] == ["RF1"]
        plan = j.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM transactions WHERE parent=? AND parent IS NOT NULL",
                              ("PR0",)).fetchall()
        assert "idx_transactions_parent" in str([tuple(r) for r in plan])


def test_an_unreadable_row_is_named_and_does_not_stop_the_terminal(sim, tmp_path):
    data_dir = tmp_path / "t"
    config = write_config(sim)
    with Runtime(config, data_dir, background=False) as rt:
        sale = rt.terminal.start_sale(usd(sc.STUCK), code=payment_code())
        rt.terminal.journal.conn.execute("UPDATE transactions SET state='{not json' WHERE id=?", (sale.id,))
    with Runtime(config, data_dir, background=False) as rt, pytest.raises(JournalError, match=sale.id):
        rt.terminal.load(sale.id)  # it started, and names the row it cannot read
