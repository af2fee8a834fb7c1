"""What the cashier window costs to start and keep, and how soon a scan shows, beside a bare Qt window:

    .venv/bin/python benchmarks/bench_gui.py [--quick]

1. Cold start to "ready to scan". Fresh processes, alternating ours and the floor, N rounds (10; quick 3),
   each timed from ``subprocess.Popen`` to the line ``READY`` on its stdout. Ours is
   ``python -m pos_app gui --no-scanners --config CFG --data-dir DIR`` against the gateway simulator in
   its own process (``simproc``), on a data directory prepared beforehand (a warm start of an existing
   terminal); ``POS_TERMINAL_BENCH_READY=1`` makes ``ui.app._bench_hook`` print READY from a
   ``QTimer.singleShot(0)`` after ``core.ready``: the cashier window is shown, the runtime has started
   (journal open, receiver listening, gateway client built) and the event loop has gone idle once. One
   more row: the first start on an empty data directory (the journal is created). The floor is a script
   that imports PySide6, creates a QApplication and a QMainWindow with a QLabel, shows it and prints READY
   from ``QTimer.singleShot(0)``: same interpreter, same environment, same working directory. One
   discarded warm-up run of each first (page cache, bytecode). Goal: <= 1.5x the floor.
2. Idle RSS: 2 s after READY, ``VmRSS`` from ``/proc/PID/status``, same processes. Goal: <= 1.3x the floor.
   Then SIGTERM and wait (SIGKILL after 10 s); the simulator is stopped at the end, nothing is left behind.
3. Scan to status on screen, in this process (``ui.app.build`` as ``tests/test_gui.py`` drives it, against
   the same simulator; the windows set up as ``ui.app.main`` does, so on offscreen's one screen the cashier
   window is maximized and the customer display is off): per sale an amount through ``window.press``, ``window.choose_scan()``, the
   awaiting screen painted, then the clock starts and a ``ScanEvent`` (a fresh 18-digit payment code) is
   emitted through ``core.scanner_event`` as the scanner hub delivers it; an event filter on
   ``window.headline`` takes the time of the first ``QEvent.Paint`` showing a new headline (the cashier
   sees the scan was taken), and of the first one showing the final result (PAID: the gateway round trip
   included, for information). The event loop runs as in the app (``QEventLoop.exec``, no polling). Each
   sale is let finish and ``window.next_sale()`` runs before the next. Goal: <= 50 ms.

If the start-time goal is missed, one more run of each under ``python -X importtime`` says where the time
goes: import cost per package (every import's own time charged to the outermost third-party package whose
import pulled it in, or to our package for our own module bodies; the parts add up to the total), ours
beside the floor, and the time after the last import until READY.

Everything runs offscreen (``QT_QPA_PLATFORM=offscreen``). ``--quick`` shrinks every part for a CI smoke
test. Progress goes to stderr, the table to stdout; the goals column only says where each number stands.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import table  # noqa: E402  (benchmarks/table.py)

from simproc import SimProcess

from pos_app.sim.provision import terminal_toml

FULL = {"rounds": 10, "scans": 100}
QUICK = {"rounds": 3, "scans": 20}
START_GOAL, RSS_GOAL, SCAN_GOAL = 1.5, 1.3, 0.050
IDLE_SECONDS = 2.0
READY_TIMEOUT = 30.0
OWN = {"pos_app", "ui", "drivers", "offline_queue"}

FLOOR = """\
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QLabel("floor"))
window.show()
QTimer.singleShot(0, lambda: print("READY", flush=True))
sys.exit(app.exec())
"""


def say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(sim: SimProcess, name: str) -> Path:
    """A terminal.toml next to the simulator's keys (paths in it are relative to the file), with its own
    notification port."""
    port = free_port()
    path = sim.data_dir / name
    path.write_text(terminal_toml(sim.url, sim.client_id, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/notify"))
    return path


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    env.update(QT_QPA_PLATFORM="offscreen", POS_TERMINAL_BENCH_READY="1")
    return env


# -- children -------------------------------------------------------------------------------------------
class Child:
    """A process started for a measurement, timed from Popen to its READY line."""
    started: ClassVar[list[Child]] = []   # every one, so that all are reaped at the end

    def __init__(self, argv: list[str], label: str) -> None:
        self.label = label
        self.stderr_lines: list[tuple[float, str]] = []  # each with the time it arrived
        self.t0, self.t0_mono = time.perf_counter(), time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=0, env=child_env(), cwd=ROOT)
        Child.started.append(self)
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self) -> None:  # -X importtime writes each line unbuffered, as the import ends
        for line in self.proc.stderr:
            self.stderr_lines.append((time.perf_counter(), line.decode(errors="replace")))

    def wait_ready(self, word: str = "READY") -> float:
        """Seconds from Popen to the line ``word`` (READY: window shown and idle; CORE: terminal up)."""
        fd = self.proc.stdout.fileno()
        buffer = getattr(self, "_buffer", b"")
        deadline = self.t0 + READY_TIMEOUT
        while b"\n" not in buffer:
            left = deadline - time.perf_counter()
            if left <= 0:
                self.fail(f"no {word} line in time")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.fail(f"exited before {word}")
                buffer += chunk
        took = time.perf_counter() - self.t0
        line, self._buffer = buffer.split(b"\n", 1)
        said = line.decode().strip()
        if said != word:
            self.fail(f"said {said!r} instead of {word}")
        return took

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise SystemExit(f"{self.label}: no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()

    def fail(self, why: str) -> None:
        self.stop_quietly()
        self.reader.join(5)
        tail = "".join(line for _t, line in self.stderr_lines[-30:])
        raise SystemExit(f"{self.label}: {why}\n{tail}")

    def stop_quietly(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ours_argv(config_file: Path, data_dir: Path, *pre: str) -> list[str]:
    return [sys.executable, *pre, "-m", "pos_app", "gui", "--no-scanners", "--config", str(config_file),
            "--data-dir", str(data_dir)]


def floor_argv(*pre: str) -> list[str]:
    return [sys.executable, *pre, "-c", FLOOR]


ONE_START_CORE: list[float] = []   # ours: Popen to CORE (terminal up), per start


def one_start(argv: list[str], label: str, rss: bool = True) -> tuple[float, int | None]:
    child = Child(argv, label)
    try:
        took = child.wait_ready()
        if "pos_app" in argv:  # ours goes on to start the terminal behind the window: RSS counts all of it
            child.core = child.wait_ready("CORE")
            ONE_START_CORE.append(child.core)
        kb = None
        if rss:
            time.sleep(IDLE_SECONDS)
            kb = child.rss_kb()
    finally:
        child.stop()
    return took, kb


# -- 1 and 2. start time and idle RSS -------------------------------------------------------------------
def bench_start(config_file: Path, work: Path, rounds: int) -> dict:
    data_dir = work / "terminal"
    say("   warm-up (discarded): one floor, one ours on a scratch data dir")
    one_start(floor_argv(), "floor warm-up", rss=False)
    one_start(ours_argv(config_file, work / "warm-up"), "ours warm-up", rss=False)
    say("   first start on an empty data dir (it becomes the terminal of every warm start)")
    first, first_kb = one_start(ours_argv(config_file, data_dir), "ours, first start")
    if not (data_dir / "journal.sqlite").exists():
        raise SystemExit(f"the first start left no journal in {data_dir}")
    res = {"first": first, "first_kb": first_kb, "first_core": ONE_START_CORE[-1], "ours": [], "floor": [],
           "ours_kb": [], "floor_kb": [], "ours_core": []}
    for r in range(rounds):
        order = ("ours", "floor") if r % 2 == 0 else ("floor", "ours")
        for who in order:
            argv = ours_argv(config_file, data_dir) if who == "ours" else floor_argv()
            took, kb = one_start(argv, f"{who}, round {r + 1}")
            res[who].append(took)
            res[f"{who}_kb"].append(kb)
            if who == "ours":
                res["ours_core"].append(ONE_START_CORE[-1])
        say(f"   round {r + 1}/{rounds}: ours {res['ours'][-1] * 1000:.0f} ms {res['ours_kb'][-1] / 1024:.0f} MB, "
            f"floor {res['floor'][-1] * 1000:.0f} ms {res['floor_kb'][-1] / 1024:.0f} MB")
    return res


# -- 3. scan to status on screen ------------------------------------------------------------------------
def bench_scans(config_file: Path, data_dir: Path, n: int) -> dict:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before the QApplication, as tests/test_gui.py
    from PySide6.QtCore import (
        QEvent,
        QEventLoop,
        QObject,
        QTimer,
        qInstallMessageHandler,
    )
    from PySide6.QtWidgets import QApplication

    from drivers import model
    from pos_app import checkout
    from pos_app.i18n import set_language
    from ui.app import build

    class PaintWatch(QObject):
        """Every paint of the headline while armed: (time, text shown, final result shown); the loop ends
        on the first paint of a final result."""

        def __init__(self, window) -> None:
            super().__init__()
            self.window = window
            self.paints: list[tuple[float, str, bool]] = []
            self.armed = False
            self.stop_when = None
            self.loop: QEventLoop | None = None
            window.headline.installEventFilter(self)

        def eventFilter(self, obj, event) -> bool:
            if self.armed and event.type() == QEvent.Paint:
                now = time.perf_counter()
                view = self.window.view
                text = self.window.headline.text()
                final = view is not None and view.final and text == view.headline
                self.paints.append((now, text, final))
                if self.stop_when is not None and self.stop_when(text, final) and self.loop is not None:
                    self.armed = False
                    self.loop.quit()
            return False

        def run(self, stop_when, timeout: float, fresh: bool = True) -> bool:
            """Run the event loop until a paint satisfies ``stop_when(text, final)`` or ``timeout``."""
            if fresh:
                self.paints = []
            self.stop_when, self.armed = stop_when, True
            if any(stop_when(text, final) for _t, text, final in self.paints):
                self.armed = False
                return True
            self.loop = QEventLoop()
            timer = QTimer(singleShot=True, interval=int(timeout * 1000))
            timer.timeout.connect(self.loop.quit)
            timer.start()
            self.loop.exec()
            timer.stop()
            hit = not self.armed
            self.armed, self.loop = False, None
            return hit

    def run_until(predicate, timeout: float, what: str) -> None:
        loop = QEventLoop()
        check = QTimer(interval=5)
        check.timeout.connect(lambda: predicate() and loop.quit())
        give_up = QTimer(singleShot=True, interval=int(timeout * 1000))
        give_up.timeout.connect(loop.quit)
        check.start()
        give_up.start()
        if not predicate():
            loop.exec()
        check.stop()
        give_up.stop()
        if not predicate():
            raise SystemExit(f"scan bench: {what} not within {timeout:.0f} s")

    def quiet(_mode, _context, message: str) -> None:  # the offscreen plugin warns on every window resize
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)
    qInstallMessageHandler(quiet)
    set_language("en")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("pos-terminal-bench")
    core, window, customer = build(config_file, data_dir, scanners=False)
    res = {"first": [], "final": [], "first_text": Counter(), "errors": 0, "warm_up": None}
    try:
        # set up as ui.app.main does: the cashier window fills the screen; with one screen (offscreen has one)
        # the customer display stays off and the cashier's window keeps it all
        window.setGeometry(app.primaryScreen().availableGeometry())
        window.showMaximized()
        if not customer.place(None):
            customer.hide()
            window.customer_display_off()
        core.start()
        run_until(lambda: window.ready, 20, "the runtime start")
        watch = PaintWatch(window)

        def one_sale(i: int) -> tuple[float, float, str] | None:
            for ch in str(10 + i % 80):  # USD 10 to 89: paid at once (the simulator's scenarios are 99xx)
                window.press(ch)
            window.choose_scan()
            if window.counter.stage != checkout.AWAITING_CODE:
                raise SystemExit(f"scan bench: F1 did not wait for a code ({window.counter.stage})")
            awaiting = window.headline.text()
            watch.run(lambda text, _final: text == awaiting, 1.0)  # the awaiting screen is on screen
            code = "28" + f"{secrets.randbelow(10**16):016d}"
            event = model.ScanEvent(code, "QR Code", 204, "]Q1", "bench-scanner", time.time(), code.encode(), "enter")
            watch.paints, watch.stop_when, watch.armed = [], None, True  # armed before the clock starts
            t0 = time.perf_counter()
            core.scanner_event.emit(event)
            done = watch.run(lambda _text, final: final, 15.0, fresh=False)
            paints = watch.paints
            run_until(lambda: window.view is not None and window.view.final, 15, "the sale's end")
            ok = window.view.hand_over
            window.next_sale()
            first = next(((t, text) for t, text, _f in paints if text != awaiting), None)
            final = next((t for t, _text, f in paints if f), None)
            if not (done and ok and first and final):
                res["errors"] += 1
                return None
            return first[0] - t0, final - t0, first[1]

        got = one_sale(0)  # the first sale after start pays for first-call imports and connections
        res["warm_up"] = got
        for i in range(1, n + 1):
            got = one_sale(i)
            if got is not None:
                res["first"].append(got[0])
                res["final"].append(got[1])
                res["first_text"][got[2]] += 1
    finally:
        core.stop()
        window.close()
        customer.close()
        app.processEvents()
    if not res["first"]:
        raise SystemExit("scan bench: no sale was measured")
    return res


# -- the breakdown: python -X importtime, and a timeline -------------------------------------------------
# ``python -m pos_app gui ...`` with a few functions timed: what runs between the imports and READY.
# time.monotonic() is one clock for all processes (CLOCK_MONOTONIC), so the parent puts it against Popen.
TIMELINE = """\
import sys, threading, time
def mark(label, start, end):
    print(f"STEP {label}|{threading.current_thread().name}|{start}|{end}", file=sys.stderr, flush=True)
