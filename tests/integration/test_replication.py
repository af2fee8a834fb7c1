"""A till ships its journal's history to the store's PostgreSQL (issue 17, part 2), against the real simulator
and a real server: what the store holds is read back with psql as the superuser and compared with the journal's
raw rows, row for row; a payment code never leaves unmasked."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from flowkit import journal_query, write_config
from kit import payment_code
from storekit import with_store, with_terminal_id

from pos_app.money import Money
from pos_app.runtime import Runtime

pytestmark = pytest.mark.slow


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


def store_config(sim, store, tmp_path, terminal_id, **extra):
    store.register("S1", terminal_id)
    return with_store(with_terminal_id(write_config(sim, f"{terminal_id}.toml"), terminal_id),
                      store.section(tmp_path, "S1", terminal_id, **extra))


def journal_events(d) -> Counter:
    rows = journal_query(d, "SELECT txn, seq, kind FROM events")
    return Counter((txn or "", str(seq), kind) for txn, seq, kind in rows)


def store_events(store, terminal_id) -> Counter:
    return Counter(tuple(r) for r in store.rows("SELECT coalesce(txn, ''), txn_seq, kind FROM pos_store.events "
                                                f"WHERE terminal_id = '{terminal_id}'"))


def as_v6(source, target) -> None:
    """``target``/journal.sqlite at schema v6, as the release before issue 17 left it: only the first six
    migrations ran (offline_queue/schema.py MIGRATIONS), holding every row of its tables from ``source``'s
    journal. A later migration that changed those tables makes this copy fail loudly."""
    import sqlite3

    import sqlite_utils

    from offline_queue import schema

    target.mkdir(parents=True)
    conn = sqlite3.connect(target / "journal.sqlite", isolation_level=None)
    try:
        db = sqlite_utils.Database(conn)
        for migration in schema.MIGRATIONS[:6]:
            migration(db)
        conn.execute("PRAGMA user_version = 6")
        conn.execute("ATTACH DATABASE ? AS current", (str(source / "journal.sqlite"),))
        for table in db.table_names():
            if table.startswith("sqlite_"):
                continue
            columns = ", ".join(c.name for c in db[table].columns)
            conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM current.{table}")
        conn.execute("DETACH DATABASE current")
    finally:
        conn.close()


def test_a_journal_upgraded_from_v6_ships_its_whole_history_on_first_start(sim, store, tmp_path):
    made, d = tmp_path / "made", tmp_path / "old"
    plain = write_config(sim, "plain.toml")   # the till before it had a store
    with Runtime(with_terminal_id(plain, "T-V6"), made, background=False) as rt:
        paid = rt.terminal.start_sale(Money(1500, "USD"), code=payment_code())
        rt.terminal.start_sale(Money(9905, "USD"), code=payment_code())   # declined
        rt.terminal.refund(paid.id, Money(500, "USD"), "damaged")
    as_v6(made, d)
    assert journal_query(d, "PRAGMA user_version") == [(6,)]
    history = journal_events(d)
    assert sum(history.values()) >= 6
    config = store_config(sim, store, tmp_path, "T-V6")
    with Runtime(config, d):
        wait_for(lambda: last_outbound(d) and shipped(d) == last_outbound(d))
    assert journal_query(d, "PRAGMA user_version")[0][0] >= 7
    assert store_events(store, "T-V6") == journal_events(d)
    assert history.keys() <= journal_events(d).keys()
    assert sorted([r[0], r[1], str(r[2])] for r in journal_query(d, "SELECT id, kind, amount FROM transactions")) \
        == store.rows("SELECT id, kind, amount FROM pos_store.transactions WHERE terminal_id = 'T-V6' ORDER BY id")
    assert store.value("SELECT count(*) FROM pos_store.audit WHERE terminal_id = 'T-V6'") == str(
        journal_query(d, "SELECT count(*) FROM audit")[0][0])


def replication_error(d) -> str | None:
    rows = journal_query(d, "SELECT error FROM replication WHERE name = 'store'")
    return rows[0][0] if rows else None


def test_a_fresh_journal_the_store_knows_further_than_is_refused_in_words_and_ships_nothing(sim, store, tmp_path):
    config = store_config(sim, store, tmp_path, "T-SWAP")
    old = tmp_path / "old-disk"
    with Runtime(config, old) as rt:
        rt.terminal.start_sale(Money(800, "USD"), code=payment_code())
        wait_for(lambda: last_outbound(old) and shipped(old) == last_outbound(old))
    before = store.rows("SELECT seq, txn, txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-SWAP' "
                        "ORDER BY seq")
    new = tmp_path / "new-disk"   # the disk swapped, no `store restore`: the same terminal id starts afresh
    with Runtime(config, new) as rt:
        error = wait_for(lambda: replication_error(new))
        assert rt.replicator is not None and rt.replicator.progress.refused
        rt.terminal.start_sale(Money(900, "USD"), code=payment_code())   # it still sells
    assert "the store holds history of terminal T-SWAP" in error and "replaced disk" in error, error
    assert "store restore" in error
    assert shipped(new) == 0
    assert store.rows("SELECT seq, txn, txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-SWAP' "
                      "ORDER BY seq") == before
    assert store.value("SELECT count(*) FROM pos_store.transactions WHERE terminal_id = 'T-SWAP'") == "1"


def test_the_heartbeat_carries_the_version_the_lag_and_the_queue_depth(make_sim, store, tmp_path):
    from flowkit import gateway_down

    from pos_app import __version__
    from pos_app.store.replicator import ROUND_BATCHES

    sim, _ = gateway_down(make_sim)   # a sale taken at the merchant's risk waits in the queue
    config = write_config(sim, "hb.toml", payments={"code_validity": 30},
                          offline={"merchant_risk": True, "max_per_payment": {"USD": "20.00"},
                                   "max_total": {"USD": "25.00"}})
    store.register("S1", "T-HB")
    with_store(with_terminal_id(config, "T-HB"), store.section(tmp_path, "S1", "T-HB", batch_size=1))
    d = tmp_path / "hb"
    with Runtime(config, d, background=False) as rt:
        assert rt.terminal.start_sale(Money(1500, "USD"), code=payment_code()).status == "QUEUED"
        for i in range(ROUND_BATCHES):   # more than one round of one-row batches: a backlog at the heartbeat
            rt.terminal.journal.log_event(None, "note", {"i": i})
    time.sleep(0.05)   # the oldest change is measurably old when the heartbeat is taken
    with Runtime(config, d):
        wait_for(lambda: store.rows("SELECT 1 FROM pos_store.heartbeats WHERE terminal_id = 'T-HB'"))
    [[version, queue_depth, lag, shipped_then, backlog, seen]] = store.rows(
        "SELECT version, queue_depth, lag_s, shipped, backlog, now() - at < interval '1 minute' "
        "FROM pos_store.heartbeats WHERE terminal_id = 'T-HB'")
    assert version == __version__
    assert queue_depth == "1" == str(journal_query(d, "SELECT count(*) FROM outbox")[0][0])
    assert shipped_then == str(ROUND_BATCHES), "the first round's batches, then the heartbeat"
    assert int(backlog) > 0 and float(lag) > 0, (backlog, lag)
    assert seen == "t"


#: A till that stays up (a Runtime with its replicator) and sells what it is told on stdin.
TILL = r"""
import sys
from pathlib import Path
from pos_app.money import Money
from pos_app.runtime import Runtime
with Runtime(Path(sys.argv[1]), Path(sys.argv[2])) as rt:
    for line in sys.stdin:
        code, amount = line.split()
        sale = rt.terminal.start_sale(Money(int(amount), "USD"), code=code)
        print("sold", sale.id, sale.status, flush=True)
