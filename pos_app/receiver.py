"""The notification receiver: an HTTP endpoint the gateway posts notifyPayment / notifyRefund to.

It believes nothing it cannot verify (spec §7): the body is bounded, the signature is checked with the
gateway's public key over the path it was posted to, and only then is the notification handed to the
terminal. The exact ack is sent only once the terminal has journaled it, so a crash in between makes
the gateway resend rather than lose it. Anything unverifiable gets a U result and is never applied.

Whatever a peer sends or does (junk, a reset, a notification while the terminal stops) ends in an answer
or a closed connection and one log line, never a traceback: the receiver faces the network.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from . import signing
from .messages import UNREADABLE_NOTIFICATION

log = logging.getLogger(__name__)

ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
MAX_BODY = 64 * 1024
STOP_WAIT = 30.0  # seconds stop() gives a notification being journaled to finish


def _refusal(message: str) -> bytes:
    return json.dumps({"result": {"resultCode": "UNKNOWN_EXCEPTION", "resultStatus": "U",
                                  "resultMessage": message}}).encode()


def _brief(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _storable(value):
    """``value`` with every string made encodable: a lone surrogate becomes its ``\\udxxx`` spelling."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _readable(body: dict) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address) -> None:
        """One line instead of socketserver's traceback on stderr (the handler catches what it can;
        this is for the rest)."""
        _bug(client_address[0], sys.exc_info()[1])


def _bug(peer: str, exc: BaseException | None) -> None:
    log.error("a notification from %s could not be handled (%s): it was not applied and the gateway resends "
              "it; run with --verbose for the details and report them", peer, _brief(exc or RuntimeError()))
    log.debug("details of the failed notification", exc_info=exc)


