"""Men in the middle between a terminal and the simulator, on loopback: each call reaches the real
simulator (so the gateway really acts), and the man in the middle decides what becomes of it."""

from __future__ import annotations

import json
import queue
import re
import socket
import threading


def read_message(stream) -> bytes | None:
    """One HTTP/1.1 message (head and Content-Length body: all the terminal and the simulator send) from a
    buffered socket file; None at EOF."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        if not line:
            return None
        head += line
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return head + (stream.read(int(length.group(1))) if length else b"")


def api_of(request: bytes) -> str:
    """The API a request calls: the last part of its path (pay, inquiryPayment, cancel, refund)."""
    return request.split(b" ", 2)[1].rsplit(b"/", 1)[-1].decode()


def post_raw(port: int, raw: bytes) -> dict:
    """Send bytes captured on the wire, unchanged, to the simulator; its JSON answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        answer = read_message(s.makefile("rb"))
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


class MiddleMan:
    """Listens on a port of its own (``url``) and serves each connection from the terminal on a thread of
    its own with :meth:`serve`, toward the simulator on ``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.server.close()
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass


class Proxy(MiddleMan):
    """Forwards terminal → simulator, except where ``rule(api, n)`` (n: how many calls of that api it has
    seen) says "hold" (the request never reaches the gateway) or "swallow" (the gateway gets it and acts,
    the answer never comes back). Either way ``hit`` is set and the connection is left hanging."""

    def __init__(self, upstream_port: int, rule) -> None:
        self.rule = rule
        self.hit = threading.Event()
        self.captured: list[tuple[str, str, bytes]] = []   # (action, api, raw request)
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        super().__init__(upstream_port)

    def serve(self, conn: socket.socket) -> None:
        upstream = None
        try:
            down = conn.makefile("rb")
            while True:
                raw = read_message(down)
                if raw is None:
                    return
                api = api_of(raw)
                with self.lock:
                    n = self.counts[api] = self.counts.get(api, 0) + 1
                action = self.rule(api, n)
                if action != "hold":
                    if upstream is None:
                        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                        up = upstream.makefile("rb")
                    upstream.sendall(raw)
                    answer = read_message(up)
                if action in ("hold", "swallow"):
                    self.captured.append((action, api, raw))
                    self.hit.set()
                    while conn.recv(4096):  # hang until the terminal dies
                        pass
                    return
                if answer is None:
                    return
                conn.sendall(answer)
        except OSError:
            pass
        finally:
            conn.close()
            if upstream is not None:
                upstream.close()


class Gate(MiddleMan):
    """Terminal → simulator, passing every call through except the pay's answer: the gateway gets the pay and
    acts, and its answer is held until the test says :meth:`deliver` or :meth:`drop` (the connection closes
    unanswered: to the terminal the outcome is unknown). ``held`` is set once an answer is held."""

    def __init__(self, upstream_port: int) -> None:
        self.held = threading.Event()
        self._verdict: queue.Queue[str] = queue.Queue()
        super().__init__(upstream_port)

    def deliver(self) -> None:
        self._verdict.put("deliver")

    def drop(self) -> None:
        self._verdict.put("drop")

    def serve(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            down, up = conn.makefile("rb"), upstream.makefile("rb")
            try:
                while (request := read_message(down)) is not None:
                    upstream.sendall(request)
                    answer = read_message(up)
                    if answer is None:
                        return
                    if api_of(request) == "pay":
                        self.held.set()
                        if self._verdict.get(timeout=60) == "drop":
                            return
                    conn.sendall(answer)
            except OSError:
                return