def timed(owner, name, label):
    real = getattr(owner, name)
    def run(*args, **kwargs):
        start = time.monotonic()
        try:
            return real(*args, **kwargs)
        finally:
            mark(label, start, time.monotonic())
    setattr(owner, name, run)
start = time.monotonic()
from pos_app import cli, runtime, signing, terminal
import ui.app, ui.cashier, ui.customer
from PySide6 import QtWidgets
mark("imports: pos_app.cli, ui.app, ui.cashier, ui.customer, PySide6", start, time.monotonic())
timed(ui.app, "build", "ui.app.build: both windows, not shown")
timed(ui.cashier.CashierWindow, "show", "cashier window show()")
timed(ui.customer.CustomerDisplay, "show", "customer display show()")
timed(runtime.Runtime, "start", "Runtime.start (on the core worker)")
timed(terminal.Terminal, "__init__", "  Terminal(): journal, gateway client")
timed(signing, "private_key_from_text", "    merchant private key parsed (RSA)")
timed(ui.cashier.CashierWindow, "_on_ready", "window._on_ready (UI thread)")
sys.exit(cli.main(sys.argv[1:]))
"""


def timeline_run(config_file: Path, data_dir: Path) -> tuple[float, list[tuple[str, str, float, float]]]:
    argv = [sys.executable, "-c", TIMELINE, "gui", "--no-scanners", "--config", str(config_file),
            "--data-dir", str(data_dir)]
    child = Child(argv, "ours, timeline")
    try:
        took = child.wait_ready()
        time.sleep(0.2)
    finally:
        child.stop()
    steps = []
    for _t, line in child.stderr_lines:
        if line.startswith("STEP "):
            label, thread, start, end = line[5:].rstrip("\n").split("|")
            steps.append((label, thread, float(start) - child.t0_mono, float(end) - child.t0_mono))
    return took, sorted(steps, key=lambda s: s[2])

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")


@dataclass
class Imported:
    name: str
    self_us: int
    cumulative_us: int
    level: int
    children: list[Imported] = field(default_factory=list)


def import_tree(lines: list[str]) -> list[Imported]:
    """The roots of ``-X importtime`` output (post-order: children come before their parent)."""
    pending: list[Imported] = []
    for line in lines:
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        node = Imported(m[4], int(m[1]), int(m[2]), (len(m[3]) - 1) // 2)
        while pending and pending[-1].level > node.level:
            node.children.insert(0, pending.pop())
        pending.append(node)
    return pending


def import_buckets(roots: list[Imported]) -> dict[str, dict]:
    """Every import's own time charged to the outermost non-own package on its import chain (what would
    not be imported at start if that package were imported lazily), or to our package when the chain has
    only our modules. The buckets add up to the total import time."""
    buckets: dict[str, dict] = defaultdict(lambda: {"us": 0, "by": Counter(), "inside": Counter(),
                                                    "modules": Counter()})

    def walk(node: Imported, bucket: str | None, parent: Imported | None) -> None:
        top = node.name.split(".")[0]
        if bucket is None and top not in OWN:
            bucket = top
            buckets[top]["by"][parent.name if parent is not None else "(function-level import)"] += \
                node.cumulative_us
        charged = bucket or top
        b = buckets[charged]
        b["us"] += node.self_us
        b["modules"][node.name] += node.self_us
        if top != charged:
            b["inside"][top] += node.self_us
        for child in node.children:
            walk(child, bucket, node)

    for root in roots:
        walk(root, None, None)
    return dict(buckets)


def importtime_run(argv: list[str], label: str) -> dict:
    child = Child(argv, label)
    try:
        took = child.wait_ready()
        ready_at = child.t0 + took
        time.sleep(0.3)  # imports still under way at READY finish
    finally:
        child.stop()
    timed = [(t, line) for t, line in child.stderr_lines if IMPORT_LINE.match(line)]
    before_ready = [t for t, _line in timed if t <= ready_at]
    roots = import_tree([line for _t, line in timed])
    return {"wall": took, "imports": sum(r.cumulative_us for r in roots) / 1e6,
            "after_imports": ready_at - max(before_ready) if before_ready else took,
            "late_imports": sum(1 for t, _line in timed if t > ready_at), "buckets": import_buckets(roots)}


def print_breakdown(config_file: Path, data_dir: Path) -> None:
    say("breakdown: one run of each under python -X importtime")
    ours = importtime_run(ours_argv(config_file, data_dir, "-X", "importtime"), "ours, -X importtime")
    floor = importtime_run(floor_argv("-X", "importtime"), "floor, -X importtime")
    print("\nWhere our start time goes (one run of each under -X importtime, which slows imports a little):\n")
    rows = [("to READY", ms(ours["wall"]), ms(floor["wall"]), ms(ours["wall"] - floor["wall"])),
            ("  imports (all of them, summed)", ms(ours["imports"]), ms(floor["imports"]),
             ms(ours["imports"] - floor["imports"])),
            ("  the rest: interpreter, Qt, widgets, runtime start, paint", ms(ours["wall"] - ours["imports"]),
             ms(floor["wall"] - floor["imports"]), ms(ours["wall"] - ours["imports"] - floor["wall"] + floor["imports"])),
            ("  from the last import to READY", ms(ours["after_imports"]), ms(floor["after_imports"]),
             ms(ours["after_imports"] - floor["after_imports"]))]
    print_table(rows, ("phase", "ours", "floor", "extra"), right=(False, True, True, True))
    took, steps = timeline_run(config_file, data_dir)
    print("\nTimeline of one more run of ours (no -X importtime; a wrapper times a few functions, then runs "
          "pos_app.cli.main; times from Popen):\n")
    rows = [(label, thread, ms(start), ms(end), ms(end - start)) for label, thread, start, end in steps]
    rows.append(("READY read by the parent", "", "", ms(took), ""))
    print_table(rows, ("step", "thread", "from", "to", "took"), right=(False, False, True, True, True))
    stdlib = set(sys.stdlib_module_names)
    names = sorted(ours["buckets"], key=lambda k: -ours["buckets"][k]["us"])[:10]
    rows = []
    for name in names:
        b = ours["buckets"][name]
        f = floor["buckets"].get(name, {"us": 0})["us"]
        if name in OWN:
            detail = "own module bodies: " + ", ".join(f"{m} {us / 1000:.0f}" for m, us in b["modules"].most_common(4))
        else:
            detail = "imported by " + ", ".join(f"{m} {us / 1000:.0f}" for m, us in b["by"].most_common(3))
            inside = [(m, us) for m, us in b["inside"].most_common(3) if us >= 0.1 * b["us"]]
            if inside:
                detail += "; incl. " + ", ".join(f"{m} {us / 1000:.0f}" for m, us in inside)
        rows.append((name + (" (stdlib)" if name in stdlib else ""), ms(b["us"] / 1e6), ms(f / 1e6),
                     ms((b["us"] - f) / 1e6), f"{b['us'] / 1e6 / ours['imports']:.0%}", detail))
    print(f"\nTop 10 import costs of ours ({ms(ours['imports'])} in all), beside the floor's "
          f"(times in the details column in ms):\n")
    print_table(rows, ("package", "ours", "floor", "extra", "share", "where (ms)"),
                right=(False, True, True, True, True, False))
    print("\nA package's cost is the own time of every module first imported through it (e.g. numpy under "
          "sqlite_utils); '(function-level import)' = imported from inside a function (ui.app.main, ui.app.build, "
          "cli.cmd_gui) or by the interpreter, not by a module body. Our own modules' bodies count under our "
          "packages: for ui.* that includes creating the PySide6 types and enums they name on first use (PySide6 "
          "makes them lazily). A stdlib module is charged to whichever package imported it first, so the floor's "
          "PySide6 row carries stdlib modules that ours had already imported (a negative extra)."
          + (f" {ours['late_imports']} import(s) finished after READY." if ours["late_imports"] else ""))


# -- the table ------------------------------------------------------------------------------------------
def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...],
                right: tuple[bool, ...] = (False, True, True, True, False)) -> None:
    table.print_table(rows, header, right)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if abs(seconds) >= 0.1 else f"{seconds * 1000:.1f} ms"


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 start rounds and 20 scans (CI)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    wall, load = time.perf_counter(), os.getloadavg()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below still reaps the children
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        work = Path(tmp)
        try:
            sim = SimProcess(work / "sim")
            config_file = write_config(sim, "bench-gui.toml")
            say(f"1+2. start to READY and idle RSS: {sizes['rounds']} alternating rounds, ours and the floor")
            start = bench_start(config_file, work, sizes["rounds"])
            say(f"3. scan to status on screen: {sizes['scans']} sales in this process (+1 warm-up)")
            scans = bench_scans(write_config(sim, "bench-gui-inproc.toml"), work / "inproc", sizes["scans"])
            report(args, start, scans, load)
            if statistics.median(start["ours"]) / statistics.median(start["floor"]) > START_GOAL:
                print_breakdown(config_file, work / "terminal")  # the in-process window is gone by now
        finally:
            for child in Child.started:
                child.stop_quietly()
            for started in SimProcess.started:
                started.stop()
        left = [c.label for c in Child.started if c.proc.poll() is None] + \
            [f"simulator {s.proc.pid}" for s in SimProcess.started if s.proc.poll() is None]
        print(f"\nchildren started: {len(Child.started)} + {len(SimProcess.started)} simulator, still running: "
              f"{', '.join(left) or 'none'}; wall time {time.perf_counter() - wall:.0f} s")
    return 0


def report(args, start: dict, scans: dict, load) -> None:
    med, best = statistics.median, min
    o, f = start["ours"], start["floor"]
    okb, fkb = med(start["ours_kb"]), med(start["floor_kb"])

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    first, final = scans["first"], scans["final"]
    rows = [
        ("start to READY, warm, median", ms(med(o)), f"floor {ms(med(f))}", f"{med(o) / med(f):.2f}x",
         f"<= {START_GOAL}x: {met(med(o) / med(f) <= START_GOAL)}"),
        ("start to READY, warm, best", ms(best(o)), f"floor {ms(best(f))}", f"{best(o) / best(f):.2f}x", ""),
        ("start to READY, first start, empty data dir (1 run)", ms(start["first"]), f"floor {ms(med(f))}",
         f"{start['first'] / med(f):.2f}x", ""),
        ("start to terminal up (CORE), warm, median", ms(med(start["ours_core"])), f"floor {ms(med(f))}",
         f"{med(start['ours_core']) / med(f):.2f}x", "(information)"),
        ("idle RSS 2 s after CORE, median", mb(okb), f"floor {mb(fkb)}", f"{okb / fkb:.2f}x",
         f"<= {RSS_GOAL}x: {met(okb / fkb <= RSS_GOAL)}"),
        ("scan to new headline painted, p50", ms(pct(first, 50)), "goal 50 ms", f"{pct(first, 50) / SCAN_GOAL:.2f}x",
         met(pct(first, 50) <= SCAN_GOAL)),
        ("scan to new headline painted, p95", ms(pct(first, 95)), "goal 50 ms", f"{pct(first, 95) / SCAN_GOAL:.2f}x",
         met(pct(first, 95) <= SCAN_GOAL)),
        ("scan to new headline painted, max", ms(max(first)), "goal 50 ms", f"{max(first) / SCAN_GOAL:.2f}x",
         met(max(first) <= SCAN_GOAL)),
        ("scan to PAID painted (gateway round trip), p50", ms(pct(final, 50)), "(information)", "", ""),
        ("scan to PAID painted (gateway round trip), p95", ms(pct(final, 95)), "(information)", "", ""),
        ("scan to PAID painted (gateway round trip), max", ms(max(final)), "(information)", "", ""),
    ]
    print(f"GUI benchmarks{' (--quick)' if args.quick else ''}: pos-terminal beside a bare PySide6 window; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, offscreen; load average {load[0]:.2f} at "
          f"start, {os.getloadavg()[0]:.2f} at end\n")
    print_table(rows, ("measure", "ours", "floor / goal", "ratio", "goal met"))
    print("\nratio = ours / floor for start and RSS, ours / goal for the scan (below 1x is inside the goal).")
    print(f"1. Popen to the READY line, {len(o)} fresh processes of each, alternating (after one discarded "
          f"warm-up each). Ours: python -m pos_app gui --no-scanners against the simulator in its own process, "
          f"READY = cashier window shown and the event loop idle once (the cashier can type an amount, press F1 "
          f"and scan; a sale asked for before the terminal is up goes out when it is); CORE = the terminal up "
          f"behind it (journal open, gateway client, receiver listening). Floor: QApplication + QMainWindow(QLabel) shown, READY from QTimer.singleShot(0). "
          f"Ours: {', '.join(f'{t * 1000:.0f}' for t in o)} ms; floor: {', '.join(f'{t * 1000:.0f}' for t in f)} ms.")
    print(f"2. VmRSS {IDLE_SECONDS:.0f} s after CORE (ours) or READY (floor), in the same processes. Ours "
          f"{' '.join(f'{k / 1024:.0f}' for k in start['ours_kb'])} MB; floor "
          f"{' '.join(f'{k / 1024:.0f}' for k in start['floor_kb'])} MB; first start {mb(start['first_kb'])}. "
          f"Offscreen has one screen, so ui.app.main shows the cashier window maximized and keeps the customer "
          f"display off; the runtime's threads are included.")
    shown = ", ".join(f"{text!r} x{n}" for text, n in scans["first_text"].most_common())
    warm = scans["warm_up"]
    print(f"3. {len(first)} sales measured ({scans['errors']} not paid or not seen), in this process. The clock "
          f"starts at core.scanner_event.emit(ScanEvent) and stops at the headline's QEvent.Paint (event filter, "
          f"before the label draws). First new headline painted: {shown}. Mean {ms(statistics.fmean(first))} to "
          f"the first new headline, {ms(statistics.fmean(final))} to PAID. Warm-up sale (first after start, not "
          f"in the rows): " + (f"{ms(warm[0])} / {ms(warm[1])}." if warm else "not paid."))


if __name__ == "__main__":
    sys.exit(main())
