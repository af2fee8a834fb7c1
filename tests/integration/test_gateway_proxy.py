"""The gateway client through a real CONNECT proxy (Debian's tinyproxy) to the TLS simulator: the way through,
and each way the proxy fails, classified by phase: before the tunnel and the handshake are done nothing can
have left (certainly not sent, in words naming the proxy and who set it); a tunnel that drops after the request
went through is maybe delivered."""

from __future__ import annotations

import os
import socket
import ssl
import threading
from dataclasses import replace

import pytest
from flowkit import config_for
from kit import payment_code, reserve_port, usd
from proxykit import Tinyproxy

from pos_app.config import GatewayConfig
from pos_app.gateway import Delivery, GatewayClient, Status
from pos_app.link import Link
from pos_app.netpath import Proxy, ProxyFailure, open_tunnel
from pos_app.sim import Simulator

pytestmark = pytest.mark.slow

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("proxy-sim"), "127.0.0.1", 0, tls=True, notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tls_config(tls_sim):
    return config_for(tls_sim)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """One plain tinyproxy for the tests that only go through it."""
    with Tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as started:
        yield started


def target(sim) -> str:
    return f"127.0.0.1:{sim.port}"


def pay(client, config, request_id):
    return client.pay_payment_code(config.merchant, request_id, usd(100), payment_code(), description="proxy",
                                   notify_url=config.notifications.public_url)


def never_arrived(config, request_id) -> bool:
    """The simulator's ledger, asked directly, has no payment for this request id."""
    with GatewayClient.from_config(replace(config.gateway, proxy="direct")) as client:
        return client.inquiry_payment(request_id).result_code == "ORDER_NOT_EXIST"


def credentials(tmp_path, text: str):
    path = tmp_path / "proxy-login"
    path.write_text(text + "\n")
    os.chmod(path, 0o600)
    return path


def test_a_sale_goes_through_the_proxys_tunnel(tls_sim, tls_config, proxy):
    gateway = replace(tls_config.gateway, proxy=proxy.url)
    with GatewayClient.from_config(gateway) as client:
        assert client.proxy.source == "config" and client.proxy.url == proxy.url
        assert client.proxy.describe() == f"through {proxy.url} (from [gateway] proxy)"
        paid = pay(client, tls_config, "px-pay-1")
        assert paid.status is Status.SUCCESS, paid.message
        assert client.inquiry_payment("px-pay-1").body["paymentStatus"] == "SUCCESS"
        assert client.last_tls is not None and client.last_tls.issuer.startswith("CN=pos-terminal simulator CA")
    assert proxy.connects().count(target(tls_sim)) == 1, "two calls on one kept-alive tunnel"


def test_a_proxy_that_is_down_is_certainly_not_sent(tls_config, tmp_path):
    down = Tinyproxy(tmp_path / "down")  # its port held, never started: connections are refused
    try:
        with GatewayClient.from_config(replace(tls_config.gateway, proxy=down.url)) as client:
            outcome = pay(client, tls_config, "px-down")
    finally:
        down.stop()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert down.url in outcome.message and "[gateway] proxy" in outcome.message and "refused" in outcome.message
    assert never_arrived(tls_config, "px-down")


def test_a_proxy_from_https_proxy_that_is_down_names_the_variable(tls_config, monkeypatch):
    gone = f"http://127.0.0.1:{reserve_port()}"
    monkeypatch.setenv("HTTPS_PROXY", gone)
    with GatewayClient.from_config(tls_config.gateway) as client:
        assert client.proxy == Proxy(gone, "HTTPS_PROXY", host="127.0.0.1")
        outcome = pay(client, tls_config, "px-env-down")
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert gone in outcome.message and "HTTPS_PROXY" in outcome.message


