"""The store's PostgreSQL: its schema as ordered migrations, and its roles with row-level security.

Why this shape: the database, not the terminal, decides what a terminal may write. Each terminal logs in
as its own role (a member of ``pos_terminal``), and every table's policies map ``current_user`` through
``pos_store.terminals.role_name`` to one (store, terminal): a terminal writes and reads only its own rows.
A store manager's role (a member of ``pos_store_manager_<store>``) reads its store, ``pos_head_office``
reads all; neither writes. events, audit and z_reports are the shipped history: a trigger refuses UPDATE,
DELETE and TRUNCATE for everyone, the owner included, as the terminal's SQLite journal does.

Day queries: events and transactions are indexed on (store_id, day), not partitioned by day, because the
idempotency key is (terminal_id, seq): PostgreSQL can only enforce a unique key on a partitioned table if
it contains the partition column, so day-partitioning would weaken the key that makes a resend a no-op.

Migrations only move forward, each in one transaction under an advisory lock (two terminals may migrate
at once); ``pos_store.schema_version`` records them. Never edit a shipped migration: append one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pos_app.errors import PosError
from pos_app.i18n import _

if TYPE_CHECKING:  # psycopg loads only on a terminal with [store]
    import psycopg

SCHEMA = "pos_store"
TERMINAL_GROUP = "pos_terminal"
MANAGER_GROUP = "pos_store_manager"
HEAD_OFFICE = "pos_head_office"
_LOCK = 0x706F7331   # pg_advisory_xact_lock key: one migrator at a time
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class StoreError(PosError):
    """The store's database refused, or is not the one this terminal knows."""


def _group(name: str) -> str:
    return f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN CREATE ROLE {name} NOLOGIN; END IF;
END $$;"""


_HISTORY = ("events", "audit", "z_reports")      # append-only
_LATEST = ("transactions", "heartbeats")         # upserted by the shipper
_OWN = ("(store_id, terminal_id) IN (SELECT t.store_id, t.terminal_id FROM pos_store.terminals t "
        "WHERE t.role_name = current_user)")
_MANAGED = ("store_id IN (SELECT m.store_id FROM pos_store.store_managers m "
            "WHERE m.role_name IN (SELECT r.rolname FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')))")


def _policies() -> str:
    out = []
    for table in _HISTORY + _LATEST:
        out.append(f"ALTER TABLE pos_store.{table} ENABLE ROW LEVEL SECURITY;")
        out.append(f"CREATE POLICY terminal_reads ON pos_store.{table} FOR SELECT TO {TERMINAL_GROUP} USING ({_OWN});")
        out.append(f"CREATE POLICY terminal_inserts ON pos_store.{table} FOR INSERT TO {TERMINAL_GROUP} "
                   f"WITH CHECK ({_OWN});")
        out.append(f"CREATE POLICY manager_reads ON pos_store.{table} FOR SELECT TO {MANAGER_GROUP} "
                   f"USING ({_MANAGED});")
        out.append(f"CREATE POLICY head_office_reads ON pos_store.{table} FOR SELECT TO {HEAD_OFFICE} USING (true);")
        privileges = "SELECT, INSERT" if table in _HISTORY else "SELECT, INSERT, UPDATE"
        out.append(f"GRANT {privileges} ON pos_store.{table} TO {TERMINAL_GROUP};")
        out.append(f"GRANT SELECT ON pos_store.{table} TO {MANAGER_GROUP}, {HEAD_OFFICE};")
    for table in _LATEST:
        out.append(f"CREATE POLICY terminal_updates ON pos_store.{table} FOR UPDATE TO {TERMINAL_GROUP} "
                   f"USING ({_OWN}) WITH CHECK ({_OWN});")
    for table in _HISTORY:
        out.append(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON pos_store.{table} "
                   "FOR EACH ROW EXECUTE FUNCTION pos_store.refuse_change();")
        out.append(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON pos_store.{table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pos_store.refuse_change();")
    return "\n".join(out)


_V1 = f"""
{_group(TERMINAL_GROUP)}
{_group(MANAGER_GROUP)}
{_group(HEAD_OFFICE)}
GRANT USAGE ON SCHEMA pos_store TO {TERMINAL_GROUP}, {MANAGER_GROUP}, {HEAD_OFFICE};

