"""Upgrading a terminal keeps its outbox (issue 7; terminal-practice §5: Square warns never to upgrade
with a non-empty queue, so ours must survive one). A journal of the previous schema (v3) holding requests
still waiting for the link is opened by this version: it migrates forward in one transaction, keeps every
waiting request with its request id, and sends each exactly once when the gateway is back.

Two sources of a v3 journal: one the previous release itself wrote (``fixtures/upgrade-v3``, made once
with that release's code), and one made now (v3's migrations, then today's rows for sales queued a
moment ago, whose codes are still valid, so they are sent rather than voided).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from flowkit import check_invariant, cli_json, gateway_down, journal_query, ledger, write_config
from kit import FIXTURES, payment_code

from offline_queue import schema
from offline_queue.journal import Journal, JournalError
from pos_app.money import parse_money
from pos_app.runtime import Runtime

PREVIOUS = 3   # the schema version the last release wrote
CARRIED = ("transactions", "outbox", "events")


def make_previous_journal(target: Path, source: Path) -> None:
    """``target``/journal.sqlite at schema v3 (only the first three migrations ran), holding exactly the
    rows of the tables v3 has from the journal in ``source``. A later migration that changed those tables
    would make this copy fail loudly, so the test cannot quietly stop testing an old format."""
    target.mkdir(parents=True)
    conn = sqlite3.connect(target / "journal.sqlite", isolation_level=None)
    db = sqlite_utils.Database(conn)
    for migration in schema.MIGRATIONS[:PREVIOUS]:
        migration(db)
    conn.execute(f"PRAGMA user_version = {PREVIOUS}")
    conn.execute("ATTACH DATABASE ? AS current", (str(source / "journal.sqlite"),))
    for table in CARRIED:
        columns = ", ".join(c.name for c in db[table].columns)
        conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM current.{table}")
    conn.execute("DETACH DATABASE current")
    conn.close()


@pytest.fixture
def waiting(make_sim, tmp_path):
    """Two sales queued while the gateway was unreachable, in a v3 journal; the gateway is then back."""
    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 300})
    with Runtime(config, tmp_path / "now", receiver=False, background=False) as rt:
        ids = [rt.terminal.start_sale(parse_money(amount, "USD"), code=payment_code(), alongside=True).id
               for amount in ("4.10", "4.20")]
        assert [rt.terminal.load(i).status for i in ids] == ["QUEUED", "QUEUED"]
    old = tmp_path / "old"
    make_previous_journal(old, tmp_path / "now")
    return back(), config, old, ids


def version(data_dir: Path) -> int:
    [(number,)] = journal_query(data_dir, "PRAGMA user_version")
    return number


def test_the_previous_schema_with_a_queue_upgrades_and_sends_each_request_once(waiting):
    sim, config, old, ids = waiting
    assert version(old) == PREVIOUS
    outbox_before = sqlite3.connect(old / "journal.sqlite").execute(
        "SELECT txn, api, body FROM outbox ORDER BY txn").fetchall()
    assert {row[0] for row in outbox_before} == set(ids)

    with Runtime(config, old, receiver=False, background=False) as rt:      # the upgraded terminal starts
        assert version(old) == schema.VERSION
        outbox_after = rt.terminal.journal.query("SELECT txn, api, body FROM outbox ORDER BY txn")
        assert [tuple(r) for r in outbox_after] == outbox_before            # byte for byte: same request ids
        assert rt.terminal.queue()["count"] == 2
        result = rt.terminal.settle(30)
    assert result["still_open"] == 0
    assert {i["paymentRequestId"]: i["status"] for i in result["items"]} == dict.fromkeys(ids, "SUCCESS")
    paid = ledger(sim)
    assert set(ids) <= set(paid) and all(paid[i]["status"] == "SUCCESS" for i in ids)
    check_invariant(sim, old)


def test_a_reader_before_the_upgrade_gets_words_not_corruption(waiting):
    _sim, config, old, _ids = waiting
    with pytest.raises(JournalError) as caught:
        Journal.open(old, readonly=True)
    assert "older pos-terminal" in caught.value.message and "queue" in caught.value.hint
    rc, data = cli_json("queue", config=config, data_dir=old)
    assert rc == 2 and "older pos-terminal" in data["error"]
    rc, data = cli_json("queue", "--drain", config=config, data_dir=old)    # the hint's way forward
    assert rc == 0 and data["advanced"] == 2 and data["count"] == 0, data
    assert version(old) == schema.VERSION


def test_an_upgrade_that_fails_midway_leaves_the_previous_journal_intact(waiting):
    _sim, _config, old, ids = waiting
    conn = sqlite3.connect(old / "journal.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE pins (role TEXT)")      # in the way of migration 4: it must fail, not half-run
    conn.close()
    with pytest.raises(JournalError) as caught:
        Journal.open(old)
    assert "do not delete it" in caught.value.hint
    assert version(old) == PREVIOUS
    conn = sqlite3.connect(old / "journal.sqlite")
    assert {r[0] for r in conn.execute("SELECT txn FROM outbox")} == set(ids)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='audit'").fetchone() is None  # all or nothing
    conn.close()


# -- a journal the previous release itself wrote ---------------------------------------------------------

FIXTURE = FIXTURES / "upgrade-v3"


def test_the_previous_releases_own_journal_upgrades_and_its_queue_is_settled(make_sim, tmp_path):
    """``fixtures/upgrade-v3`` was written by the release before schema v4 (its README says how): a paid
    sale, then, with the gateway down, a refund of it and a new sale, queued. Today's code opens it
    against that gateway: the refund goes out exactly once; the queued sale, whose code was scanned long
    ago, is voided and never charged (a payment code is good only for minutes)."""
    import shutil

    shutil.copytree(FIXTURE / "sim", tmp_path / "sim")
    for key in (tmp_path / "sim/keys").glob("*_private.pem"):   # git keeps no file modes but the executable bit
        key.chmod(0o600)
    data = tmp_path / "terminal"
    data.mkdir()
    shutil.copy(FIXTURE / "journal.sqlite", data / "journal.sqlite")
    assert version(data) == PREVIOUS
    before = sqlite3.connect(data / "journal.sqlite")
    rows = {kind: [r[0] for r in before.execute("SELECT id FROM transactions WHERE kind=? ORDER BY created_at",
                                                  (kind,))] for kind in ("sale", "refund")}
    outbox = before.execute("SELECT txn, api, body FROM outbox ORDER BY txn").fetchall()
    before.close()
    [paid_id, late_id], [refund_id] = rows["sale"], rows["refund"]

    sim = make_sim(data_dir=tmp_path / "sim")
    config = write_config(sim)
    with Runtime(config, data, receiver=False, background=False) as rt:
        assert version(data) == schema.VERSION
        kept = rt.terminal.journal.query("SELECT txn, api, body FROM outbox ORDER BY txn")
        assert [tuple(r) for r in kept] == outbox               # the queue survived the upgrade untouched
        result = rt.terminal.settle(30)
        assert result["still_open"] == 0, result
        assert rt.terminal.load(refund_id).status == "SUCCESS"
        assert rt.terminal.load(late_id).status == "FAILED" and rt.terminal.load(paid_id).status == "SUCCESS"
    paid = ledger(sim)
    assert late_id not in paid                                  # the stale code was never sent
    sent = [r for r in paid[paid_id]["refunds"] if r["refundRequestId"] == refund_id]
    assert len(sent) == 1 and sent[0]["amount"]["value"] == "300", sent   # exactly once, 3.00 USD
