"""The notification receiver: an HTTP endpoint the gateway posts notifyPayment / notifyRefund to.

It believes nothing it cannot verify (spec §7): the body is bounded, the signature is checked with the
gateway's public key over the path it was posted to, and only then is the notification handed to the
terminal. The exact ack is sent only once the terminal has journaled it, so a crash in between makes
the gateway resend rather than lose it. Anything unverifiable gets a U result and is never applied.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from . import signing

log = logging.getLogger(__name__)

ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
MAX_BODY = 64 * 1024


def _refusal(message: str) -> bytes:
    return json.dumps({"result": {"resultCode": "UNKNOWN_EXCEPTION", "resultStatus": "U",
                                  "resultMessage": message}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class NotificationReceiver:
    """``apply(body)`` journals a verified notification; it returns normally once it is durable."""

    def __init__(self, host: str, port: int, client_id: str, gateway_key: rsa.RSAPublicKey,
                 apply: Callable[[dict], None], *, max_body: int = MAX_BODY, timeout: float = 5.0) -> None:
        self.client_id = client_id
        self.gateway_key = gateway_key
        self.apply = apply
        self.max_body = max_body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.settimeout(timeout)  # a peer that stalls cannot hold a thread forever

            def log_message(self, fmt: str, *args) -> None:
                log.debug("notification %s: " + fmt, self.address_string(), *args)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                if status != 200:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                status, body = receiver.handle(self.path, self.headers, self.rfile)
                self._answer(status, body)

            def do_GET(self) -> None:
                self._answer(405, _refusal("notifications are POSTed"))

        self.server = _Server((host, port), Handler)
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> "NotificationReceiver":
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="notification-receiver",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, target: str, headers, rfile) -> tuple[int, bytes]:
        """Verify and apply one notification; the HTTP status and body to answer."""
        length = headers.get("Content-Length")
        if length is None or not length.isascii() or not length.isdigit():
            return 411, _refusal("a Content-Length is required")
        if int(length) > self.max_body:
            log.warning("refused a %s-byte notification (limit %d)", length, self.max_body)
            return 413, _refusal(f"the body is larger than {self.max_body} bytes")
        try:
            raw = rfile.read(int(length))
        except OSError:
            return 400, _refusal("the body did not arrive")
        if len(raw) != int(length):
            return 400, _refusal("the body is shorter than its Content-Length")
        path = urlsplit(target).path or "/"
        client_id = headers.get("client-id", "")
        request_time = headers.get("request-time", "")
        if client_id != self.client_id or not request_time or not signing.verify(
                self.gateway_key, path, client_id, request_time, raw, headers.get("signature")):
            log.warning("refused a notification that does not verify (client-id %r, path %s)", client_id, path)
            return 200, _refusal("the signature does not verify")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return 200, _refusal("the body is not JSON a notification can hold")
        if not isinstance(body, dict):
            return 200, _refusal("the body is not a JSON object")
        try:
            self.apply(body)
        except Exception:  # not journaled: let the gateway resend it
            log.exception("could not apply a notification")
            return 200, _refusal("not recorded yet: send it again")
        return 200, ACK
