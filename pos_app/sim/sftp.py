"""The gateway's SFTP server, as the sandbox plays it: the report tree, read-only, on 127.0.0.1.

Antom hands its reconciliation reports out over SFTP with a user and a password; the simulator does the same
with asyncssh (an SSH server in this process, no root, no system sshd). What it needs lives in
``<simulator folder>/sftp/``, made on first start and kept: ``password`` (mode 600), ``host_key`` (mode 600), the
``known_hosts`` a terminal checks the server with (rewritten at each start, since the port is in it) and,
optionally, ``authorized_keys`` (OpenSSH format) for key auth — OpenSSH's own client cannot type a password in a
batch, and a person may prefer keys.

Reports are written on demand: before a ``<yyyyMMdd>`` folder is listed or entered, its files are (re)written from
the ledger as they stand now (pos_app.sim.reports.write_folder), so a sandbox day can be fetched at once; listing the
merchant's folder does the same for yesterday, today and tomorrow (where today's batches settle), so they show.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import logging
import os
import posixpath
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import PosError
from ..settlement.ssh import asyncssh
from . import reports

log = logging.getLogger(__name__)

FOLDER = "sftp"
USER = "sandbox"
PASSWORD, HOST_KEY, KNOWN_HOSTS, AUTHORIZED_KEYS = "password", "host_key", "known_hosts", "authorized_keys"
_DATE_FOLDER = re.compile(r"/v1/settlements/([^/]+)/(\d{8})(/.*)?")
_READ_ACCESS = 0x1 | 0x8 | 0x80 | 0x20000 | 0x100000   # ACE4 read data/named attrs/attributes/ACL, synchronize


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def provision_sftp(data_dir: Path) -> Path:
    """Create what is missing of ``sftp/`` (password, host key); never overwrite what exists. Returns the folder."""
    folder = Path(data_dir) / FOLDER
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (folder / PASSWORD).exists():
            _write_secret(folder / PASSWORD, (secrets.token_urlsafe(18) + "\n").encode())
        if not (folder / HOST_KEY).exists():
            key = asyncssh().generate_private_key("ssh-ed25519")
            _write_secret(folder / HOST_KEY, key.export_private_key())
    except OSError as exc:
        raise PosError(f"cannot set up the simulator's SFTP server in {folder}: {exc.strerror} ({exc.filename})",
                       hint="pick a directory this user can write with --data-dir") from None
    return folder


def read_password(path: Path) -> str:
    return path.read_text().strip()


class SftpServer:
    """The report tree under ``root`` served read-only over SFTP on ``host:port`` (0: a free port), in a thread
    of its own running an asyncio loop."""

    def __init__(self, data_dir: Path, root: Path, ledger: Path, customer_id: str, *, host: str = "127.0.0.1",
                 port: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.folder = provision_sftp(data_dir)
        self.root, self.ledger, self.customer_id = Path(root), Path(ledger), customer_id
        self.host, self.port, self.clock = host, port, clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()

    @property
    def password_file(self) -> Path:
        return self.folder / PASSWORD

    @property
    def known_hosts(self) -> Path:
        return self.folder / KNOWN_HOSTS

    @property
    def authorized_keys(self) -> Path:
        return self.folder / AUTHORIZED_KEYS

    def url(self) -> str:
        return f"sftp://{USER}@{self.host}:{self.port}{reports.C.FOLDER.format(customer=self.customer_id, date='')}" \
            .rstrip("/")

    # -- the reports ----------------------------------------------------------------------------------
    def refresh(self, client_path: bytes) -> None:
        """Before a date folder of this merchant is looked at: its reports as of now."""
        path = posixpath.normpath("/" + client_path.decode("utf-8", "replace").lstrip("/"))   # "//x" stays "//x"
        if path == reports.C.FOLDER.format(customer=self.customer_id, date="").rstrip("/"):
            today = datetime.fromtimestamp(self.clock()).date()   # the merchant's folder: its recent days appear
            for back in (1, 0, -1):
                self.refresh_day(today - timedelta(days=back))
            return
        match = _DATE_FOLDER.fullmatch(path)
        if not match or match.group(1) != self.customer_id:
            return
        try:
            day = datetime.strptime(match.group(2), "%Y%m%d").date()
        except ValueError:
            return
        self.refresh_day(day)

    def refresh_day(self, day: date) -> None:
        try:
            reports.write_folder(self.ledger, self.root, day, self.customer_id, now=self.clock())
        except Exception:   # a listing still answers (with what is there); the cause is in the log
            log.exception("cannot write the reports of %s", day)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> SftpServer:
        ssh = asyncssh()
        try:
            key = ssh.read_private_key(self.folder / HOST_KEY)
            password = read_password(self.password_file)
        except (OSError, ValueError, ssh.KeyImportError) as unreadable:   # UnicodeDecodeError is a ValueError
            raise PosError(f"the simulator's SFTP host key or password in {self.folder} cannot be read: {unreadable}",
                           hint=f"remove {self.folder / HOST_KEY} and {self.password_file}: the simulator makes "
                                "new ones (and a new known_hosts) at its next start") from None
        self.root.mkdir(parents=True, exist_ok=True)
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                acceptor = loop.run_until_complete(self._listen(ssh, key, password))
            except Exception as exc:  # noqa: BLE001 -- handed to start(), which raises it in words
                failure.append(exc)
                loop.close()
                return
            finally:
                ready.set()
            try:
                loop.run_forever()
            finally:
                acceptor.close()
                for conn in list(self._connections):
                    conn.close()
                loop.run_until_complete(acceptor.wait_closed())
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=run, name="sim-sftp", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            exc = failure[0]
            if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
                raise PosError(f"SFTP port {self.port} on {self.host} is already in use",
                               hint="pick a free port with --sftp-port (0 picks one)") from None
            if isinstance(exc, OSError):
                raise PosError(f"the simulator's SFTP server cannot listen on {self.host}:{self.port}: {exc}",
                               hint="check --sftp-port") from None
            raise exc
        try:
            self.known_hosts.write_text(f"[{self.host}]:{self.port} {key.export_public_key().decode().strip()}\n")
        except OSError as unwritable:
            self.stop()
            raise PosError(f"cannot write {self.known_hosts}: {unwritable.strerror}",
                           hint="free some disk space, or pick a directory this user can write with --data-dir"
                           ) from None
        return self

    async def _listen(self, ssh, key, password: str):
        server = self
        authorized = self.authorized_keys

        class Auth(ssh.SSHServer):
            def connection_made(self, conn) -> None:
                server._connections.add(conn)
                self._conn = conn

            def connection_lost(self, exc) -> None:
                server._connections.discard(self._conn)

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, given: str) -> bool:
                return hmac.compare_digest(username.encode(), USER.encode()) & \
                    hmac.compare_digest(given.encode(), password.encode())

            def public_key_auth_supported(self) -> bool:
                return authorized.exists()

            def validate_public_key(self, username: str, client_key) -> bool:
                if username != USER:
                    return False
                try:
                    keys = ssh.read_authorized_keys(str(authorized))
                except (OSError, ValueError, ssh.KeyImportError):
                    return False
                return keys.validate(client_key, "", "127.0.0.1") is not None

        class ReadOnly(ssh.SFTPServer):
            """The report tree, chrooted, and nothing a client could change."""

            def __init__(self, chan) -> None:
                super().__init__(chan, chroot=str(server.root).encode())

            async def scandir(self, path: bytes):
                server.refresh(path)
                async for name in super().scandir(path):
                    yield name

            def stat(self, path: bytes):
                server.refresh(path)
                return super().stat(path)

            def open(self, path: bytes, pflags: int, attrs):
                if pflags & (ssh.FXF_WRITE | ssh.FXF_APPEND | ssh.FXF_CREAT | ssh.FXF_TRUNC | ssh.FXF_EXCL):
                    raise ssh.SFTPPermissionDenied("the report folder is read-only")
                if not os.path.exists(self.map_path(path)):
                    server.refresh(path)
                return super().open(path, pflags, attrs)

            def open56(self, path: bytes, desired_access: int, flags: int, attrs):
                if desired_access & ~_READ_ACCESS or (flags & ssh.FXF_ACCESS_DISPOSITION) != ssh.FXF_OPEN_EXISTING:
                    raise ssh.SFTPPermissionDenied("the report folder is read-only")
                return super().open56(path, desired_access, flags, attrs)

            def _refuse(self, *args, **kwargs):
                raise ssh.SFTPPermissionDenied("the report folder is read-only")

            write = setstat = lsetstat = fsetstat = remove = mkdir = rmdir = rename = posix_rename = _refuse
            symlink = link = _refuse

        acceptor = await ssh.listen(self.host, self.port, server_host_keys=[key], server_factory=Auth,
                                    sftp_factory=ReadOnly, allow_scp=False, agent_forwarding=False,
                                    x11_forwarding=False, allow_pty=False)
        self.port = acceptor.get_port()
        return acceptor

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
        self._loop = self._thread = None
