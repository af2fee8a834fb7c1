"""The command line as a person meets it: sandbox by default, JSON on request, and plain-words errors
(never a traceback) for bad configuration and keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pos_app.cli import main


def run(*args, env=None, data_dir=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    environment.update(env or {})
    if data_dir is not None:
        environment["POS_TERMINAL_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "pos_app", *args], capture_output=True, text=True,
                          env=environment, timeout=60)


def test_no_config_runs_in_sandbox_and_checks_the_gateway(tmp_path):
    proc = run("--json", data_dir=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "nocfg")})
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["mode"].startswith("sandbox") and status["gatewayCheck"]["ok"]
    assert (tmp_path / "sandbox-gateway" / "keys" / "merchant_private.pem").exists()


def test_status_against_a_running_simulator_config(sim):
    proc = run("--config", str(sim.provisioned.config_file), "status")
    assert proc.returncode == 0, proc.stderr
    assert "OK: a signed inquiry was answered and verified" in proc.stdout


def test_broken_config_is_one_clear_line_not_a_traceback(tmp_path):
    bad = tmp_path / "terminal.toml"
    bad.write_text("[gateway]\nurl = 'http://example.com'\n")
    for args in ((), ("status",)):  # the window refuses it before opening, as status does
        proc = run("--config", str(bad), *args, data_dir=tmp_path)
        assert proc.returncode == 2
        assert str(bad) in proc.stderr and "[gateway] url" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_key_too_open_names_the_chmod(sim, tmp_path):
    key = sim.provisioned.keys_dir / "merchant_private.pem"
    key.chmod(0o644)
    try:
        proc = run("--config", str(sim.provisioned.config_file), "status", data_dir=tmp_path)
    finally:
        key.chmod(0o600)
    assert proc.returncode == 2 and f"chmod 600 {key}" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_gateway_says_so(sim, tmp_path):
    config = sim.provisioned.config_file.read_text().replace(sim.url, "http://127.0.0.1:9")
    path = tmp_path / "t.toml"
    path.write_text(config.replace('"keys/', f'"{sim.provisioned.keys_dir}/'))
    proc = run("--config", str(path), "status", "--json", data_dir=tmp_path)
    assert proc.returncode == 1
    assert "could not connect" in json.loads(proc.stdout)["gatewayCheck"]["message"]


def test_config_from_environment_variable(sim):
    proc = run("status", "--json", env={"POS_TERMINAL_CONFIG": str(sim.provisioned.config_file)})
    assert json.loads(proc.stdout)["config"] == str(sim.provisioned.config_file)


@pytest.mark.parametrize("code,kind,exit_code", [
    ("281234567890123456", "payment_code", 0), ("4006381333931", "product", 0), ("hello", "unknown", 1)])
def test_classify(capsys, code, kind, exit_code):
    assert main(["classify", code, "--json"]) == exit_code
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == kind
    assert "1234567890" not in json.dumps(out), "a payment code is never printed in full"


def test_sim_refuses_bad_options(capsys):
    assert main(["sim", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["sim", "--notify-time-scale", "0"]) == 2


def test_no_command_without_a_display_says_so(tmp_path):
    env = {k: "" for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = run(data_dir=tmp_path, env={**env, "XDG_CONFIG_HOME": str(tmp_path / "nocfg")})
    assert proc.returncode == 2 and "no display" in proc.stderr and "Traceback" not in proc.stderr


def test_console_script_and_module_are_the_same(tmp_path):
    import shutil
    script = shutil.which("pos-terminal", path=os.path.dirname(sys.executable))
    assert script, "pos-terminal is installed next to this python"
    a = subprocess.run([script, "--version"], capture_output=True, text=True)
    b = run("--version")
    assert a.stdout == b.stdout and "pos-terminal" in a.stdout