CREATE TABLE pos_store.terminals (
  store_id text NOT NULL, terminal_id text PRIMARY KEY, role_name name NOT NULL UNIQUE,
  registered_at timestamptz NOT NULL DEFAULT now(), UNIQUE (store_id, terminal_id));
CREATE TABLE pos_store.store_managers (
  role_name name PRIMARY KEY, store_id text NOT NULL UNIQUE);

CREATE TABLE pos_store.events (
  store_id text NOT NULL, terminal_id text NOT NULL, seq bigint NOT NULL, txn text, at timestamptz NOT NULL,
  day date NOT NULL, kind text NOT NULL, detail jsonb NOT NULL DEFAULT '{{}}',
  PRIMARY KEY (terminal_id, seq),
  FOREIGN KEY (store_id, terminal_id) REFERENCES pos_store.terminals (store_id, terminal_id));
CREATE INDEX events_store_day ON pos_store.events (store_id, day);

CREATE TABLE pos_store.transactions (
  store_id text NOT NULL, terminal_id text NOT NULL, id text NOT NULL, kind text NOT NULL, tender text,
  parent text, payment_id text, currency text NOT NULL, amount bigint NOT NULL, status text NOT NULL,
  day date NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, z_number integer,
  PRIMARY KEY (terminal_id, id),
  FOREIGN KEY (store_id, terminal_id) REFERENCES pos_store.terminals (store_id, terminal_id));
CREATE INDEX transactions_store_day ON pos_store.transactions (store_id, day);

CREATE TABLE pos_store.audit (
  store_id text NOT NULL, terminal_id text NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL,
  action text NOT NULL, txn text, asked_by text, approved_by text, detail jsonb NOT NULL DEFAULT '{{}}',
  PRIMARY KEY (terminal_id, seq),
  FOREIGN KEY (store_id, terminal_id) REFERENCES pos_store.terminals (store_id, terminal_id));
CREATE INDEX audit_store_at ON pos_store.audit (store_id, at);

CREATE TABLE pos_store.z_reports (
  store_id text NOT NULL, terminal_id text NOT NULL, number integer NOT NULL, day date NOT NULL,
  taken_at timestamptz NOT NULL, body jsonb NOT NULL, sha256 text NOT NULL,
  PRIMARY KEY (terminal_id, number),
  FOREIGN KEY (store_id, terminal_id) REFERENCES pos_store.terminals (store_id, terminal_id));
CREATE INDEX z_reports_store_day ON pos_store.z_reports (store_id, day);

CREATE TABLE pos_store.heartbeats (
  store_id text NOT NULL, terminal_id text PRIMARY KEY, at timestamptz NOT NULL, version text,
  queue_depth integer, oldest_age_s double precision, needs_review integer, selftest text,
  lag_s double precision, clock_offset_s double precision,
  FOREIGN KEY (store_id, terminal_id) REFERENCES pos_store.terminals (store_id, terminal_id));

CREATE FUNCTION pos_store.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pos_store.% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

ALTER TABLE pos_store.terminals ENABLE ROW LEVEL SECURITY;
CREATE POLICY terminal_reads ON pos_store.terminals FOR SELECT TO {TERMINAL_GROUP} USING (role_name = current_user);
CREATE POLICY manager_reads ON pos_store.terminals FOR SELECT TO {MANAGER_GROUP} USING ({_MANAGED});
CREATE POLICY head_office_reads ON pos_store.terminals FOR SELECT TO {HEAD_OFFICE} USING (true);
GRANT SELECT ON pos_store.terminals TO {TERMINAL_GROUP}, {MANAGER_GROUP}, {HEAD_OFFICE};

