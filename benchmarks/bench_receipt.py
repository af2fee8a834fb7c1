"""What printing a receipt costs a sale, and how soon the receipt is at the printer, in one run:

    .venv/bin/python benchmarks/bench_receipt.py [--quick]

Payment-code sales through the real path: a ``Runtime`` (reconciler on, no receiver) and
``Terminal.start_sale`` against the simulator (``pos-terminal sim`` in its own process, as the other
benchmarks run it), with ``[printer]`` a network printer: the stand-in of tests/printerkit.py on
127.0.0.1:9100 (a free port when 9100 is taken: the table says so), and ``[receipts] customer = "auto"``.

1. Receipt latency: from the sale's PAID (the terminal's change listener, on the payment's thread) to the
   last byte of its receipt arriving at the stand-in, through the real printing path
   (``pos_app.printing.Printing``: journal the slip, render ESC/POS, ``drivers.printer`` asks the printer's
   status, sends). Each receipt is decoded (printerkit.decode) and matched to its sale by the QR payload,
   the sale's paymentRequestId; a receipt missing, unreadable or not matching counts as an error.
2. The sale's own time with printing on against printing off (``Runtime(printing=False)``: no print worker
   at all), in alternating rounds on the same journal and simulator, so both see the same machine.

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # printerkit: the stand-in, its decoder
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))             # this checkout, not an installed copy

import table  # benchmarks/table.py
from printerkit import PrinterStandIn, decode
from simproc import SimProcess

from pos_app.money import Money
from pos_app.runtime import Runtime
from pos_app.sim.provision import terminal_toml

NOTIFY_URL = "http://127.0.0.1:9/notify"  # nothing listens: the simulator's notifications fail fast
SALE_AMOUNT = Money(1000, "USD")          # any amount but the scenario ones (99xx) succeeds at once
FULL = {"rounds": 10, "sales": 40, "paced": 12, "warmup": 5}
QUICK = {"rounds": 3, "sales": 15, "paced": 5, "warmup": 3}
DELIVERY_WAIT = 60.0                      # seconds a round waits for its last receipt before it counts as lost


def say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def payment_code() -> str:
    return "28" + f"{secrets.randbelow(10**16):016d}"


class StandInProcess:
    """The printer stand-in in a process of its own, as a printer is a device of its own: its threads do not
    share the terminal's GIL. It reports each finished connection as a JSON line (times are
    ``time.monotonic()``, one clock for every process on the machine)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-printer"], stdout=subprocess.PIPE, text=True)
        first = json.loads(self.proc.stdout.readline())
        self.port, self.where = first["port"], first["where"]
        self.connections: list[SimpleNamespace] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            record = json.loads(line)
            record["data"] = base64.b64decode(record["data"])
            with self._cond:
                self.connections.append(SimpleNamespace(**record))
                self._cond.notify_all()

    def jobs_since(self, count: int) -> list[SimpleNamespace]:
        with self._cond:
            return [c for c in self.connections[count:] if c.is_job]

    def wait_jobs(self, since: int, jobs: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([c for c in self.connections[since:] if c.is_job]) < jobs:
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"{jobs} receipt(s) not at the printer after {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def serve_printer() -> int:
    """The child: the stand-in on 9100 (a free port when taken), each finished connection on stdout."""
    try:
        printer, where = PrinterStandIn(port=9100), "127.0.0.1:9100"
    except OSError as exc:
        printer = PrinterStandIn(port=0)
        where = f"127.0.0.1:{printer.port} (9100 is taken: {exc.strerror})"
    print(json.dumps({"port": printer.port, "where": where}), flush=True)
    sent: set[int] = set()
    while True:
        try:
            done = printer.wait_for(lambda s: [c for c in s.connections if c.closed_at and c.number not in sent], 3600)
        except TimeoutError:
            continue
        for c in done:
            sent.add(c.number)
            print(json.dumps({"number": c.number, "opened_at": c.opened_at, "last_at": c.last_at,
                              "closed_at": c.closed_at, "is_job": c.is_job,
                              "data": base64.b64encode(c.data).decode()}), flush=True)


def write_config(sim: SimProcess, port: int) -> Path:
    path = sim.data_dir / "bench-receipt.toml"
    path.write_text(terminal_toml(sim.url, sim.client_id, "127.0.0.1:9", NOTIFY_URL)
                    + f'\n[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {port}\ntimeout = 5\n'
                    + '\n[receipts]\ncustomer = "auto"\n')
    return path


#: Seconds between one sale's end and the next one's start at a counter's pace: the next customer steps up,
#: drawn uniformly from this range with one seed per round, so printing on and printing off get the very same
#: gaps. Gaps over 2 s also let the print worker's idle status question run, as it does at a real counter.
PACE = (0.2, 2.5)


def one_round(config: Path, data_dir: Path, printer: StandInProcess, printing: bool, paced: bool, n: int,
              res: dict, keep: bool = True, seed: int = 0) -> None:
    """``n`` sales in one Runtime; with printing, their receipts are waited for and matched by their QR.
    ``paced``: the next sale starts a gap drawn from PACE after the last one returned (a counter: the same
    gaps, from ``seed``, with printing on and off; the receipt prints in the gap or overlaps the next sale,
    as it may); else back to back (the receipt prints during the next sale: the worst case for the sale)."""
    import random
    gaps = random.Random(seed)
    before = len(printer.connections)
    mode = "paced" if paced else "busy"
    with Runtime(config, data_dir, receiver=False, background=True, printing=printing) as rt:
        t = rt.terminal
        changes: dict[str, list[float]] = {}
        lock = threading.Lock()

        def changed(txn_id: str) -> None:
            now = time.monotonic()
            with lock:
                changes.setdefault(txn_id, []).append(now)
        unsubscribe = t.on_change.add(changed)
        sales = []   # (id, started, paid_at)

        def delivered(count: int):
            try:
                printer.wait_jobs(before, count, DELIVERY_WAIT)
            except TimeoutError as exc:
                res["errors"].append(str(exc))

        for _ in range(n):
            started = time.monotonic()
            sale = t.start_sale(SALE_AMOUNT, code=payment_code())
            returned = time.monotonic()
            if sale.status != "SUCCESS":
                res["errors"].append(f"sale {sale.id}: {sale.status}")
                continue
            with lock:
                stamps = [c for c in changes.get(sale.id, []) if c <= returned]
            if not stamps:   # no PAID stamp: the latency would be measured from the wrong moment
                res["errors"].append(f"sale {sale.id}: no change was reported before it returned")
                continue
            sales.append((sale.id, started, max(stamps)))
            if keep:
                res["sale"][mode, printing].append(returned - started)
            if paced:
                time.sleep(gaps.uniform(*PACE))
        if printing:
            delivered(len(sales))
        unsubscribe()
    if not printing:
        time.sleep(0.2)   # anything the printer might have been sent has been reported by now
    jobs = printer.jobs_since(before)
    if not printing:
        if jobs:
            res["errors"].append(f"{len(jobs)} job(s) reached the printer with printing off")
        return
    by_id = {}
    for job in jobs:
        out = decode(job.data)
        if out.unknown or out.problems or len(out.qr) != 1 or not out.cuts:
            res["errors"].append(f"receipt {job.number}: qr {out.qr}, cuts {out.cuts}, unknown {out.unknown[:3]}, "
                                 f"problems {out.problems[:3]}")
            continue
        by_id[out.qr[0]] = job
        res["bytes"].append(len(job.data))
    for sale_id, started, paid_at in sales:
        job = by_id.get(sale_id)
        if job is None:
            res["errors"].append(f"sale {sale_id}: no receipt at the printer")
            continue
        if keep:
            res["printed"] += 1
            res["paid_to_bytes"][mode].append(job.last_at - paid_at)
            res["start_to_bytes"][mode].append(job.last_at - started)


def timed(module, name: str, sink: list[float]) -> None:
    """Replace ``module.name`` by a wrapper adding each call's seconds to ``sink``."""
    real = getattr(module, name)

    def wrapper(*args, **kw):
        started = time.perf_counter()
        try:
            return real(*args, **kw)
        finally:
            sink.append(time.perf_counter() - started)
    setattr(module, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sales (a smoke test)")
    parser.add_argument("--serve-printer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_printer:
        return serve_printer()
    sizes = QUICK if args.quick else FULL
    wall = time.perf_counter()
    load = os.getloadavg()
    modes = ("busy", "paced")
    res: dict = {"sale": {(m, p): [] for m in modes for p in (True, False)}, "bytes": [], "printed": 0,
                 "paid_to_bytes": {m: [] for m in modes}, "start_to_bytes": {m: [] for m in modes}, "errors": [],
                 "slip": [], "render": [], "deliver": [], "commits": []}
    from offline_queue import spool
    from pos_app import printing
    for name in ("enqueue_auto", "claim", "done"):     # the worker's three commits per receipt
        timed(spool, name, res["commits"])
    timed(printing, "slip_of", res["slip"])        # the worker's parts, looked up by name at each call
    timed(printing, "escpos_of", res["render"])
    timed(printing, "deliver", res["deliver"])
    printer = StandInProcess()
    where = printer.where
    with tempfile.TemporaryDirectory(prefix="bench-receipt-") as tmp:
        sim = SimProcess(Path(tmp) / "sim")
        try:
            config = write_config(sim, printer.port)
            data_dir = Path(tmp) / "terminal"
            say(f"warm-up: {sizes['warmup']} sales each way")
            for printing_on in (True, False):
                one_round(config, data_dir, printer, printing_on, False, sizes["warmup"], res, keep=False)
            for r in range(sizes["rounds"]):
                say(f"round {r + 1}/{sizes['rounds']}: {sizes['sales']} sales printing on and off, back to back "
                    "and at a counter's pace")
                order = (True, False) if r % 2 == 0 else (False, True)
                for paced in (False, True):
                    for printing_on in order:
                        one_round(config, data_dir, printer, printing_on, paced,
                                  sizes["paced"] if paced else sizes["sales"], res, seed=r)
        finally:
            printer.stop()
            for started in SimProcess.started:
                started.stop()

    sale = res["sale"]
    if not all(sale.values()) or not all(res["paid_to_bytes"].values()):
        print(f"no measurements: {res['errors'][:5]}", file=sys.stderr)
        return 1

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows = []
    for mode, words in (("busy", "back to back"), ("paced", "at a counter's pace")):
        lat, on, off = res["paid_to_bytes"][mode], sale[mode, True], sale[mode, False]
        ratio = pct(on, 99) / pct(off, 99)
        rows += [
            (words, "PAID → receipt bytes at the printer, p50 / max", f"{ms(pct(lat, 50))} / {ms(max(lat))}", "", ""),
            (words, "PAID → receipt bytes at the printer, p95", ms(pct(lat, 95)), "<= 300 ms",
             met(pct(lat, 95) <= 0.3)),
            (words, "sale start → receipt bytes, p95", ms(pct(res["start_to_bytes"][mode], 95)), "", ""),
            (words, "sale p50, printing off / on", f"{ms(pct(off, 50))} / {ms(pct(on, 50))}", "", ""),
            (words, "sale p99, printing off / on", f"{ms(pct(off, 99))} / {ms(pct(on, 99))}", "", ""),
            (words, "sale p99 on / off", f"{ratio:.3f}x", "<= 1.05x", met(ratio <= 1.05)),
        ]
    printed_on = len(sale["busy", True]) + len(sale["paced", True])
    rows.append(("both", "receipts printed and matched / paid sales printing on", f"{res['printed']} / {printed_on}",
                 "all", met(res["printed"] == printed_on and not res["errors"])))
    n, paced_n = len(sale["busy", True]), len(sale["paced", True])
    print(f"Receipt benchmark{' (--quick)' if args.quick else ''}: {n} sales back to back and {paced_n} at a counter's "
          f"pace, each with printing on and off, in {sizes['rounds']} alternating rounds, after {sizes['warmup']} "
          f"warm-up each; printer stand-in on {where}, in its own process; {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end. A p99 of {paced_n} sales is the one "
          f"ranked {paced_n - max(0, min(paced_n - 1, int(-(-99 * paced_n // 100)) - 1))} from the slowest: read "
          f"it as such.\n")
    table.print_table(rows, ("sales", "measure", "value", "goal", "verdict"), (False, False, True, False, False))
    mean = statistics.fmean
    print(f"\nSale = Runtime(reconciler on, no receiver).terminal.start_sale against the simulator in its own "
          f"process; printing off = Runtime(printing=False), no print worker. Back to back: the next sale starts as "
          f"soon as one returns, so each receipt is journaled, rendered and sent during the next sale (the worst "
          f"case for it; no counter starts the next sale within milliseconds). At a counter's pace: the next "
          f"sale starts {PACE[0]:g} to {PACE[1]:g} s after the last one returned (the same seeded gaps printing "
          f"on and off). PAID = the terminal's change "
          f"listener on the payment's thread; bytes = the last byte of the receipt arriving at the stand-in.")
    print(f"The print worker per receipt (means): building the slip from the journal {ms(mean(res['slip']))}, "
          f"its 3 journal commits (enqueue, claim, done; on the journal's one lock, as the sale's commits) "
          f"{ms(3 * mean(res['commits']))}, "
          f"rendering ESC/POS {ms(mean(res['render']))}, status + send to the printer {ms(mean(res['deliver']))}. "
          f"Receipts {mean(res['bytes']):.0f} bytes on average, each decoded (printerkit.decode: no unknown "
          f"commands, one QR, a cut) and matched to its sale by the QR (its paymentRequestId).")
    if res["errors"]:
        print(f"\n{len(res['errors'])} error(s): " + "; ".join(res["errors"][:5]))
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")
    return 0 if not res["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
