"""The sandbox over TLS as a person runs it: ``POS_TERMINAL_SANDBOX_TLS=1 pos-terminal status`` starts the
embedded simulator on HTTPS and reaches it by its own CA, directly, even with the environment naming a proxy
that is not there (the simulator is on loopback)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_status_in_sandbox_over_tls_takes_a_verified_direct_https_round_trip(tmp_path):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))   # bound, never listening: a proxy there refuses every connection
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")},
           "POS_TERMINAL_SANDBOX_TLS": "1", "HTTPS_PROXY": f"http://127.0.0.1:{dead.getsockname()[1]}"}
    try:
        proc = subprocess.run([sys.executable, "-m", "pos_app", "--data-dir", str(tmp_path / "data"), "status",
                               "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    finally:
        dead.close()
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["gateway"].startswith("https://127.0.0.1:")
    assert status["proxy"]["url"] is None and status["proxy"]["source"] == "direct"
    assert status["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    ca = tmp_path / "data" / "sandbox-gateway" / "tls" / "ca.pem"
    issuer = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", str(ca)],
                            capture_output=True, text=True, check=True).stdout.strip().removeprefix("subject=")
    assert status["tls"]["issuer"] == issuer   # issued by the sandbox's own CA, read by openssl
    assert status["gatewayCheck"]["ok"] and status["gatewayCheck"]["outcome"]["httpStatus"] == 200