def test_a_connect_the_proxy_refuses_is_certainly_not_sent(tls_sim, tls_config, tmp_path):
    with Tinyproxy(tmp_path / "strict", connect_ports=[443]) as strict:
        with GatewayClient.from_config(replace(tls_config.gateway, proxy=strict.url)) as client:
            outcome = pay(client, tls_config, "px-403")
        assert strict.connects() == [target(tls_sim)]
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT
    assert "403" in outcome.message and f"allow CONNECT to {target(tls_sim)}" in outcome.message
    assert never_arrived(tls_config, "px-403")


def test_a_proxy_login_comes_from_proxy_credentials(tls_config, tmp_path):
    with Tinyproxy(tmp_path / "login", basic_auth=("till7", "s3cret.pw")) as guarded:
        gateway = replace(tls_config.gateway, proxy=guarded.url)
        with GatewayClient.from_config(gateway) as client:
            anonymous = pay(client, tls_config, "px-407")
        wrong = replace(gateway, proxy_credentials=credentials(tmp_path, "till7:not-it"))
        with GatewayClient.from_config(wrong) as client:
            refused = pay(client, tls_config, "px-407-wrong")
        right = replace(gateway, proxy_credentials=credentials(tmp_path, "till7:s3cret.pw"))
        with GatewayClient.from_config(right) as client:
            assert "s3cret" not in repr(client.proxy) and "s3cret" not in client.proxy.describe()
            paid = pay(client, tls_config, "px-login")
    assert anonymous.status is Status.UNKNOWN and anonymous.delivery is Delivery.NOT_SENT
    assert "407" in anonymous.message and "[gateway] proxy_credentials" in anonymous.message
    assert refused.delivery is Delivery.NOT_SENT and "check the user:password" in refused.message
    assert "s3cret" not in refused.message and "not-it" not in refused.message
    assert paid.status is Status.SUCCESS, paid.message
    assert never_arrived(tls_config, "px-407") and never_arrived(tls_config, "px-407-wrong")


def test_a_tunnel_killed_after_the_request_went_through_is_maybe_delivered(tls_sim, tls_config, tmp_path):
    """A TLS gateway that reads the whole request, then the proxy dies (kill -9) before any answer: the request
    left, so the outcome is unknown, maybe delivered; never "not sent", which would allow a second charge."""
    listener = socket.create_server(("127.0.0.1", 0))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_sim.tls_files.cert, tls_sim.tls_files.key)
    proxy = Tinyproxy(tmp_path / "doomed").start()
    got = []

    def gateway_that_never_answers():
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(10)
            reader = tls.makefile("rb")
            while (line := reader.readline()) not in (b"\r\n", b""):
                got.append(line)
            proxy.kill()  # the request is here; the tunnel carrying it goes

    server = threading.Thread(target=gateway_that_never_answers, daemon=True)
    server.start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with GatewayClient.from_config(replace(tls_config.gateway, url=url, proxy=proxy.url)) as client:
            outcome = pay(client, tls_config, "px-killed")
    finally:
        server.join(10)
        listener.close()
        proxy.stop()
    assert any(line.startswith(b"POST ") for line in got), "the request went through the tunnel"
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED, outcome.message


