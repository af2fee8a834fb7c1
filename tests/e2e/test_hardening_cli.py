"""Bad input on ``pos-terminal``'s command line (a data dir under a user that does not exist, a client id with a
newline, a device as the config): one plain line and exit 2, never a traceback, from a real process."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [["--data-dir", "~nosuchuser-pos/x", "status"],
                                  ["sim", "--data-dir", "~nosuchuser-pos/x"],
                                  ["sim", "--client-id", "A\nB", "--port", "0"],
                                  ["--config", "/dev/zero"]])
def test_bad_cli_input_is_one_plain_error(args, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "POS_TERMINAL_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pos_app", *args], capture_output=True, text=True, timeout=30, env=env,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("pos-terminal: ")
