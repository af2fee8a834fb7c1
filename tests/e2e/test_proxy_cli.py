"""HTTPS through a store's proxy, as a store runs it (issue 19): real ``pos-terminal`` processes, the simulator
serving TLS with its own private CA, and tinyproxy (Debian's, a real CONNECT proxy) between them.

The independent witnesses: the simulator's ledger (plain SQL over its raw rows) says what was charged and
refunded; tinyproxy's own log says which tunnels were asked for; the terminal's journal (plain SQL) says what
the terminal kept. A sale, a refund, ``reconcile`` and ``reconcile-settlement --sftp`` pass through the proxy;
a proxy that is down or refuses the CONNECT means the sale was certainly not sent (nothing charged; each pay's
journaled words name the proxy, and the setting or the refused target); a proxy killed while the answer is
awaited leaves the sale unknown, and ``reconcile`` through a proxy back on the same port settles it as paid,
charged once.

One simulator and one proxy serve the module; the failures that break a proxy start their own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from flowkit import MANAGER_PIN, deaf, journal_query, set_manager_pin, wait_until, write_config
from kit import payment_code, reserve_port
from processes import TerminalProcess
from proxykit import Tinyproxy

from pos_app.outcome import Delivery
from pos_app.sim import Simulator
from pos_app.sim import scenarios as sc
from pos_app.sim.provision import settlement_doc
from pos_app.vocabulary import FAILED, SUCCESS, UNKNOWN

pytestmark = pytest.mark.slow

#: The environment's proxy settings, of every spelling: a test sets only the one it means.
PROXY_VARIABLES = {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """The simulator over TLS (its CA in ``<data dir>/tls/ca.pem``), with its SFTP server."""
    sim = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, tls=True, sftp_port=0,
                    notify_time_scale=0.001).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    proxy = Tinyproxy(tmp_path_factory.mktemp("tinyproxy")).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def terminal_config(sim, name: str, *, proxy: str | None = None, **options) -> Path:
    """flowkit's fast config for ``sim`` trusting its CA, reading reports from its SFTP server, and with
    ``[gateway] proxy = proxy`` (None: no setting, the environment decides)."""
    path = write_config(sim, name, **options)
    doc = tomllib.loads(path.read_text())
    doc["gateway"]["ca_bundle"] = str(Path(sim.data_dir) / "tls" / "ca.pem")
    if proxy is not None:
        doc["gateway"]["proxy"] = proxy
    doc["settlement"] = settlement_doc(sim.sftp_url, sim.client_id)
    path.write_text(tomli_w.dumps(doc))
    return path


def run(*args, config: Path, data: Path, https_proxy: str | None = None,
        input: str | None = None) -> tuple[int, dict, str]:
    """``pos-terminal ARGS --json`` as a real process: (exit code, its JSON, its stderr). The machine's own
    proxy variables are taken away; ``https_proxy`` sets HTTPS_PROXY."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("POS_TERMINAL_") and k.upper() not in PROXY_VARIABLES}
    if https_proxy:
        env["HTTPS_PROXY"] = https_proxy
    done = subprocess.run([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data),
                           *map(str, args), "--json"], capture_output=True, text=True, timeout=120, env=env,
                          input=input, check=False)
    try:
        return done.returncode, json.loads(done.stdout), done.stderr
    except ValueError:
        raise AssertionError(f"not JSON (exit {done.returncode}): {done.stdout!r}\nstderr: {done.stderr}") from None


def ledger_rows(sim, sql: str, params=()) -> list[tuple]:
    """The simulator's ledger, its raw rows read-only with plain SQL."""
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def pay_answers(data: Path, request: str) -> list[str]:
    """What the terminal journaled of each pay's outcome for ``request`` (plain SQL over its events): how it was
    delivered, and the words."""
    return [f"{e['delivery']}: {e['message']}" for (detail,) in journal_query(
        data, "SELECT detail FROM events WHERE txn = ? AND kind = 'answer' ORDER BY seq", (request,))
        if (e := json.loads(detail))["api"] == "pay"]


def tunnels(proxy: Tinyproxy, port: int) -> int:
    """How many CONNECTs to 127.0.0.1:``port`` the proxy's log holds."""
    return proxy.log().count(f"CONNECT 127.0.0.1:{port} ")


def test_a_sale_a_refund_and_reconcile_pass_over_https_through_the_proxy(sim, proxy, tmp_path):
    config, data = terminal_config(sim, "proxied.toml", proxy=proxy.url), tmp_path / "t"
    set_manager_pin(data)
    before = tunnels(proxy, sim.port)
    rc, sale, err = run("sale", "--amount", "12.34", "--code", payment_code(), config=config, data=data)
    assert rc == 0 and sale["status"] == SUCCESS, (sale, err)
    rc, refund, err = run("refund", sale["paymentRequestId"], "--amount", "2.34", "--reason", "damaged",
                          config=config, data=data, input=MANAGER_PIN + "\n")
    assert rc == 0 and refund["status"] == SUCCESS, (refund, err)
    rc, settled, err = run("reconcile", config=config, data=data)
    assert rc == 0 and settled["still_open"] == 0, (settled, err)
    # the gateway's own rows: one payment, one refund of it
    request = sale["paymentRequestId"]
    assert ledger_rows(sim, "SELECT amount, status FROM payments WHERE payment_request_id = ?", (request,)) == \
        [(1234, SUCCESS)]
    assert ledger_rows(sim, "SELECT r.amount, r.status FROM refunds r JOIN payments p USING (payment_id) "
                            "WHERE p.payment_request_id = ?", (request,)) == [(234, SUCCESS)]
    assert journal_query(data, "SELECT kind, amount, status FROM transactions ORDER BY kind DESC") == \
        [("sale", 1234, SUCCESS), ("refund", 234, SUCCESS)]
    # each process took its own tunnel to the gateway: the proxy saw them
    assert tunnels(proxy, sim.port) >= before + 2
    # the day's settlement reports, fetched over SFTP through the proxy's CONNECT too
    [(day,)] = journal_query(data, "SELECT day FROM transactions WHERE kind = 'sale'")
    rc, found, err = run("reconcile-settlement", "--date", day, "--sftp", sim.sftp_url, config=config, data=data,
                         input=MANAGER_PIN + "\n")
    assert rc in (0, 1) and "error" not in found, (found, err)
    assert {f["requestId"]: f["class"] for f in found["findings"]}[request] == "matched"
    assert tunnels(proxy, int(sim.sftp_url.rsplit(":", 1)[1].split("/")[0])) == 1


