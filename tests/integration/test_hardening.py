"""Regression tests from review: hostile answers, hostile receivers and hostile input, each of which
once ended as a wrong outcome, a dead thread or a traceback."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flowkit import config_for
from kit import payment_code, usd
from rawsim import Raw, pay_body

from pos_app import signing
from pos_app.gateway import Delivery, GatewayClient, Status
from pos_app.sim import Simulator


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """One simulator for the module (conftest's is one per test): each test here uses its request ids once
    and reads back only its own; a start and stop costs about 0.4 s (new RSA keys, the server's shutdown
    poll). The hostile-receiver test starts its own with make_sim."""
    started = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield started
    started.stop()


class FakeGateway:
    """A real HTTP server that answers whatever the test says, signed with the simulator's gateway key,
    so the client's checks beyond the signature are what is tested."""

    def __init__(self, sim, answer: dict, client_id: str | None = None, drip: float = 0.0) -> None:
        key = signing.load_private_key(sim.provisioned.keys_dir / "gateway_private.pem")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                body = json.dumps(answer).encode()
                cid = client_id or sim.client_id
                headers = {"client-id": cid, "response-time": "1",
                           "signature": signing.sign(key, self.path, cid, "1", body)}
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if drip:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(drip)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def client_for(sim, url, read_timeout=5.0):
    from dataclasses import replace
    config = config_for(sim)
    return GatewayClient.from_config(replace(config.gateway, url=url, read_timeout=read_timeout)), config


def ask_fake(sim, answer, call, read_timeout=5.0, **fake_options):
    """One client call against a FakeGateway that answers ``answer``; both are closed afterwards."""
    fake = FakeGateway(sim, answer, **fake_options)
    client, _ = client_for(sim, fake.url, read_timeout=read_timeout)
    try:
        return call(client)
    finally:
        client.close()
        fake.close()


def refund_rf1(client):
    return client.refund("RF-1", "PAY-1", usd(100), notify_url="http://127.0.0.1:9/n")


@pytest.mark.parametrize("answer", [
    {"result": {"resultStatus": "S", "resultCode": "SUCCESS"}},                      # names no request
    {"result": {"resultStatus": "S", "resultCode": "SUCCESS"}, "refundRequestId": "someone-else"},
])
def test_a_signed_success_that_is_not_ours_is_unknown(sim, answer):
    outcome = ask_fake(sim, answer, refund_rf1)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "MISMATCHED"


def test_an_answer_signed_for_another_client_id_is_unknown(sim):
    outcome = ask_fake(sim, {"result": {"resultStatus": "S"}, "refundRequestId": "RF-1"}, refund_rf1,
                       client_id="SOMEONE_ELSE")
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "UNVERIFIED"


def test_a_dripping_answer_is_cut_off_in_bounded_time(sim):
    started = time.monotonic()
    outcome = ask_fake(sim, {"result": {"resultStatus": "S"}, "paymentRequestId": "x" * 200},
                       lambda client: client.inquiry_payment("P-1"), read_timeout=0.5, drip=0.2)
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED
    assert time.monotonic() - started < 10, "bounded by connect + 2 × read timeout, not by the sender"


def test_an_untrusted_certificate_is_certainly_not_sent(sim, tmp_path):
    """A real TLS server on loopback with a self-signed certificate: the handshake fails before any byte."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False).sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received = []

    def serve():
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                received.append(tls.recv(100))
        except (ssl.SSLError, OSError):
            pass

    threading.Thread(target=serve, daemon=True).start()
    client, _ = client_for(sim, f"https://localhost:{listener.getsockname()[1]}")
    try:
        outcome = client.inquiry_payment("P-1")
    finally:
        client.close()
        listener.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert not received


# -- simulator ------------------------------------------------------------------------------------------

def test_a_payment_code_with_whitespace_is_not_a_second_use(sim):
    raw = Raw(sim)
    code = payment_code()
    assert raw.post("pay", pay_body(code=code))[1]["result"]["resultStatus"] == "S"
    for variant in (code + " ", "\t" + code, code + "\r\n"):
        assert raw.post("pay", pay_body(code=variant))[1]["result"]["resultCode"] == "INVALID_CODE"


def test_a_failed_request_id_keeps_its_answer(sim, client):
    raw = Raw(sim)
    body = pay_body(code="4006381333931", request_id="failed-once")
    assert raw.post("pay", body)[1]["result"]["resultCode"] == "INVALID_CODE"
    assert raw.post("pay", body)[1]["result"]["resultCode"] == "INVALID_CODE"
    retry = pay_body(request_id="failed-once")
    assert raw.post("pay", retry)[1]["result"]["resultCode"] == "REPEAT_REQ_INCONSISTENT"
    config = config_for(sim)
    stuck = client.pay_payment_code(config.merchant, "stuck-1", usd(9906), payment_code(), description="x",
                                    notify_url="http://127.0.0.1:9/n")
    first = client.refund("rf-stuck", stuck.body["paymentId"], usd(100), notify_url="http://127.0.0.1:9/n")
    again = client.refund("rf-stuck", stuck.body["paymentId"], usd(100), notify_url="http://127.0.0.1:9/n")
    assert first.result_code == again.result_code == "PROCESS_FAIL"


@pytest.mark.parametrize("mutate", [
    lambda b: b.update(paymentRequestId="\ud800"),
    lambda b: b.update(paymentNotifyUrl="\udfff"),
    lambda b: b["order"].update(extra=json.loads("[" * 200 + "]" * 200)),
    lambda b: b.update(paymentAmount={"currency": "USD", "value": "100"},
                       order=dict(b["order"], orderAmount={"currency": "JPY", "value": "100"})),
])
def test_odd_pay_bodies_get_a_clean_param_illegal(sim, mutate):
    raw = Raw(sim)
    body = pay_body()
    mutate(body)
    status, answer, _ = raw.post("pay", json.dumps(body).encode())
    assert status == 200 and answer["result"]["resultCode"] == "PARAM_ILLEGAL"


@pytest.mark.parametrize("expiry", ["9999-12-31T23:59:59-23:59", "2099-01-01T00:00:00", "yesterday"])
def test_odd_order_code_expiry_is_param_illegal(sim, expiry):
    body = pay_body(scenario="OrderCode")
    body["paymentExpiryTime"] = expiry
    assert Raw(sim).post("pay", body)[1]["result"]["resultCode"] == "PARAM_ILLEGAL"


@pytest.mark.parametrize("request_bytes", [
    b"POST /ams/api/v1/payments/pay HTTP/1.1\r\nContent-Length: \xc2\xb2\r\n\r\n",
    b"POST /ams/api/v1/payments/pay HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
    b"POST http://[::1/ams HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    b"GET http://[x/sim/ledger HTTP/1.1\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    b"POST /nope HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_malformed_requests_get_exactly_one_answer(sim, request_bytes):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(request_bytes)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 ") == 1 and not data.startswith(b"HTTP/1.1 5"), data[:300]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1]), "a JSON answer"


def test_a_hostile_receiver_cannot_stop_notifications(make_sim, receiver):
    """One receiver answers 60 000 '[' (a JSON bomb), another drips; the good one still gets its own."""
    class Hostile(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b"[" * 60000 if self.path == "/bomb" else b'{"result":{}}' * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(0, len(body), 4096 if self.path == "/bomb" else 1):
                    self.wfile.write(body[i:i + (4096 if self.path == "/bomb" else 1)])
                    if self.path != "/bomb":
                        time.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError):
                pass   # the simulator gave up on this receiver: what the test wants, not an error to print

    hostile = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    hostile.daemon_threads = True
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{hostile.server_address[1]}"
    sim = make_sim()
    config = config_for(sim)
    try:
        with GatewayClient.from_config(config) as client:
            for url in (base + "/bomb", base + "/drip", base + "/drip", receiver.url):
                client.pay_payment_code(config.merchant, messages_id(), usd(100), payment_code(), description="x",
                                        notify_url=url)
            receiver.wait_for(lambda got: len(got) >= 1, timeout=8)
            client.pay_payment_code(config.merchant, messages_id(), usd(100), payment_code(), description="x",
                                    notify_url=receiver.url)
            receiver.wait_for(lambda got: len(got) >= 2, timeout=8)
        assert sim.notifier._thread.is_alive()
    finally:
        hostile.shutdown()
        hostile.server_close()


def messages_id() -> str:
    import uuid
    return uuid.uuid4().hex


def test_cancelling_a_failed_payment_keeps_its_answer(sim, client):
    config = config_for(sim)
    failed = client.pay_payment_code(config.merchant, "fail-then-cancel", usd(9905), payment_code(),
                                     description="x", notify_url="http://127.0.0.1:9/n")
    assert client.cancel("fail-then-cancel").ok
    assert client.inquiry_payment("fail-then-cancel").body["paymentStatus"] == "FAIL"
    assert failed.result_code == "USER_BALANCE_NOT_ENOUGH"


