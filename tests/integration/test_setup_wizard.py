"""The setup wizard called directly, as the setup command calls it, where a process would only add time: a new
key pair with the old one backed up, the sandbox journal moved aside only when it is the sandbox's, PINs and
merchant key kept, the gateway key checked, and each answer judged as load_config reads it (the walk through a
real ``pos-terminal setup`` process is e2e/test_setup.py's)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kit import mode
from setupkit import answers_file, der, direct, gateway_key_file

from offline_queue.journal import Journal
from pos_app import setup_wizard
from pos_app.roles import MANAGER, TECHNICIAN, PinBook
from pos_app.signing import load_private_key, load_public_key


@pytest.fixture(scope="module")
def gateway_pem(tmp_path_factory) -> Path:
    return gateway_key_file(tmp_path_factory.mktemp("gateway"))


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


def test_the_gateway_key_may_be_pasted_as_base64(tmp_path, gateway_pem):
    key = load_public_key(gateway_pem)
    pasted = base64.b64encode(der(key)).decode()
    assert der(setup_wizard.Judge.gateway_key(pasted, tmp_path, None)) == der(key)
    with pytest.raises(setup_wizard._Bad, match="neither a file nor a key"):
        setup_wizard.Judge.gateway_key("A" * 400, tmp_path, None)


def test_the_technician_pin_may_not_be_the_managers_refused_before_anything_is_written(tmp_path, gateway_pem):
    target = tmp_path / "etc" / "terminal.toml"
    same = answers_file(tmp_path, gateway_pem, manager_pin="482915", technician_pin="482915")
    with pytest.raises(setup_wizard.PosError, match="technician_pin: the technician PIN may not be the same as the "
                                                    "manager PIN: each mode has its own"):
        setup_wizard.cmd_setup(direct(tmp_path, same, config=target))
    assert not target.exists() and not (tmp_path / "data" / "journal.sqlite").exists()

    # the manager's PIN kept in the journal: a technician PIN equal to it is refused as well
    only_manager = answers_file(tmp_path, gateway_pem, manager_pin="482915", technician_pin=None)
    assert setup_wizard.cmd_setup(direct(tmp_path, only_manager, config=target)) == 0
    again = answers_file(tmp_path, gateway_pem, manager_pin=None, technician_pin="482915")
    with pytest.raises(setup_wizard.PosError, match="technician_pin: the technician PIN may not be the same"):
        setup_wizard.cmd_setup(direct(tmp_path, again, config=target, force=True))
    with Journal.open(tmp_path / "data") as journal:
        assert not PinBook(journal).is_set(TECHNICIAN)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"proxy": "https://10.0.0.1:3128"}, "it must start with http://, not https://"),
    ({"proxy": "http://shop:pw@10.0.0.1:3128"}, "a login may not be written inside the URL"),
    ({"proxy_credentials": "login"}, "no proxy_credentials without proxy"),
    ({"proxy": "http://10.0.0.1:3128", "proxy_credentials": "open-login"}, "can be read by other users"),
    ({"ca_bundle": "not-a-ca.pem"}, "holds no PEM certificate"),
])
def test_the_way_out_is_judged_by_load_configs_rules_before_any_round_trip(tmp_path, gateway_pem, changes, reason):
    """Issue 19: a proxy, its login file or a CA bundle that the config would refuse is listed with config.py's
    reason, named relative to the answers file, and nothing is written (nor any round trip tried: the gateway
    URL is one this machine cannot reach)."""
    (tmp_path / "login").write_text("shop:pw\n")
    (tmp_path / "login").chmod(0o600)
    (tmp_path / "open-login").write_text("shop:pw\n")
    (tmp_path / "open-login").chmod(0o644)
    (tmp_path / "not-a-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(setup_wizard.PosError) as raised:
        setup_wizard.cmd_setup(direct(tmp_path, answers_file(tmp_path, gateway_pem, url="https://gw.invalid",
                                                              **changes)))
    said = raised.value.message
    assert "1 answer is not accepted, so nothing was written" in said and reason in said, said
    assert "the gateway is not reached" not in said and "shop:pw" not in said
    assert not (tmp_path / "data").exists()