def test_a_proxy_that_is_down_means_the_sale_was_certainly_not_sent(sim, tmp_path):
    """The proxy from HTTPS_PROXY (no [gateway] proxy): nothing listens on its port."""
    down = f"http://127.0.0.1:{reserve_port()}"
    config, data = terminal_config(sim, "down.toml", payments={"code_validity": 1.5}), tmp_path / "t"
    rc, sale, err = run("sale", "--amount", "3.00", "--code", payment_code(), config=config, data=data,
                        https_proxy=down)
    assert rc == 1 and sale["status"] == FAILED and sale["resultCode"] == "NOT_SENT", (sale, err)
    # every pay was certainly not sent, in words naming the proxy and the variable that set it
    answers = pay_answers(data, sale["paymentRequestId"])
    assert answers and all(a.startswith(f"{Delivery.NOT_SENT.value}: ") and f"cannot reach the proxy {down}" in a
                           and "HTTPS_PROXY" in a for a in answers), answers
    assert ledger_rows(sim, "SELECT * FROM payments WHERE payment_request_id = ?", (sale["paymentRequestId"],)) == []


def test_a_connect_the_proxy_refuses_means_the_sale_was_certainly_not_sent(sim, tmp_path):
    strict = Tinyproxy(tmp_path / "strict", connect_ports=[443]).start()   # tunnels to 443 only: 403 for the sim's
    try:
        config, data = terminal_config(sim, "strict.toml", proxy=strict.url, payments={"code_validity": 1.5}), \
            tmp_path / "t"
        rc, sale, err = run("sale", "--amount", "4.00", "--code", payment_code(), config=config, data=data)
        log = strict.log()
    finally:
        strict.stop()
    assert rc == 1 and sale["status"] == FAILED and sale["resultCode"] == "NOT_SENT", (sale, err)
    answers = pay_answers(data, sale["paymentRequestId"])
    assert answers and all(a.startswith(f"{Delivery.NOT_SENT.value}: ") and "403" in a and f"127.0.0.1:{sim.port}" in a
                           for a in answers), answers
    assert f"CONNECT 127.0.0.1:{sim.port} " in log
    assert ledger_rows(sim, "SELECT * FROM payments WHERE payment_request_id = ?", (sale["paymentRequestId"],)) == []


def test_a_proxy_killed_while_the_answer_is_awaited_leaves_the_sale_unknown_until_reconcile(sim, tmp_path):
    proxy = Tinyproxy(tmp_path / "proxy").start()
    # the answer (8 s late) would come well inside the read timeout: only the proxy's death cuts the exchange;
    # the gateway's notification goes where nobody listens, so only the terminal's own calls can settle it
    config, data = deaf(terminal_config(sim, "killed.toml", proxy=proxy.url, read_timeout=30)), tmp_path / "t"
    sale = TerminalProcess(config, data, "sale", "--amount", f"{sc.SLOW_ANSWER / 100:.2f}", "--code",
                           payment_code(), "--json")
    try:
        # the pay has reached the gateway (its row is there) and its answer is being held back: kill the proxy
        [(request,)] = wait_until(lambda: ledger_rows(
            sim, "SELECT payment_request_id FROM payments WHERE amount = ?", (sc.SLOW_ANSWER,)), timeout=30)
        proxy.kill()
        # the tunnel dropped after the pay went through: maybe delivered, journaled as unknown (the terminal
        # inquires on, through a proxy that is gone); the cashier's process then ends, as a power cut would
        answers = wait_until(lambda: pay_answers(data, request), timeout=30)
        assert journal_query(data, "SELECT status FROM transactions WHERE id = ?", (request,)) == [(UNKNOWN,)]
    finally:
        sale.kill()
    assert len(answers) == 1 and answers[0].startswith(f"{Delivery.MAYBE_DELIVERED.value}: "), answers
    # the proxy back on the same port: reconcile asks the gateway through it and settles the sale as paid
    before = tunnels(proxy, sim.port)
    try:
        proxy.start()
        rc, settled, err = run("reconcile", config=config, data=data)
        assert tunnels(proxy, sim.port) > before
    finally:
        proxy.stop()
    assert rc == 0 and settled["settled"] == 1 and settled["items"][0]["status"] == SUCCESS, (settled, err)
    assert journal_query(data, "SELECT status FROM transactions WHERE id = ?", (request,)) == [(SUCCESS,)]
    assert ledger_rows(sim, "SELECT payment_request_id, status FROM payments WHERE amount = ?",
                       (sc.SLOW_ANSWER,)) == [(request, SUCCESS)]