"""


def test_a_till_killed_mid_ship_loses_nothing_and_doubles_nothing_after_its_restart(sim, store, tmp_path):
    """Mid-ship for certain: a superuser holds pos_store.transactions, so the till's shipping transaction waits
    inside the store (its COPY and events written, uncommitted) until it is seen waiting; then SIGKILL."""
    import signal
    import subprocess
    import sys

    import psycopg
    from processes import track

    from pos_app.store.schema import role_for

    config = store_config(sim, store, tmp_path, "T-K9")
    d = tmp_path / "k9"
    till = track(subprocess.Popen([sys.executable, "-c", TILL, str(config), str(d)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1))
    blocker = psycopg.connect(store.cluster.url("postgres", "store"))
    try:
        blocker.execute("LOCK TABLE pos_store.transactions IN EXCLUSIVE MODE")
        for amount in (1100, 1200):
            till.stdin.write(f"{payment_code()} {amount}\n")
            till.stdin.flush()
            assert till.stdout.readline().startswith("sold ")
        wait_for(lambda: store.value("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                                     f"usename = '{role_for('terminal', 'T-K9')}'") != "0")
        till.send_signal(signal.SIGKILL)
        assert till.wait(timeout=10) == -signal.SIGKILL
    finally:
        blocker.close()
    assert shipped(d) == 0 < last_outbound(d)
    assert store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = 'T-K9'") == "0", "rolled back"
    with Runtime(config, d):
        wait_for(lambda: shipped(d) == last_outbound(d))
    assert store_events(store, "T-K9") == journal_events(d)
    assert set(journal_events(d).values()) == {1}
    assert store.value("SELECT count(DISTINCT seq) = count(*) FROM pos_store.events WHERE terminal_id = 'T-K9'") == "t"
    assert sorted([r[0], r[1], str(r[2])] for r in journal_query(d, "SELECT id, status, amount FROM transactions")) \
        == store.rows("SELECT id, status, amount FROM pos_store.transactions WHERE terminal_id = 'T-K9' ORDER BY id")


def test_a_fresh_journal_that_numbered_past_the_store_before_it_could_ship_is_refused_too(sim, store, tmp_path):
    """The swapped disk sold while the store was out of reach, so its numbers already pass the old disk's:
    shipped, its first rows would be taken for resends of the old disk's (dropped), the rest mixed in."""
    config = store_config(sim, store, tmp_path, "T-SWAP2")
    old = tmp_path / "old-disk"
    with Runtime(config, old) as rt:
        rt.terminal.start_sale(Money(800, "USD"), code=payment_code())
        wait_for(lambda: last_outbound(old) and shipped(old) == last_outbound(old))
    before = store.rows("SELECT seq, txn, txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-SWAP2' "
                        "ORDER BY seq")
    new = tmp_path / "new-disk"
    with Runtime(config, new, background=False) as rt:   # no replicator: as with the store out of reach
        for amount in (900, 1000, 1100):
            rt.terminal.start_sale(Money(amount, "USD"), code=payment_code())
    assert last_outbound(new) > int(before[-1][0])
    with Runtime(config, new):
        wait_for(lambda: replication_error(new) or shipped(new) == last_outbound(new))
    error = replication_error(new)
    assert error and "replaced disk" in error and "store restore" in error, error
    assert shipped(new) == 0
    assert store.rows("SELECT seq, txn, txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-SWAP2' "
                      "ORDER BY seq") == before


