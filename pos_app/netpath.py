"""The network path to the gateway: which proxy (if any), which CAs, and what went wrong on the way, in words.

Store networks often let traffic out only through an HTTP proxy (CONNECT), and some inspect TLS with their own
CA. The gateway client, the self-test, the setup wizard and the SFTP fetch all take the same path, so the rules
live here once: ``[gateway] proxy`` ("http://host:port" or "direct") over the environment's variables (read as
requests reads them), ``[gateway] ca_bundle`` over certifi, TLS 1.2 at least, host names always checked.

:func:`explain` turns a failure that happened before a request could leave (proxy refused, tunnel refused,
certificate refused) into words naming the cause and the setting that fixes it; :func:`hop` says which hop it
was (the proxy, its login, the gateway beyond it, TLS) so the cashier is told to call the technician rather than
to wait for a link that is up. An environment proxy the terminal cannot use is never guessed at
(``Proxy.problem``): every call through it is certainly not sent, in words naming the variable.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .config import GatewayConfig, read_proxy_credentials
from .errors import ConfigError
from .i18n import _
from .vocabulary import BEYOND_PROXY, PROXY_DOWN, PROXY_LOGIN, PROXY_REFUSED, TLS_REFUSED, path_trouble

MAX_CONNECT_ANSWER = 64 * 1024  # a proxy's answer to CONNECT is a few hundred bytes


@dataclass(frozen=True)
class Proxy:
    """The way to one host: through ``url`` (an http:// CONNECT proxy) or direct (``url`` None), and why."""

    url: str | None      # "http://host:port", never with credentials; None = direct
    source: str          # "config", an environment variable's name ("HTTPS_PROXY"...), "direct", "no-proxy", "none"
    auth: tuple[str, str] | None = field(default=None, repr=False)  # the proxy's Basic login; never shown
    host: str = ""       # the host the choice was made for (said when NO_PROXY covers it)
    problem: str = ""    # why an environment variable's proxy cannot be used (no host, a bad port, not http://)

    def describe(self) -> str:
        """How the terminal reaches the host, and which setting says so (status, self-test)."""
        if self.url is not None and self.problem:
            return _("{url} from {source}, which cannot be used: {problem}").format(
                url=self.url, source=self.setting(), problem=self.problem)
        if self.url is not None:
            login = _(", with a login") if self.auth else ""
            return _("through {url} (from {source}{login})").format(url=self.url, source=self.setting(), login=login)
        if self.source == "direct":
            return _('direct ([gateway] proxy = "direct")')
        if self.source == "no-proxy":
            return _("direct (NO_PROXY covers {host})").format(host=self.host)
        return _("direct (no proxy set)")

    def setting(self) -> str:
        """The setting to change to change this path, in words."""
        if self.source in ("config", "direct"):
            return "[gateway] proxy"
        if self.source == "no-proxy":
            return "NO_PROXY"
        if self.source == "none":
            return _('[gateway] proxy or HTTPS_PROXY')
        return self.source

    def proxy_authorization(self) -> str | None:
        """The Proxy-Authorization header's value for the login, if there is one."""
        if self.auth is None:
            return None
        return "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode("ascii")


def resolve_proxy(gw: GatewayConfig, url: str | None = None, environ: Mapping[str, str] = os.environ) -> Proxy:
    """The proxy for the gateway's URL (or ``url``: the SFTP fetch asks for its own host, same rules).

    ``[gateway] proxy`` wins; "direct" ignores the environment; else HTTPS_PROXY / ALL_PROXY / NO_PROXY decide
    as requests decides (lower-case names first, NO_PROXY host suffixes, CIDRs and "*")."""
    target = url or gw.url
    parts = urlsplit(target)
    host = parts.hostname or ""
    if gw.proxy == "direct":
        return Proxy(None, "direct", host=host)
    if gw.proxy:
        auth = None
        if gw.proxy_credentials is not None:
            try:
                auth = read_proxy_credentials(gw.proxy_credentials)
            except (OSError, ValueError) as exc:
                raise ConfigError(_("[gateway] proxy_credentials {path}: {reason}").format(
                    path=gw.proxy_credentials, reason=getattr(exc, "strerror", None) or exc),
                    hint=_("write one line user:password in it, mode 600")) from None
        return Proxy(gw.proxy, "config", auth, host)
    proxies = _environ_proxies(environ)
    if not proxies:
        return Proxy(None, "none", host=host)
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY")
    if no_proxy and _bypassed(parts, no_proxy):
        return Proxy(None, "no-proxy", host=host)
    scheme = parts.scheme or "https"
    for key in (f"{scheme}://{host}", scheme, f"all://{host}", "all"):
        if key in proxies:
            value, name = proxies[key]
            return _env_proxy(value, name, host)
    return Proxy(None, "none", host=host)


def _environ_proxies(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """urllib's getproxies_environment, keeping each value's variable name: lower-case names win."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in environ.items():
        if value and name.lower().endswith("_proxy") and name.lower() != "no_proxy":
            found[name[:-6].lower()] = (value, name)
    if "REQUEST_METHOD" in environ:  # a CGI script: HTTP_PROXY may be a request header (httpoxy)
        found.pop("http", None)
    for name, value in environ.items():
        if name.endswith("_proxy") and name != "no_proxy":
            if value:
                found[name[:-6]] = (value, name)
            else:
                found.pop(name[:-6], None)
    return found


def _bypassed(parts, no_proxy: str) -> bool:
    """requests' should_bypass_proxies, on the given NO_PROXY value rather than os.environ."""
    host = parts.hostname
    if not host:
        return False
    entries = [entry.strip() for entry in no_proxy.replace(" ", "").split(",") if entry.strip()]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        for entry in entries:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    else:
        with_port = f"{host}:{parts.port}" if parts.port else host
        if any(host.endswith(entry) or with_port.endswith(entry) for entry in entries):
            return True
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # public, untyped in typeshed
    return bool(bypass(host, {"no": no_proxy}))


def _env_proxy(value: str, name: str, host: str) -> Proxy:
    """An environment proxy URL as requests takes it (http:// when it names no scheme), its login split off.

    A value the terminal cannot use (not http://, no host, a port that is no port) is kept with its ``problem`` in
    words: every call through it is then certainly not sent, said naming the variable; nothing connects to a
    guessed host or port (urllib's rules would take port 80 for "host:99999" and a local host for "http://:0")."""
    if "://" not in value:
        value = "http://" + value
    shown = _without_login(value)
    try:
        parts = urlsplit(value)
        address = parts.hostname or ""
    except ValueError:   # "http://[::1" (no closing bracket), "http://[zz]:3128"
        return Proxy(shown, name, None, host, _("it is no URL (its host is not written as http://host:port)"))
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    try:
        port = parts.port
    except ValueError:
        return Proxy(shown, name, auth, host, _("its port is not a number from 1 to 65535"))
    if parts.scheme.lower() != "http":
        return Proxy(shown, name, auth, host, _("only http:// proxies (CONNECT) are supported, not {scheme}://").format(
            scheme=parts.scheme))
    if not address or re.search(r"[\s\x00-\x1f\x7f]", value):
        return Proxy(shown, name, auth, host, _("it names no proxy host"))
    if port == 0:
        return Proxy(shown, name, auth, host, _("its port is not a number from 1 to 65535"))
    address = f"[{address}]" if ":" in address else address
    url = f"http://{address}" + (f":{port}" if port else "")
    return Proxy(url, name, auth, host)


def _without_login(value: str) -> str:
    """scheme://host:port of a proxy URL that may not parse: all before the last "@" may be a login (a password
    may hold "/", "@", "#"), so it goes, and so does any path."""
    scheme, sep, rest = value.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2].split('/', 1)[0]}"


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Certificates required and host names checked, TLS 1.2 at least, trusting ``ca_bundle`` or certifi."""
    if ca_bundle is None:
        import requests.certs

        cafile = requests.certs.where()
    else:
        cafile = str(ca_bundle)
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:  # checked at load; gone or changed since
        if ca_bundle is None:
            raise
        raise ConfigError(_("[gateway] ca_bundle {path}: the CA certificates cannot be read now ({reason})").format(
            path=ca_bundle, reason=getattr(exc, "strerror", None) or exc),
            hint=_("name a PEM file of the CA that signs the gateway's (or the TLS-inspecting proxy's) "
                   "certificate")) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class ProxyFailure(OSError):
    """The proxy could not be reached (stage "connect") or would not open the tunnel (stage "tunnel", with the
    HTTP status it answered, or None when it dropped the connection)."""

    def __init__(self, stage: str, status: int | None, words: str) -> None:
        super().__init__(words)
        self.stage, self.status, self.words = stage, status, words

    def __str__(self) -> str:
        return self.words


def open_tunnel(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP socket to host:port, through the proxy's CONNECT tunnel when there is one (direct otherwise).

    ``timeout`` bounds the whole opening (connect and the proxy's answer) and is the socket's timeout after.
    Raises :class:`ProxyFailure` in words; a direct connection's OSError passes as it is."""
    if proxy.url is None:
        return socket.create_connection((host, port), timeout=timeout)
    if proxy.problem:
        raise ProxyFailure("connect", None, unusable_words(proxy))
    parts = urlsplit(proxy.url)
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyFailure("connect", None, _("the proxy {url} (from {source}) is not an http:// proxy: only "
                                              "CONNECT proxies reached in plain HTTP are supported").format(
            url=proxy.url, source=proxy.setting()))
    end = time.monotonic() + timeout
    try:
        sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    except OSError as exc:
        raise ProxyFailure("connect", None, _proxy_unreachable(proxy, exc)) from exc
    try:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if proxy.auth is not None:
            head += f"Proxy-Authorization: {proxy.proxy_authorization()}\r\n"
        sock.sendall((head + "\r\n").encode("latin-1"))
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):  # byte by byte: what follows the blank line is the tunnel's
            left = end - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                byte = sock.recv(1)
            except TimeoutError:  # silent, or dripping its answer: the one timeout holds either way
                raise ProxyFailure("tunnel", None, _("the proxy {url} (from {source}) did not finish answering the "
                                                     "CONNECT to {target} within {seconds:g} s: check that {source} "
                                                     "names a proxy that accepts CONNECT").format(
                    url=proxy.url, source=proxy.setting(), target=target, seconds=timeout)) from None
            if len(answer) > MAX_CONNECT_ANSWER:
                raise ProxyFailure("tunnel", None, _tunnel_words(proxy, target, None, "",
                                                                 http.client.LineTooLong("CONNECT answer")))
            if not byte:   # hung up: after something that is no HTTP answer, it is no HTTP proxy
                raise ProxyFailure("tunnel", None, _tunnel_words(proxy, target, None, "", None if not answer or
                                                                 b"HTTP/".startswith(answer[:5]) else
                                                                 http.client.BadStatusLine(repr(answer[:40]))))
            answer += byte
        line = answer.split(b"\r\n", 1)[0].decode("latin-1")
        match = re.match(r"HTTP/\d(?:\.\d)? (\d{3})\s*(.*)", line)
        if not match:
            raise ProxyFailure("tunnel", None, _tunnel_words(proxy, target, None, "",
                                                             http.client.BadStatusLine(line)))
        status = int(match.group(1))
        if not 200 <= status < 300:
            raise ProxyFailure("tunnel", status, _tunnel_words(proxy, target, status, match.group(2)))
        sock.settimeout(timeout)
        return sock
    except ProxyFailure:
        sock.close()
        raise
    except OSError as exc:
        sock.close()
        raise ProxyFailure("tunnel", None, _tunnel_words(proxy, target, None, "", exc)) from exc


