"""The HTTPS client for the payment gateway: sign, send once, verify, classify.

Each call ends in exactly one :class:`Outcome`: success, failure, or unknown. Unknown says whether the
request certainly never left (the connection was refused or never opened) or may have been delivered
(a timeout after sending, a non-200, a body that does not parse or does not verify). The client never
retries by itself: only the payment flows know when a retry is safe.

One deadline bounds each whole call, connect to last body byte: ``connect_timeout + read_timeout`` of
the config (the official SDK's 5 s + 5 s). A per-read socket timeout alone is restarted by every byte,
so a gateway dripping its status line or headers could hold a sale in SENDING for ever (issue 13).

A failure is classified by phase, not by exception type: until the call's connection has finished connecting
(TCP, a proxy's CONNECT tunnel and the TLS handshake all done; or a kept-alive one is reused) no byte of the
request can have left, so whatever went wrong (proxy down, tunnel refused, certificate refused) is certainly
not sent, said in :mod:`netpath`'s words; after that point it is maybe delivered (issue 19).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3.exceptions
from cryptography.hazmat.primitives.asymmetric import rsa

from . import messages, netpath, signing
from .config import Config, GatewayConfig
from .i18n import _
from .messages import Request
from .outcome import Delivery, Outcome, Status  # the answers' types, re-exported

MAX_RESPONSE_BYTES = 1024 * 1024


POOL_SIZE = 8  # kept-alive connections: the reconciler drains a backlog with a few calls in parallel


class _Deadline:
    """One call's overall deadline. Past it, the call's socket is shut down: that ends a read which a
    dripping gateway keeps alive byte by byte, whatever phase (TLS, status line, headers, body) it is in.

    It also keeps the call's phase: ``connected`` once its connection is ready to carry the request (new and
    fully connected, or kept alive and reused), and the TLS facts of a connection it made."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self.expired = False
        self.connected = False
        self.tunnelled = False    # the proxy answered the CONNECT with 2xx (what failed after is in the tunnel)
        self.tls: netpath.TlsInfo | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, sock: socket.socket) -> bool:
        """Watch the call's socket; False (and shut down) when the deadline has already passed."""
        with self._lock:
            if not self._done:
                self._sockets.append(sock)
                if self.expired:
                    _shut(sock)
            return not self.expired

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> bool:
        """Stop watching (the socket may go back to the pool now); True when the deadline passed first,
        so the socket is shut down and must never be reused."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            return self.expired


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even under TLS: SSLSocket.shutdown would drop its SSL state under a
    # read still running in the calling thread.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


_calls = threading.local()  # the _Deadline of the call this thread is making, for the connection to attach to


class _QuietWhenCut(logging.Filter):
    """urllib3 logs a traceback ("Failed to parse headers") for headers that the deadline cut short: the
    call's outcome already says what happened, so that record is dropped; any other is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        deadline = getattr(_calls, "deadline", None)
        return deadline is None or not deadline.expired


logging.getLogger("urllib3.connection").addFilter(_QuietWhenCut())


if TYPE_CHECKING:   # what the mixin is mixed into (see _with_deadline): its methods and sock are urllib3's
    from urllib3.connection import HTTPConnection as _Connection
else:
    _Connection = object


class _DeadlineConnection(_Connection):
    """Mixed into the pool's connection class: hands each socket a call uses to that call's deadline,
    a new one as soon as it is connected (before any tunnel or TLS handshake), a kept-alive one before reuse,
    and records when the call's connection is ready to carry the request (the phase the outcome depends on)."""

    def _new_conn(self):
        sock = super()._new_conn()
        deadline = getattr(_calls, "deadline", None)
        if deadline is not None and not deadline.attach(sock):
            sock.close()  # no byte of the request was written: certainly not sent
            raise urllib3.exceptions.ConnectTimeoutError(self, "the call's deadline passed while connecting")
        return sock

    def _tunnel(self):
        super()._tunnel()  # raises unless the proxy answered 2xx
        deadline = getattr(_calls, "deadline", None)
        if deadline is not None:
            deadline.tunnelled = True

    def connect(self):
        super().connect()  # TCP, then the proxy's CONNECT tunnel and the TLS handshake when there are
        deadline = getattr(_calls, "deadline", None)
        if deadline is not None:
            if not deadline.attach(self.sock):  # the TLS socket; past the deadline nothing may be written
                raise urllib3.exceptions.ConnectTimeoutError(self, "the call's deadline passed while connecting")
            deadline.tls = netpath.tls_info(self.sock)
            deadline.connected = True

    def request(self, *args, **kwargs):
        deadline = getattr(_calls, "deadline", None)
        if deadline is not None and self.sock is not None:  # connected by this call, or kept alive: reused
            deadline.attach(self.sock)
            deadline.connected = True
        # headers and body leave in one segment: written apart, a proxy relaying them with Nagle on waits for the
        # gateway's delayed ACK of the first (~40 ms a call through tinyproxy, bench_gateway.py)
        cork = getattr(socket, "TCP_CORK", None) if self.sock is not None else None
        with contextlib.suppress(OSError):
            if cork is not None:
                self.sock.setsockopt(socket.IPPROTO_TCP, cork, 1)
        try:
            return super().request(*args, **kwargs)
        finally:
            with contextlib.suppress(OSError, AttributeError):   # the deadline may have closed the socket
                if cork is not None:
                    self.sock.setsockopt(socket.IPPROTO_TCP, cork, 0)


