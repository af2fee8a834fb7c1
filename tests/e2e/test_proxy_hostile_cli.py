"""A store's network path failing under ``pos-terminal`` processes: the cashier's lines say which hop fails and
who fixes it, and a proxy login from the environment is never written anywhere (issue 19 review).

Real parts: the TLS simulator with its CA, Debian's tinyproxy, ``pos-terminal`` as a process. The witnesses: the
simulator's ledger (nothing charged), what the process printed, and every file it left in its data folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import tomli_w
from flowkit import write_config
from kit import payment_code, reserve_port
from proxykit import Tinyproxy

from pos_app.sim import Simulator

pytestmark = pytest.mark.slow

PROXY_VARIABLES = {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, tls=True, notify_time_scale=0.001).start()
    try:
        yield sim
    finally:
        sim.stop()


def terminal_config(sim, name: str, *, proxy: str | None = None, url: str | None = None,
                    validity: float = 1.5) -> Path:
    path = write_config(sim, name, payments={"code_validity": validity})
    doc = tomllib.loads(path.read_text())
    doc["gateway"]["ca_bundle"] = str(Path(sim.data_dir) / "tls" / "ca.pem")
    if proxy is not None:
        doc["gateway"]["proxy"] = proxy
    if url is not None:
        doc["gateway"]["url"] = url
    path.write_text(tomli_w.dumps(doc))
    return path


def run(*args, config: Path, data: Path, https_proxy: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("POS_TERMINAL_") and k.upper() not in PROXY_VARIABLES}
    if https_proxy:
        env["HTTPS_PROXY"] = https_proxy
    return subprocess.run([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data),
                           *map(str, args)], capture_output=True, text=True, timeout=120, env=env, check=False)


def charged(sim, request: str) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM payments WHERE payment_request_id = ? AND status = 'SUCCESS'",
                            (request,)).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("case", ["refused", "down", "gateway-down"])
def test_the_sales_lines_say_which_hop_fails_and_who_fixes_it(sim, tmp_path, case):
    """The proxy refusing the CONNECT, the proxy down, the gateway down behind a working proxy: the sale is voided
    with nothing charged, and its lines name that hop and its setting, never 'the link stayed down'."""
    strict = Tinyproxy(tmp_path / "proxy", connect_ports=[443] if case == "refused" else None)
    try:
        https_proxy = None
        if case == "refused":
            config = terminal_config(sim, "refused.toml", proxy=strict.start().url)
            hop, setting = "refused the way to the gateway", "[gateway] proxy"
        elif case == "down":   # its port held, never started
            config, https_proxy = terminal_config(sim, "down.toml"), strict.url
            hop, setting = "did not answer", "HTTPS_PROXY"
        else:
            config = terminal_config(sim, "beyond.toml", proxy=strict.start().url,
                                     url=f"https://127.0.0.1:{reserve_port()}")
            hop, setting = "could not reach the gateway", "[gateway] url"
        done = run("sale", "--amount", "2.00", "--code", payment_code(), config=config, data=tmp_path / "t",
                   https_proxy=https_proxy)
    finally:
        strict.stop()
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "NOT PAID" in done.stdout, said
    why = next(line for line in done.stdout.splitlines() if line.strip().startswith("why:"))
    assert f"the store's proxy {hop}" in why and "link stayed down" not in why, why
    progress = [line for line in done.stderr.splitlines() if "proxy" in line and "technician" in line]
    assert progress and setting in progress[0], done.stderr
    request = next(line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("payment:"))
    assert charged(sim, request) == 0


def test_a_login_in_https_proxy_is_never_printed_or_written(sim, tmp_path):
    """The login inside HTTPS_PROXY works (the sale passes through the guarded proxy) and is never in what sale,
    status and the external self-test print nor in any file they write (journal, logs, the report), right or
    wrong."""
    with Tinyproxy(tmp_path / "guarded", basic_auth=("till7", "Right-pw9")) as guarded:
        config, data = terminal_config(sim, "login.toml"), tmp_path / "t"
        where = guarded.url.removeprefix("http://")
        right = f"http://till7:Right-pw9@{where}"
        wrong = f"http://till7:Wrong-pw8@{where}"
        runs = [run("sale", "--amount", "1.00", "--code", payment_code(), config=config, data=data, https_proxy=right),
                run("sale", "--amount", "1.00", "--code", payment_code(), config=config, data=data, https_proxy=wrong),
                run("status", config=config, data=data, https_proxy=wrong),
                run("status", "--json", config=config, data=data, https_proxy=right),
                run("selftest", "--level", "external", "--out", tmp_path / "report.json", config=config, data=data,
                    https_proxy=wrong)]
    assert runs[0].returncode == 0 and "PAID" in runs[0].stdout, runs[0].stdout + runs[0].stderr
    assert runs[1].returncode == 1 and "refused the terminal's login" in runs[1].stdout
    assert "HTTPS_PROXY" in runs[1].stderr and "technician" in runs[1].stderr
    assert "HTTPS_PROXY" in (tmp_path / "report.json").read_text(), runs[-1].stdout + runs[-1].stderr
    for done in runs:
        for secret in ("Right-pw9", "Wrong-pw8"):
            assert secret not in done.stdout + done.stderr, (secret, done.args, done.stdout, done.stderr)
    written = [p for p in data.rglob("*") if p.is_file()] + [tmp_path / "report.json"]
    assert written
    for path in written:
        content = path.read_bytes()
        assert b"Right-pw9" not in content and b"Wrong-pw8" not in content, path


class TunnelThatDropsFirst:
    """A CONNECT proxy that answers 200 and hangs up for its first ``drops`` tunnels (after CONNECT, before any
    request byte could go), then carries tunnels for real (plain TCP both ways)."""

    def __init__(self, drops: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.drops, self.tunnels = drops, 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n") and (byte := conn.recv(1)):
            head += byte
        self.tunnels += 1
        if self.tunnels <= self.drops or not head.startswith(b"CONNECT "):
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            conn.close()
            return
        host, port = head.split()[1].decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=30)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_tunnels_dropped_before_the_request_then_carried_charge_once(sim, tmp_path):
    """The proxy drops the first two tunnels after answering CONNECT (no request byte can have left: certainly not
    sent, retried), then carries them: the sale is paid, and the gateway's ledger holds one payment."""
    proxy = TunnelThatDropsFirst(drops=2)
    try:
        config = terminal_config(sim, "flaky.toml", proxy=proxy.url, validity=20)
        done = run("sale", "--amount", "5.00", "--code", payment_code(), config=config, data=tmp_path / "t")
    finally:
        proxy.close()
    assert done.returncode == 0 and done.stdout.startswith("PAID"), done.stdout + done.stderr
    assert proxy.tunnels >= 3
    request = next(line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("payment:"))
    assert charged(sim, request) == 1
    assert "technician" in done.stderr, "the dropped tunnels were said as the proxy's, not as the link's"
