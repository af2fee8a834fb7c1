"""``pos-terminal`` as a real process a test can kill: started with Popen, its stderr lines (progress, or
with --json the order code) collected as they come. conftest kills whatever a test left running when it
ends, so a failing assertion never leaves a terminal retrying for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from flowkit import MANAGER_PIN

_started: list[subprocess.Popen] = []


def terminal_env() -> dict[str, str]:
    """The test's environment without POS_TERMINAL_ settings, and the manager PIN that refund and cancel
    ask for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    return {**env, "POS_TERMINAL_MANAGER_PIN": MANAGER_PIN}


def track(proc: subprocess.Popen) -> subprocess.Popen:
    """Kill ``proc`` at the end of the test if it is still running."""
    _started.append(proc)
    return proc


def kill_leftovers() -> None:
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


class TerminalProcess:
    """``pos-terminal ARGS`` run as flowkit.cli() runs it, but started with Popen so it can be killed."""

    def __init__(self, config: Path, data_dir: Path, *args: str, code: str | None = None) -> None:
        self.code = code
        cmd = [sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data_dir), *args]
        self.proc = track(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                           env=terminal_env()))
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, text: str, timeout: float = 20.0) -> str | None:
        """Block until a line contains ``text`` and return it; None if the process ended first."""
        def hit():
            return next((line for line in self.lines if text in line), None)
        with self.cond:
            self.cond.wait_for(lambda: self.eof or hit() is not None, timeout)
            return hit()

    def finish(self, timeout: float) -> str:
        """Wait for the process to end on its own; its stdout, once every stderr line is in ``lines``."""
        self.proc.wait(timeout=timeout)
        out = self.proc.stdout.read()
        self._reader.join(timeout=10)
        return out

    def kill(self) -> bool:
        """SIGKILL now; True if it was still running (False: it had finished on its own)."""
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode == -signal.SIGKILL