def test_https_proxy_and_no_proxy_are_honoured_with_no_setting(tls_sim, tls_config, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    before = proxy.connects().count(target(tls_sim))
    with GatewayClient.from_config(tls_config.gateway) as client:
        assert client.proxy.source == "HTTPS_PROXY"
        assert pay(client, tls_config, "px-env").ok
    assert proxy.connects().count(target(tls_sim)) == before + 1
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    with GatewayClient.from_config(tls_config.gateway) as client:
        assert client.proxy.url is None and client.proxy.describe() == "direct (NO_PROXY covers 127.0.0.1)"
        assert pay(client, tls_config, "px-no-proxy").ok
    assert proxy.connects().count(target(tls_sim)) == before + 1, "NO_PROXY: straight to the gateway"


def test_proxy_direct_ignores_the_environment(tls_config, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{reserve_port()}")  # a proxy that is down
    with GatewayClient.from_config(replace(tls_config.gateway, proxy="direct")) as client:
        assert client.proxy.url is None and client.proxy.source == "direct"
        assert pay(client, tls_config, "px-direct").ok


def test_the_links_probe_goes_to_the_proxy(proxy, tmp_path):
    """Behind a mandatory proxy the gateway's host is never reachable directly: the probe asks the proxy."""
    gateway_gone = f"https://127.0.0.1:{reserve_port()}"
    assert not Link(gateway_gone).probe()
    other = Tinyproxy(tmp_path / "probe").start()
    link = Link(gateway_gone, proxy=Proxy(other.url, "config"))
    try:
        assert link.probe()
        other.kill()
        assert not link.probe()
    finally:
        other.stop()
    assert Link(gateway_gone, proxy=Proxy(None, "none")).probe() is False


def test_gateway_config_defaults_leave_the_path_to_the_environment():
    gw = GatewayConfig("https://gw.example.com", "c", tmp := __import__("pathlib").Path("k"), tmp)
    assert (gw.ca_bundle, gw.proxy, gw.proxy_credentials) == (None, None, None)


# -- open_tunnel: the self-test's reach check and the SFTP fetch take the same tunnel ----------------------

def test_open_tunnel_carries_tls_to_the_gateway(tls_sim, proxy):
    sock = open_tunnel(Proxy(proxy.url, "config"), "127.0.0.1", tls_sim.port, 5)
    context = ssl.create_default_context(cafile=str(tls_sim.ca_file))
    with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /sim/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert tls.recv(64).startswith(b"HTTP/1.1 200")


def test_open_tunnel_says_why_the_proxy_failed(tls_sim, tmp_path):
    down = Tinyproxy(tmp_path / "down")
    try:
        with pytest.raises(ProxyFailure) as refused:
            open_tunnel(Proxy(down.url, "HTTPS_PROXY"), "127.0.0.1", tls_sim.port, 5)
    finally:
        down.stop()
    assert (refused.value.stage, refused.value.status) == ("connect", None)
    assert down.url in str(refused.value) and "HTTPS_PROXY" in str(refused.value)
    with Tinyproxy(tmp_path / "strict", connect_ports=[443], basic_auth=("till7", "pw")) as strict:
        with pytest.raises(ProxyFailure) as login:
            open_tunnel(Proxy(strict.url, "config"), "127.0.0.1", tls_sim.port, 5)
        with pytest.raises(ProxyFailure) as forbidden:
            open_tunnel(Proxy(strict.url, "config", ("till7", "pw")), "127.0.0.1", tls_sim.port, 5)
    assert (login.value.stage, login.value.status) == ("tunnel", 407)
    assert "[gateway] proxy_credentials" in str(login.value)
    assert (forbidden.value.stage, forbidden.value.status) == ("tunnel", 403)
    assert f"allow CONNECT to 127.0.0.1:{tls_sim.port}" in str(forbidden.value)


def test_open_tunnel_to_something_that_hangs_up_is_a_dropped_tunnel(tls_sim):
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(ProxyFailure) as dropped:
            open_tunnel(Proxy(url, "config"), "127.0.0.1", tls_sim.port, 5)
    finally:
        listener.close()
    assert (dropped.value.stage, dropped.value.status) == ("tunnel", None)
    assert "dropped the connection" in str(dropped.value) and "[gateway] proxy" in str(dropped.value)


def test_a_proxy_that_never_answers_the_connect_is_certainly_not_sent(tls_config):
    """It accepts and reads the CONNECT, then says nothing: bounded by the connect timeout, and nothing left."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def mute():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            stop.wait(10)

    threading.Thread(target=mute, daemon=True).start()
    gateway = replace(tls_config.gateway, proxy=f"http://127.0.0.1:{listener.getsockname()[1]}", connect_timeout=0.3,
                      read_timeout=0.5)
    try:
        with GatewayClient.from_config(gateway) as client:
            outcome = pay(client, tls_config, "px-mute")
    finally:
        stop.set()
        listener.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT, outcome.message
    assert "the proxy's tunnel" in outcome.message and "connect_timeout" in outcome.message
    assert never_arrived(tls_config, "px-mute")
