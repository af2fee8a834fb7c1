"""benchmarks/bench_gateway.py runs end to end in a tiny run (issue 19's rows): our client over plain HTTP, over
HTTPS and over HTTPS through tinyproxy, without errors, the TLS handshakes counted by the simulator one per
connection (one client, so one connection, per round), not one per call, and tinyproxy's own log one tunnel per
connection. The goals are printed with their verdict; no timing is asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 2


def test_the_gateway_benchmark_measures_https_and_the_proxy_beside_plain_http():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_gateway.py"), "--seconds", "0.4",
                           "--rounds", str(ROUNDS), "--no-sdk"], cwd=ROOT, check=False, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    header = next(line for line in out.splitlines() if line.startswith("| transport "))
    columns = [c.strip() for c in header.split("|")[1:-1]]
    rows = {cells[0]: dict(zip(columns, cells, strict=True)) for line in out.splitlines()
            if line.startswith("| ") and (cells := [c.strip() for c in line.split("|")[1:-1]])[0]
            in ("plain HTTP", "HTTPS", "HTTPS through tinyproxy")}
    assert set(rows) == {"plain HTTP", "HTTPS", "HTTPS through tinyproxy"}, out
    for name, row in rows.items():
        assert row["errors"] == "0" and int(row["calls"]) > 0, row
        if name != "plain HTTP":
            # keep-alive: one handshake per client's connection, however many calls it carried
            assert int(row["handshakes"]) == ROUNDS, row
            assert row["goal"] in (">=0.8x", ">=0.7x") and row["met"] in ("yes", "NO"), row
    assert f"tinyproxy opened {ROUNDS} CONNECT tunnel(s)" in out
    goals = [line for line in out.splitlines() if line.startswith("Goal: ")]
    assert len(goals) == 2 and all(line.endswith((", met", ", NOT met")) for line in goals), goals
