"""Helpers for the payment-flow tests: configs with fast retry timing for a running simulator, and
ways to run the terminal through its API (Runtime) and through the CLI (a real subprocess)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import tomli_w
from kit import is_reserved, payment_code, reserve_port, usd

from offline_queue.journal import Journal
from pos_app import services
from pos_app.config import Config, load_config
from pos_app.money import parse_money
from pos_app.payment_flow import Sale
from pos_app.roles import MANAGER
from pos_app.runtime import Runtime
from pos_app.sim import Simulator
from pos_app.sim.provision import terminal_doc

#: The SDK's schedule shrunk ~20×: same shape, so the same paths run, in a fraction of the time.
FAST = {"inquiry_intervals": [0.1, 0.15, 0.15, 0.25, 0.25, 0.25], "cancel_intervals": [0.1, 0.15, 0.15, 0.25],
        "code_validity": 3, "order_code_poll": 0.1, "review_interval": 0.3}


def write_config(sim, name: str = "fast.toml", *, payments: dict | None = None, offline: dict | None = None,
                 url: str | None = None, port: int | None = None, read_timeout: float | None = None) -> Path:
    """A terminal.toml next to the simulator's keys, pointing at it, with fast timing and its own
    notification port (so several terminals in one test run do not collide), reserved for the test unless
    ``port`` is given."""
    port = port or reserve_port()
    doc = terminal_doc(url or sim.url, sim.client_id, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/notify",
                       str(sim.ca_file) if getattr(sim, "tls", False) else None)
    if read_timeout is not None:
        doc["gateway"]["read_timeout"] = read_timeout
    doc["payments"] = {**FAST, **(payments or {})}
    if offline:
        doc["offline"] = offline
    path = Path(sim.data_dir) / name
    path.write_text(tomli_w.dumps(doc))
    return path


def deaf(config: Path) -> Path:
    """The same config, its notifications sent where nobody listens (the discard port; its receiver still
    starts): only the terminal's own calls inform it."""
    text = re.sub(r'public_url = "http://127.0.0.1:\d+/notify"', 'public_url = "http://127.0.0.1:9/notify"',
                  config.read_text())
    assert "127.0.0.1:9/notify" in text
    config.write_text(text)
    return config


def config_for(sim: Simulator, notify_url: str | None = None) -> Config:
    """The simulator's own terminal.toml, loaded, pointing at it (and at ``notify_url`` for notifications); a
    simulator serving TLS is trusted by its own CA."""
    config = load_config(sim.provisioned.config_file)
    config = replace(config, gateway=replace(config.gateway, url=sim.url,
                                             ca_bundle=sim.ca_file if sim.tls else None))
    if notify_url:
        config = replace(config, notifications=replace(config.notifications, public_url=notify_url))
    return config


def cli(*args, config: Path | None = None, data_dir: Path | None = None, timeout: float = 120,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``pos-terminal`` as a person would: a real process."""
    cmd = [sys.executable, "-m", "pos_app"]
    if config is not None:
        cmd += ["--config", str(config)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    # check=False: the exit code is part of what the tests check.
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env,
                          input=input, check=False)


def cli_json(*args, **kw) -> tuple[int, dict]:
    done = cli(*args, "--json", **kw)
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {done.returncode}): {done.stdout!r}\nstderr: {done.stderr}") from None


def sim_call(sim, path: str, body: dict | None = None, method: str | None = None) -> tuple[int, dict]:
    """The simulator's own endpoints (/sim/ledger, /sim/faults, /sim/wallet/pay-order)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.url + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
    try:
        context = ssl.create_default_context(cafile=sim.ca_file) if getattr(sim, "tls", False) else None
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def ledger(sim) -> dict[str, dict]:
    """The simulator's payments by paymentRequestId."""
    status, data = sim_call(sim, "/sim/ledger")
    assert status == 200, data
    return {p["paymentRequestId"]: p for p in data["payments"]}


def journal_query(data_dir: Path, sql: str, params=()) -> list[tuple]:
    """Rows of the terminal journal, read-only with plain SQL: what the tests check the code against."""
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def journal_net(data_dir: Path, ids) -> int:
    """The net of these transactions, from the raw rows, never through pos_app.takings: a paid sale, or one
    a manager's cancel reversed afterwards (its successful cancel row is the reversal), adds its amount; a
    successful refund or cancel takes its amount off; nothing else moved money."""
    ids = list(ids)
    marks = ",".join("?" * len(ids))
    [(net,)] = journal_query(data_dir, f"""SELECT COALESCE(SUM(CASE
          WHEN t.kind = 'sale' AND t.status = 'SUCCESS' THEN t.amount
          WHEN t.kind = 'sale' AND t.status = 'CANCELLED' AND EXISTS (SELECT 1 FROM transactions c
               WHERE c.parent = t.id AND c.kind = 'cancel' AND c.status = 'SUCCESS') THEN t.amount
          WHEN t.kind IN ('refund', 'cancel') AND t.status = 'SUCCESS' THEN -t.amount
          ELSE 0 END), 0) FROM transactions t WHERE t.id IN ({marks})""", ids)
    return net


def journal_rows(data_dir: Path, kind: str) -> dict[str, dict]:
    """The terminal journal's transactions of one kind (sale, refund, cancel) by id, read-only."""
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in conn.execute("SELECT * FROM transactions WHERE kind=?", (kind,))}
    finally:
        conn.close()


