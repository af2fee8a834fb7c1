"""The simulator's HTTP face: paths, limits, signatures, fault injection, then the engine.

HTTP/1.1 with keep-alive, absolute-form request targets (the Python SDK sends ``POST https://host/...``),
and case-insensitive header names. Every API answer is signed with lower-case ``signature``,
``client-id`` and ``response-time`` headers, as the SDKs expect. Bad input of any kind gets a clear JSON
result; a handler error becomes a 500 with a result, never a dead connection or a hung client.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import rsa

from .. import signing
from .engine import Engine, Reply, result

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
API_PATH = re.compile(r"/ams(?:/sandbox)?/api/v1/payments/(pay|inquiryPayment|cancel|refund|inquiryRefund)")


@dataclass
class Faults:
    """Rates from 0 to 1 for resilience tests, set with POST /sim/faults."""

    drop_before: float = 0.0   # close the connection before processing
    drop_after: float = 0.0    # process, then close without answering
    http_503: float = 0.0      # answer 503 without processing
    delay_ms: int = 0          # wait before answering

    @classmethod
    def parse(cls, data: object) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object such as {\"drop_after\": 0.1}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault {sorted(unknown)[0]!r}; known: {', '.join(cls.__dataclass_fields__)}")
        faults = cls()
        for name in ("drop_before", "drop_after", "http_503"):
            value = data.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a rate from 0 to 1")
            setattr(faults, name, float(value))
        delay = data.get("delay_ms", 0)
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 60000:
            raise ValueError("delay_ms must be a whole number of milliseconds from 0 to 60000")
        faults.delay_ms = delay
        return faults


MAX_DEPTH = 32


def parse_json(data: bytes) -> tuple[object, str | None]:
    """Parse a body, refusing what no gateway message holds: nesting deeper than 32 levels and
    strings that are not Unicode (lone surrogates, which JSON escapes can spell)."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None, "the body is not JSON"
    if data.count(b"{") + data.count(b"[") <= MAX_DEPTH and b"\\ud" not in data.lower():
        return body, None  # too few brackets to nest that deep, and no escaped surrogate: nothing to walk
    stack = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None, f"the body nests deeper than {MAX_DEPTH} levels"
        if isinstance(node, dict):
            stack.extend((k, depth) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return None, "the body holds a string that is not valid Unicode"
    return body, None


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address) -> None:
        super().__init__(address, Handler)
        self.faults = Faults()
        self.random = random.Random()
        self.fault_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.tls: ssl.SSLContext | None = None   # set by use_tls: accepted sockets are then wrapped
        self.handshakes = 0                      # TLS handshakes completed: one per connection, not per call

    def use_tls(self, cert, key) -> None:
        """Serve HTTPS with this certificate and key: TLS 1.2 at the least."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        self.tls = context

    def finish_request(self, request, client_address) -> None:
        """In the connection's own thread (ThreadingMixIn), never in the accept loop: the TLS handshake, with
        the handler's timeout, so a client that connects and says nothing (or garbage) holds only its thread."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(Handler.timeout)
        try:
            conn = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            log.debug("client %s went away before TLS: %s", client_address, exc)
            return
        with self.fault_lock:   # the raw socket's descriptor now belongs to the TLS one
            self.connections.discard(request)
            self.connections.add(conn)
        try:
            conn.do_handshake()
            with self.fault_lock:
                self.handshakes += 1
            super().finish_request(conn, client_address)
        except (OSError, ssl.SSLError) as exc:   # a failed handshake, a timeout, a client gone
            log.debug("TLS with %s: %s", client_address, exc)
        finally:
            with self.fault_lock:
                self.connections.discard(conn)
            try:
                socket.socket.shutdown(conn, socket.SHUT_WR)
            except OSError:
                pass
            conn.close()

    def process_request(self, request, client_address) -> None:
        with self.fault_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.fault_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """A stopped gateway keeps no kept-alive connection half-serving."""
        with self.fault_lock:
            open_now, self.connections = list(self.connections), set()
        for sock in open_now:
            try:   # the plain socket's shutdown, also for a TLS one: its handler thread is left to see the end
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def setup(self, engine: Engine, client_id: str, gateway_key: rsa.RSAPrivateKey,
              merchant_public_key: rsa.RSAPublicKey) -> None:
        """Bound first (so port 0 gets its number), wired second."""
        self.engine = engine
        self.client_id = client_id
        self.gateway_key = gateway_key
        self.merchant_public_key = merchant_public_key

    def handle_error(self, request, client_address) -> None:
        """A client hanging up is routine; anything else is logged once, not dumped on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, exc)
        else:
            log.error("error serving %s", client_address, exc_info=exc)

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.fault_lock:
            return self.random.random() < rate


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pos-terminal-sim"
    sys_version = ""
    timeout = 30  # an idle or stalled client never holds a thread for ever
    disable_nagle_algorithm = True  # a small answer goes out at once, never held for a delayed ACK
    server: SimServer

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)

    # -- plumbing -------------------------------------------------------------------------------------
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, oversized headers) as JSON results too."""
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # answer garbage with a real status line, not HTTP/0.9 silence
        self._send_json(code, {"result": result("PARAM_ILLEGAL", "F", message or explain or "bad request")})

    def _send_json(self, status: int, body: dict | None, headers: dict | None = None, raw: bytes | None = None) -> None:
        """Status line, headers and body in one write: one segment, no Nagle/delayed-ACK stall."""
        data = raw if raw is not None else json.dumps(body, separators=(",", ":")).encode()
        phrase = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {phrase}", f"Server: {self.server_version}",
                 f"Date: {self.date_time_string()}", "Content-Type: application/json; charset=UTF-8",
                 f"Content-Length: {len(data)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if log.isEnabledFor(logging.DEBUG):
            self.log_request(status, len(data))
        try:
            self.wfile.write(head if self.command == "HEAD" else head + data)
        except OSError:
            self.close_connection = True

    def _path(self) -> str:
        target = self.path
        if "://" in target:  # absolute form: drop scheme and authority, whatever they hold
            rest = target.split("://", 1)[1]
            target = rest[rest.find("/"):] if "/" in rest else "/"
        return target.split("?", 1)[0].split("#", 1)[0]

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering why it cannot be read."""
        self.fields = {name.lower(): value for name, value in self.headers.items()}  # one pass, not one per get
        if "chunked" in self.fields.get("transfer-encoding", "").lower():
            self.close_connection = True
            self._send_json(411, {"result": result("PARAM_ILLEGAL", "F", "send a Content-Length, not chunks")})
            return None
        length = self.fields.get("content-length", "0").strip()
        if not (length.isascii() and length.isdigit() and len(length) <= 12):
            self.close_connection = True
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", "Content-Length is not a number")})
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is never read: the connection cannot be reused
            self._send_json(413, {"result": result("PARAM_ILLEGAL", "F", f"the body is over {MAX_BODY} bytes")})
            return None
        try:
            data = self.rfile.read(int(length))
        except OSError:
            self.close_connection = True
            return None
        if len(data) != int(length):
            self.close_connection = True
            return None
        return data

    def _json_body(self) -> object:
        data = self._read_body()
        if data is None:
            return None
        body, problem = parse_json(data)
        if problem:
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", problem)})
            return None
        return body

    # -- verbs ----------------------------------------------------------------------------------------
    def _dispatch(self, routes: dict) -> None:
        """Route by path; whatever goes wrong, the client gets an answer and the server lives on."""
        try:
            path = self._path()
            match = API_PATH.fullmatch(path) if self.command == "POST" else None
            if match:
                self._api(match.group(1), path)
            elif path in routes:
                routes[path]()
            elif self.command == "POST" and self._read_body() is None:
                return  # already answered (or the client went away)
            else:
                self._send_json(404, {"result": result("NOT_FOUND", "F", f"no API at {path[:200]}")})
        except Exception:  # a bug in the simulator must still answer, and must not kill the server
            log.exception("simulator error on %r", self.path[:200])
            self.close_connection = True
            self._send_json(500, {"result": result("UNKNOWN_EXCEPTION", "U", "simulator error; see its log")})

    def do_POST(self) -> None:
        self._dispatch({"/sim/wallet/pay-order": self._wallet_pay, "/sim/faults": self._set_faults,
                        "/sim/wallet/pay-entry-code": self._wallet_pay_entry_code,
                        "/sim/entry-codes": self._entry_codes})

    def do_GET(self) -> None:
        def health() -> None:
            answer: dict[str, object] = {"simulator": "pos-terminal", "clientId": self.server.client_id}
            if self.server.tls is not None:
                answer["tlsHandshakes"] = self.server.handshakes
            self._send_json(200, answer)

        self._dispatch({"/sim/ledger": lambda: self._send_json(200, self.server.engine.ledger()),
                        "/sim/faults": lambda: self._send_json(200, asdict(self.server.faults)),
                        "/": health, "/sim/health": health})

    def do_DELETE(self) -> None:
        self._dispatch({"/sim/faults": self._clear_faults})

    def _refuse(self) -> None:
        if self._read_body() is not None:
            self._send_json(405, {"result": result("PARAM_ILLEGAL", "F", f"{self.command} is not supported; use POST")})

    do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _refuse

    def _wallet_pay(self) -> None:
        body = self._json_body()
        if body is not None:
            code = body.get("codeValue") if isinstance(body, dict) else None
            status, answer = self.server.engine.wallet_pay_order(code)
            self._send_json(status, answer)

    def _wallet_pay_entry_code(self) -> None:
        body = self._json_body()
        if body is None:
            return
        if not isinstance(body, dict):
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", "expected {\"codeValue\", \"amount\"}")})
            return
        status, answer = self.server.engine.wallet_pay_entry_code(body.get("codeValue"), body.get("amount"))
        self._send_json(status, answer)

    def _entry_codes(self) -> None:
        """Issue a store's entry code ({"merchant": order.merchant, "notifyUrl"}) or point an issued one's
        notifications elsewhere ({"codeValue", "notifyUrl"}): the acquirer's registration, for tests."""
        body = self._json_body()
        if body is None:
            return
        engine = self.server.engine
        url = body.get("notifyUrl") if isinstance(body, dict) else None
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", "notifyUrl must be an http(s) URL")})
        elif isinstance(body, dict) and isinstance(body.get("codeValue"), str) and isinstance(url, str):
            if engine.set_entry_code_notify(body["codeValue"], url):
                self._send_json(200, {"codeValue": body["codeValue"], "notifyUrl": url})
            else:
                self._send_json(404, {"result": result("INVALID_CODE", "F", "no entry code has this value")})
        elif isinstance(body, dict) and isinstance(body.get("merchant"), dict):
            try:
                code = engine.issue_entry_code(body["merchant"], url)
            except ValueError as exc:
                self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", str(exc))})
            else:
                self._send_json(200, {"codeValue": code, "notifyUrl": url})
        else:
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", "expected {\"merchant\": {...}, "
                                                                         "\"notifyUrl\"} or {\"codeValue\", "
                                                                         "\"notifyUrl\"}")})

    def _set_faults(self) -> None:
        body = self._json_body()
        if body is None:
            return
        try:
            self.server.faults = Faults.parse(body)
        except ValueError as exc:
            self._send_json(400, {"result": result("PARAM_ILLEGAL", "F", str(exc))})
        else:
            self._send_json(200, asdict(self.server.faults))

    def _clear_faults(self) -> None:
        self.server.faults = Faults()
        self._send_json(200, asdict(self.server.faults))

    # -- the gateway APIs -----------------------------------------------------------------------------
    def _api(self, api: str, path: str) -> None:
        data = self._read_body()
        if data is None:
            return
        server, faults = self.server, self.server.faults
        if server.roll(faults.drop_before):
            self.close_connection = True
            return
        if server.roll(faults.http_503):
            self._send_json(503, {"result": result("SYSTEM_BUSY", "U", "injected fault: service unavailable")})
            return
        reply = self._gateway_reply(api, path, data)
        if server.roll(faults.drop_after) or reply.drop:
            self.close_connection = True
            return
        delay = reply.delay + faults.delay_ms / 1000
        if delay:
            time.sleep(delay)
        self._send_signed(path, reply)

    def _gateway_reply(self, api: str, path: str, data: bytes) -> Reply:
        headers = self.fields
        content_type = headers.get("content-type", "")
        if not content_type.lower().startswith("application/json"):
            return Reply({"result": result("PARAM_ILLEGAL", "F", "Content-Type must be application/json")})
        client_id, request_time = headers.get("client-id"), headers.get("request-time")
        if not client_id:
            return Reply({"result": result("PARAM_ILLEGAL", "F", "the client-id header is missing")})
        if client_id != self.server.client_id:
            return Reply({"result": result("INVALID_CLIENT", "F", f"unknown client-id {client_id[:64]!r}")})
        if not request_time:
            return Reply({"result": result("PARAM_ILLEGAL", "F", "the request-time header is missing")})
        if not signing.verify(self.server.merchant_public_key, path, client_id, request_time, data,
                              headers.get("signature")):
            return Reply({"result": result("INVALID_SIGNATURE", "F", "the request signature does not verify")})
        body, problem = parse_json(data)
        if problem:
            return Reply({"result": result("PARAM_ILLEGAL", "F", problem)})
        if not isinstance(body, dict):
            return Reply({"result": result("PARAM_ILLEGAL", "F", "the body must be a JSON object")})
        return self.server.engine.handle(api, body)

    def _send_signed(self, path: str, reply: Reply) -> None:
        server = self.server
        body = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
        now = str(int(time.time() * 1000))
        # Scenario 9908: a well-formed signature over other bytes, as a tampered answer would carry.
        signed = body + b" " if reply.break_signature else body
        signature = signing.sign(server.gateway_key, path, server.client_id, now, signed)
        headers = {"signature": signature, "client-id": server.client_id, "response-time": now}
        self._send_json(reply.http_status, None, headers, raw=body)
