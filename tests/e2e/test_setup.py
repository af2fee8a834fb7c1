"""``pos-terminal setup``: the first-run walk, driven as a person drives it (a real ``pos-terminal``
process with answers piped to stdin, or an ``--answers`` file; the wizard's parts called directly are
integration/test_setup_wizard.py's). What it writes is judged by the terminal's own readers: load_config,
the key loaders, PinBook and, against a running simulator, ``pos-terminal selftest``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flowkit import cli, cli_json
from kit import mode, payment_code
from setupkit import answers_file, der, direct, gateway_key_file

from offline_queue.journal import Journal
from pos_app import setup_wizard
from pos_app.config import load_config
from pos_app.roles import MANAGER, TECHNICIAN, PinBook, PinError
from pos_app.signing import load_private_key, load_public_key


@pytest.fixture(scope="module")
def gateway_pem(tmp_path_factory) -> Path:
    return gateway_key_file(tmp_path_factory.mktemp("gateway"))


def setup_cli(tmp_path: Path, *args, input: str | None = None):
    return cli("setup", *args, config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data", input=input)


def run(tmp_path: Path, *args, input: str | None = None) -> subprocess.CompletedProcess:
    """``pos-terminal`` with no config anywhere but where ``args`` say: no $POS_TERMINAL_*, and an empty
    XDG config home, so without --config it runs in sandbox mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-empty")
    (tmp_path / "xdg-empty").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "pos_app", *map(str, args)], capture_output=True, text=True,
                          env=env, input=input, timeout=120, check=False)


def transactions(journal: Journal) -> list:
    return [dict(r) for r in journal.query("SELECT id, kind, status FROM transactions")]


def test_interactive_walk_reasks_bad_answers_and_writes_a_config_the_terminal_accepts(tmp_path, gateway_pem):
    lines = [
        "http://example.com",             # plain http to a host that is not this machine
        "http://127.0.0.1:9/",            # loopback: fine (the trailing / goes)
        "SANDBOX_TEST01", "M0001", "Corner Shop",
        "54a1",                           # not a 4-digit MCC
        "5411", "S001",
        "",                               # store name: the default, the merchant's name
        "",                               # store MCC: the default, the merchant's MCC
        "T001",
        "usd1",                           # not ISO 4217
        "usd",                            # kept as USD
        "",                               # settlement currency: the default, the currency
        "127.0.0.1:8099", "http://127.0.0.1:8099/notify",
        str(tmp_path / "missing.pem"),    # no such file
        str(gateway_pem),
        "http://shop:secret@10.0.0.1:3128",   # a proxy login inside the URL: refused, pointing to the file
        "",                               # proxy: as the environment says
        "",                               # CA bundle: the system's (no round trip demanded: nothing changed)
        "",                               # the store's database: none (no [store])
        "12",                             # a PIN is 4 to 12 digits
        "1234", "9999",                   # the two PINs differ
        "1234", "1235",                   # ... and again
        "1234", "1234",
        "1234", "1234",                   # the technician's may not be the manager's
        "567890", "567890",
    ]
    done = setup_cli(tmp_path, input="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    reasons = [line.strip() for line in done.stdout.splitlines() if "not accepted" in line]
    assert len(reasons) == 9, reasons
    assert "https://" in reasons[0] and "'http://example.com'" in reasons[0]
    assert "4-digit merchant category code" in reasons[1] and "'54a1'" in reasons[1]
    assert "ISO 4217" in reasons[2] and "'usd1'" in reasons[2]
    assert "missing.pem does not exist" in reasons[3]
    assert "a login may not be written inside the URL" in reasons[4] and "proxy_credentials" in reasons[4]
    assert "secret" not in reasons[4]
    assert "4 to 12 digits" in reasons[5]
    assert "differ" in reasons[6] and "differ" in reasons[7]
    assert "the technician PIN may not be the same as the manager PIN" in reasons[8]
    assert "[https://open-sea-global.alipay.com]" in done.stdout and "store name [Corner Shop]" in done.stdout

    etc = tmp_path / "etc"
    config = load_config(etc / "terminal.toml")
    assert config.gateway.url == "http://127.0.0.1:9"
    assert (config.gateway.proxy, config.gateway.ca_bundle, config.gateway.proxy_credentials) == (None, None, None)
    assert (config.merchant.store_name, config.merchant.store_mcc) == ("Corner Shop", "5411")
    assert (config.merchant.currency, config.merchant.settlement_currency) == ("USD", "USD")
    assert (config.notifications.listen_host, config.notifications.listen_port) == ("127.0.0.1", 8099)
    assert config.gateway.merchant_private_key == etc / "keys" / "merchant_private.pem"
    assert 'merchant_private_key = "keys/merchant_private.pem"' in (etc / "terminal.toml").read_text()
    assert mode(etc / "terminal.toml") == 0o640
    assert mode(config.gateway.merchant_private_key) == 0o600
    assert not [p for p in etc.rglob("*") if p.name.endswith(".tmp")]

    private = load_private_key(config.gateway.merchant_private_key)
    public = load_public_key(etc / "keys" / "merchant_public.pem")
    assert private.key_size == 2048 and der(private.public_key()) == der(public)
    assert b"BEGIN PRIVATE KEY" in config.gateway.merchant_private_key.read_bytes()   # PKCS#8
    assert der(load_public_key(config.gateway.gateway_public_key)) == der(load_public_key(gateway_pem))
    out = done.stdout.splitlines()
    printed = out[next(i for i, line in enumerate(out) if line.startswith("Register this merchant public key")) + 1]
    assert base64.b64decode(printed, validate=True) == der(public)

    with Journal.open(tmp_path / "data") as journal:
        book = PinBook(journal)
        book.verify(MANAGER, "1234")
        book.verify(TECHNICIAN, "567890")
        with pytest.raises(PinError):
            book.verify(MANAGER, "1235")


def test_eof_mid_walk_writes_nothing(tmp_path, gateway_pem):
    done = setup_cli(tmp_path, input="https://gw.example.com\nSANDBOX_X\nM1\n")
    assert done.returncode == 2
    assert "setup stopped: nothing was written" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "etc").exists() and not (tmp_path / "data").exists()