ALTER TABLE pos_store.store_managers ENABLE ROW LEVEL SECURITY;
CREATE POLICY manager_reads ON pos_store.store_managers FOR SELECT TO {MANAGER_GROUP}
  USING (role_name IN (SELECT r.rolname FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')));
CREATE POLICY head_office_reads ON pos_store.store_managers FOR SELECT TO {HEAD_OFFICE} USING (true);
GRANT SELECT ON pos_store.store_managers TO {MANAGER_GROUP}, {HEAD_OFFICE};

ALTER TABLE pos_store.schema_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON pos_store.schema_version FOR SELECT
  TO {TERMINAL_GROUP}, {MANAGER_GROUP}, {HEAD_OFFICE} USING (true);
GRANT SELECT ON pos_store.schema_version TO {TERMINAL_GROUP}, {MANAGER_GROUP}, {HEAD_OFFICE};
{_policies()}
"""

# v2: what the store's reports and a disk swap need of a transaction (the terminal's own report rule reads
# these columns; ``state`` is the machine's state with payment codes masked), the Z's signer and chain link,
# the event's own number in the journal and when the store received it (the lag), the shipper's cursor in
# the heartbeat, and the store's own closings (a store manager's, append-only).
_V2 = f"""
ALTER TABLE pos_store.transactions ADD COLUMN phase text, ADD COLUMN result_code text, ADD COLUMN message text,
  ADD COLUMN description text, ADD COLUMN code_masked text, ADD COLUMN final boolean NOT NULL DEFAULT false,
  ADD COLUMN state jsonb NOT NULL DEFAULT '{{}}', ADD COLUMN unmatched boolean;
CREATE INDEX transactions_parent ON pos_store.transactions (terminal_id, parent) WHERE parent IS NOT NULL;
CREATE INDEX transactions_open ON pos_store.transactions (store_id) WHERE NOT final;
ALTER TABLE pos_store.events ADD COLUMN txn_seq bigint,
  ADD COLUMN received_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE pos_store.audit ADD COLUMN received_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE pos_store.z_reports ADD COLUMN taken_by text, ADD COLUMN prev_sha256 text;
ALTER TABLE pos_store.heartbeats ADD COLUMN shipped bigint, ADD COLUMN backlog bigint,
  ADD COLUMN selftest_at timestamptz, ADD COLUMN open_count integer, ADD COLUMN detail jsonb NOT NULL DEFAULT '{{}}';

CREATE TABLE pos_store.store_closings (
  store_id text NOT NULL, day date NOT NULL, closed_at timestamptz NOT NULL DEFAULT now(),
  closed_by name NOT NULL DEFAULT current_user, body jsonb NOT NULL, sha256 text NOT NULL,
  PRIMARY KEY (store_id, day));
ALTER TABLE pos_store.store_closings ENABLE ROW LEVEL SECURITY;
CREATE POLICY manager_reads ON pos_store.store_closings FOR SELECT TO {MANAGER_GROUP} USING ({_MANAGED});
CREATE POLICY manager_inserts ON pos_store.store_closings FOR INSERT TO {MANAGER_GROUP} WITH CHECK ({_MANAGED});
CREATE POLICY head_office_reads ON pos_store.store_closings FOR SELECT TO {HEAD_OFFICE} USING (true);
GRANT SELECT, INSERT ON pos_store.store_closings TO {MANAGER_GROUP};
GRANT SELECT ON pos_store.store_closings TO {HEAD_OFFICE};
CREATE TRIGGER store_closings_append_only BEFORE UPDATE OR DELETE ON pos_store.store_closings
  FOR EACH ROW EXECUTE FUNCTION pos_store.refuse_change();
"""

# v3: a terminal taken out of service (its rows stay; it no longer holds a closing back), the indexes the store's
# X and closing read through (what no Z covers yet; the rows of one Z), and a closing signed by the login that
# wrote it: closed_by and closed_at were defaults a manager's INSERT could override with another name and time.
_V3 = """
ALTER TABLE pos_store.terminals ADD COLUMN retired_at timestamptz;
CREATE INDEX transactions_uncovered ON pos_store.transactions (store_id, terminal_id) WHERE z_number IS NULL;
CREATE INDEX transactions_z ON pos_store.transactions (terminal_id, z_number) WHERE z_number IS NOT NULL;
CREATE FUNCTION pos_store.sign_closing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.closed_by IS DISTINCT FROM current_user OR NEW.closed_at IS DISTINCT FROM now() THEN
    RAISE EXCEPTION 'pos_store.store_closings is signed by the login writing it, now: % at % refused',
      NEW.closed_by, NEW.closed_at USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER store_closings_signed BEFORE INSERT ON pos_store.store_closings
  FOR EACH ROW EXECUTE FUNCTION pos_store.sign_closing();
"""

# v4: which journal ships as each terminal (a restore onto a new disk claims it; the old disk is fenced off).
# A terminal may set only that column of its own row.
_V4 = f"""
ALTER TABLE pos_store.terminals ADD COLUMN journal_id text;
GRANT UPDATE (journal_id) ON pos_store.terminals TO {TERMINAL_GROUP};
CREATE POLICY terminal_claims ON pos_store.terminals FOR UPDATE TO {TERMINAL_GROUP}
  USING (role_name = current_user) WITH CHECK (role_name = current_user);
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("roles, tables, row-level security, append-only history", _V1),
    ("report columns, Z links, heartbeat cursor, store closings", _V2),
    ("retired terminals, indexes for the store X and closing, closings signed by their login", _V3),
    ("the journal that ships as each terminal", _V4),
]
VERSION = len(MIGRATIONS)


def _found(conn: psycopg.Connection) -> int:
    # pg_tables under this statement's snapshot, not to_regclass: its catalog cache may not yet have seen a
    # racing migrator's commit (an advisory lock processes no invalidations), which made it run v1 twice.
    exists = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'pos_store' "
                          "AND tablename = 'schema_version')").fetchone()
    if not (exists and exists[0]):
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM pos_store.schema_version").fetchone()
    return int(found[0]) if found else 0


