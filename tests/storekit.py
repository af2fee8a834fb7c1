"""A store for tests (issue 17): a real PostgreSQL cluster, its database migrated by an ordinary owner role,
terminals registered with their own logins, and terminal.toml files whose [store] reaches it through a
passfile (never a password in the TOML). What the store holds is read back with the server's own ``psql``
as the superuser (:meth:`Store.rows`), not through the code under test."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import tomli_w
from pgkit import Cluster, PostgresMissing, bindir

OWNER, OWNER_PW = "store_owner", "owner-pw"
DB = "store"


class Store:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def owner(self):
        import psycopg

        return psycopg.connect(self.cluster.url(OWNER, DB, OWNER_PW), autocommit=True, connect_timeout=10)

    def register(self, store_id: str, terminal_id: str) -> str:
        """A terminal's login (password ``pw-<terminal>``); returns the role."""
        from pos_app.store import schema

        with self.owner() as conn:
            return schema.register_terminal(conn, store_id, terminal_id, password=f"pw-{terminal_id}")

    def manager(self, store_id: str, role: str) -> str:
        from pos_app.store import schema

        with self.owner() as conn:
            return schema.add_store_manager(conn, store_id, role, password=f"pw-{role}")

    def passfile(self, folder: Path, role: str, password: str) -> Path:
        path = folder / f"{role}.pgpass"
        path.write_text(f"127.0.0.1:{self.cluster.port}:{DB}:{role}:{password}\n")
        os.chmod(path, 0o600)
        return path

    def section(self, folder: Path, store_id: str, terminal_id: str, **extra) -> dict:
        """The [store] table of a till registered as ``terminal_id``."""
        from pos_app.store.schema import role_for

        role = role_for("terminal", terminal_id)
        passfile = self.passfile(folder, role, f"pw-{terminal_id}")
        return {"database": f"postgresql://{role}@127.0.0.1:{self.cluster.port}/{DB}?sslmode=disable"
                            f"&passfile={passfile}", "store_id": store_id, **extra}

    def reader(self, folder: Path, role: str) -> str:
        """A libpq URL for a person's role (a store manager's, head office's), through a passfile."""
        passfile = self.passfile(folder, role, f"pw-{role}")
        return f"postgresql://{role}@127.0.0.1:{self.cluster.port}/{DB}?sslmode=disable&passfile={passfile}"

    def rows(self, sql: str) -> list[list[str]]:
        """``sql`` run as the superuser with psql: rows of text fields ('|' separated by psql, split here)."""
        out = self.cluster.psql(sql, dbname=DB).strip()
        return [line.split("|") for line in out.splitlines()] if out else []

    def value(self, sql: str) -> str:
        return self.cluster.psql(sql, dbname=DB).strip()


def with_store(config: Path, section: dict) -> Path:
    """``config`` (a terminal.toml) with ``section`` as its [store]; written in place."""
    import tomllib

    doc = tomllib.loads(config.read_text())
    doc["store"] = section
    config.write_text(tomli_w.dumps(doc))
    return config


def with_terminal_id(config: Path, terminal_id: str) -> Path:
    import tomllib

    doc = tomllib.loads(config.read_text())
    doc["merchant"]["terminal_id"] = terminal_id
    config.write_text(tomli_w.dumps(doc))
    return config


@contextmanager
def store_cluster() -> Iterator[Store]:
    """A fresh cluster with the store's database migrated (skipped where PostgreSQL is missing, outside CI)."""
    try:
        bindir()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="pos-pg-"))   # not under pytest's root-only tmp: the server's user reads it
    try:
        with Cluster(folder) as pg:
            pg.psql(f"CREATE ROLE {OWNER} LOGIN CREATEROLE PASSWORD '{OWNER_PW}'")
            pg.psql(f"CREATE DATABASE {DB} OWNER {OWNER}")
            store = Store(pg)
            from pos_app.store import schema

            with store.owner() as conn:
                schema.migrate(conn)
            yield store
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shipped_all(data_dir: Path) -> bool:
    """Whether the store has everything this journal queued (and it queued something), read from the journal."""
    from flowkit import journal_query

    last = journal_query(data_dir, "SELECT coalesce(max(seq), 0) FROM outbound")[0][0]
    rows = journal_query(data_dir, "SELECT shipped FROM replication WHERE name = 'store'")
    return bool(last) and bool(rows) and rows[0][0] >= last


def wait_for(check, timeout: float = 30.0):
    """``check()``'s first truthy result, polled every 50 ms; fails, naming it, after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {check}")
