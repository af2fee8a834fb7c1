"""The store as a technician meets it (issue 17, parts 1 and 2): ``selftest`` connects, checks the role and the
schema and measures the lag; every run leaves its verdict for the heartbeat; ``status`` shows the backlog, the
lag and whether the store answers; ``setup`` asks for ``[store]``. Real ``pos-terminal`` processes against the
real simulator and a real PostgreSQL; what the store holds is read back with psql as the superuser."""

from __future__ import annotations

import json
import stat
import time

import pytest
from flowkit import cli, cli_json, journal_query, write_config
from kit import payment_code
from setupkit import gateway_key_file
from storekit import with_store, with_terminal_id

from pos_app.config import load_config
from pos_app.store.fleet import SELFTEST_FILE
from pos_app.store.schema import role_for

pytestmark = pytest.mark.slow


def selftest(config, data_dir, no_devices, level="external"):
    code, report = cli_json("selftest", "--level", level, "--input-dir", no_devices.input_dir, "--sys-dir",
                            no_devices.sys_dir, config=config, data_dir=data_dir)
    return code, {c["name"]: c for c in report["checks"]}


def till(sim, store, tmp_path, terminal_id, store_id="S1", register=True):
    if register:
        store.register(store_id, terminal_id)
    return with_store(with_terminal_id(write_config(sim, f"{terminal_id}.toml"), terminal_id),
                      store.section(tmp_path, store_id, terminal_id))


def sell(config, data_dir):
    code, out = cli_json("sale", "--amount", "12.34", "--code", payment_code(), config=config, data_dir=data_dir)
    assert code == 0, out
    return out


def test_selftest_passes_for_a_registered_till_shows_the_lag_and_leaves_its_verdict(sim, store, tmp_path,
                                                                                    no_devices):
    config, data = till(sim, store, tmp_path, "T-OK"), tmp_path / "data"
    sell(config, data)
    code, checks = selftest(config, data, no_devices)
    assert code == 0, checks
    assert checks["store"]["status"] == "pass", checks["store"]
    assert "terminal T-OK of store S1" in checks["store"]["detail"]
    assert checks["replication"]["status"] == "pass", checks["replication"]
    assert "lag" in checks["replication"]["detail"] and "change(s) waiting" in checks["replication"]["detail"]
    verdict = data / SELFTEST_FILE
    assert stat.S_IMODE(verdict.stat().st_mode) == 0o600
    body = json.loads(verdict.read_text())
    assert body["result"] == "pass" and body["level"] == "external" and body["failed"] == []
    assert abs(body["at"] - time.time()) < 300
    assert not list(data.glob(f".{SELFTEST_FILE}.*"))   # no temp file left behind

    sell(config, data)   # a running till: its heartbeat carries the verdict
    beat = store.rows("SELECT selftest, extract(epoch FROM selftest_at) FROM pos_store.heartbeats "
                      "WHERE terminal_id = 'T-OK'")
    assert [r[0] for r in beat] == ["pass"]
    assert abs(float(beat[0][1]) - body["at"]) < 1e-3   # timestamptz keeps microseconds


def test_a_login_the_store_does_not_know_fails_in_words(sim, store, tmp_path, no_devices):
    # no such login at all: the server refuses it
    config = till(sim, store, tmp_path, "T-GHOST", register=False)
    (tmp_path / "data").mkdir()   # the till's folder (the verdict is kept where a terminal has run)
    code, checks = selftest(config, tmp_path / "data", no_devices)
    assert code == 1
    check = checks["store"]
    assert check["status"] == "fail" and "refuses this login" in check["detail"], check
    assert "passfile" in check["hint"] and "registers" in check["hint"]
    body = json.loads((tmp_path / "data" / SELFTEST_FILE).read_text())
    assert body["result"] == "fail" and "store" in body["failed"]
    # a login the server has, in the terminals' group, but not registered as any terminal
    role = "pos_terminal_t_ghost"
    store.cluster.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-T-GHOST' IN ROLE pos_terminal")
    code, checks = selftest(config, tmp_path / "data", no_devices)
    assert code == 1
    check = checks["store"]
    assert check["status"] == "fail" and "does not know this login as a terminal" in check["detail"], check
    assert "register the terminal" in check["hint"]


