"""Everything a running terminal needs, started and stopped together: the one way every front end
(the CLI today, the Qt windows later) brings the terminal up.

- sandbox mode when there is no config: the embedded simulator, and a receiver on a free loopback port;
- the journal, with recovery of whatever an earlier run left open;
- the notification receiver on ``[notifications] listen``;
- the print worker (:mod:`pos_app.printing`), before the reconciler, so a sale it settles gets its receipt;
- the background reconciler;
- with ``[store]`` on a till, the replicator (:mod:`pos_app.store.replicator`): its own thread, after the
  journal is open, never in a payment's way; a store that does not answer only delays the shipping.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from offline_queue.reconciler import Reconciler

from . import signing
from .config import Config, load_config
from .i18n import _
from .receiver import NotificationReceiver
from .terminal import Terminal

if TYPE_CHECKING:   # the simulator is imported when sandbox mode starts it, not with every runtime
    from .printing import Printing
    from .sim import Simulator
    from .store.replicator import Replicator

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, config_file: Path | None, data_dir: Path, *, receiver: bool = True,
                 background: bool = True, printing: bool | None = None) -> None:
        self.config_file = config_file
        self.data_dir = data_dir
        self.want_receiver = receiver
        self.want_background = background
        self.want_printing = background if printing is None else printing   # a running till prints; a one-off need not
        self.sim: Simulator | None = None   # sandbox mode's embedded gateway
        self.receiver: NotificationReceiver | None = None
        self.reconciler: Reconciler | None = None
        self.terminal: Terminal | None = None
        self.printing: Printing | None = None
        self.replicator: Replicator | None = None
        self.warnings: list[str] = []

    @property
    def sandbox(self) -> bool:
        return self.config_file is None

    def start(self) -> Runtime:
        try:
            config = self._config()
            if self.want_receiver and self.sandbox:  # a free loopback port: its URL goes into the pays
                config = self._start_receiver(config)
            self.terminal = Terminal(config, self.data_dir)  # takes the instance lock
            if self.want_receiver and not self.sandbox:  # so a refused second instance does not try to listen
                self._start_receiver(config)
            if self.receiver is not None:
                self.receiver.apply = self.terminal.apply_notification
            if self.want_printing:
                from .printing import Printing
                self.printing = Printing(self.terminal, config).start()
            if self.want_background and config.store is not None and config.store.role == "till":
                self._start_replicator(config)
            if self.want_background:
                t = self.terminal
                self.reconciler = Reconciler(t.advance_due, t.journal.next_due_at, t.changed,
                                             housekeeping=t.housekeeping).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_replicator(self, config: Config) -> None:
        assert config.store is not None and self.terminal is not None
        try:
            from .store.replicator import Replicator
        except ImportError as exc:   # psycopg missing: the till still sells; the store waits (status says why)
            self.warnings.append(_("store replication is off: {reason}").format(reason=exc))
            print("pos-terminal: " + _("warning: {text}").format(text=self.warnings[-1]), file=sys.stderr)
            return
        from .store.fleet import facts
        journal, data_dir = self.terminal.journal, self.data_dir
        self.replicator = Replicator(journal, config.store, config.merchant.terminal_id,
                                     facts=lambda: facts(journal, data_dir)).start()

    def _config(self) -> Config:
        if self.config_file is not None:
            return load_config(self.config_file)
        from .sandbox import start_sandbox
        self.sim, config = start_sandbox(self.data_dir)
        return config

    def _start_receiver(self, config: Config) -> Config:
        n = config.notifications
        gateway_key = signing.load_public_key(config.gateway.gateway_public_key, "[gateway] gateway_public_key")
        host, port = (("127.0.0.1", 0) if self.sandbox else (n.listen_host, n.listen_port))

        def not_ready(body):  # until the journal is open, let the gateway resend
            raise RuntimeError("the terminal is starting")
        try:
            self.receiver = NotificationReceiver(host, port, config.gateway.client_id, gateway_key, not_ready).start()
        except OSError as exc:
            self.warnings.append(_("notifications: cannot listen on {address} ({reason}); results are still settled "
                                   "by inquiry").format(address=f"{host}:{port}", reason=exc.strerror))
            print("pos-terminal: " + _("warning: {text}").format(text=self.warnings[-1]), file=sys.stderr)
            return config
        if self.sandbox:
            url = f"http://127.0.0.1:{self.receiver.port}/notify"
            config = replace(config, notifications=replace(n, listen_port=self.receiver.port, public_url=url))
            if self.sim is not None:   # the store's entry code is paid by notification only: point it here
                self.sim.notify_entry_code_to(url)
        return config

    def stop(self) -> None:
        if self.reconciler is not None:
            self.reconciler.stop()
            self.reconciler = None
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        if self.printing is not None:   # what is queued prints (or waits in the journal) before it closes
            self.printing.stop()
            self.printing = None
        if self.replicator is not None:   # last before the journal closes: it ships what the others journaled
            self.replicator.stop()
            self.replicator = None
        if self.terminal is not None:
            self.terminal.close()
            self.terminal = None
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


