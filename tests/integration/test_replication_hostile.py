"""Replication as a hostile environment meets it: each test is a defect a merchant would meet, proven against a real
PostgreSQL and the real simulator, the store read back with psql as the superuser. The replicator is driven
round by round (:meth:`Replicator.round`), so what happens between two shippers is decided by the test, not
by timing."""

from __future__ import annotations

import pytest
from flowkit import journal_query, write_config
from kit import payment_code
from storekit import with_store, with_terminal_id

from pos_app.config import load_config
from pos_app.money import Money
from pos_app.runtime import Runtime
from pos_app.store.replicator import Replicator
from pos_app.store.schema import StoreError

pytestmark = pytest.mark.slow


def till(sim, store, tmp_path, store_id, terminal_id):
    config = with_store(with_terminal_id(write_config(sim, f"{terminal_id}.toml"), terminal_id),
                        store.section(tmp_path, store_id, terminal_id))
    return config, load_config(config).store


def sell(config, data_dir, n=1, **how):
    with Runtime(config, data_dir, receiver=False, background=False) as rt:
        for _ in range(n):
            assert rt.terminal.start_sale(Money(1000, "USD"), code=payment_code(), **how).status == "SUCCESS"


def ship_all(config, data_dir, store_config, terminal_id):
    """One shipper over this till's journal, as the running till's thread would: round after round."""
    from offline_queue.journal import Journal

    journal = Journal.open(data_dir)
    try:
        rep = Replicator(journal, store_config, terminal_id)
        try:
            while rep.round():
                pass
        finally:
            rep._close()
    finally:
        journal.close()


def journal_events(data_dir):
    return sorted([r[0], str(r[1]), r[2]] for r in journal_query(data_dir, "SELECT txn, seq, kind FROM events"))


def store_events(store, terminal_id):
    return sorted(store.rows(f"SELECT coalesce(txn, ''), txn_seq, kind FROM pos_store.events "
                             f"WHERE terminal_id = '{terminal_id}'"))


def test_a_store_restored_from_an_older_backup_gets_back_what_it_lost(sim, store, tmp_path):
    """The store's server dies and is restored from last night's backup: it now holds LESS of this till than
    the till's cursor says. The till must notice and resend (a resend is a no-op where the store has it);
    today it ships on from its cursor and the rows in between are missing from the store for ever."""
    store.register("S1", "T-BACKUP")
    config, sc = till(sim, store, tmp_path, "S1", "T-BACKUP")
    d = tmp_path / "backup"
    sell(config, d)
    ship_all(config, d, sc, "T-BACKUP")
    backup_upto = int(store.value("SELECT max(seq) FROM pos_store.events WHERE terminal_id = 'T-BACKUP'"))
    sell(config, d)                      # shipped after the backup was taken ...
    ship_all(config, d, sc, "T-BACKUP")
    assert store_events(store, "T-BACKUP") == journal_events(d)
    # ... and lost with the server: the database comes back as the backup had it (append-only triggers are
    # the application's rule, not a restore's; session_replication_role is how pg_restore loads, too).
    store.cluster.psql("SET session_replication_role = replica; "
                       f"DELETE FROM pos_store.events WHERE terminal_id = 'T-BACKUP' AND seq > {backup_upto}; "
                       "DELETE FROM pos_store.transactions WHERE terminal_id = 'T-BACKUP' AND id NOT IN "
                       "(SELECT txn FROM pos_store.events WHERE terminal_id = 'T-BACKUP' AND txn IS NOT NULL)",
                       dbname="store")
    sell(config, d)                      # the till goes on selling
    ship_all(config, d, sc, "T-BACKUP")
    missing = [e for e in journal_events(d) if e not in store_events(store, "T-BACKUP")]
    assert missing == [], f"the store silently lacks {len(missing)} of this till's events: {missing[:3]}"


def test_two_journals_under_one_terminal_identity_never_drop_each_others_rows(sim, store, tmp_path):
    """A counter's disk image cloned to a second counter (terminal.toml and passfile with it), or an old till
    still running after its replacement was restored: two journals ship as one terminal. Their numbers overlap,
    so one's events are dropped as 'resends' of the other's, and both move their cursors on: silent loss.
    One of them must be refused (as the connect-time check refuses it after a restart), never dropped."""
    store.register("S1", "T-TWIN")
    config, sc = till(sim, store, tmp_path, "S1", "T-TWIN")
    a, b = tmp_path / "twin-a", tmp_path / "twin-b"
    sell(config, a)
    sell(config, b)
    from offline_queue.journal import Journal

    ja, jb = Journal.open(a), Journal.open(b)
    try:
        ra, rb = Replicator(ja, sc, "T-TWIN"), Replicator(jb, sc, "T-TWIN")
        rb._conn = rb._open()   # both tills run, connected, before either has shipped this (as they stay)
        shipped = {}
        for name, r in (("a", ra), ("b", rb)):
            try:
                r.round()
                shipped[name] = True
            except StoreError:
                shipped[name] = False
        ra._close()
        rb._close()
    finally:
        ja.close()
        jb.close()
    assert not all(shipped.values()), "both journals shipped as one terminal: one must be refused"
    held = store_events(store, "T-TWIN")
    for name, folder in (("a", a), ("b", b)):
        lost = [e for e in journal_events(folder) if e not in held]
        assert not shipped[name] or not lost, (
            f"journal {name}'s round succeeded and its cursor moved, yet {len(lost)} of its events are not in the "
            f"store (dropped as resends of the other's): {lost[:3]}")


