"""Signed pay + inquiry round trips per second: our GatewayClient against the official Python SDK,
side by side in one run, both against the same simulator running in its own process.

    .venv/bin/python benchmarks/bench_gateway.py [--seconds 10]

Also reports the share of our client's time spent in RSA signing, and the simulator's own capacity in
signed calls per second (pre-signed requests from several processes), to show the simulator is not
what limits the comparison. The official SDK is installed in a venv of its own on first use.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

# This checkout (not an installed copy) and tests/ (the shared fixtures) first, before their imports.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sdk.official_sdk import SDK_REQUIREMENT, ensure_sdk, run_driver
from simproc import SimProcess

from pos_app import gateway, messages, signing
from pos_app.config import load_config
from pos_app.money import Money


def code(n: int) -> str:
    return "28" + f"{n:016d}"


def bench_ours(sim: SimProcess, seconds: float) -> dict:
    config = load_config(sim.config_file)
    config = replace(config, gateway=replace(config.gateway, url=sim.url))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per client (default 10)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate the two clients this many times, so both see the same machine (default 5)")
    args = parser.parse_args()
    sdk_python, why = ensure_sdk()
    share = args.seconds / max(1, args.rounds)
    ours = {"pairs": 0, "seconds": 0.0, "errors": 0, "signing_seconds": 0.0, "signatures": 0}
    sdk = {"pairs": 0, "seconds": 0.0, "errors": 0} if sdk_python else None
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess(Path(tmp))
        try:
            for _ in range(max(1, args.rounds)):
                for key, value in bench_ours(sim, share).items():
                    ours[key] += value
                if sdk is not None:
                    run = run_driver(sdk_python, sim, "http://127.0.0.1:9/notify", "bench", "--seconds",
                                     str(share), timeout=share * 10 + 60)
                    for key in sdk:
                        sdk[key] += run[key]
            capacity = bench_sim_capacity(sim, args.seconds)
        finally:
            sim.stop()
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
