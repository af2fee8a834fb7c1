"""A terminal killed right after the cashier's abort, while the pay is in flight (issue 14, defect 3): the
abort is journaled, so the next run (``pos-terminal reconcile``) follows it, cancels the payment the gateway
took, and says so. The pay's answer is held by a man in the middle (middleman.Gate) so the abort lands,
for certain, while the sale is SENDING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from flowkit import deaf, journal_sales, ledger, write_config
from kit import ROOT, payment_code

from pos_app import payment_flow as pf
from pos_app.vocabulary import STOPPING_WORDS

CRASH_AFTER_ABORT = """
import os, signal, sys, threading
from pathlib import Path
from pos_app.money import Money
from pos_app.runtime import Runtime

t = Runtime(Path(sys.argv[1]), Path(sys.argv[2]), receiver=False).start().terminal
threading.Thread(target=t.start_sale, args=(Money(1400, "USD"),), kwargs={"code": sys.argv[3]}, daemon=True).start()
sys.stdin.readline()                       # the test: the gateway has taken the pay, its answer is held
t.abort(t.last_sale_id)
print(t.last_sale_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)       # dies with the pay's answer never applied
"""


def test_a_terminal_killed_after_the_abort_cancels_the_payment_at_its_next_start(sim, gate, tmp_path):
    """The abort is journaled: the next run (here `pos-terminal reconcile`) follows it, and says what it does."""
    d = tmp_path / "t"
    config = deaf(write_config(sim, url=gate.url, read_timeout=60))   # no notification races the abort
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CRASH_AFTER_ABORT, str(config), str(d), payment_code()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert gate.held.wait(30), "the pay reached the gateway"
        proc.stdin.write("\n")
        proc.stdin.flush()
        sale_id = proc.stdout.readline().strip()
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert ledger(sim)[sale_id]["status"] == "SUCCESS" and journal_sales(d)[sale_id]["phase"] == "SENDING"
    done = subprocess.run([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(d),
                           "reconcile"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert ledger(sim)[sale_id]["status"] == "CANCELLED", "the money went back"
    assert journal_sales(d)[sale_id]["status"] == "CANCELLED"
    assert STOPPING_WORDS[pf.Phase.CANCELLING] in done.stderr, done.stderr
