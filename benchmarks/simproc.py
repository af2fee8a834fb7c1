"""``pos-terminal sim`` in a child process, as a store technician would run it: the peer every benchmark
talks to, kept out of the measuring process so the two do not share a GIL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent


class SimProcess:
    started: ClassVar[list[SimProcess]] = []  # every one, so that all can be stopped at the end

    def __init__(self, data_dir: Path, port: int = 0, *, tls: bool = False) -> None:
        self.data_dir = data_dir
        self.tls = tls   # serve HTTPS (``sim --tls``): its CA is ``ca_file``, what a terminal's ca_bundle names
        self.proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sim", "--port", str(port), "--data-dir",
                                      str(data_dir), "--json", *(["--tls"] if tls else [])],
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        SimProcess.started.append(self)
        lines: list[str] = []
        while not lines or not lines[-1].startswith("}"):
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("the simulator did not start")
            lines.append(line)
        info = json.loads("".join(lines))
        self.url, self.client_id = info["url"], info["clientId"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.ca_file = Path(info["tls"]["ca"]) if info.get("tls") else None
        self.config_file = Path(info["config"])
        self.keys = Path(info["keys"])
        self.provisioned = SimpleNamespace(keys_dir=self.keys)  # what the SDK driver reads, as on a Simulator

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
