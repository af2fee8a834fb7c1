"""[settlement] in terminal.toml (issue 18): where the gateway's report files are fetched and whose they are.
A good table loads with its files made absolute; each bad shape is refused in words naming the file,
[settlement] and what was expected, never echoing a password. Real files, no mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomli_w

from pos_app.config import load_config
from pos_app.errors import ConfigError
from pos_app.sim.provision import provision, terminal_doc

URL = "sftp://merchant@127.0.0.1:2222/v1/settlements/CUST-1"


def terminal(folder: Path, settlement: dict | None) -> Path:
    """A whole terminal.toml (the simulator's keys beside it) with ``settlement`` as its [settlement]."""
    provision(folder, "http://127.0.0.1:1")
    doc = terminal_doc("http://127.0.0.1:1", "SANDBOX_SETTLE", "127.0.0.1:8081", "http://127.0.0.1:8081/notify")
    doc.pop("settlement", None)
    if settlement is not None:
        doc["settlement"] = settlement
    path = folder / "settle.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def secret(path: Path, mode: int = 0o600) -> Path:
    path.write_text("s3cret\n")
    os.chmod(path, mode)
    return path


def refused(folder: Path, table: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(terminal(folder, table))
    assert "[settlement]" in caught.value.message
    assert "s3cret" not in str(caught.value)
    return caught.value


def test_no_table_is_none(tmp_path):
    assert load_config(terminal(tmp_path, None)).settlement is None


def test_only_a_customer_id_defaults_to_the_client_id(tmp_path):
    assert load_config(terminal(tmp_path, {})).settlement.customer_id == "SANDBOX_SETTLE"
    s = load_config(terminal(tmp_path, {"customer_id": "2188120000000000"})).settlement
    assert (s.customer_id, s.sftp, s.password_file) == ("2188120000000000", None, None)


def test_a_full_table_with_paths_relative_to_the_config(tmp_path):
    secret(tmp_path / "sftp.password")
    (tmp_path / "known_hosts").write_text("[127.0.0.1]:2222 ssh-ed25519 AAAA\n")
    s = load_config(terminal(tmp_path, {"sftp": URL + "/", "password_file": "sftp.password",
                                        "known_hosts": "known_hosts"})).settlement
    assert s.sftp == URL
    assert s.password_file == tmp_path / "sftp.password" and s.known_hosts == tmp_path / "known_hosts"
    assert (s.url.user, s.url.host, s.url.port, s.url.path) == ("merchant", "127.0.0.1", 2222,
                                                                "/v1/settlements/CUST-1")
    assert s.customer_id == "SANDBOX_SETTLE"


def test_a_password_or_key_others_can_read_is_refused(tmp_path):
    (tmp_path / "known_hosts").write_text("x\n")
    secret(tmp_path / "pw", 0o644)
    e = refused(tmp_path, {"sftp": URL, "password_file": "pw", "known_hosts": "known_hosts"})
    assert "0644" in e.message and "chmod 600" in e.hint
    secret(tmp_path / "id_ed25519", 0o640)
    e = refused(tmp_path, {"sftp": URL, "key": "id_ed25519", "known_hosts": "known_hosts"})
    assert "key" in e.message and "0640" in e.message


def test_sftp_needs_known_hosts_and_a_login(tmp_path):
    secret(tmp_path / "pw")
    e = refused(tmp_path, {"sftp": URL, "password_file": "pw"})
    assert "known_hosts" in e.message and "first use" in e.hint
    (tmp_path / "known_hosts").write_text("x\n")
    e = refused(tmp_path, {"sftp": URL, "known_hosts": "known_hosts"})
    assert "password_file" in e.message and "key" in e.message
    e = refused(tmp_path, {"sftp": URL, "known_hosts": "nowhere", "password_file": "pw"})
    assert "does not exist" in e.message


@pytest.mark.parametrize(("url", "words"), [
    ("https://merchant@h/v1", "sftp://"),
    ("sftp://h.example.com/v1", "user"),
    ("sftp://merchant@h.example.com", "absolute folder"),
    ("sftp://merchant@h.example.com:0/v1", "port"),
    ("sftp://merchant@h.example.com:70000/v1", "port"),
    ("sftp://merchant@h.example.com/v1?x=1", "query"),
    ("sftp://merchant:s3cret@h.example.com/v1", "password"),
])
def test_a_bad_url_is_said(tmp_path, url, words):
    secret(tmp_path / "pw")
    (tmp_path / "known_hosts").write_text("x\n")
    e = refused(tmp_path, {"sftp": url, "password_file": "pw", "known_hosts": "known_hosts"})
    assert words in e.message and "sftp://user@host" in e.hint
    assert "expected" not in e.message and "got" not in e.message   # one sentence after the URL (issue 19)


def test_an_unknown_key_names_the_keys(tmp_path):
    e = refused(tmp_path, {"password": "s3cret"})
    assert "unknown key" in e.message and "password_file" in e.hint
