"""[store] in terminal.toml (issue 17, part 1): the store's PostgreSQL as a libpq URL or conninfo, checked
as every section is. Good sections load with their files made absolute; each bad shape is refused in words
naming the file, [store] and what was expected, never a password echoed; the self-test's config check
(a real ``pos-terminal selftest`` process) says a good [store] and fails a bad one. Real files, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from pos_app.config import load_config
from pos_app.errors import ConfigError
from pos_app.sim.provision import provision, terminal_doc

ROOT = Path(__file__).resolve().parents[2]


def terminal(folder: Path, store: dict | None) -> Path:
    """A whole terminal.toml with the simulator's key files beside it, and ``store`` as its [store]."""
    provisioned = provision(folder, "http://127.0.0.1:1")
    doc = terminal_doc("http://127.0.0.1:1", "SANDBOX_STORE", "127.0.0.1:8081", "http://127.0.0.1:8081/notify")
    if store is not None:
        doc["store"] = store
    path = folder / "store.toml"
    path.write_text(tomli_w.dumps(doc))
    assert (provisioned.keys_dir / "merchant_private.pem").is_file()
    return path


def private(path: Path, text: str = "secret\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def refused(folder: Path, store: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(terminal(folder, store))
    return caught.value


def test_no_store_section_is_none(tmp_path):
    assert load_config(terminal(tmp_path, None)).store is None


def test_a_url_with_client_certificates_relative_to_the_config(tmp_path):
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "root.crt").write_text("CA\n")
    (tmp_path / "pg" / "t001.crt").write_text("CERT\n")
    private(tmp_path / "pg" / "t001.key")
    url = ("postgresql://t001@db.example.com:5432/pos?sslmode=verify-full&sslrootcert=pg/root.crt"
           "&sslcert=pg/t001.crt&sslkey=pg/t001.key&connect_timeout=5&application_name=till-1")
    store = load_config(terminal(tmp_path, {"database": url})).store
    assert store is not None and store.database == url
    assert store.params == {"user": "t001", "host": "db.example.com", "port": "5432", "dbname": "pos",
                            "sslmode": "verify-full", "sslrootcert": str(tmp_path / "pg" / "root.crt"),
                            "sslcert": str(tmp_path / "pg" / "t001.crt"), "sslkey": str(tmp_path / "pg" / "t001.key"),
                            "connect_timeout": "5", "application_name": "till-1"}
    # the defaults: the merchant's store, a till, 30 s, 500 a batch
    assert (store.store_id, store.role, store.heartbeat_interval, store.batch_size) == ("S001", "till", 30.0, 500)


def test_conninfo_with_a_passfile_and_every_key(tmp_path):
    pgpass = private(tmp_path / "pgpass", "db.example.com:5432:pos:t002:pw\n")
    doc = {"database": f"host=db.example.com port=5433 dbname=pos user=t002 sslmode=verify-full "
                       f"passfile='{pgpass}' application_name='till two'",
           "store_id": "S042", "role": "office", "heartbeat_interval": 5, "batch_size": 10000}
    store = load_config(terminal(tmp_path, doc)).store
    assert store.params["passfile"] == str(pgpass) and store.params["application_name"] == "till two"
    assert (store.store_id, store.role, store.heartbeat_interval, store.batch_size) == ("S042", "office", 5.0, 10000)


@pytest.mark.parametrize("database, host", [
    ("postgresql://t001@%2Fvar%2Frun%2Fpostgresql/pos", "/var/run/postgresql"),   # a socket path in a URL
    ("host=/var/run/postgresql dbname=pos user=t001", "/var/run/postgresql"),      # ... and in conninfo
    ("postgresql://t001@127.0.0.1:5432/pos?sslmode=disable", "127.0.0.1"),
    ("postgresql://t001@localhost/pos?sslmode=require", "localhost"),
])
def test_a_database_on_this_machine_may_skip_verify_full(tmp_path, database, host):
    store = load_config(terminal(tmp_path, {"database": database})).store
    assert store.params["host"] == host


def test_conninfo_quotes_what_it_hands_to_libpq(tmp_path):
    """conninfo() is libpq's own form: read back by psycopg's parser (independent of ours), the same params."""
    conninfo = pytest.importorskip("psycopg.conninfo")
    folder = tmp_path / "it's here"
    pgpass = private(folder / "pgpass")
    quoted = str(pgpass).replace("'", "\\'")     # libpq's conninfo quoting: \' inside '...'
    store = load_config(terminal(tmp_path, {"database": f"host=localhost dbname=pos passfile='{quoted}'"})).store
    assert store.params["passfile"] == str(pgpass)
    assert conninfo.conninfo_to_dict(store.conninfo()) == store.params