def test_a_wrong_store_id_fails_naming_both(sim, store, tmp_path, no_devices):
    store.register("S1", "T-WRONG")
    config = with_store(with_terminal_id(write_config(sim, "wrong.toml"), "T-WRONG"),
                        store.section(tmp_path, "S2", "T-WRONG"))
    code, checks = selftest(config, tmp_path / "data", no_devices)
    assert code == 1
    check = checks["store"]
    assert check["status"] == "fail"
    assert "terminal T-WRONG of store S1" in check["detail"] and "store S2" in check["detail"]
    assert "[store] store_id" in check["hint"]


def test_no_store_section_skips_with_a_reason(sim, tmp_path, no_devices):
    code, checks = selftest(write_config(sim), tmp_path / "data", no_devices)
    assert code == 0
    for name in ("store", "replication"):
        assert checks[name]["status"] == "skip" and "no [store]" in checks[name]["detail"]


def test_status_shows_backlog_lag_and_the_stores_state(sim, store, tmp_path):
    config, data = till(sim, store, tmp_path, "T-STAT"), tmp_path / "data"
    sell(config, data)
    code, out = cli_json("status", config=config, data_dir=data)
    assert code == 0, out
    s = out["store"]
    assert s["answers"] is True and s["role"] == "till" and s["storeId"] == "S1"
    assert s["where"] == load_config(config).store.where
    waiting = journal_query(data, "SELECT count(*) FROM outbound WHERE seq > (SELECT coalesce(max(shipped), 0) "
                                  "FROM replication WHERE name = 'store')")[0][0]
    assert s["backlog"] == waiting
    assert s["lagSeconds"] >= 0 and s["shippedAt"] is not None and s["lastError"] is None
    text = cli("status", config=config, data_dir=data)
    assert text.returncode == 0
    assert "backlog:" in text.stdout and "lag" in text.stdout and "store:" in text.stdout


def test_a_stopped_store_fails_selftest_and_status_in_words(sim, store, tmp_path, no_devices):
    config, data = till(sim, store, tmp_path, "T-DOWN"), tmp_path / "data"
    sell(config, data)
    store.cluster.stop("fast")
    try:
        code, checks = selftest(config, data, no_devices)
        assert code == 1
        assert checks["store"]["status"] == "fail" and "does not answer" in checks["store"]["detail"]
        assert "PostgreSQL runs" in checks["store"]["hint"]
        code, out = cli_json("status", config=config, data_dir=data)
        assert code == 1
        assert out["store"]["answers"] is False and "does not answer" in out["store"]["message"]
        assert out["gatewayCheck"]["ok"] is True   # only the store failed
        text = cli("status", config=config, data_dir=data)
        assert text.returncode == 1 and "FAILED" in text.stdout and "Traceback" not in text.stderr
    finally:
        store.cluster.start()


def test_a_journal_far_behind_fails_the_replication_check(sim, store, tmp_path, no_devices):
    """Changes wait longer than the limit (the store was unreachable): internal, no store needed to say so."""
    config, data = till(sim, store, tmp_path, "T-LAG"), tmp_path / "data"
    store.cluster.stop("fast")
    try:
        sell(config, data)
    finally:
        store.cluster.start()
    code, report = cli_json("selftest", "--level", "internal", "--input-dir", no_devices.input_dir,
                            "--sys-dir", no_devices.sys_dir, config=config, data_dir=data)
    by = {c["name"]: c for c in report["checks"]}
    assert code == 1
    assert by["replication"]["status"] == "fail", by["replication"]   # changes wait behind the journaled error
    assert "last try to ship them failed" in by["replication"]["detail"]


