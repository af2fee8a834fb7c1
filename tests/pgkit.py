"""A real PostgreSQL for the tests (issue 17): a throwaway cluster in a temporary directory, made with the
server's own ``initdb`` and run with ``pg_ctl``, listening on 127.0.0.1 on a free port and on a socket in its
own folder. Nothing is shared with a system cluster.

PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to the unprivileged ``postgres``
account the Debian package creates, and its commands run through ``runuser``; as anyone else they run as that
user. ``stop(mode="immediate")`` is a crash as far as the server is concerned (no checkpoint; recovery at the
next start), which is what the replication tests need to do mid-batch.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SERVICE_USER = "postgres"   # Debian's: made by the postgresql package


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries here (CI installs them: .ci/run)."""


def bindir() -> Path:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), else PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    raise PostgresMissing("no PostgreSQL server here: install Debian's postgresql package")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster in ``folder``: ``start()``, ``stop(mode)``, ``url(user, dbname)``, ``psql(sql)``."""

    def __init__(self, folder: Path, *, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sockets = self.folder / "run"
        self.log = self.folder / "server.log"
        self.port = port or free_port()
        self.bin = bindir()
        self.as_root = os.geteuid() == 0
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self.as_root:   # the server's own account owns what it writes
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, SERVICE_USER)
            shutil.chown(self.sockets, SERVICE_USER)

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=self.folder)
        if check and done.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}\n{tail}")
        return done

    def init(self) -> Cluster:
        """initdb: UTF-8; the superuser trusted on the socket and 127.0.0.1, other roles by password."""
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                      "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
            # First match wins: the superuser on the socket and on 127.0.0.1 without a password (the tests'
            # own setup), every other role with its password (scram), as a store's server would ask.
            (self.data / "pg_hba.conf").write_text(
                "local all all trust\n"
                "host all postgres 127.0.0.1/32 trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n")
        return self

    def start(self, timeout: float = 60) -> Cluster:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=on "
                   "-c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", str(int(timeout)),
                  "start", timeout=timeout + 10)
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (a clean shutdown) or ``immediate`` (a crash: recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def url(self, user: str = "postgres", dbname: str = "postgres", password: str | None = None) -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` as the superuser through the server's own client on the socket; its output."""
        return self._run("psql", "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres", "-d", dbname,
                         "-v", "ON_ERROR_STOP=1", "-qAtc", sql).stdout

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {timeout} s")
            time.sleep(0.1)

    def __enter__(self) -> Cluster:
        return self.init().start()

    def __exit__(self, *exc) -> None:
        self.stop("immediate")
