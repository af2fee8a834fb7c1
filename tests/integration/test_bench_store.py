"""benchmarks/bench_store.py --quick runs end to end against a real PostgreSQL and prints its table (issue 17's
benchmark). Only that it finishes and says what it measured: no timing is asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgkit import PostgresMissing, bindir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_store_benchmark_prints_its_table():
    try:
        bindir()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_store.py"), "--quick"],
                          cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("Store benchmark (--quick)")
    header = [line for line in out.splitlines() if line.startswith("| part ")]
    assert header and all(word in header[0] for word in ("measure", "value", "ratio", "goal", "verdict"))
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ") and line != header[0]]
    assert {"ingest", "lag", "sale"} <= set(rows)
    assert "floor: one COPY" in out and "received_at - at, p99" in out and "p99, replication off / on" in out
    assert "wall time" in out