def test_eof_at_a_pin_writes_nothing(tmp_path, gateway_pem):
    answers = ["https://gw.example.com", "SANDBOX_X", "M1", "Shop", "5411", "S1", "", "", "T1", "USD", "",
               "", "https://pos.example.com/notify", str(gateway_pem), "", "", "", "1234"]
    done = setup_cli(tmp_path, input="\n".join(answers) + "\n")
    assert done.returncode == 2 and "nothing was written" in done.stderr
    assert not (tmp_path / "etc").exists() and not (tmp_path / "data").exists()


def test_answers_file_with_bad_answers_lists_every_one_and_writes_nothing(tmp_path, gateway_pem):
    bad = answers_file(tmp_path, gateway_pem, url="http://example.com", client_id=None, mcc="54a1",
                       currency="usd1", listen="nohost", terminal_id=7, gateway_public_key="nope.pem",
                       manager_pin="12", colour="blue")
    done = setup_cli(tmp_path, "--answers", bad)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "9 answers are not accepted, so nothing was written" in done.stderr
    for expected in ("url: expected https://", "client_id: missing", "mcc: expected a 4-digit", "currency: expected",
                     "listen: expected host:port", "terminal_id: expected a string in quotes, got 7",
                     "gateway_public_key: gateway public key:", "manager_pin: a PIN is 4 to 12 digits",
                     "colour: not a setup answer"):
        assert expected in done.stderr, expected
    assert not (tmp_path / "etc").exists() and not (tmp_path / "data").exists()


def test_refuses_an_existing_config_and_force_backs_it_up(tmp_path, gateway_pem, capsys):
    target = tmp_path / "etc" / "terminal.toml"
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target)) == 0
    capsys.readouterr()
    # a technician's later edits: one setting that still loads, one that no longer does
    target.write_text(target.read_text() + '\n[scanners]\nlayout = "de"\n\n[payments]\ncode_validity = 9999\n')
    before = target.read_bytes()

    done = setup_cli(tmp_path, "--answers", answers_file(tmp_path, gateway_pem))
    assert done.returncode == 2
    assert f"{target} already exists" in done.stderr and "--force" in done.stderr and ".bak-" in done.stderr
    assert target.read_bytes() == before and not list(target.parent.glob("*.bak-*"))

    code, out = cli_json("setup", "--force", "--answers", answers_file(tmp_path, gateway_pem, name="Corner Shop 2"),
                         config=target, data_dir=tmp_path / "data")
    assert code == 0, out
    assert Path(out["backup"]).read_bytes() == before and out["backup"].startswith(f"{target}.bak-")
    config = load_config(target)
    assert config.merchant.name == "Corner Shop 2"
    assert config.scanners.layout == "de"                                # carried over
    assert config.payments.code_validity == 60                           # did not load: left out, and said
    assert [d for d in out["not_carried_over"] if d.startswith("[payments]")]
    assert out["pins"] == [] and out["pins_kept"] == [MANAGER, TECHNICIAN]   # PINs change with `pin set` only
    assert out["sandbox_journal_archived"] is None


