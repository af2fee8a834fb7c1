"""A disk swap (issue 17, part 6): ``pos-terminal store restore`` rebuilds a replaced terminal's history from the
store, against the real simulator and a real PostgreSQL. The old journal is copied aside before its disk "dies"
and the restored one is compared with it in plain SQL, row for row; the open sales the store held are settled by
inquiry, and the simulator's ledger shows nothing charged twice."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from flowkit import (
    MANAGER_PIN,
    cli,
    codes_charged_twice,
    journal_query,
    ledger,
    set_manager_pin,
    wait_until,
    write_config,
)
from kit import payment_code, usd
from storekit import shipped_all, with_store, with_terminal_id

from offline_queue.journal import Journal
from pos_app import closing
from pos_app.errors import PosError
from pos_app.runtime import Runtime

pytestmark = pytest.mark.slow

#: The store keeps times as timestamptz: to the microsecond, so a time comes back within half of one.
MICROSECOND = 1e-6


def restore_cli(config: Path | None, data_dir: Path) -> subprocess.CompletedProcess:
    """``pos-terminal store restore --json`` as a process."""
    return cli("store", "restore", "--json", config=config, data_dir=data_dir)


def copy_aside(data_dir: Path, to: Path) -> Path:
    """The old journal, as SQLite's backup reads it (the WAL included), before the disk is lost."""
    src = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    dst = sqlite3.connect(to)
    src.backup(dst)
    src.close()
    dst.close()
    return to


