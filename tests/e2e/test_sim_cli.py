"""``pos-terminal sim`` as a real process: it prints where its keys, config and URL are, and serves there
until it is stopped (the simulator's own promises, in this process, are integration/test_simulator.py's)."""

from __future__ import annotations

import json
import subprocess
import sys

import requests


def test_cli_sim_prints_where_things_are(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sim", "--port", "0", "--data-dir", str(tmp_path),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("}"):
                break
            assert line, proc.stderr.read()
        info = json.loads("".join(lines))
        assert info["keys"] == str(tmp_path / "keys") and info["config"] == str(tmp_path / "terminal.toml")
        assert requests.get(info["url"] + "/sim/health", timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
