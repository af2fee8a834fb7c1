"""The technician's window over the real network path (issue 19): a kiosk till in sandbox mode with
POS_TERMINAL_SANDBOX_TLS=1 (the embedded simulator serves HTTPS from its own CA), driven only by X events
(tests/xkit.py). Its external self-test shows the way out (``proxy``: direct, the sandbox never goes through a
store's proxy, even with HTTPS_PROXY pointing at a dead one) and the TLS the payment calls take (``tls``: the
version, the sandbox CA as issuer, read independently with openssl, and the end date), the gateway on https.
A screenshot of the result is saved (the CI's artifacts)."""

from __future__ import annotations

import socket
import subprocess

import pytest
import xkit

from pos_app.selftest import TITLES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TECHNICIAN_PIN = "135791"


class TlsTill(xkit.Till):
    """A till whose sandbox gateway serves TLS, with the environment naming a proxy that refuses everything."""

    def __init__(self, *args, dead_proxy: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dead_proxy = dead_proxy

    def env(self) -> dict[str, str]:
        return {**super().env(), "POS_TERMINAL_SANDBOX_TLS": "1", "HTTPS_PROXY": self.dead_proxy}


@pytest.fixture(scope="module")
def till(tmp_path_factory):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))   # bound, never listening: a proxy there refuses every connection
    try:
        with TlsTill(tmp_path_factory.mktemp("till"), size=(1280, 800), screens=1, language="en",
                     dead_proxy=f"http://127.0.0.1:{dead.getsockname()[1]}") as started:
            yield started
    finally:
        dead.close()


def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def widget(probe: dict, cls: str, name: str) -> dict | None:
    found = window(probe, cls)
    return next((w for w in found["widgets"] if w["objectName"] == name), None) if found else None


def test_the_selftest_shows_the_proxy_and_the_tls_of_a_tls_sandbox(till):
    ca = till.data_dir / "sandbox-gateway" / "tls" / "ca.pem"
    assert till.sim_url.startswith("https://127.0.0.1:")
    till.key("F10")   # the technician's PIN, first use: PIN, Tab, PIN, Return
    till.wait_for(lambda p: window(p, "PinDialog") is not None, what="the technician PIN dialog")
    till.type(TECHNICIAN_PIN)
    till.key("Tab")
    till.type(TECHNICIAN_PIN)
    till.key("Return")
    till.wait_for(lambda p: (p["focus"] or {}).get("objectName") == "technician_tabs",
                  what="the technician's window, the keyboard on its tabs")
    till.key("Right")
    till.wait_for(lambda p: widget(p, "TechnicianWindow", "run_selftest") is not None, what="the Self-test tab")
    codes = {words: code for code, words in TITLES.items()}
    till.click_on("run_selftest")
    probe = till.wait_for(
        lambda p: (t := widget(p, "TechnicianWindow", "selftest_checks")) is not None
        and any(codes.get(row[1]) == "display" for row in t["rows"])
        and widget(p, "TechnicianWindow", "run_selftest")["enabled"],
        what="the external self-test finished", timeout=60)
    rows = {codes.get(row[1], row[1]): row for row in widget(probe, "TechnicianWindow", "selftest_checks")["rows"]}
    shot = till.screenshot("technician-selftest-tls-sandbox")
    assert shot.is_file()
    # direct because it is the sandbox, not because of a "[gateway] proxy" no file of the technician's holds
    assert rows["proxy"][0] == "PASS" and "sandbox" in rows["proxy"][3], rows["proxy"]
    assert "[gateway] proxy" not in rows["proxy"][3], rows["proxy"]
    assert rows["gateway"][0] == "PASS" and till.sim_url.removeprefix("https://") in rows["gateway"][3], rows["gateway"]
    assert rows["round-trip"][0] == "PASS", rows["round-trip"]
    issuer = subprocess.run(["openssl", "x509", "-noout", "-subject", "-enddate", "-nameopt", "RFC2253", "-in",
                             str(ca)], capture_output=True, text=True, check=True).stdout
    cn = next(part for part in issuer.split(",") if "CN=" in part).split("CN=")[1].strip()
    tls = rows["tls"]
    assert tls[0] == "PASS" and "TLSv1." in tls[3] and cn in tls[3], tls


def test_a_second_process_without_the_variable_uses_the_running_tls_sandbox(till):
    """``pos-terminal status`` beside the running till, POS_TERMINAL_SANDBOX_TLS unset in its environment: it
    takes the till's own simulator from the sandbox's record (https, by the sandbox CA), starts none."""
    import json
    import sys

    env = {k: v for k, v in till.env().items() if k != "POS_TERMINAL_SANDBOX_TLS"}
    done = subprocess.run([sys.executable, "-m", "pos_app", "status", "--json", "--data-dir", str(till.data_dir)],
                          cwd=xkit.ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["gateway"] == till.sim_url and status["tls"]["version"].startswith("TLSv1.")
    assert status["gatewayCheck"]["ok"]