class NotificationReceiver:
    """``apply(body)`` journals a verified notification; it returns normally once it is durable."""

    def __init__(self, host: str, port: int, client_id: str, gateway_key: rsa.RSAPublicKey,
                 apply: Callable[[dict], None], *, max_body: int = MAX_BODY, timeout: float = 5.0) -> None:
        self.client_id = client_id
        self.gateway_key = gateway_key
        self.apply = apply
        self.max_body = max_body
        self._state = threading.Condition()
        self._stopping = False
        self._applying = 0  # notifications inside apply()
        self._serving = 0   # connections inside a handler
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.settimeout(timeout)  # a peer that stalls cannot hold a thread forever

            def handle(self) -> None:
                with receiver._state:
                    receiver._serving += 1
                try:
                    super().handle()
                except OSError as exc:  # reset or stalled in the request line or headers
                    log.warning("a notification connection from %s broke (%s): closed it; the gateway "
                                "resends anything not acknowledged", self.client_address[0], _brief(exc))
                except Exception as exc:  # noqa: BLE001 -- a bug: one line (the details at --verbose), no traceback
                    _bug(self.client_address[0], exc)
                finally:
                    with receiver._state:
                        receiver._serving -= 1
                        receiver._state.notify_all()

            def log_message(self, fmt: str, *args) -> None:
                log.debug("notification %s: " + fmt, self.address_string(), *args)

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(body)))
                    if status != 200:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(body)
                except OSError as exc:
                    self.close_connection = True
                    if body == ACK:  # a refusal has had its line already
                        log.warning("a notification was journaled but its acknowledgement was lost (%s): the "
                                    "gateway sends it again, and it is recognised", _brief(exc))

            def do_POST(self) -> None:
                answer = receiver.handle(self.path, self.headers, self.rfile)
                if answer is None:
                    self.close_connection = True
                else:
                    self._answer(*answer)

            def do_GET(self) -> None:
                self._answer(405, _refusal("notifications are POSTed"))

        self.server = _Server((host, port), Handler)
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> NotificationReceiver:
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="notification-receiver",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop listening. A notification being journaled finishes first (the journal closes next); any
        that comes on an open connection from now on is refused with U, so the gateway resends it."""
        with self._state:
            self._stopping = True
        self.server.shutdown()
        self.server.server_close()
        with self._state:
            if not self._state.wait_for(lambda: self._applying == 0, STOP_WAIT):
                log.warning("a notification was still being journaled after %g s as the terminal stopped: "
                            "if it was not recorded the gateway sends it again", STOP_WAIT)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no connection is being served, e.g. before reading what a finished exchange logged."""
        with self._state:
            return self._state.wait_for(lambda: self._serving == 0, timeout)

    def handle(self, target: str, headers, rfile) -> tuple[int, bytes] | None:
        """Verify and apply one notification; the HTTP status and body to answer, or None to close the
        connection unanswered (its peer is gone)."""
        length = headers.get("Content-Length")
        if length is None or not length.isascii() or not length.isdigit():
            log.warning("refused a notification without a valid Content-Length")
            return 411, _refusal("a Content-Length is required")
        digits = length.lstrip("0") or "0"
        if len(digits) > len(str(self.max_body)) or int(digits) > self.max_body:  # int() of 5000 digits fails
            log.warning("refused a notification whose Content-Length %s is over the limit of %d bytes",
                        digits if len(digits) <= 20 else f"({len(digits)} digits)", self.max_body)
            return 413, _refusal(f"the body is larger than {self.max_body} bytes")
        size = int(digits)
        try:
            raw = rfile.read(size)
        except OSError as exc:
            log.warning("a notification's body did not arrive (%s): closed the connection; the gateway "
                        "resends it", _brief(exc))
            return None
        if len(raw) != size:
            log.warning("a notification's body stopped after %d of %d bytes: refused; the gateway resends it",
                        len(raw), size)
            return 400, _refusal("the body is shorter than its Content-Length")
        try:
            path = urlsplit(target).path or "/"
        except ValueError:
            log.warning("refused a notification posted to an invalid path %r", target[:100])
            return 400, _refusal("the request path is not a URL path")
        client_id = headers.get("client-id", "")
        request_time = headers.get("request-time", "")
        if client_id != self.client_id or not request_time or not signing.verify(
                self.gateway_key, path, client_id, request_time, raw, headers.get("signature")):
            log.warning("refused a notification that does not verify (client-id %r, path %s)", client_id[:80],
                        path[:100])
            return 200, _refusal("the signature does not verify")
        # Signed by the gateway but not something the terminal can apply: journaled as unreadable for a
        # manager to see, then acknowledged, since every resend would carry the same bytes.
        try:
            body = json.loads(raw)
            why = None if isinstance(body, dict) else "the body is not a JSON object"
        except (ValueError, RecursionError):
            body, why = None, "the body is not JSON"
        if why is None and not _readable(body):
            why = "its text cannot be stored (a lone UTF-16 surrogate)"
        readable = why is None
        if not readable:
            original = body if isinstance(body, dict) else {}
            body = {"notifyType": UNREADABLE_NOTIFICATION, "why": why,
                    "excerpt": _storable(raw[:300].decode("utf-8", "backslashreplace")),
                    **{k: _storable(original[k])[:64] for k in ("paymentRequestId", "refundRequestId")
                       if isinstance(original.get(k), str)},
                    "originalType": _storable(original["notifyType"])[:64]
                    if isinstance(original.get("notifyType"), str) else None}
        with self._state:
            if self._stopping:
                log.warning("refused a notification that came as the terminal stopped: the gateway resends it")
                return 200, _refusal("the terminal is stopping: send it again")
            self._applying += 1
        try:
            self.apply(body)
        except Exception as exc:  # not journaled: let the gateway resend it
            log.warning("could not record a notification (%s): answered U, so the gateway sends it again",
                        _brief(exc))
            log.debug("details of the notification not recorded", exc_info=True)
            return 200, _refusal("not recorded yet: send it again")
        finally:
            with self._state:
                self._applying -= 1
                self._state.notify_all()
        if not readable:
            log.warning("a signed notification cannot be applied (%s): journaled as unreadable for a manager "
                        "to check (`pos-terminal review`) and acknowledged; its payment is settled by inquiry", why)
        return 200, ACK
