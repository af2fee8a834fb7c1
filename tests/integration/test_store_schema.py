"""The store's PostgreSQL schema (issue 17, part 3) on a real server: its migrations, and its row-level
security proven by real SQL run as each role, logged in with its own password over 127.0.0.1. What a role
sees is read back as the superuser's raw rows through the server's own psql, not through the code under test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from pgkit import Cluster, PostgresMissing, bindir

from pos_app.vocabulary import FAILED, SUCCESS

pytestmark = pytest.mark.slow

OWNER, OWNER_PW = "store_owner", "owner-pw"


@pytest.fixture(scope="module")
def cluster():
    try:
        bindir()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="pos-pg-"))   # not under pytest's root-only tmp: the server's user reads it
    try:
        with Cluster(folder) as pg:
            # The store's database belongs to an ordinary role that may create roles, not to a superuser:
            # a superuser would pass every policy, so the owner's reach is proven too.
            pg.psql(f"CREATE ROLE {OWNER} LOGIN CREATEROLE PASSWORD '{OWNER_PW}'")
            pg.psql(f"CREATE DATABASE store OWNER {OWNER}")
            yield pg
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def connect(cluster, user, password):
    import psycopg

    return psycopg.connect(cluster.url(user, "store", password), autocommit=True, connect_timeout=10)


@pytest.fixture(scope="module")
def store(cluster):
    """Migrated; terminals T1, T2 of store S1 and T3 of S2; a manager for each store; a head office."""
    from pos_app.store import schema

    with connect(cluster, OWNER, OWNER_PW) as conn:
        assert schema.migrate(conn) == (0, schema.VERSION)
        for store_id, terminal in (("S1", "T1"), ("S1", "T2"), ("S2", "T3")):
            schema.register_terminal(conn, store_id, terminal, password=f"pw-{terminal}")
        schema.add_store_manager(conn, "S1", "alice", password="pw-alice")
        schema.add_store_manager(conn, "S2", "bob", password="pw-bob")
        schema.add_head_office(conn, "hq", password="pw-hq")
    rows = {"T1": "S1", "T2": "S1", "T3": "S2"}
    for terminal, store_id in rows.items():
        with connect(cluster, f"pos_terminal_{terminal.lower()}", f"pw-{terminal}") as conn:
            insert_event(conn, store_id, terminal, 1)
            insert_event(conn, store_id, terminal, 2)
            conn.execute("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, currency, amount, "
                         "status, day, created_at, updated_at) VALUES (%s, %s, %s, 'sale', 'USD', 1234, %s, "
                         "'2026-12-06', now(), now())", (store_id, terminal, f"{terminal}-sale-1", SUCCESS))
    return cluster


def insert_event(conn, store_id, terminal, seq, detail='{"n": 1}'):
    return conn.execute(
        "INSERT INTO pos_store.events (store_id, terminal_id, seq, txn, at, day, kind, detail) "
        "VALUES (%s, %s, %s, 'x', now(), '2026-12-06', 'state', %s) ON CONFLICT (terminal_id, seq) DO NOTHING",
        (store_id, terminal, seq, detail)).rowcount


def raw(cluster, sql):
    return cluster.psql(sql, dbname="store").strip()


def test_migrate_again_is_a_no_op_and_a_newer_database_is_refused_in_words(store):
    from pos_app.store import schema

    with connect(store, OWNER, OWNER_PW) as conn:
        assert schema.migrate(conn) == (schema.VERSION, schema.VERSION)
    assert (raw(store, "SELECT count(*), max(version) FROM pos_store.schema_version")
            == f"{schema.VERSION}|{schema.VERSION}")
    raw(store, f"INSERT INTO pos_store.schema_version (version, name) VALUES ({schema.VERSION + 1}, 'future')")
    try:
        with connect(store, OWNER, OWNER_PW) as conn, pytest.raises(schema.StoreError, match="newer than"):
            schema.migrate(conn)
    finally:
        raw(store, f"DELETE FROM pos_store.schema_version WHERE version = {schema.VERSION + 1}")


def test_two_terminals_migrating_a_new_database_at_once_apply_each_step_once(store):
    from concurrent.futures import ThreadPoolExecutor

    from pos_app.store import schema

    store.psql(f"CREATE DATABASE racing OWNER {OWNER}")

    def run(_):
        import psycopg

        with psycopg.connect(store.url(OWNER, "racing", OWNER_PW), autocommit=True, connect_timeout=10) as conn:
            return schema.migrate(conn)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    assert all(result[1] == schema.VERSION for result in results), results
    assert store.psql("SELECT count(*), max(version) FROM pos_store.schema_version", dbname="racing").strip() \
        == f"{schema.VERSION}|{schema.VERSION}"


def test_a_terminal_writes_and_reads_only_its_own_rows(store):
    import psycopg

    with connect(store, "pos_terminal_t1", "pw-T1") as conn:
        assert conn.execute("SELECT DISTINCT terminal_id FROM pos_store.events").fetchall() == [("T1",)]
        assert conn.execute("SELECT terminal_id FROM pos_store.transactions").fetchall() == [("T1",)]
        assert conn.execute("SELECT terminal_id FROM pos_store.terminals").fetchall() == [("T1",)]
        assert insert_event(conn, "S1", "T1", 3) == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            insert_event(conn, "S1", "T2", 99)                  # claiming another terminal
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            insert_event(conn, "S2", "T1", 98)                  # its own id under another store
        # Another terminal's latest state cannot be touched, nor its own handed to another.
        assert conn.execute("UPDATE pos_store.transactions SET status = %s WHERE terminal_id = 'T2'",
                            (FAILED,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE pos_store.transactions SET terminal_id = 'T2' WHERE terminal_id = 'T1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO pos_store.terminals (store_id, terminal_id, role_name) "
                         "VALUES ('S1', 'T9', 'pos_terminal_t1')")
    assert raw(store, "SELECT terminal_id, seq FROM pos_store.events ORDER BY 1, 2") == \
        "T1|1\nT1|2\nT1|3\nT2|1\nT2|2\nT3|1\nT3|2"
    assert raw(store, "SELECT status FROM pos_store.transactions WHERE terminal_id = 'T2'") == SUCCESS


def test_a_terminal_upserts_its_latest_state_and_heartbeat(store):
    """The shipper's upserts (transactions, heartbeats) pass the terminal's UPDATE policy on its own rows."""
    with connect(store, "pos_terminal_t3", "pw-T3") as conn:
        conn.execute("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, currency, amount, status, "
                     "day, created_at, updated_at) VALUES ('S2', 'T3', 'T3-sale-1', 'sale', 'USD', 1234, %s, "
                     "'2026-12-06', now(), now()) ON CONFLICT (terminal_id, id) DO UPDATE SET status = "
                     "excluded.status, updated_at = excluded.updated_at", (FAILED,))
        for depth in (3, 5):
            conn.execute("INSERT INTO pos_store.heartbeats (store_id, terminal_id, at, version, queue_depth) "
                         "VALUES ('S2', 'T3', now(), '1.0', %s) ON CONFLICT (terminal_id) DO UPDATE SET "
                         "at = excluded.at, queue_depth = excluded.queue_depth", (depth,))
    assert raw(store, "SELECT status FROM pos_store.transactions WHERE id = 'T3-sale-1'") == FAILED
    assert raw(store, "SELECT terminal_id, queue_depth FROM pos_store.heartbeats") == "T3|5"


def test_a_migration_that_fails_leaves_the_previous_version_whole(store, monkeypatch):
    import psycopg

    from pos_app.store import schema

    store.psql(f"CREATE DATABASE broken OWNER {OWNER}")
    broken = ("half a migration", "CREATE TABLE pos_store.half (x int); SELECT 1 / 0;")
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    monkeypatch.setattr(schema, "VERSION", len(schema.MIGRATIONS))
    with psycopg.connect(store.url(OWNER, "broken", OWNER_PW), autocommit=True, connect_timeout=10) as conn, \
            pytest.raises(psycopg.errors.DivisionByZero):
        schema.migrate(conn)
    assert store.psql("SELECT max(version), to_regclass('pos_store.half') IS NULL FROM pos_store.schema_version",
                      dbname="broken").strip() == f"{schema.VERSION - 1}|t"


def test_a_resend_of_the_same_key_changes_nothing(store):
    before = raw(store, "SELECT detail::text FROM pos_store.events WHERE terminal_id = 'T1' AND seq = 1")
    with connect(store, "pos_terminal_t1", "pw-T1") as conn:
        assert insert_event(conn, "S1", "T1", 1, detail='{"n": 2}') == 0
    assert raw(store, "SELECT count(*), min(detail::text) FROM pos_store.events WHERE terminal_id = 'T1' AND seq = 1") \
        == f"1|{before}"


def test_a_store_manager_reads_its_store_only_and_writes_nothing(store):
    import psycopg

    with connect(store, "alice", "pw-alice") as conn:
        assert {r[0] for r in conn.execute("SELECT terminal_id FROM pos_store.events")} == {"T1", "T2"}
        assert {r[0] for r in conn.execute("SELECT store_id FROM pos_store.transactions")} == {"S1"}
        assert {r[0] for r in conn.execute("SELECT terminal_id FROM pos_store.terminals")} == {"T1", "T2"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            insert_event(conn, "S1", "T1", 50)
    with connect(store, "bob", "pw-bob") as conn:
        assert {r[0] for r in conn.execute("SELECT terminal_id FROM pos_store.events")} == {"T3"}


def test_head_office_reads_every_store_and_writes_nothing(store):
    import psycopg

    with connect(store, "hq", "pw-hq") as conn:
        seen = conn.execute("SELECT count(*) FROM pos_store.events").fetchone()[0]
        assert seen == int(raw(store, "SELECT count(*) FROM pos_store.events"))
        assert {r[0] for r in conn.execute("SELECT store_id FROM pos_store.transactions")} == {"S1", "S2"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            insert_event(conn, "S2", "T3", 50)


@pytest.mark.parametrize("table", ["events", "audit", "z_reports"])
def test_the_shipped_history_is_append_only_for_everyone_even_its_owner(store, table):
    import psycopg

    raw(store, "INSERT INTO pos_store.audit (store_id, terminal_id, seq, at, action) "
               "VALUES ('S1', 'T1', 1, now(), 'refund') ON CONFLICT DO NOTHING")
    raw(store, "INSERT INTO pos_store.z_reports (store_id, terminal_id, number, day, taken_at, body, sha256) "
               "VALUES ('S1', 'T1', 1, '2026-12-06', now(), '{}', 'ab') ON CONFLICT DO NOTHING")
    before = raw(store, f"SELECT count(*) FROM pos_store.{table}")
    for user, password in (("pos_terminal_t1", "pw-T1"), ("alice", "pw-alice"), ("hq", "pw-hq"),
                           (OWNER, OWNER_PW)):
        with connect(store, user, password) as conn:
            for statement in (f"UPDATE pos_store.{table} SET store_id = store_id",
                              f"DELETE FROM pos_store.{table}", f"TRUNCATE pos_store.{table}"):
                # Others lack the privilege; the owner, who has it and passes every policy, meets the trigger.
                with pytest.raises(psycopg.errors.InsufficientPrivilege,
                                   match="append-only" if user == OWNER else "permission denied"):
                    conn.execute(statement)
    with pytest.raises(RuntimeError, match="append-only"):   # the superuser too
        raw(store, f"DELETE FROM pos_store.{table}")
    assert raw(store, f"SELECT count(*) FROM pos_store.{table}") == before


def test_a_stores_day_reads_through_the_store_day_index(store):
    """A chain-sized events table: the day of one store is an index read, not a scan (the planner's own
    choice on analysed rows, no timing)."""
    raw(store, "INSERT INTO pos_store.terminals (store_id, terminal_id, role_name) "
               "SELECT 'C' || s, 'C' || s || '-1', 'pos_terminal_c' || s || '_1' FROM generate_series(1, 200) s")
    raw(store, "INSERT INTO pos_store.events (store_id, terminal_id, seq, at, day, kind) "
               "SELECT 'C' || (i % 200 + 1), 'C' || (i % 200 + 1) || '-1', i, now(), "
               "date '2026-01-01' + (i / 2000), 'state' FROM generate_series(1, 60000) i")
    raw(store, "ANALYZE pos_store.events")
    from pos_app.store import schema

    with connect(store, OWNER, OWNER_PW) as conn:
        schema.add_store_manager(conn, "C7", "carol", password="pw-carol")
    for user, password in (("hq", "pw-hq"), ("carol", "pw-carol")):   # with and without a store policy
        with connect(store, user, password) as conn:
            query = "SELECT count(*) FROM pos_store.events WHERE store_id = 'C7' AND day = '2026-01-05'"
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query))
            assert "events_store_day" in plan, (user, plan)
            assert conn.execute(query).fetchone()[0] == 10


def closing(conn, store_id, day="2026-12-06"):
    return conn.execute("INSERT INTO pos_store.store_closings (store_id, day, body, sha256) VALUES (%s, %s, %s, 'ab')",
                        (store_id, day, '{"net": 1}')).rowcount


def test_a_store_manager_closes_its_own_store_once_and_only_its_own(store):
    """store_closings (v2): a manager inserts its store's closing, never another store's; nobody changes one."""
    import psycopg

    with connect(store, "alice", "pw-alice") as conn:
        assert closing(conn, "S1") == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            closing(conn, "S2")
        for statement in ("UPDATE pos_store.store_closings SET sha256 = 'cd'", "DELETE FROM pos_store.store_closings"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.UniqueViolation):   # one closing per store and day
            closing(conn, "S1")
    with connect(store, "bob", "pw-bob") as conn:
        assert closing(conn, "S2") == 1
        assert conn.execute("SELECT store_id FROM pos_store.store_closings").fetchall() == [("S2",)]
    with connect(store, "hq", "pw-hq") as conn:
        assert sorted(conn.execute("SELECT store_id, closed_by FROM pos_store.store_closings")) == [
            ("S1", "alice"), ("S2", "bob")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            closing(conn, "S1", "2026-12-07")
    assert raw(store, "SELECT store_id, day, closed_by, sha256 FROM pos_store.store_closings ORDER BY 1") == \
        "S1|2026-12-06|alice|ab\nS2|2026-12-06|bob|ab"


def test_a_terminal_neither_reads_nor_writes_store_closings(store):
    import psycopg

    with connect(store, "pos_terminal_t1", "pw-T1") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("SELECT * FROM pos_store.store_closings")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            closing(conn, "S1", "2026-12-08")
    assert raw(store, "SELECT count(*) FROM pos_store.store_closings WHERE day = '2026-12-08'") == "0"


def test_a_terminal_cannot_read_or_upsert_another_terminals_latest_rows(store):
    """The shipper's upsert path (ON CONFLICT DO UPDATE) claiming another terminal of the same store is refused,
    and that terminal's heartbeat, transactions and events stay unread and unchanged."""
    import psycopg

    with connect(store, "pos_terminal_t2", "pw-T2") as conn:
        conn.execute("INSERT INTO pos_store.heartbeats (store_id, terminal_id, at, version, queue_depth) "
                     "VALUES ('S1', 'T2', now(), '2.0', 7) ON CONFLICT (terminal_id) DO UPDATE SET "
                     "queue_depth = excluded.queue_depth")
    before = {table: raw(store, f"SELECT * FROM pos_store.{table} WHERE terminal_id = 'T2' ORDER BY 1, 2, 3")
              for table in ("heartbeats", "transactions", "events")}
    with connect(store, "pos_terminal_t1", "pw-T1") as conn:
        for table in ("heartbeats", "transactions", "events"):
            assert conn.execute(f"SELECT count(*) FROM pos_store.{table} WHERE terminal_id <> 'T1'").fetchone() \
                == (0,), table
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO pos_store.heartbeats (store_id, terminal_id, at, version, queue_depth) "
                         "VALUES ('S1', 'T2', now(), '6.6', 0) ON CONFLICT (terminal_id) DO UPDATE SET "
                         "version = excluded.version, queue_depth = excluded.queue_depth")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, currency, amount, "
                         "status, day, created_at, updated_at) VALUES ('S1', 'T2', 'T2-sale-1', 'sale', 'USD', 1, "
                         "%s, '2026-12-06', now(), now()) ON CONFLICT (terminal_id, id) DO UPDATE SET "
                         "status = excluded.status, amount = excluded.amount", (FAILED,))
    for table, rows in before.items():
        assert raw(store, f"SELECT * FROM pos_store.{table} WHERE terminal_id = 'T2' ORDER BY 1, 2, 3") == rows, table
    assert raw(store, "SELECT version, queue_depth FROM pos_store.heartbeats WHERE terminal_id = 'T2'") == "2.0|7"


