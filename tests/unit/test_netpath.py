"""netpath's pure rules: which proxy a gateway URL takes (checked against requests' own reading of the same
environment), how the choice is described, and what the TLS context requires."""

from __future__ import annotations

import base64
import os
import ssl
from dataclasses import replace
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import requests.certs
import requests.utils

from pos_app.config import GatewayConfig
from pos_app.netpath import Proxy, ProxyFailure, explain, resolve_proxy, tls_context

GW = GatewayConfig("https://gw.example.com", "CLIENT", Path("k"), Path("k"))


def requests_choice(url: str, environ: dict[str, str]) -> str | None:
    """What requests itself would use for ``url`` under ``environ``: its proxy URL, login dropped, scheme added."""
    with mock.patch.dict(os.environ, environ, clear=True):
        chosen = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
    if chosen is None:
        return None
    parts = urlsplit(requests.utils.prepend_scheme_if_needed(chosen, "http"))
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://10.0.0.1:3128"},
    {"https_proxy": "http://10.0.0.2:8080", "HTTPS_PROXY": "http://10.0.0.1:3128"},
    {"HTTPS_PROXY": "10.0.0.1:3128"},
    {"HTTPS_PROXY": "http://till7:pw@10.0.0.1:3128"},
    {"HTTP_PROXY": "http://10.0.0.1:3128"},
    {"ALL_PROXY": "http://10.0.0.3:3128"},
    {"all_proxy": "http://10.0.0.3:3128", "HTTPS_PROXY": "http://10.0.0.1:3128"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "example.com"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": ".example.com"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "no_proxy": "other.com, gw.example.com"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "*"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "other.com"},
    {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "xample.org"},
]
URLS = ["https://gw.example.com", "https://gw.example.com:8443/v1", "http://127.0.0.1:8080", "https://10.1.2.3"]


@pytest.mark.parametrize("environ", ENVIRONMENTS)
@pytest.mark.parametrize("url", URLS)
def test_with_no_setting_the_environment_decides_as_requests_does(environ, url):
    proxy = resolve_proxy(replace(GW, url=url), environ=environ)
    assert proxy.url == requests_choice(url, environ)


@pytest.mark.parametrize("environ", [{"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "10.0.0.0/8"},
                                     {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "10.1.2.3"},
                                     {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "192.168.0.0/16"}])
def test_no_proxy_addresses_and_networks_as_requests_reads_them(environ):
    url = "https://10.1.2.3"
    assert resolve_proxy(replace(GW, url=url), environ=environ).url == requests_choice(url, environ)


def test_the_source_names_the_variable_that_won():
    assert resolve_proxy(GW, environ={"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2"}).source == \
        "https_proxy"
    assert resolve_proxy(GW, environ={"ALL_PROXY": "http://a:1"}).source == "ALL_PROXY"
    assert resolve_proxy(GW, environ={}).source == "none"
    assert resolve_proxy(GW, environ={"HTTPS_PROXY": "http://a:1", "NO_PROXY": "gw.example.com"}).source == \
        "no-proxy"


def test_a_login_in_the_variable_is_kept_apart_and_never_shown():
    proxy = resolve_proxy(GW, environ={"HTTPS_PROXY": "http://till%407:p%3Aw@10.0.0.1:3128"})
    assert proxy.url == "http://10.0.0.1:3128" and proxy.auth == ("till@7", "p:w")
    assert "p:w" not in repr(proxy) and "p:w" not in proxy.describe()
    assert base64.b64decode(proxy.proxy_authorization().removeprefix("Basic ")) == b"till@7:p:w"


def test_the_setting_wins_over_the_environment_and_direct_ignores_it(tmp_path):
    environ = {"HTTPS_PROXY": "http://10.0.0.1:3128"}
    login = tmp_path / "login"
    login.write_text("till7:pw\n")
    configured = replace(GW, proxy="http://10.9.9.9:3128", proxy_credentials=login)
    assert resolve_proxy(configured, environ=environ) == Proxy("http://10.9.9.9:3128", "config", ("till7", "pw"),
                                                               "gw.example.com")
    assert resolve_proxy(replace(GW, proxy="direct"), environ=environ).url is None


def test_another_url_asks_for_its_own_host():
    """The SFTP fetch asks for its host with the same rules."""
    environ = {"ALL_PROXY": "http://10.0.0.1:3128", "NO_PROXY": "gw.example.com"}
    assert resolve_proxy(GW, environ=environ).url is None
    assert resolve_proxy(GW, "sftp://m@sftp.example.com:22/x", environ=environ).url == "http://10.0.0.1:3128"


@pytest.mark.parametrize("proxy, words", [
    (Proxy("http://10.0.0.1:3128", "config"), "through http://10.0.0.1:3128 (from [gateway] proxy)"),
    (Proxy("http://10.0.0.1:3128", "HTTPS_PROXY", ("u", "p")), ("through http://10.0.0.1:3128 (from HTTPS_PROXY, "
                                                               "with a login)")),
    (Proxy(None, "direct"), 'direct ([gateway] proxy = "direct")'),
    (Proxy(None, "no-proxy", host="gw.example.com"), "direct (NO_PROXY covers gw.example.com)"),
    (Proxy(None, "none"), "direct (no proxy set)"),
])
def test_describe(proxy, words):
    assert proxy.describe() == words


def test_the_tls_context_requires_tls_1_2_a_certificate_and_the_host_name(tmp_path):
    context = tls_context(None)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100, "certifi's public CAs"
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(requests.certs.where()).read_text().split("-----END CERTIFICATE-----")[0]
                      + "-----END CERTIFICATE-----\n")
    assert tls_context(bundle).cert_store_stats()["x509_ca"] == 1, "only the bundle's CA, not certifi's too"


def test_a_proxy_failure_is_an_os_error_in_words():
    failure = ProxyFailure("tunnel", 403, "the proxy refused")
    assert isinstance(failure, OSError) and str(failure) == "the proxy refused"
    assert (failure.stage, failure.status) == ("tunnel", 403)
    assert explain(failure, GW, Proxy("http://10.0.0.1:3128", "config")) == "the proxy refused"


def test_explain_knows_nothing_of_an_unrelated_error():
    assert explain(ValueError("x"), GW, Proxy(None, "none")) is None
