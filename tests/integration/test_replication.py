"""A till ships its journal's history to the store's PostgreSQL (issue 17, part 2), against the real simulator
and a real server: what the store holds is read back with psql as the superuser and compared with the journal's
raw rows, row for row; a payment code never leaves unmasked."""

from __future__ import annotations

import time

import pytest
from flowkit import journal_query, write_config
from kit import payment_code
from storekit import store_cluster, with_store, with_terminal_id

from pos_app.money import Money
from pos_app.runtime import Runtime

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store():
    with store_cluster() as s:
        yield s


def wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {check}")


def shipped(data_dir) -> int:
    rows = journal_query(data_dir, "SELECT shipped FROM replication WHERE name = 'store'")
    return rows[0][0] if rows else 0


def last_outbound(data_dir) -> int:
    return journal_query(data_dir, "SELECT coalesce(max(seq), 0) FROM outbound")[0][0]


def test_sales_reach_the_store_row_for_row_and_codes_stay_masked(sim, store, tmp_path):
    store.register("S1", "T-A")
    config = with_store(with_terminal_id(write_config(sim), "T-A"), store.section(tmp_path, "S1", "T-A"))
    d = tmp_path / "a"
    codes = [payment_code() for _ in range(3)]
    with Runtime(config, d) as rt:
        assert rt.replicator is not None
        for code in codes:
            assert rt.terminal.start_sale(Money(1234, "USD"), code=code).status == "SUCCESS"
        # What a journal may hold in the raw (an unreadable notification's body): it leaves masked.
        leak = payment_code()
        rt.terminal.journal.log_event(None, "notification_unreadable", {
            "body": f'{{"paymentCode": "{leak}"}}',
            "key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"})
        wait_for(lambda: last_outbound(d) and shipped(d) == last_outbound(d))
    mine = journal_query(d, "SELECT id, status, amount, final FROM transactions ORDER BY id")
    theirs = store.rows("SELECT id, status, amount, final FROM pos_store.transactions WHERE terminal_id = 'T-A' "
                        "ORDER BY id")
    assert [[r[0], r[1], str(r[2]), "t" if r[3] else "f"] for r in mine] == theirs
    events = journal_query(d, "SELECT txn, seq, kind FROM events ORDER BY txn, seq")
    stored = store.rows("SELECT coalesce(txn, ''), txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-A' "
                        "ORDER BY 1, 2")
    assert [[r[0], str(r[1]), r[2]] for r in events] == stored
    dump = store.value("SELECT string_agg(detail::text, ' ') FROM pos_store.events") + store.value(
        "SELECT string_agg(state::text, ' ') FROM pos_store.transactions")
    assert journal_query(d, "SELECT count(*) FROM events WHERE detail LIKE ?", (f"%{leak}%",))[0][0] == 1
    for code in [*codes, leak]:
        assert code not in dump
    assert leak[-4:] in dump, "masked as the screens show it, not dropped"
    assert "BEGIN PRIVATE KEY" not in dump and "[key removed]" in dump
    assert "pins" not in store.value("SELECT string_agg(table_name, ' ') FROM information_schema.tables "
                                     "WHERE table_schema = 'pos_store'")


def test_a_store_that_is_down_only_delays_the_shipping(sim, store, tmp_path):
    store.register("S1", "T-B")
    config = with_store(with_terminal_id(write_config(sim), "T-B"), store.section(tmp_path, "S1", "T-B"))
    d = tmp_path / "b"
    store.cluster.stop("immediate")
    try:
        with Runtime(config, d) as rt:
            started = time.monotonic()
            assert rt.terminal.start_sale(Money(500, "USD"), code=payment_code()).status == "SUCCESS"
            assert time.monotonic() - started < 10, "the sale did not wait for the store"
            wait_for(lambda: journal_query(d, "SELECT error FROM replication WHERE name = 'store' "
                                              "AND error IS NOT NULL"))
            assert shipped(d) == 0
            store.cluster.start()
            wait_for(lambda: shipped(d) == last_outbound(d), timeout=40)
    finally:
        if not store.cluster.running():
            store.cluster.start()
    assert store.value("SELECT count(*) FROM pos_store.transactions WHERE terminal_id = 'T-B'") == "1"
    assert journal_query(d, "SELECT error FROM replication")[0][0] is None


def test_a_resend_after_the_cursor_was_lost_changes_nothing(sim, store, tmp_path):
    """The cursor moves after the store's commit; a crash in between resends: the keys make it a no-op."""
    store.register("S1", "T-C")
    config = with_store(with_terminal_id(write_config(sim), "T-C"), store.section(tmp_path, "S1", "T-C"))
    d = tmp_path / "c"
    with Runtime(config, d) as rt:
        rt.terminal.start_sale(Money(700, "USD"), code=payment_code())
        wait_for(lambda: last_outbound(d) and shipped(d) == last_outbound(d))
    before = store.rows("SELECT seq, kind FROM pos_store.events WHERE terminal_id = 'T-C' ORDER BY seq")
    import sqlite3

    conn = sqlite3.connect(d / "journal.sqlite")
    conn.execute("UPDATE replication SET shipped = 0")   # as if the store's commit answer never came back
    conn.commit()
    conn.close()
    with Runtime(config, d):
        wait_for(lambda: shipped(d) == last_outbound(d))
    assert store.rows("SELECT seq, kind FROM pos_store.events WHERE terminal_id = 'T-C' ORDER BY seq") == before