@dataclass(frozen=True)
class TlsInfo:
    """What a TLS connection to the gateway came to (the self-test shows it)."""

    version: str          # "TLSv1.3"
    cipher: str
    issuer: str           # RFC 4514, e.g. "CN=Example CA,O=Example"
    subject: str
    not_after: datetime   # UTC


def tls_info(sock: socket.socket) -> TlsInfo | None:
    """The TlsInfo of a socket whose handshake is done; None when it is no TLS socket or shows no certificate."""
    if not isinstance(sock, ssl.SSLSocket):
        return None
    der = sock.getpeercert(binary_form=True)
    if not der:
        return None
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    cipher = sock.cipher()
    return TlsInfo(version=sock.version() or "", cipher=cipher[0] if cipher else "",
                   issuer=cert.issuer.rfc4514_string(), subject=cert.subject.rfc4514_string(),
                   not_after=cert.not_valid_after_utc.astimezone(UTC))


def explain(exc: BaseException, gw: GatewayConfig, proxy: Proxy, *, tunnelled: bool | None = None) -> str | None:
    """Words naming the cause and the setting that fixes it, for a failure before the request left; None when
    the failure is none this module knows. ``tunnelled``: whether the proxy had opened the tunnel (None: not
    known), which tells a proxy hanging up on the CONNECT from a tunnel closed in the TLS handshake."""
    parts = urlsplit(gw.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if proxy.problem:
        return unusable_words(proxy)
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, ProxyFailure):
            return link.words
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            return _certificate_words(link, gw, proxy, target)
        if type(link).__name__ == "CertificateError":  # urllib3's own host name check
            return _("the gateway's certificate is not for {host} ({reason}): check the host in [gateway] url "
                     "({url})").format(host=host, reason=link, url=gw.url)
    for link in chain:
        text = str(link)
        tunnel = re.match(r"Tunnel connection failed: (\d{3})\s*(.*)", text)
        if tunnel and proxy.url is not None:
            return _tunnel_words(proxy, target, int(tunnel.group(1)), tunnel.group(2))
    for link in chain:
        if isinstance(link, ssl.SSLError):
            reason = (link.reason or "").upper()
            if reason in _OLD_TLS:
                return _("the TLS connection to {target} offers only a version older than TLS 1.2, which the "
                         "terminal refuses: the gateway (or a TLS-inspecting proxy on the way) must offer TLS 1.2 "
                         "or later").format(target=target)
            if reason == "WRONG_VERSION_NUMBER":
                return _("{target} did not answer in TLS: check that [gateway] url ({url}) names the gateway's "
                         "https port{via}").format(target=target, url=gw.url, via=_via(proxy))
    if proxy.url is not None and _before_proxy(chain):
        return _proxy_unreachable(proxy, _innermost_os_error(chain))
    if proxy.url is not None:
        answer = _no_http_answer(chain)
        if answer is not None:  # the CONNECT's answer was no HTTP, or none at all
            return _tunnel_words(proxy, target, None, "", answer)
        dropped = _dropped_in_handshake(chain)
        if dropped is not None and tunnelled is False:
            return _tunnel_words(proxy, target, None, "", dropped)
        if dropped is not None and parts.scheme == "https":
            return _("the tunnel through the proxy {url} (from {source}) to {target} was closed before the TLS "
                     "handshake was done ({reason}): the proxy or the gateway behind it dropped it; check that "
                     "{source} names a proxy that accepts CONNECT and that [gateway] url ({gw}) names the gateway's "
                     "https port").format(url=proxy.url, source=proxy.setting(), target=target,
                                    reason=_os_reason(dropped), gw=gw.url)
    if any(isinstance(link, TimeoutError) or type(link).__name__ in ("ConnectTimeoutError", "ReadTimeoutError")
           for link in chain):
        return _("the gateway at {target} did not finish connecting ({steps}) within [gateway] "
                 "connect_timeout ({seconds:g} s){via}: check the network to it").format(
            target=target, steps=connection_steps(proxy.url is not None, parts.scheme == "https"),
            seconds=gw.connect_timeout, via=_via(proxy))
    if proxy.url is None:
        error = _innermost_os_error(chain)
        if isinstance(error, socket.gaierror):
            return _("the gateway's host {host} cannot be found ({reason}): check [gateway] url and this "
                     "machine's DNS{env}").format(host=host, reason=error.strerror or error, env=_no_proxy_note(proxy))
        if isinstance(error, ConnectionRefusedError):
            return _("the gateway at {target} refused the connection: check [gateway] url ({url}){env}").format(
                target=target, url=gw.url, env=_no_proxy_note(proxy))
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3's reason, args holding exceptions, explicit causes)."""
    seen: set[int] = set()
    order: list[BaseException] = []
    todo = [exc]
    while todo:
        link = todo.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        order.append(link)
        reason = getattr(link, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(arg for arg in link.args if isinstance(arg, BaseException))
        if link.__cause__ is not None:
            todo.append(link.__cause__)
    return order


def hop(exc: BaseException, gw: GatewayConfig, proxy: Proxy) -> str:
    """Which hop refused a call that certainly did not leave, as ``Sale.trouble`` keeps it (``vocabulary``'s
    "KIND setting"), for the cashier's words; "" when it is the network or the gateway itself (the link)."""
    if proxy.problem:
        return path_trouble(PROXY_DOWN, proxy.setting())
    chain = _chain(exc)
    status = None
    for link in chain:
        if isinstance(link, ProxyFailure):
            if link.stage == "connect":
                return path_trouble(PROXY_DOWN, proxy.setting())
            status = link.status
            break
        tunnel = re.match(r"Tunnel connection failed: (\d{3})", str(link))
        if tunnel and proxy.url is not None:
            status = int(tunnel.group(1))
            break
    else:
        for link in chain:
            if isinstance(link, ssl.SSLCertVerificationError) or type(link).__name__ == "CertificateError":
                mismatch = getattr(link, "verify_code", None) in (_HOST_MISMATCH, _IP_MISMATCH) or \
                    type(link).__name__ == "CertificateError"
                return path_trouble(TLS_REFUSED, "[gateway] url" if mismatch else "[gateway] ca_bundle")
            if isinstance(link, ssl.SSLError) and (link.reason or "").upper() in (*_OLD_TLS, "WRONG_VERSION_NUMBER"):
                return path_trouble(TLS_REFUSED, "[gateway] url")   # too old a TLS, or no TLS at all there
        if proxy.url is None:
            return ""
        if _before_proxy(chain):
            return path_trouble(PROXY_DOWN, proxy.setting())
        if _no_http_answer(chain) is None and (_dropped_in_handshake(chain) is None
                                               or urlsplit(gw.url).scheme != "https"):
            return ""
    if status in (401, 407):
        return path_trouble(PROXY_LOGIN, "[gateway] proxy_credentials" if proxy.source == "config"
                            else proxy.setting())
    if status is not None and status >= 500:
        return path_trouble(BEYOND_PROXY, "[gateway] url")
    return path_trouble(PROXY_REFUSED, proxy.setting())


_OLD_TLS = ("UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW",
            "TLSV1_ALERT_INSUFFICIENT_SECURITY")


def _no_http_answer(chain: list[BaseException]) -> BaseException | None:
    """http.client's complaint about the CONNECT's answer (not HTTP, no status line, too long), if any."""
    return next((link for link in chain if isinstance(link, http.client.HTTPException)), None)


def _dropped_in_handshake(chain: list[BaseException]) -> BaseException | None:
    """The peer hung up during the TLS handshake (EOF, reset, broken pipe)."""
    return next((link for link in chain if isinstance(link, (ssl.SSLEOFError, ssl.SSLZeroReturnError,
                                                              ConnectionResetError, BrokenPipeError))), None)


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return _("the connection ended in the handshake")
    return getattr(exc, "strerror", None) or type(exc).__name__


def unusable_words(proxy: Proxy) -> str:
    """An environment proxy that cannot be used (``Proxy.problem``), naming the variable."""
    return _("the proxy {url} from {source} cannot be used: {problem}. Set {source} to http://host:port of the "
             "store's proxy, or set [gateway] proxy (\"direct\" to ignore it)").format(
        url=proxy.url, source=proxy.setting(), problem=proxy.problem)


def _before_proxy(chain: list[BaseException]) -> bool:
    """urllib3 says "Unable to connect to proxy" (ProxyError) for a proxy never reached."""
    return any(type(link).__name__ == "ProxyError" for link in chain)


def _innermost_os_error(chain: list[BaseException]) -> BaseException:
    plain = [link for link in chain if isinstance(link, OSError) and type(link).__module__ in ("builtins", "socket")]
    return plain[-1] if plain else chain[-1]


def connection_steps(proxied: bool, tls: bool) -> str:
    """The steps of opening a connection to the gateway, in words: one whole phrase per way, so a translator
    sees each list entire (its separators included), never English pieces glued into it."""
    if proxied and tls:
        return _("TCP, the proxy's tunnel, TLS")
    if proxied:
        return _("TCP, the proxy's tunnel")
    if tls:
        return _("TCP, TLS")
    return _("TCP")


def _via(proxy: Proxy) -> str:
    return _(" (through the proxy {url})").format(url=proxy.url) if proxy.url else ""


def _no_proxy_note(proxy: Proxy) -> str:
    if proxy.source == "no-proxy":
        return _("; NO_PROXY sends it direct, not through the proxy")
    if proxy.source == "none":
        return _("; if this network allows the way out only through a proxy, set [gateway] proxy")
    return ""


def _proxy_unreachable(proxy: Proxy, exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        reason = _("it refused the connection")
    elif isinstance(exc, (TimeoutError, socket.timeout)):
        reason = _("it did not answer in time")
    elif isinstance(exc, socket.gaierror):
        reason = _("its host cannot be found ({reason})").format(reason=exc.strerror or exc)
    else:
        reason = str(exc) or type(exc).__name__
    return _("cannot reach the proxy {url}: {reason}. Check {setting}, or that the proxy is running").format(
        url=proxy.url, reason=reason, setting=proxy.setting())


def _tunnel_words(proxy: Proxy, target: str, status: int | None, phrase: str,
                  exc: BaseException | None = None) -> str:
    if status in (401, 407):  # tinyproxy answers a wrong login 401
        if proxy.auth is None:
            fix = _("name a file holding user:password in [gateway] proxy_credentials")
        elif proxy.source == "config":
            fix = _("check the user:password in [gateway] proxy_credentials")
        else:
            fix = _("check the login in {variable}").format(variable=proxy.source)
        said = _("it did not get one") if proxy.auth is None else _("it refused the one given")
        return _("the proxy {url} wants a login: {said} ({status} {phrase}); {fix}").format(
            url=proxy.url, said=said, status=status, phrase=phrase.strip(), fix=fix)
    if status is not None and status >= 500:  # tinyproxy: 500 Unable to connect; squid: 503; others 502, 504
        return _("the proxy {url} (from {source}) is up but could not reach the gateway at {target} (it answered "
                 "{status} {phrase}): the gateway, or the way to it beyond the proxy, is down; check that [gateway] "
                 "url names the gateway's host and port, else it goes on once the gateway is back").format(
            url=proxy.url, source=proxy.setting(), target=target, status=status, phrase=phrase.strip())
    if status is not None:
        return _("the proxy {url} (from {source}) refused to open a tunnel to {target} (it answered {status} "
                 "{phrase}): ask the network's administrator to allow CONNECT to {target}").format(
            url=proxy.url, source=proxy.setting(), target=target, status=status, phrase=phrase.strip())
    if isinstance(exc, http.client.HTTPException) and not isinstance(exc, ConnectionError):
        return _("the proxy {url} (from {source}) did not answer the CONNECT to {target} as an HTTP proxy does: check "
                 "that {source} names a proxy that accepts CONNECT").format(url=proxy.url, source=proxy.setting(),
                                                                          target=target)
    reason = f" ({exc})" if exc is not None and str(exc) and not isinstance(exc, http.client.HTTPException) else ""
    return _("the proxy {url} (from {source}) dropped the connection before opening a tunnel to {target}{reason}: "
             "check {source} names a proxy that accepts CONNECT").format(
        url=proxy.url, source=proxy.setting(), target=target, reason=reason)


# OpenSSL's X509_V_ERR_* codes that say which setting fixes the refusal
_UNTRUSTED = {2, 18, 19, 20, 21}
_EXPIRED, _NOT_YET_VALID, _HOST_MISMATCH, _IP_MISMATCH = 10, 9, 62, 64


def _certificate_words(error: ssl.SSLCertVerificationError, gw: GatewayConfig, proxy: Proxy, target: str) -> str:
    code, message = error.verify_code, error.verify_message or error.reason or str(error)
    shown = _("the certificate the gateway at {target} showed").format(target=target)
    if code in (_HOST_MISMATCH, _IP_MISMATCH):
        return _("{shown} is not for {host} ({message}): check the host in [gateway] url ({url})").format(
            shown=shown, host=urlsplit(gw.url).hostname, message=message, url=gw.url)
    if code == _EXPIRED:
        return _("{shown} has expired ({message}): check this machine's clock, else the gateway must renew it"
                 ).format(shown=shown, message=message)
    if code == _NOT_YET_VALID:
        return _("{shown} is not valid yet ({message}): check this machine's clock").format(shown=shown,
                                                                                          message=message)
    trusted = _("the CAs in [gateway] ca_bundle ({path})").format(path=gw.ca_bundle) if gw.ca_bundle \
        else _("the public CAs (certifi); no [gateway] ca_bundle is set")
    inspecting = _(" or the TLS-inspecting proxy's") if proxy.url else ""
    return _("{shown} is not signed by a CA the terminal trusts ({message}); trusted: {trusted}. Set [gateway] "
             "ca_bundle to the PEM file of the CA that signs the gateway's{inspecting} certificate").format(
        shown=shown, message=message, trusted=trusted, inspecting=inspecting)
