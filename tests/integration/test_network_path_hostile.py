"""The terminal's way to the gateway as a hostile network and a careless config would have it (issue 19 review).

Hand-written misbehaving proxies on 127.0.0.1 (a CONNECT answered 200 then closed, an answer that is no HTTP,
an answer dripped for ever, a 407 that never ends, a TLS-inspecting proxy with its own CA), Debian's tinyproxy in
front of a gateway that is down, garbage in the environment's proxy variables and in [gateway]. Each must end in
one outcome: certainly not sent only when no request byte can have left, in words naming the hop and the setting;
never a traceback, never a password.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from dataclasses import replace

import pytest
import tomli_w
from flowkit import config_for
from kit import payment_code, reserve_port, usd
from proxykit import Tinyproxy

from pos_app import payment_flow as pf
from pos_app.answers import answer_of, trouble_of
from pos_app.config import load_config
from pos_app.errors import ConfigError
from pos_app.gateway import Delivery, GatewayClient, Status
from pos_app.link import Link
from pos_app.netpath import Proxy, ProxyFailure, open_tunnel, resolve_proxy
from pos_app.sale_view import cashier_view, waiting_line
from pos_app.sim import Simulator
from pos_app.sim.tls import ensure_tls

pytestmark = pytest.mark.slow

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("hostile-sim"), "127.0.0.1", 0, tls=True,
                    notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tls_config(tls_sim):
    return config_for(tls_sim)


def pay(config, gateway, request_id, code=None):
    with GatewayClient.from_config(gateway) as client:
        return client.pay_payment_code(config.merchant, request_id, usd(100), code or payment_code(),
                                       description="hostile", notify_url=config.notifications.public_url)


def never_arrived(config, request_id) -> bool:
    with GatewayClient.from_config(replace(config.gateway, proxy="direct")) as client:
        return client.inquiry_payment(request_id).result_code == "ORDER_NOT_EXIST"


def read_head(conn: socket.socket) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = conn.recv(1)
        if not byte:
            break
        head += byte
    return head


class Hostile:
    """A proxy on a loopback port that answers every connection with ``answer(conn)`` (in its own thread)."""

    def __init__(self, answer) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.heads: list[bytes] = []
        self.answer = answer
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        with conn:
            try:
                self.answer(self, conn)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect_then(after: bytes, hang: float = 0.0):
    def answer(proxy, conn):
        proxy.heads.append(read_head(conn))
        conn.sendall(after)
        if hang:
            conn.settimeout(hang)
            try:
                conn.recv(1)
            except OSError:
                pass
    return answer


# -- proxies that misbehave ------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 Connection established\r\n\r\n",      # then it closes: no TLS, nothing can have left
    b"SSH-2.0-OpenSSH_9.2\r\n",                           # not a proxy at all
    b"<html>hello</html>",                                # an HTTP/0.9 answer (a body, no status line)
], ids=["200-then-closed", "ssh", "http09"])
def test_a_connect_answer_that_is_no_tunnel_is_not_sent_in_words_naming_the_proxy(tls_config, answer):
    with Hostile(connect_then(answer)) as proxy:
        outcome = pay(tls_config, replace(tls_config.gateway, proxy=proxy.url), "hx-" + str(len(answer)))
    assert proxy.heads and proxy.heads[0].startswith(b"CONNECT ")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert proxy.url in outcome.message and "[gateway] proxy" in outcome.message, outcome.message
    assert "BadStatusLine" not in outcome.message and "_ssl.c" not in outcome.message, outcome.message
    assert trouble_of(outcome) == "PROXY_REFUSED [gateway] proxy"
    assert never_arrived(tls_config, "hx-" + str(len(answer)))


def test_a_proxy_that_hangs_up_on_the_connect_is_said_before_any_tunnel(tls_config):
    with Hostile(lambda proxy, conn: None) as proxy:   # accepts, then closes without a word
        outcome = pay(tls_config, replace(tls_config.gateway, proxy=proxy.url), "hx-hangup")
    assert outcome.delivery is Delivery.NOT_SENT and trouble_of(outcome) == "PROXY_REFUSED [gateway] proxy"
    assert "before opening a tunnel" in outcome.message and "TLS handshake" not in outcome.message, outcome.message


def test_200_followed_by_garbage_is_not_sent(tls_config):
    with Hostile(connect_then(b"HTTP/1.1 200 OK\r\n\r\n" + b"garbage" * 50, hang=5)) as proxy:
        gateway = replace(tls_config.gateway, proxy=proxy.url, connect_timeout=0.5, read_timeout=0.5)
        outcome = pay(tls_config, gateway, "hx-garbage")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert proxy.url in outcome.message


def test_a_tunnel_that_answers_in_plain_http_is_a_tls_hop_naming_the_url(tls_config):
    """The proxy opens the tunnel, then something answers the TLS hello in plain HTTP (a wrong port, an
    intercepting box): not the link, the secure connection; the cashier is told to call the technician."""
    with Hostile(connect_then(b"HTTP/1.1 200 OK\r\n\r\n", hang=5)) as proxy:
        def plain(proxy_, conn):
            proxy_.heads.append(read_head(conn))
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.settimeout(5)
            conn.recv(1)

        proxy.answer = plain
        outcome = pay(tls_config, replace(tls_config.gateway, proxy=proxy.url), "hx-plain")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "did not answer in TLS" in outcome.message
    assert trouble_of(outcome) == "TLS_REFUSED [gateway] url"


def test_a_connect_answer_dripped_for_ever_is_held_to_the_calls_deadline(tls_config):
    """Each byte restarts a per-read timeout; the one deadline of the call (connect + read) must still hold."""
    stop = threading.Event()

    def drip(proxy, conn):
        proxy.heads.append(read_head(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            conn.sendall(b"X")
            stop.wait(0.05)

    with Hostile(drip) as proxy:
        gateway = replace(tls_config.gateway, proxy=proxy.url, connect_timeout=0.5, read_timeout=0.5)
        started = time.monotonic()
        outcome = pay(tls_config, gateway, "hx-drip")
        took = time.monotonic() - started
        stop.set()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert took < 1.0 + 1.0, f"the call's deadline is 1 s, it took {took:.1f} s"
    assert "connect_timeout + read_timeout" in outcome.message and proxy.url in outcome.message


def test_a_proxy_that_answers_407_to_everything_is_asked_once(tls_config, tmp_path):
    def always_407(proxy, conn):
        while head := read_head(conn):
            proxy.heads.append(head)
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=x\r\n"
                         b"Content-Length: 0\r\n\r\n")

    login = tmp_path / "login"
    login.write_text("till:pw-407-loop\n")
    os.chmod(login, 0o600)
    with Hostile(always_407) as proxy:
        gateway = replace(tls_config.gateway, proxy=proxy.url, proxy_credentials=login)
        outcome = pay(tls_config, gateway, "hx-407")
    assert len(proxy.heads) == 1 and b"Proxy-Authorization: Basic " in proxy.heads[0]
    assert outcome.delivery is Delivery.NOT_SENT and "[gateway] proxy_credentials" in outcome.message
    assert trouble_of(outcome) == "PROXY_LOGIN [gateway] proxy_credentials"
    assert "pw-407-loop" not in outcome.message


# -- a TLS-inspecting proxy: it terminates TLS with the store's CA and forwards to the gateway --------------------

@pytest.fixture(scope="module")
def inspecting(tmp_path_factory, tls_sim):
    store = ensure_tls(tmp_path_factory.mktemp("store-ca"), ["127.0.0.1"])
    front = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    front.load_cert_chain(store.cert, store.key)
    back = ssl.create_default_context(cafile=str(tls_sim.ca_file))
    relayed: list[bytes] = []

    def message(reader) -> bytes:
        """One HTTP message (head and Content-Length body); b"" at the end of the stream."""
        head = b""
        while (line := reader.readline()) not in (b"\r\n", b""):
            head += line
        if not head:
            return b""
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        return head + b"\r\n" + reader.read(length)

    def inspect(proxy, conn):
        """One thread per connection, one message at a time: an SSL socket is not to be read and written from
        two threads at once."""
        head = read_head(conn)
        proxy.heads.append(head)
        host, port = head.split()[1].decode().rsplit(":", 1)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        conn.settimeout(10)
        try:
            inner = front.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the terminal refused the store CA's certificate
        upstream = back.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=host)
        with inner, upstream:
            from_terminal, from_gateway = inner.makefile("rb"), upstream.makefile("rb")
            while request := message(from_terminal):
                relayed.append(request)
                upstream.sendall(request)
                inner.sendall(message(from_gateway))

    with Hostile(inspect) as proxy:
        proxy.store_ca = store.ca
        proxy.relayed = relayed
        yield proxy


def test_an_inspecting_proxy_works_with_its_ca_in_ca_bundle(tls_config, inspecting, tmp_path):
    """Its login goes in the CONNECT only: never inside the tunnel, where the gateway (or the inspector) reads."""
    login = tmp_path / "login"
    login.write_text("till:pw-inspected\n")
    os.chmod(login, 0o600)
    gateway = replace(tls_config.gateway, proxy=inspecting.url, ca_bundle=inspecting.store_ca, proxy_credentials=login)
    outcome = pay(tls_config, gateway, "hx-inspected")
    assert outcome.status is Status.SUCCESS, outcome.message
    inside = b"".join(inspecting.relayed)
    assert b"hx-inspected" in inside, "it read the request in clear"
    assert b"Proxy-Authorization" in inspecting.heads[-1] and b"proxy-authorization" not in inside.lower()


def test_an_inspecting_proxy_without_its_ca_is_not_sent_naming_ca_bundle(tls_config, inspecting):
    before = len(inspecting.relayed)
    outcome = pay(tls_config, replace(tls_config.gateway, proxy=inspecting.url), "hx-uninspected")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "[gateway] ca_bundle" in outcome.message and "TLS-inspecting proxy" in outcome.message
    assert trouble_of(outcome) == "TLS_REFUSED [gateway] ca_bundle"
    assert len(inspecting.relayed) == before, "no request byte reached the proxy's TLS"
    assert never_arrived(tls_config, "hx-uninspected")


# -- which hop fails: the proxy up and the gateway down ----------------------------------------------------------

@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory):
    with Tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as started:
        yield started


def test_a_proxy_up_in_front_of_a_gateway_down_says_the_gateway_is_unreachable_beyond_it(tls_config, tinyproxy):
    gone = reserve_port()
    gateway = replace(tls_config.gateway, url=f"https://127.0.0.1:{gone}", proxy=tinyproxy.url)
    outcome = pay(tls_config, gateway, "hx-gw-down")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "allow CONNECT" not in outcome.message, "the proxy allowed it: the gateway behind it is down"
    assert f"127.0.0.1:{gone}" in outcome.message and "could not reach the gateway" in outcome.message
    assert "[gateway] url" in outcome.message and trouble_of(outcome) == "BEYOND_PROXY [gateway] url"
    assert Link(gateway.url, proxy=resolve_proxy(gateway)).probe(), "the proxy hop is up"


# -- the environment's proxy variables, however wrong ------------------------------------------------------------


@pytest.mark.parametrize("value", ["http://:0", "socks5://x:1", "http://127.0.0.1:99999", "http://127.0.0.1:0"])
def test_a_proxy_variable_the_terminal_cannot_use_is_said_naming_it(tls_config, monkeypatch, value):
    monkeypatch.setenv("HTTPS_PROXY", value)
    outcome = pay(tls_config, tls_config.gateway, "hx-env")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "HTTPS_PROXY" in outcome.message and trouble_of(outcome) == "PROXY_DOWN HTTPS_PROXY", outcome.message
    link = Link(tls_config.gateway.url, proxy=resolve_proxy(tls_config.gateway))
    assert not link.probe() and (link.host, link.port) not in (("localhost", 80), ("127.0.0.1", 80))


def test_a_login_in_https_proxy_is_never_said(tls_config, tmp_path, monkeypatch):
    with Tinyproxy(tmp_path / "guarded", basic_auth=("till7", "right-pw")) as guarded:
        host_port = guarded.url.removeprefix("http://")
        monkeypatch.setenv("HTTPS_PROXY", f"http://till7:Wr0ng%40pw@{host_port}")
        proxy = resolve_proxy(tls_config.gateway)
        outcome = pay(tls_config, tls_config.gateway, "hx-env-login")
    said = outcome.message + proxy.describe() + repr(proxy)
    assert outcome.delivery is Delivery.NOT_SENT and "HTTPS_PROXY" in outcome.message
    assert "Wr0ng" not in said and "Wr0ng%40pw" not in said


@pytest.mark.parametrize("no_proxy,bypassed", [("*", True), (".0.0.1", True), ("127.0.0.0/8", True),
                                               ("127.0.0.1:1", False), ("127.0.0.1:{port}", False),
                                               ("example.com, 127.0.0.1", True), ("example.com", False)])
def test_no_proxy_forms_decide_as_requests_does(tls_sim, tls_config, monkeypatch, no_proxy, bypassed):
    import requests.utils

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy.format(port=tls_sim.port))
    assert requests.utils.should_bypass_proxies(tls_config.gateway.url, None) is bypassed
    assert (resolve_proxy(tls_config.gateway).url is None) is bypassed


# -- [gateway] garbage: said at load, naming the setting ----------------------------------------------------------

def write(tls_sim, folder, **gateway):
    doc = load_doc(tls_sim)
    doc["gateway"].update(gateway)
    path = folder / "terminal.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def load_doc(tls_sim):
    import tomllib

    doc = tomllib.loads(tls_sim.provisioned.config_file.read_text())
    for key in ("merchant_private_key", "gateway_public_key"):
        path = doc["gateway"][key]
        doc["gateway"][key] = str(tls_sim.provisioned.config_file.parent / path) if not os.path.isabs(path) else path
    doc["gateway"].pop("ca_bundle", None)
    return doc


def test_a_ca_bundle_that_is_no_certificate_is_said_at_load(tls_sim, tmp_path):
    from cryptography import x509

    der = tmp_path / "ca.der"
    der.write_bytes(x509.load_pem_x509_certificate(tls_sim.ca_file.read_bytes()).public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER))
    key = tmp_path / "key.pem"
    key.write_bytes(tls_sim.tls_files.key.read_bytes())
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    huge = tmp_path / "huge.pem"
    huge.write_bytes(tls_sim.ca_file.read_bytes() * 4000)
    loop = tmp_path / "loop.pem"
    loop.symlink_to(tmp_path / "loop.pem")
    cut = tmp_path / "cut.pem"
    cut.write_bytes(tls_sim.ca_file.read_bytes() + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    for bad in (der, key, empty, huge, loop, tmp_path, cut):
        with pytest.raises(ConfigError) as said:
            load_config(write(tls_sim, tmp_path, ca_bundle=str(bad)))
        assert "[gateway] ca_bundle" in str(said.value), (bad, str(said.value))


def test_a_ca_bundle_gone_after_load_is_said_naming_it(tls_sim, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(tls_sim.ca_file.read_bytes())
    config = load_config(write(tls_sim, tmp_path, ca_bundle=str(bundle)))
    bundle.unlink()
    with pytest.raises(ConfigError) as said:
        GatewayClient.from_config(config)
    assert "[gateway] ca_bundle" in str(said.value) and str(bundle) in str(said.value)


@pytest.mark.parametrize("value,kept", [("http://[::1]:3128", "http://[::1]:3128"), ("HTTP://10.0.0.1:3128",
                                                                                   "http://10.0.0.1:3128")])
def test_a_proxy_setting_in_a_form_people_write_is_taken(tls_sim, tmp_path, value, kept):
    assert load_config(write(tls_sim, tmp_path, proxy=value)).gateway.proxy == kept


@pytest.mark.parametrize("value", ["http://10.0.0.1 :3128", "http://pröxy:3128", "http://10.0.0.1:0",
                                   "http://10.0.0.1:99999", "socks5://10.0.0.1:1080", "http://u:topsecret@h:1", ""])
def test_a_proxy_setting_that_cannot_be_used_is_said_at_load(tls_sim, tmp_path, value):
    with pytest.raises(ConfigError) as said:
        load_config(write(tls_sim, tmp_path, proxy=value))
    assert "[gateway] proxy" in str(said.value) and "topsecret" not in str(said.value) + (said.value.hint or "")


# -- the cashier learns which hop fails ---------------------------------------------------------------------------


def test_the_cashier_is_told_when_the_proxy_is_the_cause(tls_sim, tls_config, tmp_path):
    """A queued sale whose pay the proxy refused, and the same sale voided: the cashier's words name the proxy,
    say to call the technician and name the setting (not 'the link stayed down')."""

    with Tinyproxy(tmp_path / "strict", connect_ports=[443]) as strict:
        outcome = pay(tls_config, replace(tls_config.gateway, proxy=strict.url), "hx-cashier")
    sale = pf.new_sale("hx-cashier", pf.PAYMENT_CODE, "USD", 100, 0.0)
    sale, _effects = pf.step(sale, pf.Tick(True), 0.0)
    sale, _effects = pf.step(sale, pf.PayAnswered(answer_of(outcome)), 1.0)
    queued = cashier_view(sale)
    assert sale.phase is pf.Phase.NEW
    words = " ".join((queued.headline, queued.detail, queued.next_step))
    assert "proxy" in words and "technician" in words and "[gateway] proxy" in words, words
    voided, _effects = pf.step(sale, pf.Tick(True), sale.deadline)
    final = cashier_view(voided)
    words = " ".join((final.headline, final.detail, final.next_step))
    assert voided.phase is pf.Phase.VOIDED and "link stayed down" not in words
    assert "proxy" in words and "technician" in words and "[gateway] proxy" in words, words
    assert "link stayed down" not in voided.message and "proxy" in voided.message


# -- a login whose password holds '/' or '@' is never echoed, even from a URL that does not parse ----------------

@pytest.mark.parametrize("value", ["http://till:Pa/ss9@127.0.0.1:1", "http://till:P@ss9@127.0.0.1:99999"])
def test_a_password_that_breaks_the_url_is_never_said(tls_sim, tls_config, tmp_path, monkeypatch, value):
    monkeypatch.setenv("HTTPS_PROXY", value)
    proxy = resolve_proxy(tls_config.gateway)
    outcome = pay(tls_config, tls_config.gateway, "hx-env-slash")
    assert outcome.delivery is Delivery.NOT_SENT and "HTTPS_PROXY" in outcome.message
    assert "ss9" not in outcome.message + proxy.describe() + repr(proxy), outcome.message + proxy.describe()
    with pytest.raises(ConfigError) as said:
        load_config(write(tls_sim, tmp_path, proxy=value))
    assert "ss9" not in str(said.value) + (said.value.hint or ""), str(said.value)


# -- open_tunnel (the self-test's reach check, the SFTP fetch): the same proxies, the same one deadline -----------

@pytest.mark.parametrize("answer,said", [(b"HTTP/1.1 200 OK\r\n" + b"X" * 100, "did not finish answering"),
                                         (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "as an HTTP proxy does")],
                         ids=["dripped", "not-http"])
def test_open_tunnel_says_how_the_proxy_misbehaved_within_its_timeout(answer, said):
    stop = threading.Event()

    def slow(proxy, conn):
        read_head(conn)
        for byte in answer:
            if stop.is_set():
                return
            conn.sendall(bytes([byte]))
            stop.wait(0.02)
        stop.wait(5)

    with Hostile(slow) as proxy:
        started = time.monotonic()
        with pytest.raises(ProxyFailure) as failed:
            open_tunnel(Proxy(proxy.url, "HTTPS_PROXY"), "127.0.0.1", 9, 0.5)
        took = time.monotonic() - started
        stop.set()
    assert took < 0.5 + 1.0 and failed.value.stage == "tunnel"
    assert said in str(failed.value) and "dropped" not in str(failed.value) and "HTTPS_PROXY" in str(failed.value)


def test_tinyproxy_killed_after_connect_before_the_request_is_not_sent_and_the_resend_charges_once(
        tls_sim, tls_config, tmp_path):
    """tinyproxy opens the tunnel; the terminal's TLS hello has crossed it (the gateway's side read it) when the
    proxy is killed -9: the handshake never finished, so no request byte can have left (certainly not sent). With
    the proxy back, the same request id is sent again and paid; the gateway's ledger holds it once."""
    proxy = Tinyproxy(tmp_path / "killed").start()
    front = socket.create_server(("127.0.0.1", 0))   # the gateway's port: a relay to the TLS simulator
    hellos: list[bytes] = []
    killed = threading.Event()

    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def gateway():
        while True:
            try:
                conn, _ = front.accept()
            except OSError:
                return
            if not hellos:   # the first tunnel: its TLS hello arrives, then the proxy dies
                hellos.append(conn.recv(65536))
                proxy.kill()
                killed.set()
                conn.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", tls_sim.port))
            threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
            threading.Thread(target=pipe, args=(conn, upstream), daemon=True).start()

    threading.Thread(target=gateway, daemon=True).start()
    gateway_config = replace(tls_config.gateway, url=f"https://127.0.0.1:{front.getsockname()[1]}",
                             proxy=proxy.url)
    try:
        first = pay(tls_config, gateway_config, "hx-killed-in-hello", code := payment_code())
        assert hellos and hellos[0][:1] == b"\x16", "a TLS handshake record crossed the tunnel"
        assert first.status is Status.UNKNOWN and first.delivery is Delivery.NOT_SENT, first.message
        assert proxy.url in first.message
        assert killed.wait(10), "the proxy was killed and reaped"   # else start() sees it still running
        proxy.start()
        again = pay(tls_config, gateway_config, "hx-killed-in-hello", code)
    finally:
        front.close()
        proxy.stop()
    assert again.status is Status.SUCCESS, again.message
    with GatewayClient.from_config(replace(tls_config.gateway, proxy="direct")) as client:
        assert client.inquiry_payment("hx-killed-in-hello").body["paymentStatus"] == "SUCCESS"
    assert [row for row in tls_sim_payments(tls_sim) if row[0] == "hx-killed-in-hello"] == \
        [("hx-killed-in-hello", "SUCCESS")]


