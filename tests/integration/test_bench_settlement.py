"""benchmarks/bench_settlement.py --quick runs end to end (issue 18's benchmark): a small day built through the
journal's write path, reconciled by the use case and by the dict peer, both agreeing key by key on the seeded
differences (the benchmark exits 1 when they do not). Only that it finishes and says what it measured: no timing
is asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_settlement_benchmark_prints_its_tables(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_settlement.py"), "--quick", "--cache",
                           str(tmp_path)], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("Settlement benchmark (--quick)") and "FAILED" not in out
    header = next(line for line in out.splitlines() if line.startswith("| side "))
    assert all(word in header for word in ("time", "cpu", "rows/s", "ratio to peer", "goal", "verdict"))
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines()
            if line.startswith(("| ours ", "| peer "))]
    assert {(r[0], r[1]) for r in rows} == {("ours", "CSV"), ("peer", "CSV"), ("ours", "XLSX"), ("peer", "XLSX")}
    # the counts table: every seeded class is 5 on all four columns (ours and the peer, CSV and XLSX)
    counts = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.splitlines()
              if line.startswith("| ") and line.split("|")[1].strip() in
              ("missing_in_journal", "missing_at_gateway", "amount_mismatch", "currency_mismatch", "pending",
               "duplicate")}
    assert len(counts) == 6 and all(cells == ["5"] * 5 for cells in counts.values()), counts
    assert "wall time" in out
    assert (tmp_path / next(p.name for p in tmp_path.iterdir()) / "meta.json").exists()   # built where told