def test_the_tills_shipper_logged_in_as_one_terminal_cannot_ship_rows_claiming_another(store):
    """pos_app.store.replicator.ship on T1's connection with terminal id T2: the store refuses the whole batch."""
    import psycopg

    from offline_queue.outbound import Batch
    from pos_app.store import replicator

    at = 1_796_000_000.0
    batch = Batch(after=0, upto=1, count=2, oldest_at=at,
                  events=[{"oseq": 500, "txn": "T2-forged", "seq": 1, "at": at, "kind": "created", "detail": "{}"}],
                  transactions=[{"id": "T2-sale-1", "kind": "sale", "tender": "payment_code", "parent": None,
                                 "payment_id": None, "currency": "USD", "amount": 1, "status": FAILED,
                                 "phase": "FAILED", "result_code": None, "message": None, "description": None,
                                 "code_masked": None, "state": "{}", "final": 1, "created_at": at, "updated_at": at,
                                 "day": "2026-12-06", "z_number": None, "unmatched": None}])
    before = raw(store, "SELECT (SELECT count(*) FROM pos_store.events), "
                        "(SELECT status FROM pos_store.transactions WHERE id = 'T2-sale-1')")
    conn = psycopg.connect(store.url("pos_terminal_t1", "store", "pw-T1"), connect_timeout=10)
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            replicator.ship(conn, batch, "S1", "T2")
        conn.rollback()
        replicator.ship(conn, Batch(after=0, upto=1, count=1, oldest_at=at, events=batch.events), "S1", "T1")
    finally:
        conn.close()
    assert raw(store, "SELECT (SELECT count(*) FROM pos_store.events), "
                      "(SELECT status FROM pos_store.transactions WHERE id = 'T2-sale-1')") == \
        f"{int(before.split('|')[0]) + 1}|{SUCCESS}"
    assert raw(store, "SELECT terminal_id, seq, txn FROM pos_store.events WHERE txn = 'T2-forged'") == \
        "T1|500|T2-forged"


