"""The gateway from here: which way out (``proxy``), can we connect (``gateway``), does TLS hold (``tls``), and
does a signed call come back verified (``round-trip``)?

Each layer is checked on its own, in the order a call crosses them, so a cable, a proxy, a CA or a key problem
is named as itself instead of as a failed call: the proxy answers at all; the gateway's host and port are
reached, through the proxy's CONNECT when one is in use (:func:`pos_app.netpath.open_tunnel`, the way the
payment calls go), timed; the TLS handshake verifies with the CA bundle the terminal uses, and its version,
issuer and expiry are shown. Whether the round trip's answer means the gateway works is not decided here:
that is :func:`pos_app.health.verdict`, the same verdict ``pos-terminal status`` gives; this module only says
which setting each verdict points at.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..config import Config
from ..errors import KeyFileError
from ..i18n import _
from .results import Check, failed, one_line, passed, skipped

if TYPE_CHECKING:
    from ..config import GatewayConfig
    from ..netpath import Proxy, TlsInfo

#: A gateway certificate that ends within this many days is a warning: someone must renew it first.
EXPIRY_WARN_DAYS = 14


def gateway_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _proxy_setting(proxy: Proxy, where: str) -> str:
    """Where the proxy in use was set, as a person changes it."""
    return _("{setting} (in {where})").format(setting=proxy.setting(), where=where) if proxy.source == "config" \
        else _("{setting} in the terminal's environment, or [gateway] proxy in {where}").format(
            setting=proxy.setting(), where=where)


def _explained(exc: BaseException, gw: GatewayConfig | None, proxy: Proxy | None) -> str | None:
    """netpath's words for a failure before any request left (cause and setting), when it has some."""
    if gw is None or proxy is None:
        return None
    from ..netpath import explain

    words = explain(exc, gw, proxy)
    return one_line(words) if words else None


def check_proxy(gw: GatewayConfig, timeout: float = 5.0, *, where: str = "terminal.toml",
                environ=None, sandbox: bool = False) -> tuple[Check, Proxy]:
    """The ``proxy`` check: which way out the gateway's calls take and who said so (``sandbox``: the sandbox's own
    rule, not a setting in a file); a proxy in use must accept a connection (timed). Returns the proxy too, for
    the checks after it."""
    import os

    from ..netpath import resolve_proxy

    proxy = resolve_proxy(gw, environ=os.environ if environ is None else environ)
    if sandbox and proxy.url is None:
        from ..sandbox import DIRECT

        return passed("proxy", _(DIRECT)), proxy
    said = proxy.describe()
    if proxy.url is None:
        return passed("proxy", said), proxy
    if proxy.problem:   # a variable's value that is no usable proxy URL: said as such, nothing to connect to
        return failed("proxy", said, _("set {setting} to http://host:port of the store's proxy, or [gateway] proxy in "
                                       "{where} (\"direct\" to ignore the environment)").format(
            setting=proxy.setting(), where=where)), proxy
    host, port = gateway_address(proxy.url)
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) if not isinstance(exc, TimeoutError) else \
            _("no answer within {seconds} s").format(seconds=f"{timeout:g}")
        hint = _("is the proxy running? check {setting}").format(setting=_proxy_setting(proxy, where))
        return failed("proxy", _("{proxy}: the proxy cannot be reached ({reason})").format(
            proxy=said, reason=reason), hint), proxy
    ms = (time.perf_counter() - started) * 1000
    return passed("proxy", _("{proxy}: it accepts connections ({ms} ms)").format(proxy=said, ms=f"{ms:.1f}")), proxy


def check_reachable(url: str, timeout: float = 5.0, *, where: str = "[gateway] url",
                    proxy: Proxy | None = None) -> Check:
    """A TCP connect to the gateway's host and port, timed; through the proxy's CONNECT when ``proxy`` has one
    (the payment calls' way: behind a mandatory proxy the host is never reached directly)."""
    host, port = gateway_address(url)
    shown = _shown(host, port)
    started = time.perf_counter()
    if proxy is not None and proxy.url is not None:
        from ..netpath import open_tunnel

        try:
            open_tunnel(proxy, host, port, timeout).close()
        except OSError as exc:   # a ProxyFailure names the cause and the setting itself
            return failed("gateway", _("cannot reach {address} through the proxy: {reason}").format(
                              address=shown, reason=one_line(getattr(exc, "words", None) or exc.strerror or exc)),
                          _("the payment calls take this way too: none can be sent until it opens"))
        ms = (time.perf_counter() - started) * 1000
        return passed("gateway", _("{address} accepts connections through {proxy} ({ms} ms to connect through it)")
                      .format(address=shown, proxy=proxy.url, ms=f"{ms:.1f}"))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        return failed("gateway", _("cannot resolve {host} ({reason})").format(host=host, reason=exc.strerror),
                      _("check the network's DNS (/etc/resolv.conf) and the host name in {where}").format(where=where))
    except TimeoutError:
        return failed("gateway", _("cannot reach {address}: no answer within {seconds} s").format(
                          address=shown, seconds=f"{timeout:g}"),
                      _("check the network cable or Wi-Fi and any firewall between here and the gateway"))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = (_("nothing listens there: is the gateway (or simulator) running? check {where}")
                if exc.errno == errno.ECONNREFUSED else
                _("check the network (cable, Wi-Fi, router) and {where}")).format(where=where)
        return failed("gateway", _("cannot reach {address} ({reason})").format(address=shown, reason=reason), hint)
    ms = (time.perf_counter() - started) * 1000
    return passed("gateway", _("{address} accepts connections ({ms} ms to connect)").format(
        address=shown, ms=f"{ms:.1f}"))


