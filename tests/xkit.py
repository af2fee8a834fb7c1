"""The end-to-end kit: the terminal as people use it, on a real X server (issue 15).

``Till`` starts Xvfb, then ``pos-terminal gui --kiosk`` in sandbox mode as the packaged kiosk starts it,
and drives it ONLY with synthesized X events (xdotool, through XTest): keys, typing at a person's speed
(150 ms a key) or a scanner's (4 ms a key, then Return), and clicks at the centre of a widget. What is on
screen is read back through the app's probe socket (ui/probe.py, a test hook enabled by
POS_TERMINAL_PROBE), never by calling a widget; outcomes through ``pos-terminal ... --json`` beside the
running terminal, and screenshots (``import -window root``).

Two screens: one wide Xvfb screen split into two RandR 1.5 monitors with ``xrandr --setmonitor``; Qt 6
takes each monitor as a QScreen. Xvfb runs with ``-noreset``: by default it resets (forgetting the
monitors) whenever its last client disconnects, as xrandr does before the app connects.

Missing tools (Xvfb, xdotool, ImageMagick's import, xrandr) skip the test, except under CI (env CI set),
where .ci/run installs them and a missing one fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from processes import terminal_env

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick", "xrandr": "x11-xserver-utils"}
PERSON_DELAY_MS = 150
SCANNER_DELAY_MS = 4
MM_PER_PX = 25.4 / 96

#: The Tills running now (the failure hook in tests/e2e/gui/conftest.py screenshots each).
running: list[Till] = []


def need_tools(*names: str) -> None:
    """Skip without them; under CI fail, since .ci/run installs them."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    packages = " ".join(sorted({TOOLS[name] for name in missing}))
    reason = f"the end-to-end kit needs {', '.join(missing)} (Debian: apt-get install {packages})"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must have them (.ci/run installs them)", pytrace=False)
    pytest.skip(reason)


