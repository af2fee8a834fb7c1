"""The command line as a person meets it: sandbox by default, JSON on request, and plain-words errors
(never a traceback) for bad configuration and keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flowkit import MANAGER_PIN, cli_json, journal_query, ledger, paid_sale, set_manager_pin, write_config


def run(*args, env=None, data_dir=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    environment.update(env or {})
    if data_dir is not None:
        environment["POS_TERMINAL_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "pos_app", *args], capture_output=True, text=True,
                          env=environment, timeout=60, check=False)


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


def test_no_command_without_a_display_says_so(tmp_path):
    env = dict.fromkeys(("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"), "")
    proc = run(data_dir=tmp_path, env={**env, "XDG_CONFIG_HOME": str(tmp_path / "nocfg")})
    assert proc.returncode == 2 and "no display" in proc.stderr and "Traceback" not in proc.stderr


def test_console_script_and_module_are_the_same(tmp_path):
    import shutil
    script = shutil.which("pos-terminal", path=os.path.dirname(sys.executable))
    assert script, "pos-terminal is installed next to this python"
    a = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    b = run("--version")
    assert a.stdout == b.stdout and "pos-terminal" in a.stdout


# -- start-up: a command imports what it uses, not the other commands ---------------------------------------
COMMAND_MODULES = {"pos_app.cli.counter", "pos_app.cli.manager", "pos_app.cli.technician", "pos_app.cli.tools"}
HEAVY = {"requests", "urllib3", "cryptography", "PySide6", "pos_app.selftest", "pos_app.setup_wizard",
         "pos_app.services", "pos_app.terminal", "pos_app.device_commands", "pos_app.review",
         "offline_queue.journal"}


def test_help_imports_no_command_module():
    """`pos-terminal --help` lists every command from the registration table without importing one."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pos_app", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert {"click", "pos_app.cli"} <= imported, "the measure sees the CLI's own imports"
    assert not imported & (COMMAND_MODULES | HEAVY), sorted(imported & (COMMAND_MODULES | HEAVY))
    assert "reconcile" in proc.stdout and "scanner" in proc.stdout


GUI_PROBE = """
import json, sys, types
app = types.ModuleType("ui.app")      # the window, replaced: what the CLI loaded before handing over
app.main = lambda args: print(json.dumps(sorted(sys.modules))) or 0
sys.modules["ui.app"] = app
from pos_app.cli import main
sys.exit(main(["gui", "--no-scanners"]))
"""


def test_gui_hands_over_without_the_other_commands(tmp_path):
    proc = subprocess.run([sys.executable, "-c", GUI_PROBE], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "POS_TERMINAL_DATA_DIR": str(tmp_path)}, check=False)
    assert proc.returncode == 0, proc.stderr
    imported = set(json.loads(proc.stdout))
    assert "pos_app.cli.tools" in imported
    assert not imported & ((COMMAND_MODULES - {"pos_app.cli.tools"}) | HEAVY), sorted(imported & HEAVY)


# -- the parser's refusals are a person's errors ----------------------------------------------------------------


def test_review_cancel_takes_the_manager_pin_and_is_audited(sim, tmp_path):
    """`review cancel ID` resends a sale's cancel; on a paid one that reverses it, so it asks the manager."""
    config, d = write_config(sim), tmp_path / "t"
    ref = paid_sale(config, d, "3.00").id
    set_manager_pin(d)
    rc, refused = cli_json("review", "cancel", ref, config=config, data_dir=d, input="000000\n")
    assert rc == 2 and "wrong PIN" in refused["error"] and ledger(sim)[ref]["status"] == "SUCCESS"
    rc, done = cli_json("review", "cancel", ref, "--by", "dana", config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and (done["kind"], done["status"]) == ("cancel", "SUCCESS"), done
    assert ledger(sim)[ref]["status"] == "CANCELLED"
    rows = journal_query(d, "SELECT txn, asked_by, approved_by FROM audit WHERE action='retry_cancel'")
    assert rows == [(ref, "dana", "manager")]
