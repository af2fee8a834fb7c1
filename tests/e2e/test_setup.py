"""``pos-terminal setup``: the first-run walk, driven as a person drives it (a real ``pos-terminal``
process with answers piped to stdin, or an ``--answers`` file), and its parts called directly where a
subprocess would only add time. What it writes is judged by the terminal's own readers: load_config, the
key loaders, PinBook and, against a running simulator, ``pos-terminal selftest``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tomllib
from argparse import Namespace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flowkit import cli, cli_json
from kit import mode, payment_code

from offline_queue.journal import Journal
from pos_app import setup_wizard
from pos_app.config import load_config
from pos_app.roles import MANAGER, TECHNICIAN, PinBook, PinError
from pos_app.signing import load_private_key, load_public_key


def der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def gateway_pem(tmp_path_factory) -> Path:
    """A gateway public key as the gateway's portal hands it out: a PEM file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("gateway") / "gateway_public.pem"
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def answers_file(folder: Path, gateway_key: Path, **changes) -> Path:
    """An --answers file; a change to None leaves that key out."""
    answers = {"url": "https://open-sea-global.alipay.com", "client_id": "SANDBOX_5YEZ1J2YJ5Y704017",
               "reference_merchant_id": "M0001", "name": "Corner Shop", "mcc": "5411", "store_id": "S001",
               "store_name": "Corner Shop Central", "store_mcc": "5812", "terminal_id": "T001", "currency": "usd",
               "settlement_currency": "USD", "listen": "0.0.0.0:8081", "public_url": "https://pos.example.com/notify",
               "gateway_public_key": str(gateway_key), "manager_pin": "2468", "technician_pin": "13579"}
    answers.update(changes)
    path = folder / "answers.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in answers.items() if v is not None))
    return path


def setup_cli(tmp_path: Path, *args, input: str | None = None):
    return cli("setup", *args, config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data", input=input)


def direct(tmp_path: Path, answers: Path | None, *, config: Path | None = None, force: bool = False,
           new_key: bool = False, as_json: bool = True) -> Namespace:
    """The arguments cli.main would hand cmd_setup."""
    return Namespace(config=str(config) if config else None, data_dir=str(tmp_path / "data"), json=as_json,
                     verbose=False, force=force, new_key=new_key, answers=str(answers) if answers else None)


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
        "12",                             # a PIN is 4 to 12 digits
        "1234", "9999",                   # the two PINs differ
        "1234", "1235",                   # ... and again
        "1234", "1234",
        "567890", "567890",
    ]
    done = setup_cli(tmp_path, input="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    reasons = [line.strip() for line in done.stdout.splitlines() if "not accepted" in line]
    assert len(reasons) == 7, reasons
    assert "https://" in reasons[0] and "'http://example.com'" in reasons[0]
    assert "4-digit merchant category code" in reasons[1] and "'54a1'" in reasons[1]
    assert "ISO 4217" in reasons[2] and "'usd1'" in reasons[2]
    assert "missing.pem does not exist" in reasons[3]
    assert "4 to 12 digits" in reasons[4]
    assert "differ" in reasons[5] and "differ" in reasons[6]
    assert "[https://open-sea-global.alipay.com]" in done.stdout and "store name [Corner Shop]" in done.stdout

    etc = tmp_path / "etc"
    config = load_config(etc / "terminal.toml")
    assert config.gateway.url == "http://127.0.0.1:9"
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
               "", "https://pos.example.com/notify", str(gateway_pem), "1234"]
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


def test_new_key_makes_a_new_pair_and_backs_up_the_old_private_key(tmp_path, gateway_pem, capsys):
    target, keys = tmp_path / "etc" / "terminal.toml", tmp_path / "etc" / "keys"
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target)) == 0
    first = json.loads(capsys.readouterr().out)
    old_key = (keys / "merchant_private.pem").read_bytes()

    # --new-key does not stand in for --force: the config is still refused
    with pytest.raises(setup_wizard.PosError, match="already exists"):
        setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target, new_key=True))
    assert (keys / "merchant_private.pem").read_bytes() == old_key

    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target, force=True,
                                         new_key=True)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["merchant_key"] == "replaced" and Path(out["key_backup"]).read_bytes() == old_key
    assert out["key_backup"].startswith(f"{keys / 'merchant_private.pem'}.bak-")
    assert mode(Path(out["key_backup"])) == 0o600
    new = load_private_key(keys / "merchant_private.pem")
    assert (keys / "merchant_private.pem").read_bytes() != old_key and mode(keys / "merchant_private.pem") == 0o600
    assert der(load_public_key(keys / "merchant_public.pem")) == der(new.public_key())
    assert out["merchant_public_key"] != first["merchant_public_key"]
    assert base64.b64decode(out["merchant_public_key"]) == der(new.public_key())

    # without a config (lost), --new-key alone replaces the key; the summary warns about the gateway
    target.unlink()
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target, new_key=True,
                                         as_json=False)) == 0
    said = capsys.readouterr().out
    assert "merchant key: replaced" in said and "The gateway still knows the OLD public key" in said
    assert len(list(keys.glob("merchant_private.pem.bak-*"))) == 2


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


