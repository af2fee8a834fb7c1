"""A real CONNECT proxy for the tests: Debian's tinyproxy, on a loopback port, with its own config and log.

A store's proxy is a separate process the terminal does not control: it may be down, refuse a CONNECT (403),
want a login (407), or die while a tunnel carries a payment. tinyproxy does each for real. The port is held
(bound, not listening) from creation to :meth:`Tinyproxy.stop`, so while the proxy is killed a connect to it
is refused, as to a proxy that is down, and :meth:`Tinyproxy.start` brings it back on the same port.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
START_WITHIN = 10.0  # seconds for tinyproxy to listen: it reads a ten-line config and binds one port


class Tinyproxy:
    """``Tinyproxy(folder, connect_ports=[443], basic_auth=("user", "pass"), filter_hosts=["127.0.0.1"])``.

    connect_ports: the only ports a CONNECT may open (others answer 403; None = any port);
    basic_auth: the login the proxy asks for (407 without it; letters, digits, -._ only);
    filter_hosts: the only hosts it lets through (others answer 403)."""

    def __init__(self, folder: Path | str, *, connect_ports: list[int] | None = None,
                 basic_auth: tuple[str, str] | None = None, filter_hosts: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o777)  # as root tinyproxy may drop to another user, who must write the log
        self._held = socket.socket()
        self._held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._held.bind(("127.0.0.1", 0))
        self.port: int = self._held.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = self.folder / "tinyproxy.log"
        self.config_file = self.folder / "tinyproxy.conf"
        self.process: subprocess.Popen | None = None
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 60", f'LogFile "{self.log_file}"',
                 "LogLevel Info", "MaxClients 64", "Allow 127.0.0.1", "DisableViaHeader Yes"]
        if os.geteuid() == 0:
            lines += ["User root", "Group root"]
        lines += [f"ConnectPort {port}" for port in connect_ports or ()]
        if basic_auth is not None:
            if not all(re.fullmatch(r"[-A-Za-z0-9._]+", word) for word in basic_auth):
                raise ValueError("tinyproxy's BasicAuth takes letters, digits, '-', '.' and '_' only")
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        if filter_hosts is not None:
            hosts = self.folder / "filter"
            hosts.write_text("".join(f"^{host.replace('.', '[.]')}$\n" for host in filter_hosts))
            lines += [f'Filter "{hosts}"', "FilterType ere", "FilterDefaultDeny Yes"]
        self.config_file.write_text("\n".join(lines) + "\n")

    def start(self) -> Tinyproxy:
        """Start it in the foreground (-d) and return once it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.log_file.touch()
        os.chmod(self.log_file, 0o666)
        self.process = subprocess.Popen([TINYPROXY, "-d", "-c", str(self.config_file)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + START_WITHIN
        while True:
            if self.process.poll() is not None:
                errors = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"tinyproxy exited ({self.process.returncode}): {errors}\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > end:
                    self.kill()
                    raise RuntimeError(f"tinyproxy did not listen on {self.port} within {START_WITHIN:g} s:\n"
                                       f"{self.log()}") from None
                time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: every tunnel it carries drops at once, as when a proxy box loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._reap()

    def stop(self) -> None:
        """Stop it for good and let the port go."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reap()
        self._held.close()

    def _reap(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Its log so far (CONNECT requests appear as ``CONNECT host:port``)."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def connects(self) -> list[str]:
        """The host:port of each CONNECT it was asked for, in order."""
        found = []
        for line in self.log().splitlines():
            if "): CONNECT " in line:
                found.append(line.split("): CONNECT ", 1)[1].split()[0])
        return found

    def __enter__(self) -> Tinyproxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