def tls_sim_payments(sim) -> list[tuple]:
    """The simulator's ledger, its raw rows read with plain SQL."""
    import sqlite3
    from pathlib import Path

    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT payment_request_id, status FROM payments").fetchall()
    finally:
        conn.close()


def test_the_countdown_of_a_sale_the_proxy_refuses_does_not_blame_the_link():
    sale = pf.new_sale("hx-countdown", pf.PAYMENT_CODE, "USD", 100, 0.0)
    sale, _effects = pf.step(sale, pf.Tick(True), 0.0)
    refused = pf.Answer(Status.UNKNOWN, Delivery.NOT_SENT, trouble="PROXY_REFUSED [gateway] proxy")
    sale, _effects = pf.step(sale, pf.PayAnswered(refused), 1.0)
    line = waiting_line(cashier_view(sale), 3, 1.0)
    assert "voided in 59 s" in line and "link" not in line, line


@pytest.mark.parametrize("phase,aborted", [(pf.Phase.CANCELLING, False), (pf.Phase.INQUIRING, True)])
def test_a_sale_being_settled_while_the_proxy_is_down_says_the_proxy(phase, aborted):
    sale = replace(pf.new_sale("hx-settling", pf.PAYMENT_CODE, "USD", 100, 0.0), phase=phase, aborted=aborted,
                   maybe_sent=True, trouble="PROXY_DOWN HTTPS_PROXY")
    view = cashier_view(sale)
    assert "proxy" in view.detail and "technician" in view.detail and "HTTPS_PROXY" in view.detail, view