def test_a_closing_is_signed_by_the_login_that_writes_it(store):
    """v3: closed_by and closed_at were defaults a manager's INSERT could set to another person and another time;
    now such a closing is refused, and one left to the defaults is signed by its login, now."""
    import psycopg

    with connect(store, "alice", "pw-alice") as conn:
        for forged in ("closed_by, body, sha256) VALUES ('S1', '2026-12-10', 'hq', '{}', 'ab')",
                       "closed_at, body, sha256) VALUES ('S1', '2026-12-10', '2020-01-01', '{}', 'ab')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="signed by the login"):
                conn.execute("INSERT INTO pos_store.store_closings (store_id, day, " + forged)
        assert closing(conn, "S1", "2026-12-11") == 1
    assert raw(store, "SELECT day, closed_by, closed_at > now() - interval '1 minute' FROM pos_store.store_closings "
                      "WHERE store_id = 'S1' AND day >= '2026-12-10' ORDER BY day") == "2026-12-11|alice|t"


def test_a_retired_terminal_keeps_its_rows_and_may_no_longer_log_in(store):
    """v3: retire_terminal marks it (retired_at, kept from the first time) and takes its login's LOGIN away;
    its rows stay; an unknown terminal is refused in words."""
    import psycopg

    from pos_app.store import schema

    with connect(store, OWNER, OWNER_PW) as conn:
        schema.register_terminal(conn, "S1", "T9", password="pw-T9")
    with connect(store, "pos_terminal_t9", "pw-T9") as conn:
        insert_event(conn, "S1", "T9", 1)
    with connect(store, OWNER, OWNER_PW) as conn:
        assert schema.retire_terminal(conn, "T9") == "pos_terminal_t9"
        first = raw(store, "SELECT retired_at FROM pos_store.terminals WHERE terminal_id = 'T9'")
        schema.retire_terminal(conn, "T9")
        with pytest.raises(schema.StoreError, match="not registered"):
            schema.retire_terminal(conn, "T404")
    assert first and raw(store, "SELECT retired_at FROM pos_store.terminals WHERE terminal_id = 'T9'") == first
    assert raw(store, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pos_terminal_t9'") == "f"
    assert raw(store, "SELECT count(*) FROM pos_store.events WHERE terminal_id = 'T9'") == "1"
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        connect(store, "pos_terminal_t9", "pw-T9")


def test_a_terminal_may_claim_only_its_own_rows_journal_and_change_nothing_else_of_it(store):
    """v4: the journal a terminal ships from is set by that terminal's login on its own row, and only that column:
    not another terminal's claim, not its own store or role (read back as the superuser)."""
    import psycopg

    with connect(store, "pos_terminal_t1", "pw-T1") as conn:
        conn.execute("UPDATE pos_store.terminals SET journal_id = 'j-t1' WHERE role_name = current_user")
        assert conn.execute("UPDATE pos_store.terminals SET journal_id = 'stolen' "
                            "WHERE terminal_id = 'T2'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE pos_store.terminals SET store_id = 'S2' WHERE role_name = current_user")
    with connect(store, "alice", "pw-alice") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE pos_store.terminals SET journal_id = 'manager' WHERE terminal_id = 'T1'")
    assert raw(store, "SELECT terminal_id || ':' || coalesce(journal_id, '-') || ':' || store_id "
                      "FROM pos_store.terminals WHERE terminal_id IN ('T1', 'T2') ORDER BY 1") == "T1:j-t1:S1\nT2:-:S1"


def test_a_terminal_id_is_one_stores_and_names_only_usable_roles(store):
    from pos_app.store import schema

    with connect(store, OWNER, OWNER_PW) as conn:
        with pytest.raises(schema.StoreError, match="already registered for store S1"):
            schema.register_terminal(conn, "S2", "T1")
        with pytest.raises(schema.StoreError, match="share the role"):
            schema.register_terminal(conn, "S1", "t1")
        with pytest.raises(schema.StoreError, match="not usable"):
            schema.register_terminal(conn, "S1", "T1; DROP TABLE x")
        assert schema.register_terminal(conn, "S1", "T1", password="pw-T1-new") == "pos_terminal_t1"
    with connect(store, "pos_terminal_t1", "pw-T1-new") as conn:
        assert conn.execute("SELECT terminal_id FROM pos_store.terminals").fetchall() == [("T1",)]
