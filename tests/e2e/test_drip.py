"""A gateway that drips its answer (issue 13): the real terminal, as a subprocess, must end a sale and a
reconcile anyway, call the outcome unknown, never paid, and a later reconcile must settle it exactly once."""

from __future__ import annotations

import http.client
import socket
import threading
from pathlib import Path

import pytest
from flowkit import check_invariant, cli_json, codes_charged_twice, journal_sales, ledger, write_config
from kit import payment_code, reserve_port

from pos_app.sim import scenarios as sc

DRIP = 0.5  # seconds between two bytes: far below the read timeout, so no single read ever times out
READ_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
# A long inquiry schedule: the sale process exits (--timeout) before its first inquiry, and nothing it
# does can reach a cancel; the reconcile afterwards inquires at once (a restart makes every open sale due).
PAYMENTS = {"inquiry_intervals": [60] * 5}


class DripServer:
    """A gateway front on 127.0.0.1: each call goes to the real simulator (so the payment really
    happens), and the simulator's answer comes back with one part (status line, headers or body)
    dribbled a byte at a time. A cancel is closed unanswered and never forwarded, so the payment stays
    taken and only an inquiry can tell the terminal what happened."""

    def __init__(self, sim, part: str) -> None:
        self.sim_host, port = sim.url.split("//", 1)[1].rsplit(":", 1)
        self.sim_port = int(port)
        self.part = part
        self.forwarded: list[str] = []
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                reader = conn.makefile("rb")
                line = reader.readline()
                if not line:
                    return  # the terminal's bare link probe
                path = line.split()[1].decode()
                headers = http.client.parse_headers(reader)
                body = reader.read(int(headers.get("Content-Length", 0)))
                if path.endswith("/cancel"):
                    return
                self.forwarded.append(path.rsplit("/", 1)[1])
                gateway = http.client.HTTPConnection(self.sim_host, self.sim_port, timeout=30)
                try:
                    gateway.request("POST", path, body=body, headers={
                        k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")})
                    answer = gateway.getresponse()
                    content = answer.read()
                finally:
                    gateway.close()
                kept = "".join(f"{k}: {v}\r\n" for k, v in answer.getheaders()
                               if k.lower() not in ("content-length", "connection", "transfer-encoding"))
                parts = {
                    # The reason phrase is free text every client strips and ignores: padded, the status
                    # line alone drips for ten minutes, as the report's sale still SENDING after 500 s.
                    "status": f"HTTP/1.1 {answer.status} {answer.reason}{' ' * 1200}\r\n".encode(),
                    "headers": f"{kept}Content-Length: {len(content)}\r\nConnection: close\r\n\r\n".encode(),
                    "body": content,
                }
                for name in ("status", "headers", "body"):
                    if name != self.part:
                        conn.sendall(parts[name])
                        continue
                    for byte in parts[name]:
                        conn.sendall(bytes([byte]))
                        if self.stopping.wait(DRIP):
                            return
            except OSError:
                return  # the terminal gave up on this call: that is the point

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()


@pytest.fixture
def drip(sim):
    servers = []

    def start(part: str) -> DripServer:
        servers.append(DripServer(sim, part))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def config(sim, name: str, url: str | None = None) -> Path:
    """A terminal.toml for ``url`` (default: the simulator itself). Its notification URL leads nowhere, so
    the sale is settled only by what the gateway answers, never by the simulator's notification."""
    port = reserve_port()
    path = write_config(sim, name, url=url, port=port, payments=PAYMENTS, read_timeout=READ_TIMEOUT)
    text = path.read_text().replace("connect_timeout = 5.0", f"connect_timeout = {CONNECT_TIMEOUT}")
    path.write_text(text.replace(f"http://127.0.0.1:{port}/notify", f"http://127.0.0.1:{reserve_port()}/notify"))
    return path


def settles_paid_once(sim, data_dir: Path, sale_id: str) -> None:
    """Against the real gateway, reconcile finds the sale paid, and the customer was charged once."""
    code, out = cli_json("reconcile", config=config(sim, "direct.toml"), data_dir=data_dir)
    assert code == 0, out
    assert journal_sales(data_dir)[sale_id]["status"] == "SUCCESS"
    assert [k for k, p in ledger(sim).items() if p["status"] == "SUCCESS"] == [sale_id]
    assert codes_charged_twice(sim) == []
    check_invariant(sim, data_dir)


@pytest.mark.parametrize("part", ["status", "headers", "body"])
def test_a_dripped_answer_ends_the_sale_unknown_and_reconcile_settles_it_once(sim, drip, tmp_path, part):
    server = drip(part)
    data_dir = tmp_path / "terminal"
    code, out = cli_json("sale", "--amount", "12.34", "--code", payment_code(), "--timeout", "1",
                         config=config(sim, "drip.toml", server.url), data_dir=data_dir)
    assert (code, out["status"]) == (3, "UNKNOWN"), out
    sale_id = out["paymentRequestId"]
    assert server.forwarded == ["pay"]
    assert ledger(sim)[sale_id]["status"] == "SUCCESS", "the gateway did take the payment"
    assert journal_sales(data_dir)[sale_id]["status"] == "UNKNOWN", "never believed paid on a dripped answer"
    settles_paid_once(sim, data_dir, sale_id)


def test_reconcile_with_a_timeout_ends_while_the_gateway_drips(sim, drip, tmp_path):
    data_dir = tmp_path / "terminal"
    # A sale the gateway took but whose answer was lost (the connection dropped after the payment).
    code, out = cli_json("sale", "--amount", f"{sc.DROP_AFTER_PAID / 100:.2f}", "--code", payment_code(),
                         "--timeout", "1", config=config(sim, "direct.toml"), data_dir=data_dir)
    assert (code, out["status"]) == (3, "UNKNOWN"), out
    sale_id = out["paymentRequestId"]
    server = drip("headers")
    code, out = cli_json("reconcile", "--timeout", "1", config=config(sim, "drip.toml", server.url),
                         data_dir=data_dir)
    assert (code, out["still_open"]) == (3, 1), out
    assert server.forwarded == ["inquiryPayment"]
    assert journal_sales(data_dir)[sale_id]["status"] == "UNKNOWN"
    settles_paid_once(sim, data_dir, sale_id)