_DEADLINE_CLASSES: dict[type, type] = {}


def _with_deadline(cls: type) -> type:
    if not issubclass(cls, _DeadlineConnection):
        if cls not in _DEADLINE_CLASSES:
            _DEADLINE_CLASSES[cls] = type(cls.__name__, (_DeadlineConnection, cls), {})
        cls = _DEADLINE_CLASSES[cls]
    return cls


def _unknown(delivery: Delivery, message: str, http_status: int | None = None, code: str = "") -> Outcome:
    return Outcome(Status.UNKNOWN, code, message, delivery=delivery, http_status=http_status)


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter, whose proxy login comes from the Proxy (a file, never the URL)."""

    def __init__(self, proxy: netpath.Proxy) -> None:
        super().__init__()
        self._proxy = proxy

    def proxy_headers(self, proxy):
        value = self._proxy.proxy_authorization()
        return {"Proxy-Authorization": value} if value else {}


class GatewayClient:
    """Signed calls to one gateway, over one keep-alive session, with keys loaded once."""

    def __init__(self, url: str, client_id: str, merchant_key: rsa.RSAPrivateKey,
                 gateway_key: rsa.RSAPublicKey, *, connect_timeout: float = 5.0, read_timeout: float = 5.0,
                 sandbox: bool | None = None, on_verified: Callable[[Mapping], None] | None = None,
                 ca_bundle: Path | None = None, proxy: netpath.Proxy | None = None) -> None:
        self.url = url.rstrip("/")
        self.on_verified = on_verified  # gets each verified answer's headers (the self-test's signed clock)
        self.client_id = client_id
        self.sandbox = client_id.startswith("SANDBOX_") if sandbox is None else sandbox
        self._prefix = urlsplit(self.url).path.rstrip("/")
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.deadline = connect_timeout + read_timeout  # the whole call, see the module docstring
        self._key = merchant_key
        self._gateway_key = gateway_key
        # What explain() needs to name the settings: the URL and the CAs trusted.
        self._gw = GatewayConfig(self.url, client_id, Path(), Path(), connect_timeout, read_timeout,
                                 ca_bundle=ca_bundle)
        self.proxy: netpath.Proxy = proxy if proxy is not None else netpath.resolve_proxy(self._gw)
        self.last_tls: netpath.TlsInfo | None = None  # the last handshake's facts (the self-test shows them)
        self._tls = netpath.tls_context(ca_bundle) if urlsplit(self.url).scheme == "https" else None
        # requests' adapter owns the keep-alive pool (through the proxy's when there is one); calls go to it
        # directly (see send), with retries=False: a resend is the payment flow's decision, never the transport's.
        self._adapter = _Adapter(self.proxy)
        self._connections: urllib3.HTTPConnectionPool | None = None
        # A plain http:// gateway behind a proxy is asked in absolute form, the login in the request's headers.
        self._forward = self.proxy.url is not None and self._tls is None

    @classmethod
    def from_config(cls, config: GatewayConfig | Config, **options) -> GatewayClient:
        gw = config.gateway if isinstance(config, Config) else config
        return cls(gw.url, gw.client_id,
                   signing.load_private_key(gw.merchant_private_key, "[gateway] merchant_private_key"),
                   signing.load_public_key(gw.gateway_public_key, "[gateway] gateway_public_key"),
                   connect_timeout=gw.connect_timeout, read_timeout=gw.read_timeout, sandbox=gw.sandbox,
                   ca_bundle=gw.ca_bundle, **{"proxy": netpath.resolve_proxy(gw), **options})

    def close(self) -> None:
        self._adapter.close()
        self._connections = None

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _pool(self) -> urllib3.HTTPConnectionPool:
        """The adapter's pooled keep-alive connections to the gateway (through the proxy's CONNECT tunnels when
        there is one), verifying TLS with netpath's context."""
        if self._connections is None:
            manager = self._adapter.proxy_manager_for(self.proxy.url) if self.proxy.url else self._adapter.poolmanager
            options: dict = {"maxsize": POOL_SIZE}
            if self._tls is not None:
                options["ssl_context"] = self._tls
            pool = manager.connection_from_url(self.url, pool_kwargs=options)
            pool.ConnectionCls = _with_deadline(pool.ConnectionCls)
            self._connections = pool
        return self._connections

    def send(self, request: Request) -> Outcome:
        """Send one request once and classify what came back."""
        path = self._prefix + request.api.path(self.sandbox)
        request_time = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "client-id": self.client_id,
            "request-time": request_time,
            "signature": signing.sign(self._key, path, self.client_id, request_time, request.body),
        }
        if self.proxy.problem:  # an environment proxy that cannot be used: nothing connects to a guess
            return self._refused_here(netpath.unusable_words(self.proxy), netpath.hop(OSError(), self._gw, self.proxy))
        deadline = _Deadline(self.deadline)
        try:
            return self._exchange(request, path, headers, deadline)
        finally:
            deadline.finish()

    def _exchange(self, request: Request, path: str, headers: dict, deadline: _Deadline) -> Outcome:
        # urlopen on the adapter's own pool: the Session-level merging of cookies, auth, proxies and hooks
        # that a payment call never uses costs more than the RSA signature, so it is skipped.
        _calls.deadline = deadline
        target = path
        if self._forward:
            target = self.url[:len(self.url) - len(self._prefix)] + path
            if self.proxy.auth is not None:
                headers = {**headers, "Proxy-Authorization": self.proxy.proxy_authorization()}
        try:  # the pool too: opening it parses the URL
            response = self._pool().urlopen("POST", target, body=request.body, headers=headers, retries=False,
                                            redirect=False, timeout=self.timeout, preload_content=False,
                                            assert_same_host=False)
        except (urllib3.exceptions.HTTPError, OSError, ValueError, requests.exceptions.RequestException) as exc:
            if not deadline.connected:  # no byte of the request can have left
                return self._not_sent(exc, deadline)
            if deadline.finish():
                return self._too_slow()
            return _unknown(Delivery.MAYBE_DELIVERED, f"the connection failed after sending: {_short(exc)}")
        finally:
            _calls.deadline = None
            if deadline.tls is not None:
                self.last_tls = deadline.tls
        try:
            raw = self._read_answer(response)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            if deadline.finish():
                return self._too_slow(response.status)
            return _unknown(Delivery.MAYBE_DELIVERED, f"the answer was cut off: {_short(exc)}", response.status)
        if deadline.finish():  # the shutdown may have cut what arrived short: it is no answer
            response.close()
            return self._too_slow(response.status)
        if raw is None:
            response.close()
        else:
            response.release_conn()
        return self._classify(request, path, response, raw)

    def _not_sent(self, exc: BaseException, deadline: _Deadline) -> Outcome:
        if deadline.finish():
            words = _("the gateway's connection ({steps}) did not finish within {seconds:g} s "
                      "(connect_timeout + read_timeout){via}").format(
                steps=netpath.connection_steps(self.proxy.url is not None, self._tls is not None),
                seconds=self.deadline, via=_(" through the proxy {url}").format(url=self.proxy.url)
                if self.proxy.url else "")
        else:
            words = netpath.explain(exc, self._gw, self.proxy, tunnelled=deadline.tunnelled) or _short(exc)
        return self._refused_here(words, netpath.hop(exc, self._gw, self.proxy))

    @staticmethod
    def _refused_here(words: str, hop: str) -> Outcome:
        """Certainly not sent; ``hop`` (the body's "trouble", read by answers.trouble_of) says which hop refused it
        when it is the proxy or TLS, so the cashier is told to call the technician rather than to wait."""
        return Outcome(Status.UNKNOWN, "", f"could not connect to the gateway: {words}",
                       {"trouble": hop} if hop else {}, Delivery.NOT_SENT)

    def _too_slow(self, http_status: int | None = None) -> Outcome:
        return _unknown(Delivery.MAYBE_DELIVERED,
                        f"the gateway did not finish answering within {self.deadline:g} s (connect_timeout + "
                        "read_timeout): the request went out, so an inquiry must settle it", http_status)

    @staticmethod
    def _read_answer(response) -> bytes | None:
        """The body, or None when it is larger than any real answer. The call's deadline bounds it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read1(64 * 1024)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                return None
            chunks.append(chunk)

    def _classify(self, request: Request, path: str, response, raw: bytes | None) -> Outcome:
        status = response.status
        if status != 200:
            return _unknown(Delivery.MAYBE_DELIVERED, f"the gateway answered HTTP {status}", status)
        if raw is None:
            return _unknown(Delivery.MAYBE_DELIVERED, "the answer is larger than any real answer", status)
        headers = response.headers  # case-insensitive
        if headers.get("client-id") != self.client_id:
            return _unknown(Delivery.MAYBE_DELIVERED, "the answer is signed for another client id: it is not "
                            "trusted", status, "UNVERIFIED")
        if not signing.verify(self._gateway_key, path, headers.get("client-id"), headers.get("response-time"),
                              raw, headers.get("signature")):
            return _unknown(Delivery.MAYBE_DELIVERED,
                            "the answer's signature does not verify: it is not trusted", status, "UNVERIFIED")
        if self.on_verified is not None:
            self.on_verified(headers)
        try:
            body = json.loads(raw)
            result = body["result"]
            result_status = result["resultStatus"]
            code = str(result.get("resultCode", ""))
            message = str(result.get("resultMessage", ""))
        except (ValueError, TypeError, KeyError, RecursionError):
            return _unknown(Delivery.MAYBE_DELIVERED, "the answer is not a gateway result", status)
        mismatch = _mismatched_id(request, body, result_status == "S")
        if mismatch:
            return _unknown(Delivery.MAYBE_DELIVERED, f"the answer is for another request ({mismatch})",
                            status, "MISMATCHED")
        if result_status == "S":
            return Outcome(Status.SUCCESS, code, message, body, http_status=status)
        if result_status == "F":
            return Outcome(Status.FAILURE, code, message, body, http_status=status)
        return Outcome(Status.UNKNOWN, code, message, body,
                       Delivery.DELIVERED if result_status == "U" else Delivery.MAYBE_DELIVERED, status)

    # Typed calls: build the exact body, then send it.
    def pay_payment_code(self, merchant, request_id, amount, payment_code, **kw) -> Outcome:
        return self.send(messages.pay_payment_code(merchant, request_id, amount, payment_code, **kw))

    def pay_order_code(self, merchant, request_id, amount, **kw) -> Outcome:
        return self.send(messages.pay_order_code(merchant, request_id, amount, **kw))

    def inquiry_payment(self, payment_request_id=None, payment_id=None) -> Outcome:
        return self.send(messages.inquiry_payment(payment_request_id, payment_id))

    def cancel(self, payment_request_id=None, payment_id=None) -> Outcome:
        return self.send(messages.cancel(payment_request_id, payment_id))

    def refund(self, refund_request_id, payment_id, amount, **kw) -> Outcome:
        return self.send(messages.refund(refund_request_id, payment_id, amount, **kw))

    def inquiry_refund(self, refund_request_id=None, refund_id=None) -> Outcome:
        return self.send(messages.inquiry_refund(refund_request_id, refund_id))


_ECHOED = (("paymentRequestId", "payment_request_id"), ("paymentId", "payment_id"),
           ("refundRequestId", "refund_request_id"), ("refundId", "refund_id"))


def _mismatched_id(request: Request, body: Mapping, success: bool) -> str | None:
    """A validly signed answer for another request (a replay) must not settle this one: every id it
    echoes must be ours, and a success must echo at least one (every documented S answer does)."""
    if not isinstance(body, dict):
        return "not an object"
    echoed = False
    for wire, attr in _ECHOED:
        sent, got = getattr(request, attr), body.get(wire)
        if sent and got is not None:
            if got != sent:
                return f"{wire} {got!r} instead of {sent!r}"
            echoed = True
    if success and not echoed:
        return "a success that names no request id"
    return None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."