def _kill_group(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, to the process group of ``proc`` (it was started in a session of its own)."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
    try:   # whatever else is left in its group (it has none today; a leftover would outlive the test)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=timeout)


class Till:
    """One terminal on one X server. ``start()`` returns once the window is up and the core is ready."""

    def __init__(self, folder: Path, size: tuple[int, int] = (1280, 800), screens: int = 1,
                 language: str = "en", artifacts: Path | None = None, config: Path | None = None) -> None:
        """``config``: a terminal.toml for a gateway of the test's own (one it can take down, e.g. a
        simulator on a held port: flowkit.write_config, flowkit.gateway_down); without it, sandbox mode."""
        self.folder = Path(folder)
        self.config = Path(config) if config is not None else None
        self.data_dir = self.folder / "data"
        self.size, self.screens, self.language = size, screens, language
        env_artifacts = os.environ.get("POS_E2E_ARTIFACTS")   # CI keeps it: a folder per till, by its own folder
        self.artifacts = Path(artifacts) if artifacts else (
            Path(env_artifacts) / f"{self.folder.parent.name}-{self.folder.name}" if env_artifacts
            else self.folder / "screenshots")
        self.display: str | None = None
        self.xvfb: subprocess.Popen | None = None
        self.app: subprocess.Popen | None = None
        # a short path: a unix socket's name is limited to 107 bytes, and pytest's tmp_path can be longer
        self._sock_dir = Path(tempfile.mkdtemp(prefix="xkit-"))
        self.probe_path = self._sock_dir / "probe"
        self._shots = 0

    # -- starting and stopping ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> Till:
        need_tools("Xvfb", "xdotool", "import", *(["xrandr"] if self.screens > 1 else []))
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sock_dir.mkdir(exist_ok=True)   # stop() removes it: a till started again listens there anew
        running.append(self)
        try:
            self._start_xvfb()
            self._start_app()
            self.wait_for(lambda p: p["ready"] and any(w["class"] == "CashierWindow" for w in p["windows"]),
                          what="the cashier window shown and the core ready", timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_xvfb(self) -> None:
        width, height = self.size
        read, write = os.pipe()
        try:
            # -displayfd: Xvfb picks a free display number and writes it once it accepts connections
            with open(self.folder / "xvfb.log", "wb") as log:
                self.xvfb = subprocess.Popen(
                    ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width * self.screens}x{height}x24",
                     "-nolisten", "tcp", "-noreset"],
                    pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
            os.close(write)
            write = -1
            number = b""
            while not number.endswith(b"\n"):
                chunk = os.read(read, 16)
                if not chunk:
                    raise RuntimeError(f"Xvfb did not start: {(self.folder / 'xvfb.log').read_text()[-2000:]}")
                number += chunk
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        self.display = ":" + number.decode().strip()
        if self.screens > 1:
            mm = f"{width}/{round(width * MM_PER_PX)}x{height}/{round(height * MM_PER_PX)}"
            # the first monitor takes over Xvfb's one output (so its automatic monitor goes), the others none
            for i in range(self.screens):
                name = "*CASHIER" if i == 0 else f"CUSTOMER{i}"
                self._x("xrandr", "--setmonitor", name, f"{mm}+{i * width}+0", "screen" if i == 0 else "none")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in terminal_env().items() if not k.startswith("QT_")}
        if self.config is not None:
            env["POS_TERMINAL_CONFIG"] = str(self.config)
        return {**env, "DISPLAY": self.display or "", "QT_QPA_PLATFORM": "xcb",
                "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def _start_app(self) -> None:
        cmd = [sys.executable, "-m", "pos_app", "gui", "--kiosk", "--no-scanners",
               "--data-dir", str(self.data_dir), "--language", self.language]
        self.app_log = self.folder / "app.log"
        with open(self.app_log, "ab") as log:
            self.app = subprocess.Popen(cmd, cwd=ROOT, env={**self.env(), "POS_TERMINAL_PROBE": str(self.probe_path)},
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def stop(self) -> None:
        """The app, then Xvfb: terminated, killed if they linger; nothing outlives this."""
        try:
            _kill_group(self.app)
        finally:
            try:
                _kill_group(self.xvfb)
            finally:
                shutil.rmtree(self._sock_dir, ignore_errors=True)
                if self in running:
                    running.remove(self)

    def __enter__(self) -> Till:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def app_output(self, tail: int = 4000) -> str:
        try:
            return self.app_log.read_text(errors="replace")[-tail:]
        except (OSError, AttributeError):
            return ""

    # -- input: X events only -------------------------------------------------------------------------
    def _x(self, *cmd: str) -> None:
        subprocess.run(cmd, env={**os.environ, "DISPLAY": self.display or ""}, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def key(self, *keys: str) -> None:
        """xdotool key names: "F1", "Escape", "Return", "Tab", "ctrl+a"."""
        self._x("xdotool", "key", "--delay", "40", *keys)

    def type(self, text: str, delay_ms: int = PERSON_DELAY_MS) -> None:
        """As a person types: about 150 ms a key."""
        self._x("xdotool", "type", "--delay", str(delay_ms), text)

    def scan(self, code: str) -> None:
        """As a wedge scanner types: about 4 ms a key, then Return, in one burst. ("\r" is typed as the
        Return key; "\n" would be Linefeed, and xdotool's type takes every word after it as text.)"""
        self._x("xdotool", "type", "--delay", str(SCANNER_DELAY_MS), code + "\r")

    def click_at(self, x: int, y: int) -> None:
        self._x("xdotool", "mousemove", "--sync", str(x), str(y), "click", "1")

    def click_on(self, label: str, timeout: float = 10.0) -> dict:
        """Click the centre of the visible, enabled widget whose text (without its & mnemonic) or objectName
        is ``label``; waits for it to be there. Returns the widget's probe entry."""
        def find(p):
            for window in p["windows"]:
                for w in window["widgets"]:
                    if w["enabled"] and label in (w["objectName"], _plain(w.get("text"))):
                        return w
            return None
        probe = self.wait_for(lambda p: find(p) is not None, what=f"a visible, enabled widget {label!r}",
                              timeout=timeout)
        widget = find(probe)
        x, y, w, h = widget["geometry"]
        self.click_at(x + w // 2, y + h // 2)
        return widget

    def click_cell(self, text: str, timeout: float = 10.0) -> list[int]:
        """Click the centre of the first table cell in sight whose text is ``text``; returns its rect."""
        def find(p):
            for window in p["windows"]:
                for w in window["widgets"]:
                    for r, rects in w.get("cell_geometry", {}).items():
                        row = w["rows"][int(r)]
                        if text in row:
                            return rects[row.index(text)]
            return None
        probe = self.wait_for(lambda p: find(p) is not None, what=f"a table cell {text!r} in sight", timeout=timeout)
        x, y, w, h = find(probe)
        self.click_at(x + w // 2, y + h // 2)
        return [x, y, w, h]

    # -- reading what is on screen ----------------------------------------------------------------------
    def probe(self) -> dict:
        """The app's visible windows and widgets, focus, screens and readiness (ui/probe.py)."""
        last: Exception | None = None
        for _attempt in range(3):
            if self.app is not None and self.app.poll() is not None:
                raise AssertionError(f"the terminal exited with {self.app.returncode}:\n{self.app_output()}")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(10)
                    sock.connect(str(self.probe_path))
                    data = b"".join(iter(lambda: sock.recv(65536), b""))
                answer = json.loads(data)
                if "error" in answer:
                    raise AssertionError(f"the probe failed inside the app: {answer['error']}")
                return answer
            except (FileNotFoundError, ConnectionRefusedError) as exc:   # not listening yet
                last = exc
                time.sleep(0.1)
        raise ConnectionError(f"the app's probe does not answer at {self.probe_path}: {last}")

    def wait_for(self, predicate: Callable[[dict], object], what: str, timeout: float = 20.0) -> dict:
        """Poll the probe until ``predicate(probe)`` is true; returns that probe. On timeout fails, with a
        screenshot saved and the visible text in the message."""
        deadline = time.monotonic() + timeout
        probe: dict | None = None
        while True:
            try:
                probe = self.probe()
                if predicate(probe):
                    return probe
            except ConnectionError:
                probe = None
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        shot = self.screenshot("timeout") if self.display else None
        seen = self.text(probe) if probe else "(the probe did not answer)"
        raise AssertionError(f"waited {timeout:g} s for {what}; screenshot: {shot}\nOn screen:\n{seen}\n"
                             f"App output:\n{self.app_output(1500)}")

    def window(self, probe: dict | None = None, cls: str | None = None) -> dict | None:
        """The active window (or the one of class ``cls``); with no active one, the last one shown."""
        windows = (probe or self.probe())["windows"]
        if cls is not None:
            return next((w for w in windows if w["class"] == cls), None)
        return next((w for w in windows if w["active"]), windows[-1] if windows else None)

    def text(self, probe: dict | None = None, cls: str | None = None) -> str:
        """All visible text of the active window (or of the window of class ``cls``), one widget a line;
        a table's headers and cells tab-separated, a row a line."""
        window = self.window(probe, cls)
        if window is None:
            return ""
        lines = [window["title"]]
        for w in window["widgets"]:
            if w.get("text"):
                lines.append(_plain(w["text"]))
            if "headers" in w:
                lines.append("\t".join(w["headers"]))
                lines.extend("\t".join(row) for row in w["rows"])
        return "\n".join(line for line in lines if line)

    def focus(self) -> dict | None:
        return self.probe()["focus"]

    def screenshot(self, name: str) -> Path:
        """The whole X screen (every monitor) as a PNG in the artifacts directory."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self._shots += 1
        path = self.artifacts / f"{self._shots:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        self._x("import", "-window", "root", str(path))
        return path

    # -- the terminal beside it -------------------------------------------------------------------------
    def cli(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0):
        """``pos-terminal ARGS --json --data-dir <the till's data dir>``: its JSON answer, parsed."""
        cmd = [sys.executable, "-m", "pos_app", *args, "--json", "--data-dir", str(self.data_dir)]
        done = subprocess.run(cmd, cwd=ROOT, env=self.env(), input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"pos-terminal {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        try:
            return json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            raise AssertionError(f"pos-terminal {' '.join(args)} --json printed no JSON:\n{done.stdout[-2000:]}"
                                 ) from None

    @property
    def sim_url(self) -> str:
        """The gateway's base URL: with ``config``, the one it names; in sandbox mode the embedded
        simulator's, which it writes into its terminal.toml (pos_app/sim/provision.py follows the port on
        every start)."""
        path = self.config or self.data_dir / "sandbox-gateway" / "terminal.toml"
        config = tomllib.loads(path.read_text())
        return config["gateway"]["url"]


def _plain(text: str | None) -> str | None:
    """A label's words without rich-text tags, entities and the & of a mnemonic."""
    if text is None:
        return None
    text = re.sub(r"<[^>]+>", "", text).replace("&nbsp;", " ").replace("&amp;", "\0")
    return re.sub(r"&(?=\S)", "", text).replace("\0", "&").replace("&lt;", "<").replace("&gt;", ">")
