"""The tests' own PostgreSQL (tests/pgkit.py, issue 17's ground): a real server in a scratch folder, reached
with psycopg over TCP on 127.0.0.1; what a committed row survives (a crash of the server with ``pg_ctl stop -m
immediate``, then a start) is read back with the server's own ``psql``, not with the client that wrote it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from pgkit import Cluster, PostgresMissing, bindir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    try:
        bindir()
    except PostgresMissing as exc:
        if __import__("os").environ.get("CI"):
            raise
        pytest.skip(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="pos-pg-"))   # not under pytest's root-only tmp: the server's user reads it
    try:
        with Cluster(folder) as pg:
            yield pg
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_committed_row_survives_a_crash_of_the_server(cluster):
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (id integer PRIMARY KEY, what text NOT NULL)")
        conn.execute("INSERT INTO survives VALUES (1, 'committed')")
    cluster.stop("immediate")
    assert not cluster.running()
    cluster.start()
    assert cluster.psql("SELECT id, what FROM survives").strip() == "1|committed"


def test_a_role_with_a_password_connects_over_tcp_and_nothing_else_does(cluster):
    import psycopg

    cluster.psql("CREATE ROLE till_t001 LOGIN PASSWORD 'secret-t001'")
    with psycopg.connect(cluster.url("till_t001", password="secret-t001")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("till_t001",)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url("till_t001", password="wrong"), connect_timeout=5)
