"""Signed pay + inquiry round trips per second: our GatewayClient against the official Python SDK,
side by side in one run, both against the same simulator running in its own process; and our client over
plain HTTP, over HTTPS (the simulator's ``--tls``, its own CA) and over HTTPS through tinyproxy's CONNECT.

    .venv/bin/python benchmarks/bench_gateway.py [--seconds 10] [--rounds 5] [--no-sdk]

Every client runs in alternating rounds, so all see the same machine; each round is one client with
keep-alive. The TLS rows count the handshakes the simulator completed (its /sim/health): one per connection
(one per round), not one per call. Goals (issue 19): HTTPS >= 0.8x plain HTTP, through the proxy >= 0.7x.

Also reports the share of our client's time spent in RSA signing, and the simulator's own capacity in
signed calls per second (pre-signed requests from several processes), to show the simulator is not
what limits the comparison. The official SDK is installed in a venv of its own on first use.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import ssl
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path

# This checkout (not an installed copy) and tests/ (the shared fixtures) first, before their imports.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxykit import Tinyproxy
from sdk.official_sdk import SDK_REQUIREMENT, ensure_sdk, run_driver
from simproc import SimProcess

from pos_app import gateway, messages, signing
from pos_app.config import load_config
from pos_app.money import Money


def code(n: int) -> str:
    return "28" + f"{n:016d}"


#: The transports our client is measured over, each against plain HTTP in the same run: (name, goal ratio).
TRANSPORTS = {"plain HTTP": None, "HTTPS": 0.8, "HTTPS through tinyproxy": 0.7}


def bench_ours(sim: SimProcess, seconds: float, proxy: str | None = None) -> dict:
    """One client (one keep-alive connection) for ``seconds``; ``proxy``: [gateway] proxy (None: direct, whatever
    the environment says)."""
    config = load_config(sim.config_file)
    config = replace(config, gateway=replace(config.gateway, url=sim.url, proxy=proxy or "direct"))
    signing_time = [0.0]
    real_sign = signing.sign

    def timed_sign(*args):
        started = time.perf_counter()
        try:
            return real_sign(*args)
        finally:
            signing_time[0] += time.perf_counter() - started

    gateway.signing.sign = timed_sign
    pairs = errors = 0
    base = int(time.time() * 1000) % 10**9 * 10**6
    try:
        with gateway.GatewayClient.from_config(config) as client:
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                request_id = uuid.uuid4().hex
                paid = client.pay_payment_code(config.merchant, request_id, Money(100, "USD"), code(base + pairs),
                                               description="bench", notify_url="http://127.0.0.1:9/notify")
                asked = client.inquiry_payment(payment_request_id=request_id)
                errors += (not paid.ok) + (not asked.ok)
                pairs += 1
            elapsed = time.perf_counter() - started
    finally:
        gateway.signing.sign = real_sign
    return {"pairs": pairs, "seconds": elapsed, "errors": errors, "signing_seconds": signing_time[0],
            "signatures": pairs * 2}


def _load_worker(port: int, payloads: list[tuple[str, bytes, dict]], seconds: float, out) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        path, body, headers = payloads[done % len(payloads)]
        conn.request("POST", path, body=body, headers=headers)
        conn.getresponse().read()
        done += 1
    out.put((done, time.perf_counter() - started))


def bench_sim_capacity(sim: SimProcess, seconds: float, workers: int = 3) -> dict:
    """Signed inquiries, signed in advance, from several processes over keep-alive connections."""
    key = signing.load_private_key(sim.keys / "merchant_private.pem")
    path = messages.Api.INQUIRY_PAYMENT.path(sandbox=True)
    payloads = []
    for i in range(50):
        body = messages.encode({"paymentRequestId": f"capacity-{i}"})
        headers = {"Content-Type": "application/json", "client-id": sim.client_id, "request-time": str(i),
                   "signature": signing.sign(key, path, sim.client_id, str(i), body)}
        payloads.append((path, body, headers))
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_load_worker, args=(sim.port, payloads, seconds, out))
             for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    calls = sum(r[0] for r in results)
    return {"calls": calls, "seconds": max(r[1] for r in results), "workers": workers}


def tls_handshakes(sim: SimProcess) -> int:
    """The handshakes the TLS simulator has completed, by its own count (/sim/health); this ask's own included
    (its connection is made before the count is read)."""
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with urllib.request.urlopen(sim.url + "/sim/health", timeout=10, context=context) as answer:
        return json.loads(answer.read())["tlsHandshakes"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per client (default 10)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate the clients this many times, so all see the same machine (default 5)")
    parser.add_argument("--no-sdk", action="store_true", help="leave the official SDK out (no venv for it)")
    args = parser.parse_args()
    sdk_python, why = (None, "--no-sdk") if args.no_sdk else ensure_sdk()
    rounds = max(1, args.rounds)
    share = args.seconds / rounds
    zero = {"pairs": 0, "seconds": 0.0, "errors": 0, "signing_seconds": 0.0, "signatures": 0, "handshakes": 0}
    runs = {name: dict(zero) for name in TRANSPORTS}
    sdk = {"pairs": 0, "seconds": 0.0, "errors": 0} if sdk_python else None
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess(Path(tmp) / "http")
        tls_sim = SimProcess(Path(tmp) / "https", tls=True)
        proxy = Tinyproxy(Path(tmp) / "tinyproxy").start()
        try:
            for _ in range(rounds):
                for name in TRANSPORTS:
                    target = sim if name == "plain HTTP" else tls_sim
                    before = tls_handshakes(target) if target.tls else 0
                    run = bench_ours(target, share, proxy.url if "tinyproxy" in name else None)
                    # the client's: what the count grew by, less the second ask's own
                    run["handshakes"] = tls_handshakes(target) - before - 1 if target.tls else 0
                    for key, value in run.items():
                        runs[name][key] += value
                if sdk is not None:
                    run = run_driver(sdk_python, sim, "http://127.0.0.1:9/notify", "bench", "--seconds",
                                     str(share), timeout=share * 10 + 60)
                    for key in sdk:
                        sdk[key] += run[key]
            tunnels = len(proxy.connects())
            capacity = bench_sim_capacity(sim, args.seconds)
        finally:
            proxy.stop()
            tls_sim.stop()
            sim.stop()
    ours = runs["plain HTTP"]
    our_rate = ours["pairs"] / ours["seconds"]
    rows = [("pos-terminal GatewayClient", our_rate, ours["errors"])]
    if sdk:
        sdk_rate = sdk["pairs"] / sdk["seconds"]
        rows.append((f"official SDK ({SDK_REQUIREMENT})", sdk_rate, sdk["errors"]))
    print(f"Signed pay + inquiry round trips, {args.seconds:g} s per client in {max(1, args.rounds)} alternating "
          f"rounds, one client thread, simulator in its own process ({os.cpu_count()} cores)\n")
    print(f"| {'client':<44} | {'round trips/s':>13} | {'ms each':>8} | {'errors':>6} | {'vs SDK':>7} |")
    print(f"|{'-' * 46}|{'-' * 15}|{'-' * 10}|{'-' * 8}|{'-' * 9}|")
    for name, rate, errors in rows:
        ratio = f"{rate / rows[1][1]:.1f}x" if sdk else "n/a"
        print(f"| {name:<44} | {rate:>13.1f} | {1000 / rate:>8.2f} | {errors:>6} | {ratio:>7} |")
    if not sdk:
        print(f"\n(official SDK not measured: {why})")
    print(f"\nOur client over each transport, same run, alternating rounds, keep-alive; TLS handshakes counted by "
          f"the simulator ({rounds} rounds: one client, one connection, each)\n")
    print(f"| {'transport':<24} | {'round trips/s':>13} | {'ms each':>8} | {'errors':>6} | {'calls':>6} | "
          f"{'handshakes':>10} | {'vs plain':>8} | {'goal':>6} | {'met':>3} |")
    print(f"|{'-' * 26}|{'-' * 15}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 12}|{'-' * 10}|{'-' * 8}|{'-' * 5}|")
    verdicts = []
    for name, goal in TRANSPORTS.items():
        run = runs[name]
        rate = run["pairs"] / run["seconds"]
        ratio = rate / our_rate
        met = "-" if goal is None else ("yes" if ratio >= goal else "NO")
        if goal is not None:
            verdicts.append(f"{name} >= {goal:g}x plain HTTP: {ratio:.2f}x, {'met' if met == 'yes' else 'NOT met'}")
        handshakes = str(run["handshakes"]) if name != "plain HTTP" else "-"
        goal_text = "-" if goal is None else f">={goal:g}x"
        print(f"| {name:<24} | {rate:>13.1f} | {1000 / rate:>8.2f} | {run['errors']:>6} | {run['pairs'] * 2:>6} | "
              f"{handshakes:>10} | {ratio:>7.2f}x | {goal_text:>6} | {met:>3} |")
    print()
    for line in verdicts:
        print(f"Goal: {line}")
    print(f"tinyproxy opened {tunnels} CONNECT tunnel(s) for {runs['HTTPS through tinyproxy']['pairs'] * 2} calls")
    share = ours["signing_seconds"] / ours["seconds"]
    per_sig = ours["signing_seconds"] / ours["signatures"] * 1000
    print(f"\nRSA signing in our client: {share:.1%} of its time ({per_sig:.2f} ms per signature, "
          f"{ours['signatures']} signatures)")
    cap_rate = capacity["calls"] / capacity["seconds"]
    used = our_rate * 2 / cap_rate
    print(f"Simulator capacity: {cap_rate:.0f} signed calls/s ({capacity['workers']} load processes, "
          f"pre-signed inquiries, keep-alive); our client's {our_rate * 2:.0f} calls/s use {used:.0%} of it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