def test_a_one_off_sale_leaves_nothing_unshipped_while_the_store_answers(sim, store, tmp_path):
    """`pos-terminal sale` starts the replicator and stops it at exit: what the run journaled is in the store,
    including what its receiver, reconciler or printer journaled after the sale's answer."""
    from flowkit import cli

    config = store_config(sim, store, tmp_path, "T-ONE")
    d = tmp_path / "one"
    for amount in ("12.00", "13.00", "14.00"):
        done = cli("sale", "--amount", amount, "--code", payment_code(), config=config, data_dir=d)
        assert done.returncode == 0, done.stderr
        assert shipped(d) == last_outbound(d), (amount, shipped(d), last_outbound(d))
    assert store_events(store, "T-ONE") == journal_events(d)


def test_a_change_stamped_after_the_clock_was_set_back_still_reaches_the_store(sim, store, tmp_path):
    """The till's clock set back an hour (a bad NTP step, a person) while a sale is open: its later states carry
    an older updated_at than the one the store holds, and they are still the newest; the outbound order says
    so, not the wall clock."""
    from pos_app.sim.scenarios import STUCK

    config = store_config(sim, store, tmp_path, "T-CLK")
    d = tmp_path / "clk"
    with Runtime(config, d) as rt:
        t = rt.terminal
        sale = t.start_sale(Money(STUCK, "USD"), code=payment_code())
        assert not sale.final
        wait_for(lambda: store.rows(f"SELECT 1 FROM pos_store.transactions WHERE id = '{sale.id}'"))
        t.clock = lambda: time.time() - 3600
        t.abort(sale.id)
        t.settle(30)
        assert t.journal.get(sale.id)["final"]
        wait_for(lambda: shipped(d) == last_outbound(d))
    mine = journal_query(d, "SELECT status, phase, final FROM transactions WHERE id = ?", (sale.id,))
    assert [[s, p, "t" if f else "f"] for s, p, f in mine] == store.rows(
        f"SELECT status, phase, final FROM pos_store.transactions WHERE id = '{sale.id}'")


