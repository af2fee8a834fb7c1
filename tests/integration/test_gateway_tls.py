"""The gateway client over real TLS on loopback: the simulator's own CA trusted through [gateway] ca_bundle, and
every way the handshake can refuse a gateway (untrusted CA, another host's certificate, an expired one, TLS
older than 1.2, a server silent in the handshake) ends certainly not sent, in words naming the setting."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flowkit import config_for
from kit import payment_code, usd

from pos_app.gateway import Delivery, GatewayClient, Status
from pos_app.sim import Simulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("tls-sim"), "127.0.0.1", 0, tls=True, notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tls_config(tls_sim):
    return config_for(tls_sim)


def pay(client, config, request_id):
    return client.pay_payment_code(config.merchant, request_id, usd(100), payment_code(), description="tls",
                                   notify_url=config.notifications.public_url)


def never_arrived(config, request_id) -> bool:
    """The simulator's ledger, asked by a client that trusts it, has no payment for this request id."""
    with GatewayClient.from_config(config) as client:
        return client.inquiry_payment(request_id).result_code == "ORDER_NOT_EXIST"


def handshakes(sim, ca: Path) -> int:
    return requests.get(sim.url + "/sim/health", verify=str(ca), timeout=5).json()["tlsHandshakes"]


def test_calls_over_https_trust_the_simulators_ca_and_pay_one_handshake(tls_sim, tls_config):
    ca = x509.load_pem_x509_certificate(tls_sim.ca_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(tls_sim.tls_files.cert.read_bytes())
    before = handshakes(tls_sim, tls_sim.ca_file)
    with GatewayClient.from_config(tls_config) as client:
        assert client.last_tls is None
        paid = pay(client, tls_config, "tls-pay-1")
        assert paid.status is Status.SUCCESS, paid.message
        assert client.inquiry_payment("tls-pay-1").body["paymentStatus"] == "SUCCESS"
        assert client.refund("tls-rf-1", paid.body["paymentId"], usd(40),
                             notify_url=tls_config.notifications.public_url).ok
        info = client.last_tls
    # our three calls on one kept-alive connection, plus the health call that reads the counter
    assert handshakes(tls_sim, tls_sim.ca_file) - before == 2
    assert info is not None and info.version in ("TLSv1.2", "TLSv1.3")
    assert info.issuer == ca.subject.rfc4514_string() and info.subject == leaf.subject.rfc4514_string()
    assert info.not_after == leaf.not_valid_after_utc


def test_the_public_cas_do_not_trust_a_private_one(tls_sim, tls_config):
    certifi_only = replace(tls_config.gateway, ca_bundle=None)
    with GatewayClient.from_config(certifi_only) as client:
        outcome = pay(client, tls_config, "tls-untrusted")
        assert client.last_tls is None
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert "[gateway] ca_bundle" in outcome.message and "certifi" in outcome.message
    assert never_arrived(tls_config, "tls-untrusted")


class TlsListener:
    """A TLS server on ``host``: handshakes each connection with ``context`` and keeps what it receives."""

    def __init__(self, context: ssl.SSLContext | None, host: str = "127.0.0.1") -> None:
        self.context = context
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            if self.context is None:  # accept, read the ClientHello, never answer
                conn.recv(4096)
                self.stop.wait(10)
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(5)
                    self.received.append(tls.recv(4096))
            except (ssl.SSLError, OSError):
                pass

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def call(gateway) -> tuple:
    with GatewayClient.from_config(gateway) as client:
        return client.inquiry_payment("tls-probe"), client


def test_a_certificate_for_another_host_is_certainly_not_sent(tls_sim, tls_config):
    """The simulator's own certificate (127.0.0.1, ::1, localhost) served on 127.0.0.2: trusted CA, wrong host."""
    sans = x509.load_pem_x509_certificate(tls_sim.tls_files.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.2") not in sans.get_values_for_type(x509.IPAddress)
    server = TlsListener(server_context(tls_sim.tls_files.cert, tls_sim.tls_files.key), host="127.0.0.2")
    try:
        outcome, _ = call(replace(tls_config.gateway, url=f"https://127.0.0.2:{server.port}"))
    finally:
        server.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert "127.0.0.2" in outcome.message and "[gateway] url" in outcome.message
    assert not any(server.received), "no byte of the request may reach a host whose certificate failed"


def make_ca(folder: Path) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Name]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "throwaway test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    path = folder / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, name


def issue(folder: Path, ca_key, ca_name, *, not_after: datetime.datetime) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1, valid until ``not_after``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_after - datetime.timedelta(days=5)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_an_expired_certificate_names_the_clock(tls_config, tmp_path):
    ca_file, ca_key, ca_name = make_ca(tmp_path)
    cert, key = issue(tmp_path, ca_key, ca_name,
                      not_after=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
    server = TlsListener(server_context(cert, key))
    try:
        outcome, _ = call(replace(tls_config.gateway, url=f"https://127.0.0.1:{server.port}", ca_bundle=ca_file))
    finally:
        server.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert "expired" in outcome.message and "clock" in outcome.message
    assert not any(server.received)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")  # the point of this test
def test_tls_older_than_1_2_is_refused_before_the_request(tls_config, tmp_path):
    ca_file, ca_key, ca_name = make_ca(tmp_path)
    cert, key = issue(tmp_path, ca_key, ca_name,
                      not_after=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=5))

    def tls11_only() -> ssl.SSLContext:
        context = server_context(cert, key)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 offers TLS 1.1 only at security level 0
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        return context

    # Independently: a client that still allows TLS 1.1 gets exactly TLS 1.1 from this server.
    server = TlsListener(tls11_only())
    old = ssl.create_default_context(cafile=str(ca_file))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1_1
    try:
        with old.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=5),
                             server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.1"
            tls.sendall(b"hello")
    finally:
        server.close()
    server = TlsListener(tls11_only())
    try:
        outcome, _ = call(replace(tls_config.gateway, url=f"https://127.0.0.1:{server.port}", ca_bundle=ca_file))
    finally:
        server.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert "TLS 1.2" in outcome.message
    assert not any(server.received)


def test_a_gateway_silent_in_the_handshake_is_certainly_not_sent(tls_config):
    """TCP accepted, the ClientHello never answered: the handshake times out; no request byte can have left, so
    the payment flows may resend freely (it was "maybe delivered" when classified by exception type)."""
    server = TlsListener(None)
    try:
        outcome, _ = call(replace(tls_config.gateway, url=f"https://127.0.0.1:{server.port}", connect_timeout=0.3,
                                  read_timeout=0.5))
    finally:
        server.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "did not finish connecting" in outcome.message and "connect_timeout (0.3 s)" in outcome.message