def test_force_keeps_the_merchant_key_pair(tmp_path, gateway_pem, capsys):
    """Fixing a store name must not cut the terminal off: the gateway knows only the old public key."""
    target, keys = tmp_path / "etc" / "terminal.toml", tmp_path / "etc" / "keys"
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target)) == 0
    first = json.loads(capsys.readouterr().out)
    private, public = (keys / "merchant_private.pem").read_bytes(), (keys / "merchant_public.pem").read_bytes()

    code, out = cli_json("setup", "--force", "--answers", answers_file(tmp_path, gateway_pem, store_name="Uptown"),
                         config=target, data_dir=tmp_path / "data")
    assert code == 0, out
    assert load_config(target).merchant.store_name == "Uptown"
    assert out["merchant_key"] == "kept" and out["key_backup"] is None
    assert out["merchant_public_key"] == first["merchant_public_key"]
    assert (keys / "merchant_private.pem").read_bytes() == private
    assert (keys / "merchant_public.pem").read_bytes() == public
    assert not list(keys.glob("*.bak-*"))

    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target, force=True,
                                         as_json=False)) == 0
    said = capsys.readouterr().out
    assert f"merchant key: kept {keys / 'merchant_private.pem'}" in said and "replaced" not in said
    assert (keys / "merchant_private.pem").read_bytes() == private