def test_a_nul_typed_into_a_description_does_not_stop_the_store_for_ever(sim, store, tmp_path):
    """PostgreSQL refuses NUL in text and \\u0000 in jsonb; SQLite keeps both. One sale whose description holds
    one (a scanner's control character, a paste) must not poison every batch after it."""
    store.register("S1", "T-NUL")
    config, sc = till(sim, store, tmp_path, "S1", "T-NUL")
    d = tmp_path / "nul"
    sell(config, d, description="coffee\x00")
    sell(config, d)
    try:
        ship_all(config, d, sc, "T-NUL")
    except Exception as exc:   # noqa: BLE001
        pytest.fail(f"the batch is refused for ever, every later sale with it: {type(exc).__name__}: {exc}")
    assert len(store_events(store, "T-NUL")) == len(journal_events(d))


def test_a_payment_code_typed_into_the_description_leaves_masked(sim, store, tmp_path):
    """A scanner with the focus on the description field types the customer's code there. The state's copy
    of the description leaves masked; the transactions.description column leaves as typed."""
    store.register("S1", "T-DESC")
    config, sc = till(sim, store, tmp_path, "S1", "T-DESC")
    d = tmp_path / "desc"
    leak = payment_code()
    sell(config, d, description=f"tea {leak}")
    ship_all(config, d, sc, "T-DESC")
    dump = store.value("SELECT string_agg(t::text, ' ') FROM pos_store.transactions t WHERE terminal_id = 'T-DESC'")
    assert leak[-4:] in dump
    assert leak not in dump, "a payment code left the terminal unmasked (transactions.description)"


@pytest.mark.parametrize("detail", ['{"message": "card\\u0000declined"}', '{"paymentStatus": NaN}',
                                    '{"ratio": Infinity}'])
def test_what_masked_lets_through_as_json_the_store_accepts_as_jsonb(store, detail):
    """``masked`` keeps text Python's json reads as JSON; PostgreSQL's jsonb is stricter (no \\u0000, no NaN or
    Infinity). A gateway's resultMessage or a notification field lands in an event's detail as the gateway sent
    it: one such answer would be refused by the store at every retry, and every batch after it with it."""
    from pos_app.store.replicator import masked

    out = masked(detail).replace("'", "''")
    try:
        store.value(f"SELECT '{out}'::jsonb")
    except Exception as exc:   # noqa: BLE001 (psql's refusal)
        pytest.fail(f"the store refuses {masked(detail)!r} as jsonb: {exc}")


def test_after_a_restore_the_old_till_still_running_is_fenced_off_not_the_new_one(sim, store, tmp_path):
    """The 'dead' till was only its screen: it still runs in the back office when its replacement is restored
    from the store. The restore must fence the old journal off (its next round refused); today the old one ships
    on, and the NEW till is refused for ever: its hint says `store restore`, which refuses a journal with history,
    so every sale the new till takes from then on never reaches the store."""
    from flowkit import cli, set_manager_pin

    store.register("S1", "T-FENCE")
    config, sc = till(sim, store, tmp_path, "S1", "T-FENCE")
    old, new = tmp_path / "fence-old", tmp_path / "fence-new"
    sell(config, old)
    ship_all(config, old, sc, "T-FENCE")
    set_manager_pin(new)
    done = cli("store", "restore", "--json", config=config, data_dir=new)
    assert done.returncode == 0, done.stderr
    sell(config, old)                     # the old till, not dead, goes on
    old_refused = None
    try:
        ship_all(config, old, sc, "T-FENCE")
    except StoreError as exc:
        old_refused = exc
    sell(config, new)                     # the replacement takes its first sale
    try:
        ship_all(config, new, sc, "T-FENCE")
    except StoreError as exc:
        again = cli("store", "restore", "--json", config=config, data_dir=new)
        pytest.fail(f"the restored till is refused ({exc.message}); old till refused: {old_refused is not None}; "
                    f"the hint's `store restore` then exits {again.returncode}: {again.stderr.strip()[:160]}")
    assert old_refused is not None, "the old journal still ships as this terminal after its replacement was restored"


def test_a_full_disk_under_the_tills_journal_is_said_as_such_and_the_batch_resent_once_it_has_room(
        sim, store, tmp_path, small_disk):
    """The store committed a batch but the till's disk is full, so the cursor cannot move: the shipper says the
    journal is the trouble (not 'the store does not answer'), and once there is room it sends the batch again,
    a no-op in the store: every event there exactly once."""
    import time

    from disks import fill, unlink_fillers
    from storekit import wait_for

    from offline_queue.journal import Journal

    store.register("S1", "T-FULL")
    config, sc = till(sim, store, tmp_path, "S1", "T-FULL")
    disk = small_disk("2m")
    d = disk / "till"
    sell(config, d, n=2)
    journal = Journal.open(d)
    rep = Replicator(journal, sc, "T-FULL", poll=0.05)
    try:
        fill(disk)
        rep.start()
        wait_for(lambda: rep.progress.error, timeout=30)
        assert "journal" in rep.progress.error and "does not answer" not in rep.progress.error, rep.progress.error
        assert store_events(store, "T-FULL") == journal_events(d), "the store has the batch the cursor missed"
        unlink_fillers(disk)
        wait_for(lambda: rep.progress.error is None and rep.progress.last_ok_at, timeout=30)
        time.sleep(0.3)
    finally:
        rep.stop()
        journal.close()
    assert journal_query(d, "SELECT shipped FROM replication WHERE name = 'store'")[0][0] == \
        journal_query(d, "SELECT max(seq) FROM outbound")[0][0]
    assert store_events(store, "T-FULL") == journal_events(d)