def test_the_pin_books_hash_and_salt_never_leave_and_its_audit_entries_do(sim, store, tmp_path):
    import base64

    from flowkit import set_manager_pin

    config = store_config(sim, store, tmp_path, "T-PIN")
    d = tmp_path / "pin"
    set_manager_pin(d)
    with Runtime(config, d) as rt:
        rt.terminal.start_sale(Money(600, "USD"), code=payment_code())
        wait_for(lambda: last_outbound(d) and shipped(d) == last_outbound(d))
    [(salt, digest)] = journal_query(d, "SELECT salt, hash FROM pins")
    actions = sorted(a for (a,) in journal_query(d, "SELECT action FROM audit"))
    assert actions and [r[0] for r in store.rows("SELECT action FROM pos_store.audit WHERE terminal_id = 'T-PIN' "
                                                 "ORDER BY action")] == actions
    dump = " ".join(store.value(f"SELECT coalesce(string_agg({column}::text, ' '), '') FROM pos_store.{table} "
                                "WHERE terminal_id = 'T-PIN'")
                    for table, column in (("audit", "detail"), ("events", "detail"), ("transactions", "state"),
                                          ("heartbeats", "detail")))
    for secret in (salt, digest):
        for form in (secret.hex(), base64.b64encode(secret).decode(), base64.b64encode(secret).decode().rstrip("=")):
            assert form not in dump


def test_a_store_added_later_gets_the_history_a_storeless_till_forgot_to_queue(sim, store, tmp_path):
    """Without [store] the queue keeps a week (it would grow the journal for ever); a store added later still
    gets every event the till ever journaled, since the store holds nothing of it: the history is queued again."""
    import sqlite3

    from pos_app.terminal import QUEUE_KEPT

    plain = write_config(sim)
    d = tmp_path / "island"
    with Runtime(plain, d) as rt:
        sales = [rt.terminal.start_sale(Money(300, "USD"), code=payment_code()) for _ in range(2)]
        assert [s.status for s in sales] == ["SUCCESS", "SUCCESS"]
    conn = sqlite3.connect(d / "journal.sqlite")   # the week has passed: the queue rows are that old
    conn.execute("UPDATE outbound SET at = at - ?", (QUEUE_KEPT + 60,))
    conn.commit()
    conn.close()
    with Runtime(plain, d):   # housekeeping forgets the old rows (a notification the gateway resends now is new)
        wait_for(lambda: journal_query(d, "SELECT count(*) FROM outbound WHERE at < ?",
                                       (time.time() - QUEUE_KEPT,))[0][0] == 0)
    store.register("S1", "T-LATE")
    config = with_store(with_terminal_id(write_config(sim), "T-LATE"), store.section(tmp_path, "S1", "T-LATE"))
    with Runtime(config, d):
        wait_for(lambda: last_outbound(d) and shipped(d) == last_outbound(d))
    events = journal_query(d, "SELECT txn, seq, kind FROM events ORDER BY txn, seq")
    stored = store.rows("SELECT coalesce(txn, ''), txn_seq, kind FROM pos_store.events WHERE terminal_id = 'T-LATE' "
                        "ORDER BY 1, 2")
    assert {s.id for s in sales} <= {r[0] for r in events}   # both sales' history, whatever came after
    assert [[r[0], str(r[1]), r[2]] for r in events] == stored
