"""``pos-terminal sim --tls`` checked by peers that share none of its code: curl and ``openssl s_client`` verify
its chain against the CA it made, read its certificate's names and refuse TLS below 1.2; a client that says
nothing (or plain HTTP) holds only its own connection; the CA survives restarts and a new --host gets a new
server certificate from it. The sandbox over TLS is reached directly, whatever proxy the environment names."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CURL, OPENSSL = shutil.which("curl"), shutil.which("openssl")
needs_peers = pytest.mark.skipif(not (CURL and OPENSSL), reason="curl and openssl are the independent TLS peers")


class SimProc:
    """``pos-terminal sim --tls`` as a person runs it, until stop()."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sim", "--tls", "--port", "0", "--data-dir",
                                      str(data_dir), "--json", *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=ROOT)
        lines: list[str] = []
        while not lines or not lines[-1].startswith("}"):
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(10)
                raise AssertionError(f"the simulator did not start: {self.proc.stderr.read()}")
            lines.append(line)
        self.info = json.loads("".join(lines))
        self.url = self.info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.ca = Path(self.info["tls"]["ca"])
        self.cert = Path(self.info["tls"]["cert"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    sim = SimProc(tmp_path_factory.mktemp("tls-sim"))
    yield sim
    sim.stop()


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CURL, "-sS", "--max-time", "60", *args], check=False, capture_output=True, text=True,
                          timeout=90)


def s_client(port: int, *args: str) -> str:
    proc = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", *args], check=False, input="",
                          capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def sans(cert: Path) -> str:
    return subprocess.run([OPENSSL, "x509", "-noout", "-ext", "subjectAltName", "-in", str(cert)],
                          capture_output=True, text=True, check=True).stdout


@needs_peers
def test_curl_verifies_the_chain_by_the_simulators_ca_under_each_loopback_name(tls_sim):
    assert tls_sim.url.startswith("https://127.0.0.1:")
    for host in ("127.0.0.1", "localhost"):
        done = curl("--cacert", str(tls_sim.ca), f"https://{host}:{tls_sim.port}/sim/health")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["simulator"] == "pos-terminal"
    untrusted = curl(f"https://127.0.0.1:{tls_sim.port}/sim/health")   # the system's CAs do not know it
    assert untrusted.returncode == 60, untrusted.stderr


@needs_peers
def test_the_certificate_names_the_loopback_hosts_and_is_issued_by_the_ca(tls_sim):
    names = sans(tls_sim.cert)
    for name in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"):
        assert name in names
    verified = subprocess.run([OPENSSL, "verify", "-CAfile", str(tls_sim.ca), "-purpose", "sslserver",
                               str(tls_sim.cert)], check=False, capture_output=True, text=True)
    assert verified.returncode == 0 and ": OK" in verified.stdout, verified.stdout + verified.stderr
    text = subprocess.run([OPENSSL, "x509", "-noout", "-text", "-in", str(tls_sim.cert)], capture_output=True,
                          text=True, check=True).stdout
    assert "id-ecPublicKey" in text and "prime256v1" in text
    tls = tls_sim.ca.parent
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600
    config = (Path(tls_sim.info["config"])).read_text()
    assert f'url = "{tls_sim.url}"' in config and 'ca_bundle = "tls/ca.pem"' in config