@pytest.mark.parametrize("value", ["http://[::1", "http://[zz]:3128"])
def test_a_proxy_variable_that_is_no_url_is_certainly_not_sent_naming_it(tls_config, monkeypatch, value):
    monkeypatch.setenv("ALL_PROXY", value)
    outcome = pay(tls_config, tls_config.gateway, "hx-no-url")
    assert outcome.delivery is Delivery.NOT_SENT and "ALL_PROXY" in outcome.message, outcome.message
    assert trouble_of(outcome) == "PROXY_DOWN ALL_PROXY"
    assert not Link(tls_config.gateway.url, proxy=resolve_proxy(tls_config.gateway)).probe()


def test_a_resend_the_proxy_refused_is_not_kept_as_the_gateways_fault():
    """An order code's pay got no clear answer, its resend never left (the proxy refused it): the gateway did not
    fail that one, so the words about the pay's fault stay the first's, never the proxy's hop read as the gateway's."""
    sale = pf.new_sale("hx-resend", pf.ORDER_CODE, "USD", 100, 0.0)
    sale, _effects = pf.step(sale, pf.Tick(True), 0.0)
    sale, _effects = pf.step(sale, pf.PayAnswered(pf.Answer(Status.UNKNOWN, Delivery.MAYBE_DELIVERED,
                                                            trouble="NO_ANSWER")), 1.0)
    refused = pf.Answer(Status.UNKNOWN, Delivery.NOT_SENT, trouble="PROXY_REFUSED [gateway] proxy")
    sale, _effects = pf.step(sale, pf.PayAnswered(refused), 2.0)
    assert sale.maybe_sent and sale.pay_trouble == "NO_ANSWER", sale
