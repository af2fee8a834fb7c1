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
from pos_app.selftest.results import FAIL
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
        assert "sandbox" in status["proxy"]["words"] and "[gateway] proxy" not in status["proxy"]["words"]
        gw = load_config(config).gateway   # the file the simulator keeps follows, and loads each time
        assert gw.url.startswith(f"{scheme}://")


# -- the settlement fetch and the store's proxy: the simulator's SFTP server, a real tinyproxy -------------------------
DAY = "2026-12-04"


@pytest.fixture(scope="module")
def sftp_sim(tmp_path_factory):
    from pos_app.sim import Simulator

    sim = Simulator(tmp_path_factory.mktemp("sftp-gateway"), "127.0.0.1", 0, sftp_port=0).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory):
    from proxykit import Tinyproxy

    with Tinyproxy(tmp_path_factory.mktemp("proxy")) as running:
        yield running


def gateway_via(proxy: str | None):
    from pos_app.config import GatewayConfig

    return GatewayConfig(url="https://open-sea-global.alipay.com", client_id="SANDBOX_5Y3A2N2YEB3002022",
                         merchant_private_key=Path("unused.pem"), gateway_public_key=Path("unused.pem"), proxy=proxy)


class CuttingProxyLink:
    """The store's proxy as the fetch sees it, dropping: a TCP relay in front of tinyproxy that closes both sides
    once ``limit`` bytes came back through it (the tunnel's SSH bytes, mid-file)."""

    def __init__(self, upstream: int, limit: int) -> None:
        import socket
        import threading

        self.upstream, self.limit, self.relayed = upstream, limit, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import threading

        client = self.server.accept()[0]
        upstream = socket.create_connection(("127.0.0.1", self.upstream))

        def pump(src, dst, counted):
            try:
                while data := src.recv(65536):
                    if counted:
                        data = data[:max(0, self.limit - self.relayed)]
                        self.relayed += len(data)
                    dst.sendall(data)
                    if counted and self.relayed >= self.limit:
                        break
            except OSError:
                pass
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
        pump(upstream, client, True)

    def close(self) -> None:
        self.server.close()


def test_the_proxy_dropping_mid_download_keeps_nothing(sftp_sim, tinyproxy, tmp_path):
    from datetime import date

    from pos_app.settlement import fetch as sftp_fetch
    from pos_app.sim import reports

    settlement = load_config(sftp_sim.provisioned.config_file).settlement
    day = reports.folder(sftp_sim.client_id, date.fromisoformat(DAY))
    big = sftp_sim.reports_dir / day.lstrip("/") / f"transactionItems_{DAY.replace('-', '')}_009.csv"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    link = CuttingProxyLink(tinyproxy.port, limit=1024 * 1024)   # login and listing are a few kB: cut in the file
    try:
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(settlement, DAY, dest=tmp_path / "r", gateway=gateway_via(link.url))
    finally:
        link.close()
    assert link.relayed == 1024 * 1024 and f"CONNECT 127.0.0.1:{sftp_sim.sftp_port} " in tinyproxy.log()
    assert "nothing of it was kept" in caught.value.message or "dropped the connection" in caught.value.message
    kept = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]   # the files before it, each whole; no part
    assert big.name not in [p.name for p in kept]
    assert all(p.read_bytes() == (big.parent / p.name).read_bytes() for p in kept), kept


def test_https_proxy_alone_leaves_the_sftp_host_direct_and_its_failure_says_how_to_send_it_through(
        sftp_sim, tinyproxy, tmp_path, monkeypatch):
    import socket

    from pos_app.settlement import fetch as sftp_fetch

    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy.url)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))   # held, never listening: direct, the connection is refused
    settlement = load_config(sftp_sim.provisioned.config_file).settlement
    port = closed.getsockname()[1]
    url = f"sftp://sandbox@127.0.0.1:{port}/v1/settlements/{sftp_sim.client_id}"
    try:
        with pytest.raises(PosError) as caught:
            sftp_fetch.check(settlement, url=url, gateway=gateway_via(None))
    finally:
        closed.close()
    words = f"{caught.value.message} {caught.value.hint}"
    assert "HTTPS_PROXY" in words and "ALL_PROXY" in words and "[gateway] proxy" in words, words
    assert f"127.0.0.1:{port}" not in tinyproxy.connects()   # it went direct, as requests' rules say


