"""The simulator's TLS folder and the sandbox's TLS switch as a hostile user handles them: a CA key others can read,
a host name in unicode, a garbage POS_TERMINAL_SANDBOX_TLS, the switch toggled between runs. Each is said in words
(never a traceback) or followed, checked with real ``pos-terminal`` processes and openssl as the independent peer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from pos_app.config import load_config
from pos_app.errors import PosError
from pos_app.sim.tls import ensure_tls

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env_extra: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_") and
              not k.lower().endswith("_proxy")}, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "pos_app", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout, check=False)


def test_a_ca_key_others_can_read_is_refused_in_words(tmp_path):
    files = ensure_tls(tmp_path, ["localhost"])
    key = files.ca.with_name("ca.key")
    key.chmod(0o644)
    with pytest.raises(PosError) as raised:
        ensure_tls(tmp_path, ["localhost"])
    assert str(key) in raised.value.message and "chmod 600" in (raised.value.hint or "")


def test_a_server_key_others_can_read_is_issued_again_private(tmp_path):
    files = ensure_tls(tmp_path, ["localhost"])
    old = files.cert.read_bytes()
    files.key.chmod(0o644)
    again = ensure_tls(tmp_path, ["localhost"])
    assert again.cert.read_bytes() != old and files.key.stat().st_mode & 0o077 == 0


def test_a_unicode_host_name_is_covered_by_its_a_label(tmp_path):
    files = ensure_tls(tmp_path, ["Bücher.example"])
    san = x509.load_pem_x509_certificate(files.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "xn--bcher-kva.example" in san.get_values_for_type(x509.DNSName)
    assert ensure_tls(tmp_path, ["bücher.example"]).created == ()   # the same name: kept


def test_a_host_that_is_no_name_is_said_in_words(tmp_path):
    with pytest.raises(PosError) as raised:
        ensure_tls(tmp_path, ["a..b"])
    assert "a..b" in raised.value.message


def test_a_garbage_sandbox_tls_value_is_said_in_words(tmp_path):
    value = "yes"
    done = run("--data-dir", tmp_path / "data", "status", env_extra={"POS_TERMINAL_SANDBOX_TLS": value}, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "POS_TERMINAL_SANDBOX_TLS" in done.stderr and repr(value) in done.stderr, done.stderr


def test_sandbox_tls_toggled_between_runs_follows_and_loads_each_time(tmp_path):
    data = tmp_path / "data"
    config = data / "sandbox-gateway" / "terminal.toml"
    for value, scheme in (("1", "https"), ("0", "http"), ("1", "https")):
        done = run("--data-dir", data, "status", "--json", env_extra={"POS_TERMINAL_SANDBOX_TLS": value})
        assert done.returncode == 0, done.stderr
        status = json.loads(done.stdout)
        assert status["gateway"].startswith(f"{scheme}://127.0.0.1:") and status["gatewayCheck"]["ok"], status
        assert (status["tls"] is not None) == (scheme == "https")
        gw = load_config(config).gateway   # the file the simulator keeps follows, and loads each time
        assert gw.url.startswith(f"{scheme}://")
