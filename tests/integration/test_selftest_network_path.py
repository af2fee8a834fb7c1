"""The self-test's way to the gateway (issue 19) against real parts on 127.0.0.1: the simulator serving TLS from
its own CA, a CA that did not sign it, a real tinyproxy (tests/proxykit.py) named in [gateway] proxy or in
HTTPS_PROXY, one that is down and one that refuses the CONNECT. What the checks show is compared with what the
parts say themselves: the certificate files read by cryptography, the proxy's own log of CONNECTs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import tomli_w
from cryptography import x509
from flowkit import write_config
from proxykit import Tinyproxy

from pos_app import selftest
from pos_app.config import load_config
from pos_app.selftest import FAIL, PASS, SKIP, network
from pos_app.sim import Simulator
from pos_app.sim.tls import ensure_tls

pytestmark = pytest.mark.slow

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY",
                   "http_proxy")


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch):
    """Each test names the proxy it means: none from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    """One simulator serving HTTPS for the module (its own CA in <data dir>/tls/ca.pem)."""
    sim = Simulator(tmp_path_factory.mktemp("tls-gateway"), "127.0.0.1", 0, tls=True,
                    notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """One real tinyproxy for the module."""
    with Tinyproxy(tmp_path_factory.mktemp("proxy")) as running:
        yield running


def config_with(sim: Simulator, tmp_path: Path, **gateway) -> Path:
    """The simulator's fast config (its CA as ca_bundle) with [gateway] keys changed; None removes one."""
    path = write_config(sim, name=f"{tmp_path.name}.toml")
    doc = load_doc(path)
    for key, value in gateway.items():
        if value is None:
            doc["gateway"].pop(key, None)
        else:
            doc["gateway"][key] = value
    path.write_text(tomli_w.dumps(doc))
    return path


def load_doc(path: Path) -> dict:
    import tomllib

    return tomllib.loads(path.read_text())


def external(config: Path, tmp_path: Path, no_devices) -> dict:
    report = selftest.run("external", config, tmp_path / "data", input_dir=no_devices.input_dir,
                          sys_dir=no_devices.sys_dir)
    return {c.name: c for c in report.checks}


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_tls_simulator_with_its_ca_shows_version_issuer_and_expiry(tls_sim, tmp_path, no_devices):
    checks = external(config_with(tls_sim, tmp_path), tmp_path, no_devices)
    assert [checks[n].status for n in ("proxy", "gateway", "tls", "round-trip", "clock-skew")] == [PASS] * 5, \
        {n: (c.status, c.detail, c.hint) for n, c in checks.items()}
    assert checks["proxy"].detail == "direct (no proxy set)"
    served = certificate(tls_sim.tls_files.cert)     # what the server was given, read independently
    tls = checks["tls"]
    assert tls.detail.startswith(("TLSv1.3 (", "TLSv1.2 (")), tls.detail
    assert f"issued by {served.issuer.rfc4514_string()}" in tls.detail
    assert served.issuer == certificate(tls_sim.ca_file).subject
    assert f"valid until {served.not_valid_after_utc:%Y-%m-%d}" in tls.detail
    assert tls.hint == ""   # far from its end: no warning
    assert "ORDER_NOT_EXIST" in checks["round-trip"].detail


def test_a_certificate_near_its_end_is_a_warning(tls_sim, tmp_path):
    """A real handshake's certificate, judged at two moments read off its own end date."""
    gw = load_config(config_with(tls_sim, tmp_path)).gateway
    from pos_app.netpath import resolve_proxy

    info = network.handshake(gw, resolve_proxy(gw, environ={}), 5.0)
    end = certificate(tls_sim.tls_files.cert).not_valid_after_utc
    assert info.not_after == end
    soon = network.judge_tls(info, (end - timedelta(days=10, hours=1)).timestamp(), "terminal.toml")
    assert soon.status == PASS and "it expires in 10 day(s)" in soon.detail and "renewed" in soon.hint
    later = network.judge_tls(info, (end - timedelta(days=network.EXPIRY_WARN_DAYS + 1)).timestamp(), "x")
    assert later.status == PASS and later.hint == "" and "expires" not in later.detail


def test_a_ca_that_did_not_sign_the_gateway_fails_tls_naming_ca_bundle(tls_sim, tmp_path, no_devices):
    other_ca = ensure_tls(tmp_path / "another-ca", ["localhost"]).ca   # a real CA, not the simulator's
    checks = external(config_with(tls_sim, tmp_path, ca_bundle=str(other_ca)), tmp_path, no_devices)
    assert checks["gateway"].status == PASS   # TCP reaches it: the cause is the certificate, said as such
    tls = checks["tls"]
    assert tls.status == FAIL and "the TLS handshake with https://127.0.0.1:" in tls.detail, tls
    assert tls.detail.endswith("fails: unable to get local issuer certificate"), tls.detail   # OpenSSL's words
    assert "[gateway] ca_bundle" in tls.hint and str(other_ca) in tls.hint, tls.hint
    assert checks["round-trip"].status == SKIP and checks["round-trip"].detail == "the TLS handshake fails (see tls)"


def test_through_a_real_proxy_named_in_the_config(tls_sim, proxy, tmp_path, no_devices):
    before = len(proxy.connects())
    checks = external(config_with(tls_sim, tmp_path, proxy=proxy.url), tmp_path, no_devices)
    assert [checks[n].status for n in ("proxy", "gateway", "tls", "round-trip")] == [PASS] * 4, \
        {n: (c.status, c.detail, c.hint) for n, c in checks.items()}
    assert checks["proxy"].detail.startswith(f"through {proxy.url} (from [gateway] proxy): it accepts connections (")
    assert checks["gateway"].detail.startswith(f"127.0.0.1:{tls_sim.port} accepts connections through {proxy.url} (")
    assert "ms to connect through it" in checks["gateway"].detail
    # the reach check, the handshake and the round trip each went through the proxy's CONNECT: its log says so
    assert proxy.connects()[before:] == [f"127.0.0.1:{tls_sim.port}"] * 3, proxy.log()[-2000:]


def test_the_proxy_from_https_proxy_is_used_and_its_source_shown(tls_sim, proxy, tmp_path, no_devices, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    before = len(proxy.connects())
    checks = external(config_with(tls_sim, tmp_path), tmp_path, no_devices)
    assert checks["proxy"].detail.startswith(f"through {proxy.url} (from HTTPS_PROXY)"), checks["proxy"]
    assert checks["round-trip"].status == PASS, checks["round-trip"]
    assert len(proxy.connects()) - before == 3
    # proxy = "direct" in the config overrides the environment, and says so
    checks = external(config_with(tls_sim, tmp_path, proxy="direct"), tmp_path, no_devices)
    assert checks["proxy"].detail == 'direct ([gateway] proxy = "direct")' and checks["round-trip"].status == PASS
    assert len(proxy.connects()) - before == 3


def test_a_proxy_that_is_down_fails_the_proxy_check_and_skips_what_needs_it(tls_sim, tmp_path, no_devices):
    down = Tinyproxy(tmp_path / "down")   # its port held, nobody listening: a connect is refused
    try:
        checks = external(config_with(tls_sim, tmp_path, proxy=down.url), tmp_path, no_devices)
    finally:
        down.stop()
    said = checks["proxy"]
    assert said.status == FAIL and said.detail.startswith(f"through {down.url} (from [gateway] proxy): the proxy "
                                                         "cannot be reached ("), said
    assert "[gateway] proxy" in said.hint and "is the proxy running?" in said.hint
    for name in ("gateway", "tls", "round-trip"):
        assert checks[name].status == SKIP and checks[name].detail == "the proxy cannot be reached (see proxy)", \
            checks[name]


def test_a_proxy_that_refuses_the_connect_fails_the_gateway_check_in_its_words(tls_sim, tmp_path, no_devices):
    with Tinyproxy(tmp_path / "strict", connect_ports=[443]) as strict:   # CONNECT to the simulator's port: 403
        checks = external(config_with(tls_sim, tmp_path, proxy=strict.url), tmp_path, no_devices)
    assert checks["proxy"].status == PASS
    gateway = checks["gateway"]
    assert gateway.status == FAIL and "403" in gateway.detail and f"127.0.0.1:{tls_sim.port}" in gateway.detail, \
        gateway
    assert "(from [gateway] proxy)" in gateway.detail and "allow CONNECT" in gateway.detail
    assert gateway.hint == "the payment calls take this way too: none can be sent until it opens"
    assert checks["tls"].status == SKIP and checks["round-trip"].status == SKIP