def raw(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


TXN = ("id, kind, tender, parent, payment_id, currency, amount, status, phase, result_code, message, description, "
       "code_masked, state, final, day, z_number, unmatched, created_at, updated_at")


def same_rows(old: list[tuple], new: list[tuple], times: int, json_at: tuple[int, ...] = ()) -> None:
    """Rows equal field for field; the last ``times`` fields within the store's microsecond; ``json_at``
    fields equal as JSON (the store keeps jsonb: key order and spacing are not kept)."""
    assert len(old) == len(new)
    for a, b in zip(old, new, strict=True):
        plain = len(a) - times
        fa = [json.loads(v) if i in json_at else v for i, v in enumerate(a[:plain])]
        fb = [json.loads(v) if i in json_at else v for i, v in enumerate(b[:plain])]
        assert fa == fb, (a, b)
        for x, y in zip(a[plain:], b[plain:], strict=True):
            assert abs(x - y) <= MICROSECOND, (a, b)


def test_a_swapped_disk_is_rebuilt_from_the_store(sim, store, tmp_path):
    store.register("S1", "T-R")
    config = with_store(with_terminal_id(write_config(sim), "T-R"), store.section(tmp_path, "S1", "T-R"))
    d = tmp_path / "data"
    with Runtime(config, d) as rt:
        t = rt.terminal
        assert t is not None
        refunded = t.start_sale(usd(1000), code=payment_code())
        assert refunded.status == "SUCCESS"
        whole = t.start_sale(usd(2500), code=payment_code())
        assert whole.status == "SUCCESS"
        t.start_sale(usd(9905), code=payment_code())                          # declined
        cancelled = t.start_sale(usd(400), code=payment_code())
        assert t.refund(refunded.id, usd(300), "damaged").status == "SUCCESS"
        t.cancel(cancelled.id)
        t.settle(20)
        z = closing.take_z(t.journal, by="manager")
        after_z = t.start_sale(usd(125), code=payment_code())                # the session the Z did not cover
        assert after_z.status == "SUCCESS"
        wait_until(lambda: shipped_all(d), timeout=30)
    (tmp_path / "old").mkdir()
    old = copy_aside(d, tmp_path / "old" / "journal.sqlite")
    held_upto = int(store.value("SELECT max(seq) FROM pos_store.events WHERE terminal_id = 'T-R'"))

    # An id whose random part came out all digits leaves masked inside the state (a 30-digit run looks like a
    # payment code to the masking); the row's own columns keep it whole. As the store then holds it:
    store.value("UPDATE pos_store.transactions SET state = jsonb_set(state, '{sale_id}', to_jsonb(left(parent, 4) "
                "|| repeat('*', length(parent) - 8) || right(parent, 4))) "
                "WHERE terminal_id = 'T-R' AND kind = 'refund'")
    shutil.rmtree(d)                        # the disk swap: a new data dir, the same config
    set_manager_pin(d)                      # as `setup` starts a terminal: a PIN, and its audit entry
    done = restore_cli(config, d)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["restored"]["transactions"] == raw(old, "SELECT count(*) FROM transactions")[0][0]
    assert result["zNumbers"] == [1] and result["settling"] == [] and result["zNotMatchingHash"] == []
    new = d / "journal.sqlite"

    same_rows(raw(old, f"SELECT {TXN} FROM transactions ORDER BY id"),
              raw(new, f"SELECT {TXN} FROM transactions ORDER BY id"), times=2, json_at=(13,))
    same_rows(raw(old, "SELECT number, day, taken_by, body, sha256, prev_sha256, taken_at FROM z_reports"),
              raw(new, "SELECT number, day, taken_by, body, sha256, prev_sha256, taken_at FROM z_reports"), times=1)
    same_rows(raw(old, "SELECT txn, seq, kind, detail, at FROM events ORDER BY txn, seq"),
              raw(new, "SELECT txn, seq, kind, detail, at FROM events ORDER BY txn, seq"), times=1, json_at=(3,))
    old_audit = raw(old, "SELECT seq, action, txn, asked_by, approved_by, detail, at FROM audit ORDER BY seq")
    new_audit = raw(new, "SELECT seq, action, txn, asked_by, approved_by, detail, at FROM audit ORDER BY seq")
    same_rows(old_audit, new_audit[:len(old_audit)], times=1, json_at=(5,))
    # after the restored log: the new terminal's own PIN entry, renumbered, then the restore's own entry
    assert [(r[1], r[0] > old_audit[-1][0]) for r in new_audit[len(old_audit):]] == [("pin_set", True),
                                                                                     ("store_restore", True)]
    # numbering continues above the store's; only the new entries wait to ship
    assert raw(new, "SELECT seq FROM sqlite_sequence WHERE name = 'outbound'")[0][0] > held_upto - 1
    assert raw(new, "SELECT shipped FROM replication WHERE name = 'store'") == [(held_upto,)]
    assert [r[0] for r in raw(new, "SELECT stream FROM outbound ORDER BY seq")] == ["audit", "audit"]
    assert all(r[0] > held_upto for r in raw(new, "SELECT seq FROM outbound"))

    # the Z reprints as taken, and its chain still holds
    reprint = cli("report", "--z", "--number", "1", "--json", config=config, data_dir=d, input=MANAGER_PIN + "\n")
    assert reprint.returncode == 0, reprint.stderr
    assert json.loads(reprint.stdout)["sha256"] == z["sha256"]
    assert json.loads(reprint.stdout)["totals"] == z["totals"]
    # the day and the session read the same from the restored journal as from the old one (times: to the µs)
    day = raw(old, "SELECT day FROM transactions LIMIT 1")[0][0]
    for args, keep in ((("--date", day), ("count", "totals", "summary", "transactions")),
                       (("--x",), ("totals", "summary", "differences", "session"))):
        before, after = (json.loads(cli("report", *args, "--json", config=config, data_dir=where).stdout)
                         for where in (tmp_path / "old", d))
        for report in (before, after):
            for row in report.get("transactions", []):
                row.pop("createdAt")
            report.get("session", {}).pop("since", None)
        assert {k: before[k] for k in keep} == {k: after[k] for k in keep}, args
    assert after["session"] == {"number": 2, "previousZ": 1, "count": 1}
    again = restore_cli(config, d)
    assert again.returncode == 2 and "history of its own" in json.loads(again.stdout)["error"], again.stdout

    # refunds of restored sales, a new sale, shipped to the store without a conflict
    events_before = int(store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = 'T-R'"))
    with Runtime(config, d) as rt:
        t = rt.terminal
        assert t is not None
        assert closing.verify_chain(t.journal) == []
        assert t.refund(whole.id, usd(2500), "returned").status == "SUCCESS"
        with pytest.raises(PosError):
            t.refund(whole.id, usd(2500), "returned again")
        assert t.refundable(refunded.id) == 700
        fresh = t.start_sale(usd(777), code=payment_code())
        assert fresh.status == "SUCCESS"
        wait_until(lambda: shipped_all(d), timeout=30)
        assert rt.replicator is not None and rt.replicator.progress.refused is None
    assert int(store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = 'T-R'")) > events_before
    assert int(store.value("SELECT min(seq) FROM pos_store.events WHERE terminal_id = 'T-R' "
                           f"AND txn = '{fresh.id}'")) > held_upto
    assert store.value(f"SELECT status FROM pos_store.transactions WHERE id = '{fresh.id}'") == "SUCCESS"
    assert store.value("SELECT string_agg(action, ',' ORDER BY seq) FROM pos_store.audit WHERE terminal_id = 'T-R' "
                       f"AND seq > {old_audit[-1][0]}").startswith("pin_set,store_restore")
    refunds = [(r["amount"]["value"], r["status"]) for r in ledger(sim)[whole.id]["refunds"]]
    assert refunds == [("2500", "SUCCESS")], "the gateway refunded the restored sale once"
    assert codes_charged_twice(sim) == []


def test_open_sales_the_store_held_are_settled_by_inquiry(sim, store, tmp_path):
    """The store's last copy of two sales and a refund is mid-flight (the till died before it shipped their
    outcome): a sale still queued, one sending, a refund sending. After the restore none is sent again;
    inquiries settle each as the gateway has it."""
    store.register("S1", "T-O")
    config = with_store(with_terminal_id(write_config(sim), "T-O"), store.section(tmp_path, "S1", "T-O"))
    d = tmp_path / "data"
    with Runtime(config, d) as rt:
        t = rt.terminal
        assert t is not None
        paid = t.start_sale(usd(1500), code=payment_code())
        declined = t.start_sale(usd(9905), code=payment_code())
        assert (paid.status, declined.status) == ("SUCCESS", "FAILED")
        other = t.start_sale(usd(800), code=payment_code())
        refund = t.refund(other.id, usd(500), "returned")
        assert refund.status == "SUCCESS"
        wait_until(lambda: shipped_all(d), timeout=30)
    for txn, phase, status in ((paid.id, "NEW", "QUEUED"), (declined.id, "SENDING", "UNKNOWN"),
                               (refund.id, "SENDING", "UNKNOWN")):
        gone = "'payment_id', null, 'charged', null," if txn != refund.id else "'gateway_id', null,"
        store.value(f"UPDATE pos_store.transactions SET final = false, phase = '{phase}', status = '{status}', "
                    "payment_id = NULL, result_code = '', state = state || jsonb_build_object('phase', "
                    f"'{phase}', 'next_at', null, {gone} 'result_code', '') "
                    f"WHERE terminal_id = 'T-O' AND id = '{txn}'")
    shutil.rmtree(d)
    restored_at = time.time()
    done = restore_cli(config, d)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["settling"]) == sorted([paid.id, declined.id, refund.id])
    assert result["openRefunds"] == [refund.id] and "pos-terminal reconcile" in result["next"]
    assert journal_query(d, "SELECT count(*) FROM outbox") == [(0,)]
    assert {r[0]: r[1] for r in journal_query(d, "SELECT id, phase FROM transactions WHERE final = 0")} == {
        paid.id: "INQUIRING", declined.id: "INQUIRING", refund.id: "RETRYING"}
    settled = cli("reconcile", "--json", "--timeout", "60", config=config, data_dir=d)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert {r[0]: (r[1], r[2]) for r in journal_query(d, "SELECT id, status, phase FROM transactions")} == {
        paid.id: ("SUCCESS", "PAID"), declined.id: ("FAILED", "FAILED"), other.id: ("SUCCESS", "PAID"),
        refund.id: ("SUCCESS", "DONE")}
    asked = journal_query(d, "SELECT txn, json_extract(detail, '$.api'), json_extract(detail, '$.resultCode') "
                             "FROM events WHERE kind = 'answer' AND at > ?", (restored_at,))
    assert {txn for txn, api, _code in asked if api == "inquiryPayment"} == {paid.id, declined.id}
    # nothing else reached the gateway: the refund's body stayed on the old disk, so it was asked about, not resent
    assert {api for _txn, api, _code in asked if api != "inquiryPayment"} <= {"inquiryRefund"}
    assert journal_query(d, "SELECT kind FROM events WHERE txn = ? AND at > ? AND kind = 'inquiry'",
                         (refund.id, restored_at)) == [("inquiry",)]
    book = ledger(sim)
    assert book[paid.id]["status"] == "SUCCESS" and book[declined.id]["status"] != "SUCCESS"
    assert [r["amount"]["value"] for r in book[other.id]["refunds"]] == ["500"], "refunded once"
    assert codes_charged_twice(sim) == []


def test_a_restore_that_cannot_run_says_why_and_changes_nothing(sim, store, tmp_path):
    """While the till runs (the instance lock), with a store that does not answer, or one that holds nothing of
    this terminal: exit 2 with words, never a traceback, and the journal as it was."""
    store.register("S1", "T-N")
    config = with_store(with_terminal_id(write_config(sim), "T-N"), store.section(tmp_path, "S1", "T-N"))
    d = tmp_path / "data"
    with Runtime(config, d, background=False):
        running = restore_cli(config, d)
    assert running.returncode == 2 and "Traceback" not in running.stderr, running.stderr
    nothing = restore_cli(config, d)
    assert nothing.returncode == 2, nothing.stdout + nothing.stderr
    assert "holds no history of terminal T-N" in json.loads(nothing.stdout)["error"]
    section = store.section(tmp_path, "S1", "T-N")
    dead = with_store(config, {**section, "database": section["database"].replace(f":{store.cluster.port}/", ":1/")})
    unreachable = restore_cli(dead, d)
    assert unreachable.returncode == 2, unreachable.stdout + unreachable.stderr
    assert "does not answer" in json.loads(unreachable.stdout)["error"]
    assert journal_query(d, "SELECT count(*) FROM transactions") == [(0,)]
    assert journal_query(d, "SELECT count(*) FROM audit WHERE action = 'store_restore'") == [(0,)]


def test_a_restore_that_fails_midway_leaves_the_journal_as_it_was(sim, store, tmp_path):
    """One commit: the store holds two events the journal cannot both take (the same transaction and number,
    possible in the store, whose key is the outbound number); the restore fails at the events, after the
    transactions and the audit log went in and the PIN entries were moved, and the journal is exactly as before."""
    store.register("S1", "T-X")
    config = with_store(with_terminal_id(write_config(sim), "T-X"), store.section(tmp_path, "S1", "T-X"))
    d = tmp_path / "data"
    with Runtime(config, d) as rt:
        assert rt.terminal is not None
        assert rt.terminal.start_sale(usd(650), code=payment_code()).status == "SUCCESS"
        wait_until(lambda: shipped_all(d), timeout=30)
    store.value("INSERT INTO pos_store.events (store_id, terminal_id, seq, txn, txn_seq, at, day, kind, detail) "
                "SELECT store_id, terminal_id, seq + 1000, txn, txn_seq, at, day, kind, detail FROM pos_store.events "
                "WHERE terminal_id = 'T-X' ORDER BY seq LIMIT 1")
    shutil.rmtree(d)
    set_manager_pin(d)
    tables = ("transactions", "events", "audit", "z_reports", "outbound", "replication", "sqlite_sequence",
              "sqlite_master")
    before = {t: journal_query(d, f"SELECT * FROM {t}") for t in tables}
    failed = restore_cli(config, d)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stdout + failed.stderr
    assert "events" in json.loads(failed.stdout)["error"], "it failed at the events, after the other rows went in"
    assert {t: journal_query(d, f"SELECT * FROM {t}") for t in tables} == before


def test_sandbox_mode_has_no_store_to_restore_from(tmp_path):
    done = cli("store", "restore", "--json", data_dir=tmp_path / "data")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "no [store]" in json.loads(done.stdout)["error"]


def test_a_z_body_the_store_altered_is_restored_as_held_and_named(sim, store, tmp_path):
    """A Z body that no longer hashes to its link (changed on the way or in the store) is restored as the store
    holds it, said by the restore, and named by the Z chain check afterwards: never silently re-hashed."""
    store.register("S1", "T-Z")
    config = with_store(with_terminal_id(write_config(sim), "T-Z"), store.section(tmp_path, "S1", "T-Z"))
    d = tmp_path / "data"
    with Runtime(config, d) as rt:
        assert rt.terminal is not None
        assert rt.terminal.start_sale(usd(300), code=payment_code()).status == "SUCCESS"
        closing.take_z(rt.terminal.journal, by="manager")
        wait_until(lambda: shipped_all(d), timeout=30)
    store.value("SET session_replication_role = replica; UPDATE pos_store.z_reports SET body = jsonb_set(body, "
                "'{takenBy}', '\"someone else\"') WHERE terminal_id = 'T-Z'")
    shutil.rmtree(d)
    done = restore_cli(config, d)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["zNotMatchingHash"] == [1]
    with Journal.open(d, readonly=True) as journal:
        assert closing.verify_chain(journal) == ["Z report #1 does not match its hash"]