def _refuse_newer(found: int) -> None:
    if found > VERSION:
        raise StoreError(
            _("the store's database is at schema version {found}, newer than this pos-terminal knows ({known})")
            .format(found=found, known=VERSION),
            hint=_("update this pos-terminal to the version the other terminals run"))


def migrate(conn: psycopg.Connection) -> tuple[int, int]:
    """Bring the store's schema to :data:`VERSION`, one transaction per migration; return (from, to).

    Run by the database's owner (it creates the group roles, so it needs CREATEROLE), on an autocommit
    connection (else each step is only a savepoint of the caller's transaction). A second run, or one racing
    another, is a no-op; a database newer than this code is refused in words, and left as it is.
    """
    with conn.transaction():
        start = _found(conn)
    _refuse_newer(start)
    for number in range(start, VERSION):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            found = _found(conn)   # another migrator may have got here first
            _refuse_newer(found)
            if found > number:
                continue
            if number == 0:
                conn.execute("CREATE SCHEMA IF NOT EXISTS pos_store")
                conn.execute("CREATE TABLE pos_store.schema_version (version integer PRIMARY KEY, "
                             "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            name, body = MIGRATIONS[number]
            conn.execute(body)
            conn.execute("INSERT INTO pos_store.schema_version (version, name) VALUES (%s, %s)", (number + 1, name))
    with conn.transaction():
        return start, _found(conn)


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise StoreError(_("{what} {value!r} is not usable: use 1 to 40 letters, digits, '.', '_' or '-'")
                         .format(what=what, value=value))


def role_for(kind: str, value: str) -> str:
    """The role name for a terminal or a store: lower-case, [a-z0-9_], within PostgreSQL's 63 bytes."""
    return f"pos_{kind}_" + re.sub(r"[^a-z0-9]", "_", value.lower())


def _ensure_login(conn: psycopg.Connection, role: str, password: str | None) -> None:
    from psycopg import sql

    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    if password is None:
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN").format(sql.Identifier(role)))
    else:   # DDL takes no bound parameters: a quoted literal
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def register_terminal(conn: psycopg.Connection, store_id: str, terminal_id: str,
                      password: str | None = None) -> str:
    """Give a terminal its own LOGIN role (a member of ``pos_terminal``) and record it; return the role.

    Without a password the role logs in only as the server's pg_hba allows (client certificates).
    Registering the same terminal again sets its password; claiming it for another store is refused.
    """
    from psycopg import sql

    _check_id(_("store id"), store_id)
    _check_id(_("terminal id"), terminal_id)
    role = role_for("terminal", terminal_id)
    with conn.transaction():
        row = conn.execute("SELECT store_id, role_name FROM pos_store.terminals WHERE terminal_id = %s",
                           (terminal_id,)).fetchone()
        if row and row[0] != store_id:
            raise StoreError(_("terminal {terminal} is already registered for store {store}")
                             .format(terminal=terminal_id, store=row[0]),
                             hint=_("give this terminal its own terminal id"))
        taken = conn.execute("SELECT terminal_id FROM pos_store.terminals WHERE role_name = %s AND terminal_id <> %s",
                             (role, terminal_id)).fetchone()
        if taken:
            raise StoreError(_("terminal ids {one} and {other} share the role {role}")
                             .format(one=terminal_id, other=taken[0], role=role),
                             hint=_("give this terminal an id that differs in more than case or punctuation"))
        _ensure_login(conn, role, password)
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(TERMINAL_GROUP), sql.Identifier(role)))
        if not row:
            conn.execute("INSERT INTO pos_store.terminals (store_id, terminal_id, role_name) VALUES (%s, %s, %s)",
                         (store_id, terminal_id, role))
    return role