def journal_sales(data_dir: Path) -> dict[str, dict]:
    """The terminal journal's sales by paymentRequestId."""
    return journal_rows(data_dir, "sale")


def check_invariant(sim, data_dir: Path, *, allow_open: bool = False) -> None:
    """The promise: the gateway's paid set equals the journal's, no code is charged twice, and after
    reconcile nothing is open except NEEDS_REVIEW."""
    paid_at_gateway = {k for k, p in ledger(sim).items() if p["status"] == "SUCCESS"}
    sales = journal_sales(data_dir)
    paid_in_journal = {k for k, s in sales.items() if s["status"] == "SUCCESS"}
    review = {k for k, s in sales.items() if s["status"] == "NEEDS_REVIEW"}
    assert paid_at_gateway - review == paid_in_journal - review, (
        f"gateway paid but journal not: {sorted(paid_at_gateway - paid_in_journal)}; "
        f"journal paid but gateway not: {sorted(paid_in_journal - paid_at_gateway)}")
    if not allow_open:
        still_open = {k: s["status"] for k, s in sales.items() if s["status"] in ("UNKNOWN", "QUEUED")}
        assert not still_open, f"left open after reconcile: {still_open}"


def codes_charged_twice(sim) -> list[str]:
    """Code hashes the gateway holds more than one successful payment for (must be none)."""
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute(
            "SELECT code_hash FROM payments WHERE status='SUCCESS' AND code_hash IS NOT NULL "
            "GROUP BY code_hash HAVING COUNT(*) > 1")]
    finally:
        conn.close()


def gateway_down(make_sim, sim: Simulator | None = None) -> tuple[Simulator, Callable[[], Simulator]]:
    """The gateway unreachable: ``sim`` stopped, or a simulator started here (for its keys and port) and
    stopped. Returns ``(sim, back)``; ``back()`` starts it again on the same port with the same ledger: the
    link returns. While it is down the port stays reserved (:func:`kit.reserve_port`): a connect to it is
    refused, nothing else can take it, and ``back()`` can always bind it. A running ``sim`` to take down must
    have been started on a reserved port: ``make_sim(port=reserve_port())``."""
    if sim is None:
        sim = make_sim(port=reserve_port())
    if not is_reserved(sim.port):
        raise ValueError(f"the simulator's port {sim.port} is not reserved: start it on make_sim(port=reserve_port())"
                         " to take it down")
    sim.stop()
    return sim, lambda: make_sim(data_dir=sim.data_dir, port=sim.port)


def day_of_sales(sim, data_dir: Path) -> tuple[Path, Path, str]:
    """A day through the terminal's API: 10.00 paid, 99.05 declined, 2.50 paid, 3.00 of the first refunded
    (net 9.50). Returns the config, the data dir and the business day."""
    config = write_config(sim)
    with Runtime(config, data_dir, background=False) as rt:
        t = rt.terminal
        paid = t.start_sale(usd(1000), code=payment_code())
        t.start_sale(usd(9905), code=payment_code())  # declined
        t.start_sale(usd(250), code=payment_code())
        t.refund(paid.id, usd(300), "damaged")
        t.settle(10)
        day = t.journal.get(paid.id)["day"]
    return config, data_dir, day


#: The manager PIN the tests set; refund and a paid sale's cancel ask for it (read from stdin in tests).
MANAGER_PIN = "246810"


def set_manager_pin(data_dir: Path) -> None:
    """The manager PIN set once, through the use case ``pos-terminal pin set manager`` calls (in this process:
    a test's setup, not its subject; e2e/test_flows_cli runs the command itself)."""
    with Journal.open(Path(data_dir)) as journal:
        services.technician.pin_set(services.counter("setup"), journal, MANAGER, MANAGER_PIN)


def paid_sale(config: Path, data_dir: Path, amount: str = "10.00") -> Sale:
    """A sale the gateway paid, taken through the terminal's API in this process (a test's starting point,
    not its subject). It returns once the gateway's notification of the payment is journaled, as a
    terminal that keeps running takes it: unacknowledged, it would be resent into a later process's run,
    one more commit at a moment no test chose."""
    with Runtime(config, data_dir, background=False) as rt:
        t = rt.terminal
        sale = t.start_sale(parse_money(amount, "USD"), code=payment_code())
        deadline = time.monotonic() + 10
        while not any(e["kind"] == "notification" for e in t.journal.events(sale.id)):
            assert time.monotonic() < deadline, f"the gateway never notified {sale.id}"
            time.sleep(0.02)
    assert sale.status == "SUCCESS", sale
    return sale


# -- the entry code (issue 16) ------------------------------------------------------------------------------------
def entry_config(sim, window: float = 30.0) -> Path:
    """``write_config`` with the simulator's entry code in ``[entry_code]`` and its ``match_window``."""
    config = write_config(sim)
    config.write_text(config.read_text() + f'\n[entry_code]\ncode = "{sim.entry_code}"\nmatch_window = {window}\n')
    return config


def pay_entry_code(sim, value: str, currency: str = "USD", code: str | None = None) -> dict:
    """The customer scans the store's code and pays ``value`` (minor units): the simulator's answer."""
    status, answer = sim_call(sim, "/sim/wallet/pay-entry-code",
                              {"codeValue": code or sim.entry_code, "amount": {"currency": currency, "value": value}})
    assert status == 200, answer
    return answer


def wait_until(check, timeout: float = 10.0):
    """``check()``'s first truthy result, polled every 20 ms; fails after ``timeout`` seconds."""
    import time
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return result
