"""An Antom-compatible gateway simulator: the sandbox the terminal runs against by default, and the
real HTTP peer of every test. ``Simulator(dir).start()`` in-process, or ``pos-terminal sim``. With
``sftp_port`` it also serves the gateway's reconciliation reports over SFTP (pos_app.sim.sftp); with ``tls`` it
serves HTTPS with a certificate from its own private CA (pos_app.sim.tls), as a real gateway is reached."""

from __future__ import annotations

import errno
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .. import signing
from ..errors import PosError
from ..i18n import N_
from .engine import Engine
from .ledger import open_ledger
from .notifier import Notifier
from .provision import DEFAULT_CLIENT_ID, Provisioned, add_entry_code, add_settlement, provision, store_of
from .server import SimServer
from .tls import TlsFiles, ensure_tls

if TYPE_CHECKING:
    from .sftp import SftpServer

__all__ = ["DEFAULT_CLIENT_ID", "Simulator"]


class Simulator:
    def __init__(self, data_dir: Path | str, host: str = "127.0.0.1", port: int = 8080, *,
                 client_id: str = DEFAULT_CLIENT_ID, notify_time_scale: float = 1.0,
                 cancel_window: float = 86400.0, refund_window: float = 365 * 86400.0,
                 order_code_ttl: float = 600.0, sftp_port: int | None = None, tls: bool = False) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.host, self.port = host, port
        self.client_id = client_id
        self.notify_time_scale = notify_time_scale
        self.cancel_window, self.refund_window, self.order_code_ttl = cancel_window, refund_window, order_code_ttl
        self._provisioned: Provisioned | None = None
        self.server: SimServer | None = None
        self.notifier: Notifier | None = None
        self._thread: threading.Thread | None = None
        self.sftp_port = sftp_port   # None: no SFTP server; 0: a free port
        self.sftp: SftpServer | None = None   # its SFTP server, while it runs
        self.entry_code: str | None = None   # the provisioned store's static entry code, issued at start
        self.tls = tls
        self.tls_files: TlsFiles | None = None   # its CA and server certificate, once started with tls

    @property
    def provisioned(self) -> Provisioned:
        """Its keys and a terminal.toml that reaches it: made (or found) by :meth:`start`."""
        if self._provisioned is None:
            raise RuntimeError("the simulator is provisioned by start(); it has not been started")
        return self._provisioned

    @property
    def url(self) -> str:
        """Where a terminal on this machine reaches the simulator (a wildcard bind is reached on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The CA certificate a terminal trusts this simulator by (``[gateway] ca_bundle``)."""
        if self.tls_files is None:
            raise RuntimeError("the simulator serves no TLS (start it with tls=True)")
        return self.tls_files.ca

    @property
    def reports_dir(self) -> Path:
        """The SFTP root: ``v1/settlements/<client id>/<yyyyMMdd>/`` under it (pos_app.sim.reports)."""
        return self.data_dir / "reports"

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "sim-ledger.sqlite"

    @property
    def sftp_url(self) -> str:
        """``sftp://<user>@127.0.0.1:<port>/v1/settlements/<client id>``: the folder of the report folders."""
        if self.sftp is None:
            raise RuntimeError("the simulator serves no SFTP (start it with sftp_port)")
        return self.sftp.url()

    def start(self) -> Simulator:
        """Bind, provision on first start, open the ledger and serve in a background thread."""
        server = self._bind()
        db = None
        try:
            self.port = server.server_address[1]
            if self.tls:
                self.tls_files = ensure_tls(self.data_dir, [self.host])
                server.use_tls(self.tls_files.cert, self.tls_files.key)
            self._provisioned = provision(self.data_dir, self.url, self.client_id)
            keys = self._provisioned.keys_dir
            gateway_key = signing.load_private_key(keys / "gateway_private.pem", N_("simulator gateway key"))
            merchant_public = signing.load_public_key(keys / "merchant_public.pem",
                                                      N_("simulator merchant public key"))
            db = open_ledger(self.ledger_file)
            engine = Engine(db, cancel_window=self.cancel_window, refund_window=self.refund_window,
                            order_code_ttl=self.order_code_ttl)
            server.setup(engine, self.client_id, gateway_key, merchant_public)
            merchant, notify_url = store_of(self._provisioned.config_file)
            self.entry_code = engine.issue_entry_code(merchant, notify_url)   # the same code on every start
            add_entry_code(self._provisioned.config_file, self.entry_code)
            self.notifier = Notifier(engine, self.client_id, gateway_key, time_scale=self.notify_time_scale)
            engine.on_notification = self.notifier.submit
            if self.sftp_port is not None:
                from .sftp import SftpServer
                sftp = self.sftp = SftpServer(self.data_dir, self.reports_dir, self.ledger_file, self.client_id,
                                              port=self.sftp_port).start()
                self.sftp_port = sftp.port
                add_settlement(self._provisioned.config_file, sftp.url(), self.client_id)
        except BaseException:
            if self.sftp is not None:
                self.sftp.stop()
                self.sftp = None
            self.notifier = None   # made, never started: stop() must not join its thread
            if db is not None:
                db.close()
            server.server_close()
            raise
        self.server = server
        self.notifier.start()
        # The accept loop looks at a stop request once per poll interval, so stop() waits up to that long: 0.05 s
        # keeps a stop quick (tests start and stop hundreds) for 20 idle wake-ups a second.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-http", daemon=True)
        self._thread.start()
        return self

    def _bind(self) -> SimServer:
        SimServer.address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            return SimServer((self.host, self.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PosError(f"port {self.port} on {self.host} is already in use (another simulator?)",
                               hint="stop the other program, or pick a free port with --port") from None
            raise PosError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                           hint="check --host; 127.0.0.1 keeps the simulator on this machine") from None

    def notify_entry_code_to(self, url: str) -> None:
        """Where the store's entry-code payments are notified (sandbox mode: the receiver's free port)."""
        if self.server is None or self.entry_code is None:
            raise RuntimeError("the simulator is not running")
        self.server.engine.set_entry_code_notify(self.entry_code, url)

    def wait(self) -> None:
        """Block until stopped (the CLI's foreground mode)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server.close_connections()
        if self.notifier is not None:
            self.notifier.stop()
        if self.sftp is not None:
            self.sftp.stop()
        if self.server is not None:
            self.server.engine.db.close()
        self.server = self.notifier = self._thread = self.sftp = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