def retire_terminal(conn: psycopg.Connection, terminal_id: str) -> str:
    """Take a terminal out of service (switched off for good, or replaced by another id); return its role.

    Its rows stay and still count in every report; from ``retired_at`` on it no longer holds a store closing
    back (a day it was retired before ended is not waited for), and its login may no longer log in (NOLOGIN:
    a till still running with it is refused at its next connection). Retiring it again keeps the first time.
    """
    from psycopg import sql

    _check_id(_("terminal id"), terminal_id)
    with conn.transaction():
        row = conn.execute("UPDATE pos_store.terminals SET retired_at = coalesce(retired_at, now()) "
                           "WHERE terminal_id = %s RETURNING role_name", (terminal_id,)).fetchone()
        if row is None:
            raise StoreError(_("terminal {terminal} is not registered in the store's database").format(
                terminal=terminal_id), hint=_("check the terminal id (pos-terminal store terminals lists them)"))
        role = str(row[0])
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
    return role


def add_store_manager(conn: psycopg.Connection, store_id: str, role: str, password: str | None = None) -> str:
    """Let ``role`` (a person's login role; made if missing) read store ``store_id``; return the store's group.

    The store's group ``pos_store_manager_<store>`` is a member of ``pos_store_manager`` (which the
    policies name) and is recorded in ``pos_store.store_managers`` (which says which store it reads).
    """
    from psycopg import sql

    _check_id(_("store id"), store_id)
    group = role_for("store_manager", store_id)
    with conn.transaction():
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (group,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(MANAGER_GROUP), sql.Identifier(group)))
        conn.execute("INSERT INTO pos_store.store_managers (role_name, store_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING", (group, store_id))
        _ensure_login(conn, role, password)
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role)))
    return group


def add_head_office(conn: psycopg.Connection, role: str, password: str | None = None) -> str:
    """Let ``role`` (a login role; made if missing) read every store: a member of ``pos_head_office``."""
    from psycopg import sql

    with conn.transaction():
        _ensure_login(conn, role, password)
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(HEAD_OFFICE), sql.Identifier(role)))
    return HEAD_OFFICE