def test_a_running_terminal_stops_setup_before_the_first_question(tmp_path, gateway_pem):
    """The kiosk service holds the journal's instance lock: setup says so at once, not after the walk."""
    data, etc = tmp_path / "data", tmp_path / "etc"
    with Journal.open(data):   # the running terminal
        before = sorted(p.name for p in data.iterdir())
        walk = run(tmp_path, "setup", "--config", etc / "terminal.toml", "--data-dir", data,
                   input="https://gw.example.com\nSANDBOX_X\nM1\n")
        answers = run(tmp_path, "setup", "--config", etc / "terminal.toml", "--data-dir", data,
                      "--answers", answers_file(tmp_path, gateway_pem))
        after = sorted(p.name for p in data.iterdir() if p.name != "logs")   # the CLI's own log, not setup's
    for done in (walk, answers):
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "the terminal is running" in done.stderr and f"pid {os.getpid()}" in done.stderr
        assert "sudo systemctl stop pos-terminal, then run setup again, then sudo systemctl start pos-terminal" \
            in done.stderr
    assert "gateway URL" not in walk.stdout + walk.stderr   # nothing asked
    assert not etc.exists()                                  # nothing written
    assert after == before
    with Journal.open(data) as journal:
        assert not PinBook(journal).is_set(MANAGER)

    # PINs already set, no sandbox journal to move: a --force re-run needs no journal, and runs
    code, _ = cli_json("setup", "--answers", answers_file(tmp_path, gateway_pem), config=etc / "terminal.toml",
                       data_dir=data)
    assert code == 0
    with Journal.open(data):
        done = cli("setup", "--force", "--answers", answers_file(tmp_path, gateway_pem, store_name="Uptown"),
                   config=etc / "terminal.toml", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "sudo systemctl restart pos-terminal" in done.stdout
    assert load_config(etc / "terminal.toml").merchant.store_name == "Uptown"


def test_going_live_moves_the_sandbox_journal_aside(tmp_path, gateway_pem):
    data, target = tmp_path / "data", tmp_path / "etc" / "terminal.toml"
    sale = run(tmp_path, "sale", "--amount", "1.00", "--code", payment_code(), "--json", "--data-dir", data)
    assert sale.returncode == 0, sale.stderr
    sold = json.loads(sale.stdout)
    assert sold["status"] == "SUCCESS"
    assert (data / "journal.sqlite").is_file() and (data / "sandbox-gateway").is_dir()   # sandbox mode it was

    done = run(tmp_path, "setup", "--config", target, "--data-dir", data, "--json",
               "--answers", answers_file(tmp_path, gateway_pem))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    archive = Path(out["sandbox_journal_archived"])
    assert archive.parent == data and archive.name.startswith("sandbox-archive-") and archive.is_dir()
    assert (archive / "journal.sqlite").is_file() and not (data / "journal.sqlite-wal").exists()
    with Journal.open(archive, readonly=True) as old:
        assert [t["id"] for t in transactions(old)] == [sold["paymentRequestId"]]   # the sale went with it
    assert out["pins"] == [MANAGER, TECHNICIAN]
    with Journal.open(data) as live:
        assert transactions(live) == []
        PinBook(live).verify(MANAGER, "2468")
        PinBook(live).verify(TECHNICIAN, "13579")
    assert (data / "sandbox-gateway").is_dir()   # the simulator's own files stay

    # a --force re-run: a config existed, the (live) journal never moves
    again = run(tmp_path, "setup", "--config", target, "--data-dir", data, "--force",
                "--answers", answers_file(tmp_path, gateway_pem, store_name="Uptown"))
    assert again.returncode == 0, again.stderr
    assert "sandbox journal" not in again.stdout
    assert [p.name for p in data.glob("sandbox-archive-*")] == [archive.name]
    with Journal.open(data) as live:
        assert transactions(live) == [] and PinBook(live).is_set(MANAGER)


def test_going_live_says_where_the_sandbox_journal_went(tmp_path, gateway_pem):
    data, target = tmp_path / "data", tmp_path / "etc" / "terminal.toml"
    assert run(tmp_path, "sale", "--amount", "1.00", "--code", payment_code(), "--data-dir", data).returncode == 0
    done = run(tmp_path, "setup", "--config", target, "--data-dir", data, "--answers",
               answers_file(tmp_path, gateway_pem, manager_pin=None, technician_pin=None))
    assert done.returncode == 0, done.stderr
    [archive] = data.glob("sandbox-archive-*")
    assert f"sandbox journal: moved to {archive} (its test payments stay out of the live journal)" in done.stdout
    assert not (data / "journal.sqlite").exists()   # no PINs to set: the live terminal creates it


def test_the_sandbox_journal_stays_while_the_sandbox_terminal_runs(tmp_path, gateway_pem):
    """Moving it needs the instance lock, even with no PIN to set."""
    data = tmp_path / "data"
    (data / "sandbox-gateway").mkdir(parents=True)
    with Journal.open(data):
        done = run(tmp_path, "setup", "--config", tmp_path / "etc" / "terminal.toml", "--data-dir", data,
                   "--answers", answers_file(tmp_path, gateway_pem, manager_pin=None, technician_pin=None))
    assert done.returncode == 2 and "the terminal is running" in done.stderr
    assert (data / "journal.sqlite").is_file() and not list(data.glob("sandbox-archive-*"))
    assert not (tmp_path / "etc").exists()


def test_written_config_passes_the_selftest_config_and_key_checks(tmp_path, sim):
    answers = answers_file(tmp_path, sim.data_dir / "keys" / "gateway_public.pem", url=sim.url,
                           client_id=sim.client_id, listen="127.0.0.1:8099",
                           public_url="http://127.0.0.1:8099/notify")
    code, out = cli_json("setup", "--answers", answers, config=tmp_path / "etc" / "terminal.toml",
                         data_dir=tmp_path / "data")
    assert code == 0, out
    assert set(out) >= {"config", "keys", "merchant_public_key", "pins", "backup"}
    assert out["keys"]["merchant_private"] == str(tmp_path / "etc" / "keys" / "merchant_private.pem")
    assert base64.b64decode(out["merchant_public_key"]) == der(load_public_key(Path(out["keys"]["merchant_public"])))
    _, report = cli_json("selftest", "--level", "internal", config=Path(out["config"]), data_dir=tmp_path / "data")
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["config"]["status"] == "pass", checks["config"]
    assert checks["keys"]["status"] == "pass", checks["keys"]


def test_going_live_refuses_while_the_sandbox_journal_has_an_open_transaction(tmp_path, gateway_pem):
    """A journal moved aside is never settled: an open transaction in it must be settled first."""
    from pos_app.money import parse_money
    from pos_app.runtime import Runtime

    data, target = tmp_path / "data", tmp_path / "etc" / "terminal.toml"
    with Runtime(None, data, receiver=False, background=False) as rt:     # sandbox mode
        waiting = rt.terminal.start_sale(parse_money("3.00", "USD"), order_code=True)
        assert not rt.terminal.load(waiting.id).final                      # the customer has not paid yet
    done = run(tmp_path, "setup", "--config", target, "--data-dir", data, "--answers",
               answers_file(tmp_path, gateway_pem))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "1 open transaction(s)" in done.stderr and "pos-terminal reconcile" in done.stderr
    assert not target.exists() and not list(data.glob("sandbox-archive-*"))
    with Journal.open(data, readonly=True) as journal:
        assert [t["id"] for t in transactions(journal)] == [waiting.id]


@pytest.mark.parametrize("kind", ["device", "fifo", "nested"])
def test_an_answers_file_that_is_not_a_small_toml_file_is_refused_unread(tmp_path, kind):
    """--answers pointing at /dev/zero ate the memory and a FIFO hung setup for ever; a TOML file nested
    past Python's recursion limit was an internal error."""
    if kind == "device":
        answers = Path("/dev/zero")
    elif kind == "fifo":
        answers = tmp_path / "answers.fifo"
        os.mkfifo(answers)
    else:
        answers = tmp_path / "answers.toml"
        answers.write_text("a = " + "[" * 100_000)
    done = setup_cli(tmp_path, "--answers", answers)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert f"--answers {answers}" in done.stderr and "internal error" not in done.stderr, done.stderr
    assert not (tmp_path / "etc" / "terminal.toml").exists()