def test_no_move_without_the_simulators_folder_or_with_a_config_elsewhere(tmp_path, gateway_pem, capsys,
                                                                           monkeypatch):
    data = tmp_path / "data"
    with Journal.open(data):
        pass
    monkeypatch.delenv("POS_TERMINAL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    target = tmp_path / "etc" / "terminal.toml"
    assert setup_wizard.make_plan(direct(tmp_path, None, config=target)).archive is False   # no sandbox-gateway/
    (data / "sandbox-gateway").mkdir()
    assert setup_wizard.make_plan(direct(tmp_path, None, config=target)).archive is True
    # the terminal without --config would already run live here: this data directory is not a sandbox's
    elsewhere = tmp_path / "xdg" / "pos-terminal" / "terminal.toml"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("")
    assert setup_wizard.make_plan(direct(tmp_path, None, config=target)).archive is False
    monkeypatch.setenv("POS_TERMINAL_CONFIG", str(elsewhere))
    assert setup_wizard.make_plan(direct(tmp_path, None, config=target)).archive is False


def test_default_target_keeps_an_existing_merchant_key_and_pins(tmp_path, gateway_pem, capsys, monkeypatch):
    monkeypatch.delenv("POS_TERMINAL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    answers = answers_file(tmp_path, gateway_pem)
    assert setup_wizard.cmd_setup(direct(tmp_path, answers)) == 0
    first = json.loads(capsys.readouterr().out)
    target = tmp_path / "xdg" / "pos-terminal" / "terminal.toml"
    assert first["config"] == str(target) and first["merchant_key"] == "created" and first["backup"] is None
    assert first["pins"] == [MANAGER, TECHNICIAN]
    key = (target.parent / "keys" / "merchant_private.pem").read_bytes()

    target.unlink()   # a config lost, the key and the journal still there
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem, manager_pin="9999"))) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["merchant_key"] == "kept" and second["merchant_public_key"] == first["merchant_public_key"]
    assert second["sandbox_journal_archived"] is None   # a journal, but no sandbox-gateway/: not a sandbox's
    assert (target.parent / "keys" / "merchant_private.pem").read_bytes() == key
    assert second["pins"] == [] and second["pins_kept"] == [MANAGER, TECHNICIAN]
    with Journal.open(tmp_path / "data") as journal:
        PinBook(journal).verify(MANAGER, "2468")   # the first PIN still holds


def test_the_gateway_key_must_not_be_our_own(tmp_path, gateway_pem, capsys):
    target = tmp_path / "etc" / "terminal.toml"
    assert setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem), config=target)) == 0
    capsys.readouterr()
    target.unlink()
    own = answers_file(tmp_path, target.parent / "keys" / "merchant_public.pem")
    with pytest.raises(setup_wizard.PosError, match="merchant's own public key"):
        setup_wizard.cmd_setup(direct(tmp_path, own, config=target))
    assert not target.exists()


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


@pytest.mark.parametrize("key, text, value", [
    ("url", "https://gw.example.com/", "https://gw.example.com"),
    ("currency", " eur ", "EUR"),
    ("listen", "[::1]:8081", "[::1]:8081"),
    ("name", "Café \"Zur Post\" \\ 2", "Café \"Zur Post\" \\ 2"),
])
def test_answers_are_kept_as_load_config_reads_them(tmp_path, key, text, value):
    assert setup_wizard.Judge(tmp_path).config_answer(key, text) == value


@pytest.mark.parametrize("key, text, reason", [
    ("url", "ftp://gw.example.com", "expected an https:// URL"),
    ("client_id", "has space", "at most 64 characters"),
    ("store_mcc", "541", "4-digit"),
    ("listen", "0.0.0.0:70000", "port from 1 to 65535"),
    ("public_url", "http://pos.example.com/notify", "plain http:// is allowed for 127.0.0.1"),
    ("name", "tab\there", "no control characters"),
])
def test_bad_answers_get_load_configs_reason_in_one_line(tmp_path, key, text, reason):
    with pytest.raises(setup_wizard._Bad) as caught:
        setup_wizard.Judge(tmp_path).config_answer(key, text)
    assert reason in str(caught.value) and "\n" not in str(caught.value)
    assert str(tmp_path) not in str(caught.value)


def test_dump_toml_round_trips_what_a_config_holds():
    doc = {"offline": {"merchant_risk": True, "max_total": {"USD": "100.00"}, "probe_interval": 1.5},
           "scanners": {"layout": "fr", "hid": [{"path": "/dev/input/by-id/x y", "role": "shared"}],
                        "serial": [{"port": "/dev/ttyACM0", "baud": 115200}]},
           "odd": {"quote\"key": "a\x7fb\nc", "list": [1, 2.5]}}
    assert tomllib.loads(setup_wizard.dump_toml(doc)) == doc


def test_the_gateway_key_may_be_pasted_as_base64(tmp_path, gateway_pem):
    key = load_public_key(gateway_pem)
    pasted = base64.b64encode(der(key)).decode()
    assert der(setup_wizard.Judge.gateway_key(pasted, tmp_path, None)) == der(key)
    with pytest.raises(setup_wizard._Bad, match="neither a file nor a key"):
        setup_wizard.Judge.gateway_key("A" * 400, tmp_path, None)


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