@pytest.mark.parametrize("store, words", [
    ({"database": "postgresql://t001:hunter2@db.example.com/pos?sslmode=verify-full"},
     "never a password inside the TOML"),
    ({"database": "postgresql://t001@db.example.com/pos?sslmode=verify-full&password=hunter2"},
     "never a password inside the TOML"),
    ({"database": "host=db.example.com user=t001 password=hunter2 sslmode=verify-full"},
     "never a password inside the TOML"),
    ({"database": "postgresql://t001@db.example.com/pos?sslmode=require"},
     "sslmode=verify-full for a database on another machine (db.example.com), got 'require'"),
    ({"database": "postgresql://t001@db.example.com/pos"},
     "sslmode=verify-full for a database on another machine (db.example.com), got none"),
    ({"database": "postgresql://t001@db.example.com/pos?sslmode=verify-full&options=-c%20x%3Dy"},
     "parameter 'options' is not taken here"),
    ({"database": "host=db.example.com sslmode=verify-full service=pos"}, "parameter 'service' is not taken here"),
    ({"database": "postgresql://t001@db.example.com/pos?sslmode=verify-full&sslrootcert=pg/missing.crt"},
     "does not exist"),
    ({"database": "mysql://t001@db.example.com/pos"}, "expected a libpq URL postgresql://"),
    ({"database": "postgresql://t001@localhost:0/pos"}, "a port from 1 to 65535"),
    ({"database": "host=localhost", "role": "boss"}, "[store] role: expected one of 'till', 'office', got 'boss'"),
    ({"database": "host=localhost", "batch_size": 0}, "[store] batch_size: expected a whole number from 1 to 10000"),
    ({"database": "host=localhost", "heartbeat_interval": 4},
     "[store] heartbeat_interval: expected a number of seconds from 5 to 3600"),
    ({"database": "host=localhost", "store_id": "S" * 65}, "[store] store_id: expected the store id"),
    ({"database": "host=localhost", "replicas": 2}, "[store] has unknown key 'replicas'"),
    ({}, "[store] database: expected a libpq URL"),
])
def test_each_bad_shape_is_refused_in_words(tmp_path, store, words):
    error = refused(tmp_path, store)
    assert str(tmp_path / "store.toml") in error.message and "[store]" in error.message
    assert words in error.message
    assert "hunter2" not in error.message + (error.hint or "")   # a password is never shown back


def test_a_password_is_refused_with_the_way_to_do_without(tmp_path):
    error = refused(tmp_path, {"database": "postgresql://t001:hunter2@db.example.com/pos?sslmode=verify-full"})
    assert "passfile" in error.hint and "client certificate" in error.hint


def test_a_passfile_others_can_read_is_refused(tmp_path):
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("*:*:*:t001:pw\n")
    os.chmod(pgpass, 0o644)
    error = refused(tmp_path, {"database": f"host=localhost passfile={pgpass}"})
    assert f"[store] database passfile: {pgpass} can be read by other users (mode 0644)" in error.message
    assert error.hint == f"run: chmod 600 {pgpass}"


def test_a_fifo_as_sslkey_is_refused_unread(tmp_path):
    fifo = tmp_path / "t001.key"
    os.mkfifo(fifo)     # opening it would block for ever: it must be refused before
    error = refused(tmp_path, {"database": "postgresql://t001@localhost/pos?sslmode=verify-full&sslkey=t001.key"})
    assert f"[store] database sslkey: {fifo} is a named pipe (FIFO), not a regular file" in error.message


def test_a_certificate_directory_is_refused(tmp_path):
    (tmp_path / "pg").mkdir()
    error = refused(tmp_path, {"database": "host=localhost sslrootcert=pg"})
    assert f"[store] database sslrootcert: {tmp_path / 'pg'} is a directory" in error.message


def selftest_config_check(config: Path, data_dir: Path) -> tuple[int, dict]:
    """``pos-terminal selftest --level internal --json`` as a process (as tests/e2e run it): its config check."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    done = subprocess.run([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data_dir),
                           "selftest", "--level", "internal", "--json"],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert "Traceback" not in done.stderr
    [check] = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "config"]
    return done.returncode, check


def test_the_selftest_says_a_good_store_without_connecting(tmp_path):
    # port 1 on 127.0.0.1: nothing listens, so a check that connected would fail
    config = terminal(tmp_path, {"database": "postgresql://t001@127.0.0.1:1/pos?sslmode=disable",
                                 "role": "office", "store_id": "S009"})
    _rc, check = selftest_config_check(config, tmp_path / "data")   # other internal checks may fail here
    assert check["status"] == "pass"
    assert "[store] office of store S009 at t001@127.0.0.1:1/pos (sslmode disable; not connected by this check)" \
        in check["detail"]


def test_the_selftest_fails_a_bad_store_in_words(tmp_path):
    config = terminal(tmp_path, {"database": "postgresql://t001:hunter2@db.example.com/pos?sslmode=verify-full"})
    rc, check = selftest_config_check(config, tmp_path / "data")
    assert rc != 0 and check["status"] == "fail"
    assert f"{config}: [store] database: never a password inside the TOML" in check["detail"]
    assert "passfile" in check["hint"] and "hunter2" not in json.dumps(check)


def test_a_reader_login_for_the_stores_reports_is_checked_as_the_database_is(tmp_path):
    """[store] reader: the store manager's login the store's reports read with (a till's own reads only its rows)."""
    private(tmp_path / "alice.pgpass", "127.0.0.1:5432:pos:alice:pw\n")
    store = load_config(terminal(tmp_path, {
        "database": "postgresql://t1@127.0.0.1/pos", "reader": "postgresql://alice@127.0.0.1/pos?passfile=alice.pgpass",
    })).store
    assert store.reader_params == {"user": "alice", "host": "127.0.0.1", "dbname": "pos",
                                   "passfile": str(tmp_path / "alice.pgpass")}
    assert "user='alice'" in store.reader_conninfo() and "user='t1'" in store.conninfo()
    error = refused(tmp_path, {"database": "postgresql://t1@127.0.0.1/pos",
                               "reader": "postgresql://alice:hunter2@127.0.0.1/pos"})
    assert "[store] reader" in str(error) and "hunter2" not in str(error) + str(error.hint)
    office = load_config(terminal(tmp_path, {"database": "postgresql://alice@127.0.0.1/pos", "role": "office"})).store
    assert office.reader_conninfo() == office.conninfo()