# -- setup asks for [store] -------------------------------------------------------------------------------------
def test_setup_asks_for_the_store_refuses_a_password_and_writes_a_config_that_loads(store, tmp_path):
    gateway = gateway_key_file(tmp_path / "gw")
    store.register("S9", "T-SET")
    url = store.section(tmp_path, "S9", "T-SET")["database"]
    lines = ["https://gw.example.com", "SANDBOX_X", "M1", "Shop", "5411", "S001", "", "", "T-SET", "USD", "",
             "", "https://pos.example.com/notify", str(gateway), "", "",   # proxy, CA bundle: none
             url.replace("@", ":secret@", 1),      # a password in the URL: refused, asked again
             url, "S9", "kiosk",                   # not a role
             "", "", ""]                           # the store's role: the default; no PINs
    done = cli("setup", config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data",
               input="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    reasons = [line.strip() for line in done.stdout.splitlines() if "not accepted" in line]
    assert len(reasons) == 2, reasons
    assert "never a password" in reasons[0] and "passfile" in reasons[0] and "secret" not in done.stdout
    assert "kiosk" in reasons[1]
    config = load_config(tmp_path / "etc" / "terminal.toml")
    assert config.store is not None
    assert (config.store.store_id, config.store.role) == ("S9", "till")
    assert config.store.database == url and config.store.params["user"] == role_for("terminal", "T-SET")
    assert "secret" not in (tmp_path / "etc" / "terminal.toml").read_text()
    assert "replicates to" in done.stdout


def test_setup_enter_skips_the_store(tmp_path):
    gateway = gateway_key_file(tmp_path / "gw")
    lines = ["https://gw.example.com", "SANDBOX_X", "M1", "Shop", "5411", "S001", "", "", "T1", "USD", "",
             "", "https://pos.example.com/notify", str(gateway), "", "", "", "", ""]   # + proxy, CA
    done = cli("setup", config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data",
               input="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert load_config(tmp_path / "etc" / "terminal.toml").store is None
    assert "[store]" not in (tmp_path / "etc" / "terminal.toml").read_text()


def test_setup_answers_file_with_a_relative_passfile_and_a_bad_store(store, tmp_path):
    """--answers: a passfile named relative to the config is kept by its absolute path (the config loads
    wherever it is read); a password or a bad role is listed with the other bad answers, nothing written."""
    from setupkit import answers_file

    gateway = gateway_key_file(tmp_path / "gw")
    store.register("S9", "T-ANS")
    etc = tmp_path / "etc"
    etc.mkdir()
    url = store.section(etc, "S9", "T-ANS")["database"]
    relative = url.replace(f"passfile={etc}/", "passfile=")
    assert relative != url
    bad = answers_file(tmp_path, gateway, terminal_id="T-ANS", store_database=url.replace("@", ":pw@", 1),
                       store_role="kiosk")
    done = cli("setup", "--answers", bad, config=etc / "terminal.toml", data_dir=tmp_path / "data")
    assert done.returncode == 2 and not (etc / "terminal.toml").exists()
    assert "store_database: never a password" in done.stderr and ":pw@" not in done.stderr
    good = answers_file(tmp_path, gateway, terminal_id="T-ANS", store_database=relative)
    code, out = cli_json("setup", "--answers", good, config=etc / "terminal.toml", data_dir=tmp_path / "data")
    assert code == 0, out
    config = load_config(etc / "terminal.toml")
    assert config.store is not None and config.store.store_id == "S001"   # the merchant's store id by default
    assert config.store.params["passfile"] == str(etc / f"{role_for('terminal', 'T-ANS')}.pgpass")
    assert out["store"] == {"where": config.store.where, "store_id": "S001", "role": "till"}


def test_an_office_machine_checks_the_login_its_reports_read_with(sim, store, tmp_path, no_devices):
    """role = office: the store check connects with [store] database (or reader) and must see its store."""
    store.register("S5", "T-S5")
    store.manager("S5", "boss5")
    store.manager("S6", "boss6")
    config = write_config(sim, "office.toml")
    with_store(config, {"database": store.reader(tmp_path, "boss5"), "store_id": "S5", "role": "office"})
    code, checks = selftest(config, tmp_path / "data", no_devices)
    assert checks["store"]["status"] == "pass", checks["store"]
    assert "reads store S5 (1 terminal(s))" in checks["store"]["detail"]
    with_store(config, {"database": store.reader(tmp_path, "boss6"), "store_id": "S5", "role": "office"})
    code, checks = selftest(config, tmp_path / "data", no_devices)
    assert code == 1 and checks["store"]["status"] == "fail"
    assert "sees no terminal of store S5" in checks["store"]["detail"]
    assert "store manager's login for store S5" in checks["store"]["hint"]


def test_the_replication_check_fails_past_the_lag_limit(sim, store, tmp_path):
    """The limit judged against the journal's own oldest waiting change (read with plain SQL), at a given now:
    changes journaled while nothing shipped (a one-off process with no replicator)."""
    from flowkit import paid_sale

    from pos_app.selftest.store import LAG_LIMIT, check_replication

    config, data = till(sim, store, tmp_path, "T-LATE"), tmp_path / "data"
    paid_sale(config, data)   # in this process, background off: nothing is shipped
    oldest = journal_query(data, "SELECT min(at) FROM outbound")[0][0]
    waiting = journal_query(data, "SELECT count(*) FROM outbound")[0][0]
    assert waiting > 0
    loaded = load_config(config)
    within = check_replication(loaded, data, oldest + LAG_LIMIT - 1)
    assert within.status == "pass" and f"{waiting} change(s) waiting" in within.detail
    past = check_replication(loaded, data, oldest + LAG_LIMIT + 30)
    assert past.status == "fail" and f"{LAG_LIMIT + 30:.0f} s behind" in past.detail
    assert "keep it running" in past.hint


def test_a_verdict_that_cannot_be_kept_does_not_fail_the_selftest(sim, tmp_path, no_devices):
    data = tmp_path / "data"
    (data / SELFTEST_FILE).mkdir(parents=True)   # the name taken by a folder with something in it: no rename
    (data / SELFTEST_FILE / "x").write_text("x")
    code, checks = selftest(write_config(sim), data, no_devices, level="internal")
    assert code == 0, checks
    assert (data / SELFTEST_FILE).is_dir() and not list(data.glob(f".{SELFTEST_FILE}.*"))
    log = "".join(p.read_text() for p in (data / "logs").glob("*.log*"))
    assert "cannot keep its verdict" in log


def test_setup_force_keeps_the_old_store_and_what_setup_does_not_ask(store, tmp_path):
    from setupkit import answers_file

    gateway = gateway_key_file(tmp_path / "gw")
    store.register("S7", "T-KEEP")
    store.manager("S7", "boss7")
    etc = tmp_path / "etc"
    etc.mkdir()
    section = store.section(etc, "S7", "T-KEEP", role="till", heartbeat_interval=12,
                            reader=store.reader(etc, "boss7"))
    first = answers_file(tmp_path, gateway, terminal_id="T-KEEP", store_database=section["database"],
                         store_store_id="S7")
    code, out = cli_json("setup", "--answers", first, config=etc / "terminal.toml", data_dir=tmp_path / "data")
    assert code == 0, out
    with_store(etc / "terminal.toml", section)   # a technician added the reader and the timing by hand
    again = answers_file(tmp_path, gateway, terminal_id="T-KEEP", store_name="Uptown")
    code, out = cli_json("setup", "--force", "--answers", again, config=etc / "terminal.toml",
                         data_dir=tmp_path / "data")
    assert code == 0, out
    config = load_config(etc / "terminal.toml")
    assert config.merchant.store_name == "Uptown"
    assert config.store is not None
    assert (config.store.database, config.store.store_id, config.store.heartbeat_interval) == \
        (section["database"], "S7", 12.0)
    assert config.store.reader == section["reader"]


def test_an_older_journal_skips_the_replication_check_until_the_terminal_upgrades_it(sim, tmp_path, no_devices):
    """A journal from before the store (schema v6): nothing is queued yet, nothing is wrong; the terminal's
    next start upgrades it and queues its whole history."""
    import sqlite3

    import sqlite_utils

    from offline_queue import schema

    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "journal.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    db = sqlite_utils.Database(conn)
    for number in range(6):
        schema.MIGRATIONS[number](db)
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    config = with_store(write_config(sim, "old.toml"), {"database": "postgresql://t@127.0.0.1:9/store",
                                                         "store_id": "S1"})
    code, checks = selftest(config, data, no_devices, level="internal")
    assert code == 0, checks
    assert checks["replication"]["status"] == "skip" and "older pos-terminal" in checks["replication"]["detail"]


def test_a_replaced_disk_is_told_to_restore_from_the_store(sim, store, tmp_path, no_devices):
    """The store holds more of this terminal's history than its (new) journal: the shipper refuses it, and the
    self-test and status say what to run."""
    config = till(sim, store, tmp_path, "T-SWAP")
    sell(config, tmp_path / "old-disk")
    assert int(store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = 'T-SWAP'")) > 0
    fresh = tmp_path / "new-disk"
    fresh.mkdir()
    code, checks = selftest(config, fresh, no_devices)
    assert code == 1 and checks["store"]["status"] == "fail", checks["store"]
    assert "not the journal the store knows" in checks["store"]["detail"]
    assert "pos-terminal store restore" in checks["store"]["hint"]
    code, out = cli_json("status", config=config, data_dir=fresh)
    assert code == 1 and "pos-terminal store restore" in out["store"]["hint"]