@needs_peers
def test_tls_below_1_2_is_refused_and_1_2_and_1_3_verify(tls_sim):
    old = s_client(tls_sim.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert "alert protocol version" in old, old   # the server's refusal, not the client's own
    for version, flag in (("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")):
        out = s_client(tls_sim.port, flag, "-CAfile", str(tls_sim.ca), "-verify_return_error",
                       "-verify_ip", "127.0.0.1")
        assert f"New, {version}, Cipher" in out and "Verify return code: 0 (ok)" in out, out


@needs_peers
def test_a_silent_client_and_a_plain_http_client_do_not_stall_others(tls_sim):
    silent = socket.create_connection(("127.0.0.1", tls_sim.port))
    plain = socket.create_connection(("127.0.0.1", tls_sim.port))
    try:
        plain.sendall(b"GET /sim/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        done = curl("--cacert", str(tls_sim.ca), f"https://127.0.0.1:{tls_sim.port}/sim/health")
        assert done.returncode == 0, done.stderr
        # Answered while the silent client's handshake was still pending: it was never in the accept loop
        # (there, the answer would have waited for the handler's timeout, which closes the silent one).
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):
            silent.recv(1)
        plain.settimeout(30)
        while plain.recv(4096):   # the plain client gets its connection closed (at most an alert first)
            pass
    finally:
        silent.close()
        plain.close()


@needs_peers
def test_the_ca_is_kept_across_restarts_and_a_new_host_gets_a_new_certificate_from_it(tmp_path):
    first = SimProc(tmp_path)
    ca, cert = first.ca.read_bytes(), first.cert.read_bytes()
    first.stop()
    again = SimProc(tmp_path, "--host", "127.0.0.2")
    try:
        assert again.ca.read_bytes() == ca, "a restart must keep the CA terminals trust"
        assert again.cert.read_bytes() != cert, "127.0.0.2 was not covered: a new server certificate"
        assert "IP Address:127.0.0.2" in sans(again.cert)
        assert again.url == f"https://127.0.0.2:{again.port}"
        done = curl("--cacert", str(tmp_path / "tls" / "ca.pem"), f"{again.url}/sim/health")
        assert done.returncode == 0, done.stderr
        config = (tmp_path / "terminal.toml").read_text()
        assert f'url = "{again.url}"' in config and config.count("ca_bundle") == 1
    finally:
        again.stop()


def test_the_official_sdk_over_https_trusts_the_simulator_by_its_ca(make_sim, receiver):
    """The SDK's own HTTPS connection and default context (the driver moves only its port), the CA given the
    OpenSSL way (SSL_CERT_FILE): its calls verify the simulator's chain and host name, then its answers."""
    from sdk.official_sdk import ensure_sdk, run_driver

    python, why = ensure_sdk()
    if python is None:
        pytest.skip(why)
    sim = make_sim(tls=True)
    report = run_driver(python, sim, receiver.url, "interop")
    calls = {c["api"]: c for c in report["calls"]}
    assert list(calls) == ["pay_payment_code", "pay_order_code", "inquiry_payment", "refund", "cancel"]
    for api, call in calls.items():
        assert call["ok"] and call["response"]["result"]["resultStatus"] == "S", (api, call)


def test_same_host_reuses_the_server_certificate(tmp_path):
    from pos_app.sim import Simulator

    with Simulator(tmp_path, "127.0.0.1", 0, tls=True) as sim:
        assert set(sim.tls_files.created) == {tmp_path / "tls" / n for n in ("ca.pem", "ca.key", "server.pem",
                                                                              "server.key")}
    with Simulator(tmp_path, "127.0.0.1", 0, tls=True) as sim:
        assert sim.tls_files.created == ()


def test_a_half_ca_is_said_in_words_with_what_to_remove(tmp_path):
    from pos_app.sim.tls import ensure_tls

    ensure_tls(tmp_path, ["127.0.0.1"])
    (tmp_path / "tls" / "ca.key").unlink()
    proc = subprocess.run([sys.executable, "-m", "pos_app", "sim", "--tls", "--port", "0", "--data-dir",
                           str(tmp_path)], check=False, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode != 0
    assert "ca.pem exists without its other half" in proc.stderr and "remove" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_sandbox_over_tls_is_reached_directly_by_its_ca(tmp_path, monkeypatch):
    from pos_app.gateway import GatewayClient
    from pos_app.sandbox import FOLDER, RECORD, start_sandbox

    monkeypatch.setenv("POS_TERMINAL_SANDBOX_TLS", "1")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))   # bound, never listening: a proxy there refuses every connection
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead.getsockname()[1]}")
    sim, config = start_sandbox(tmp_path / "data")
    try:
        folder = tmp_path / "data" / FOLDER
        assert sim.url.startswith("https://") and config.gateway.url == sim.url
        assert config.gateway.ca_bundle == folder / "tls" / "ca.pem" and config.gateway.proxy == "direct"
        assert (folder / RECORD).read_text().splitlines()[0] == sim.url   # what a second process reads
        with GatewayClient.from_config(config) as client:
            outcome = client.inquiry_payment("no-such-payment")
        assert outcome.http_status == 200, outcome   # a signed answer over TLS, not the dead proxy
    finally:
        sim.stop()
        dead.close()
    assert os.environ.get("POS_TERMINAL_SANDBOX_TLS") == "1"


def test_a_written_config_follows_the_simulator_to_https_and_an_edited_one_is_left_alone(tmp_path):
    from pos_app.config import load_config
    from pos_app.sim.provision import provision
    from pos_app.sim.tls import ensure_tls

    ensure_tls(tmp_path, ["127.0.0.1"])   # as Simulator(tls=True).start() does before provisioning
    written = provision(tmp_path, "http://127.0.0.1:1111").config_file
    provision(tmp_path, "https://127.0.0.1:2222")   # the same data dir, now started with --tls
    provision(tmp_path, "https://127.0.0.1:3333")   # and on another port
    text = written.read_text()
    assert 'url = "https://127.0.0.1:3333"' in text and text.count('ca_bundle = "tls/ca.pem"') == 1
    gateway = load_config(written).gateway
    assert gateway.url == "https://127.0.0.1:3333" and gateway.ca_bundle == tmp_path / "tls" / "ca.pem"
    edited = "\n".join(text.splitlines()[1:]) + "\n"   # a person's file: no marker line
    written.write_text(edited)
    provision(tmp_path, "http://127.0.0.1:4444")
    assert written.read_text() == edited


def test_stopping_closes_a_kept_alive_tls_connection(make_sim):
    """close_connections reaches the TLS socket (the raw one's descriptor moved into it at the wrap): a stopped
    gateway leaves no handler half-serving. Without it the connection would stay open for the handler's 30 s."""
    import http.client
    import ssl

    sim = make_sim(tls=True)
    conn = http.client.HTTPSConnection("127.0.0.1", sim.port, timeout=10,
                                       context=ssl.create_default_context(cafile=sim.ca_file))
    try:
        conn.request("GET", "/sim/health")
        assert conn.getresponse().read()   # answered; kept alive
        sim.stop()
        assert conn.sock.recv(1) == b""    # the end, long before the handler's own timeout (10 s bound above)
    finally:
        conn.close()