def handshake(gw: GatewayConfig, proxy: Proxy | None, timeout: float) -> TlsInfo:
    """One TLS handshake with the gateway as the terminal makes it (the CA bundle it trusts, TLS 1.2 at least,
    the host name checked), through the proxy when one is in use; raises what failed."""
    from ..netpath import open_tunnel, tls_context, tls_info

    host, port = gateway_address(gw.url)
    raw = open_tunnel(proxy, host, port, timeout) if proxy is not None and proxy.url is not None else \
        socket.create_connection((host, port), timeout=timeout)
    try:
        raw.settimeout(timeout)
        with tls_context(gw.ca_bundle).wrap_socket(raw, server_hostname=host) as sock:
            info = tls_info(sock)
    finally:
        raw.close()
    if info is None:
        raise ssl.SSLError(_("the gateway showed no certificate"))
    return info


def judge_tls(info: TlsInfo, now: float, where: str) -> Check:
    """The ``tls`` check's words for a handshake that held: version, issuer, expiry; near the end, a warning."""
    days = (info.not_after - datetime.fromtimestamp(now, UTC)).total_seconds() / 86400
    words = _("{version} ({cipher}), certificate for {subject} issued by {issuer}, valid until {date}").format(
        version=info.version, cipher=info.cipher, subject=info.subject, issuer=info.issuer,
        date=info.not_after.strftime("%Y-%m-%d"))
    if days < EXPIRY_WARN_DAYS:
        return passed("tls", _("{words}: it expires in {days} day(s)").format(words=words, days=max(0, int(days))),
                      _("have the gateway's certificate renewed before then (or, when a TLS-inspecting proxy issues "
                        "it, the proxy's): after that date this terminal no longer trusts the certificate, so no "
                        "call goes through; see {where}").format(
                          where=where))
    return passed("tls", words)


def check_tls(gw: GatewayConfig, proxy: Proxy | None, now: float, *, where: str = "terminal.toml") -> Check:
    """The ``tls`` check: the handshake the payment calls make, with its version, issuer and expiry; a failure
    in netpath's words (the cause and the setting that fixes it). Plain http:// has none: skipped."""
    if urlsplit(gw.url).scheme != "https":
        return skipped("tls", _("{url} is plain http://: no TLS (only for this machine, e.g. a simulator)").format(
            url=gw.url))
    try:
        info = handshake(gw, proxy, gw.connect_timeout)
    except (OSError, ValueError) as exc:   # ssl.SSLError is an OSError
        reason = one_line(getattr(exc, "words", None) or getattr(exc, "verify_message", None)
                          or getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)
        return failed("tls", _("the TLS handshake with {url} fails: {reason}").format(url=gw.url, reason=reason),
                      _explained(exc, gw, proxy) or _("check [gateway] url and ca_bundle in {where}").format(
                          where=where))
    return judge_tls(info, now, where)


def judge_round_trip(outcome, elapsed_ms: float, config: Config) -> Check:
    """The probe's outcome in the self-test's words: the health verdict, with the setting to look at."""
    from ..health import Verdict, verdict

    gw = config.gateway
    code = outcome.result_code
    said = verdict(outcome)
    if said is Verdict.ANSWERED:
        return passed("round-trip", _("a signed inquiry was answered ({code}) and the answer verified in {ms} ms")
                      .format(code=code or "S", ms=f"{elapsed_ms:.0f}"))
    if said is Verdict.BAD_SIGNATURE:
        return failed("round-trip", _("the gateway rejects our signature"),
                      _("[gateway] merchant_private_key {path} does not match the public key registered for client "
                        "id {client_id}: register its public half, or use the right key").format(
                          path=gw.merchant_private_key, client_id=gw.client_id))
    if said is Verdict.UNKNOWN_CLIENT:
        return failed("round-trip", _("the gateway does not know client id {client_id}").format(client_id=gw.client_id),
                      _("check [gateway] client_id in {path} against the gateway portal").format(path=config.path))
    if said is Verdict.UNVERIFIED:
        return failed("round-trip", _("the gateway's answer did not verify: wrong gateway public key?"),
                      _("[gateway] gateway_public_key {path} must be the gateway's public key (from the gateway "
                        "portal), the one that signs its answers").format(path=gw.gateway_public_key))
    if said is Verdict.NOT_SENT:
        return failed("round-trip", one_line(outcome.message),
                      _("nothing was sent: the words name the cause and the setting ([gateway] url {url}, proxy, "
                        "ca_bundle); the proxy, gateway and tls checks above test each layer").format(url=gw.url))
    if said is Verdict.REFUSED:
        return failed("round-trip", _("the gateway refused the inquiry: {code} {reason}").format(
                          code=code, reason=one_line(outcome.message)).strip(),
                      _("an unknown paymentRequestId should answer ORDER_NOT_EXIST; ask the gateway's support "
                        "about this result code"))
    return failed("round-trip", _("no usable answer: {reason}").format(reason=one_line(outcome.message) or code),
                  _("the gateway may be down or overloaded; try again in a minute, then ask its support"))


def check_round_trip(config: Config, clock: Callable[[], float]) -> tuple[Check, tuple | None]:
    """The ``round-trip`` check, and for the ``clock-skew`` check the gateway's signed response-time with
    our ``clock`` just before and after the call (None unless the answer verified)."""
    from ..health import probe_gateway

    try:
        probe = probe_gateway(config, label="SELFTEST", clock=clock)
    except KeyFileError as exc:
        return skipped("round-trip", _("the keys do not load ({reason})").format(reason=one_line(exc.message)),
                       _("see the keys check")), None
    answer = None if probe.response_time is None else (probe.response_time, probe.sent, probe.received)
    return judge_round_trip(probe.outcome, probe.elapsed_ms, config), answer
