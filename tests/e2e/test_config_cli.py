"""What the real CLI answers to a hostile config (issue 13). Each test runs ``pos-terminal status --config FILE``
in a subprocess: a bad file must end in exit 2 with one plain message, never exit 70 ("internal error"), a
memory blow-up or a hang. The address-space cap makes a regression fail with MemoryError instead of eating
the machine; pytest-timeout bounds a hang (subprocess.run kills the child when the timeout interrupts it)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from configtext import VALID, render, write
from kit import stranger_keys

POS_TERMINAL = Path(sys.executable).with_name("pos-terminal")
ADDRESS_SPACE = 1024 ** 3


def _capped():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def status_with(config: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    return subprocess.run([str(POS_TERMINAL), "status", "--config", str(config), "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, env=env, preexec_fn=_capped, check=False)


def assert_refused(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> tuple[Path, Path]:
    return stranger_keys(tmp_path_factory.mktemp("keys"))


def _not_a_key(kind: str, tmp_path: Path) -> Path:
    if kind == "fifo":
        path = tmp_path / "key.fifo"
        os.mkfifo(path)  # nobody ever writes to it: opening it to read would wait for ever
    elif kind == "oversized":
        path = tmp_path / "huge.pem"
        with path.open("wb") as f:
            f.truncate(4 * 1024 ** 3)  # sparse: no disk used, but four times the address-space cap
        path.chmod(0o600)
    else:
        path = Path(kind)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and /dev/zero (POSIX)")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", ["merchant_private_key", "gateway_public_key"])
@pytest.mark.parametrize("kind", ["/dev/zero", "/dev/urandom", "fifo", "oversized"])
def test_a_key_path_to_a_device_a_fifo_or_a_huge_file_is_refused_unread(tmp_path, key_pair, setting, kind):
    keys = {"merchant_private_key": key_pair[0], "gateway_public_key": key_pair[1]}
    keys[setting] = _not_a_key(kind, tmp_path)
    file = write(tmp_path, gateway={"url": '"http://127.0.0.1:9"',
                                    **{name: f'"{path}"' for name, path in keys.items()}})
    proc = status_with(file, tmp_path)
    assert_refused(proc, f"[gateway] {setting}", str(keys[setting]))
    assert ("not a regular file" if kind != "oversized" else "too big") in proc.stderr


@pytest.mark.timeout(60)
def test_a_deeply_nested_toml_file_is_refused_not_a_crash(tmp_path):
    file = write(tmp_path, "a = " + "[" * 100000)
    assert_refused(status_with(file, tmp_path), str(file), "not valid TOML")


@pytest.mark.timeout(60)
def test_a_value_nested_thousands_deep_is_named_not_a_crash(tmp_path):
    text = render(VALID).replace('name = "Corner Shop"', "name." + ".".join(["x"] * 5000) + " = 1")
    file = write(tmp_path, text)
    assert_refused(status_with(file, tmp_path), str(file), "[merchant] name")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section, key, url", [
    ("gateway", "url", "https://open-sea-global.alipay.com/ams gw"),
    ("gateway", "url", "https://open-sea-global.alipay.com/tenant\\x"),
    ("notifications", "public_url", "https://pos.example.com/pay notify"),
    ("notifications", "public_url", "https://pos.example.com/caf\u00e9"),
])
def test_a_url_with_a_space_or_a_character_that_needs_encoding_is_refused(tmp_path, section, key, url):
    file = write(tmp_path, **{section: {key: json.dumps(url, ensure_ascii=False)}})
    assert_refused(status_with(file, tmp_path), str(file), f"[{section}] {key}", "%20")