# -- a terminal.toml a kill -9 cut short during the simulator's first start -------------------------------------------
def test_an_empty_config_left_by_a_killed_first_start_is_written_again(tmp_path):
    from pos_app.sim import Simulator

    tmp_path.joinpath("terminal.toml").write_text("")
    with Simulator(tmp_path, "127.0.0.1", 0, tls=True) as sim:
        assert load_config(sim.provisioned.config_file).gateway.url == sim.url


def test_a_config_of_the_simulators_cut_short_is_said_in_words_and_left_as_it_is(tmp_path):
    from pos_app.sim import Simulator
    from pos_app.sim.provision import terminal_toml

    whole = terminal_toml("https://127.0.0.1:1", "SANDBOX_POSTERMINAL0001", ca_bundle="tls/ca.pem")
    cut = whole[:whole.index("[gateway]")]   # the marker and comments: TOML, no [gateway]
    tmp_path.joinpath("terminal.toml").write_text(cut)
    with pytest.raises(PosError) as raised:
        Simulator(tmp_path, "127.0.0.1", 0, tls=True).start()
    assert "terminal.toml" in raised.value.message and "remove" in (raised.value.hint or "")
    assert tmp_path.joinpath("terminal.toml").read_text() == cut


# -- the environment's proxy variable holding garbage ----------------------------------------------------------------
@pytest.mark.parametrize("value", ["http://h:99999", "::::"])
def test_an_unusable_proxy_variable_fails_the_proxy_check_in_words(value):
    from pos_app.selftest.network import check_proxy

    check, proxy = check_proxy(gateway_via(None), 1.0, environ={"HTTPS_PROXY": value})
    assert proxy.problem and check.status == FAIL, check
    assert "cannot be used" in check.detail and "check itself" not in check.detail, check
    assert "HTTPS_PROXY" in (check.hint or ""), check


def test_a_proxy_variable_that_is_no_url_is_said_in_words_by_status(sftp_sim):
    done = run("--config", sftp_sim.provisioned.config_file, "status", env_extra={"ALL_PROXY": "http://[::1"},
               timeout=60)
    assert done.returncode == 1 and "internal error" not in done.stderr + done.stdout, done.stderr
    assert "ALL_PROXY" in done.stdout + done.stderr


# -- status and a gateway certificate near its end -----------------------------------------------------------------
def test_status_warns_of_a_gateway_certificate_near_its_end(tmp_path):
    import datetime as dt
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from pos_app.sim import Simulator

    with Simulator(tmp_path / "gw", "127.0.0.1", 0, tls=True) as sim:
        folder = sim.ca_file.parent
        ca = x509.load_pem_x509_certificate(sim.ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        cert = (x509.CertificateBuilder().subject_name(name)
                .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=5, hours=12))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        (tmp_path / "soon.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "soon.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        sim.server.use_tls(tmp_path / "soon.pem", tmp_path / "soon.key")   # served from the next handshake on
        done = run("--config", sim.provisioned.config_file, "status", timeout=60)
        as_json = run("--config", sim.provisioned.config_file, "status", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.strip().startswith("tls:"))
    assert "expires in 5 day(s)" in line, line
    assert json.loads(as_json.stdout)["tls"]["expiresInDays"] == 5


def test_back_on_http_after_the_ca_was_removed_as_told_the_config_still_loads(tmp_path):
    from pos_app.sim import Simulator

    with Simulator(tmp_path, "127.0.0.1", 0, tls=True) as sim:
        config = sim.provisioned.config_file
    for name in ("ca.pem", "ca.key"):   # what the words for a damaged CA tell a person to do
        (tmp_path / "tls" / name).unlink()
    with Simulator(tmp_path, "127.0.0.1", 0) as sim:
        gw = load_config(config).gateway
        assert gw.url == sim.url and gw.ca_bundle is None
    with Simulator(tmp_path, "127.0.0.1", 0, tls=True) as sim:   # and forth again: a new CA, named again
        gw = load_config(config).gateway
        assert gw.url == sim.url and gw.ca_bundle == sim.ca_file
