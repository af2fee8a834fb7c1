"""Sandbox mode: with no configuration, the terminal runs against an embedded simulator.

The simulator keeps its keys and ledger in ``<data dir>/sandbox-gateway`` and listens on a free
loopback port, so a fresh machine needs no setup and no network to take a (pretend) payment.

One simulator per data directory. Whoever starts it (the terminal, or a one-off check such as
``pos-terminal status`` or ``selftest`` when no terminal runs) holds an flock on
``sandbox-gateway/gateway.lock`` while it runs, with its URL written in that file (first line) and the URL of
its SFTP report server (second line: the gateway's reconciliation reports, [settlement] sftp). A process that comes
second uses the running terminal's simulator instead of starting its own: a second simulator would
rewrite ``terminal.toml`` to its own port (the simulator's provisioning follows its port), leave the
running terminal's file pointing at a dead port once it stopped, and serve the same ledger twice. A
second process that finds another one-off check's simulator waits for it to finish rather than use a
gateway about to go away. The kernel drops the flock when its holder dies, even by ``kill -9``.

With ``POS_TERMINAL_SANDBOX_TLS=1`` the embedded simulator serves HTTPS from its own CA
(``sandbox-gateway/tls/ca.pem``, the config's ca_bundle): the terminal then takes the production path, TLS
verification included. The record holds the https URL, so a second process reaches it the same way. A sandbox
config always goes ``proxy = "direct"``: the simulator is on loopback, and a store's proxy variables must not
capture it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import replace
from pathlib import Path

from offline_queue.lock import make_private_dir

from .config import Config, load_config
from .errors import PosError
from .i18n import N_, _
from .sim import Simulator

log = logging.getLogger(__name__)

FOLDER = "sandbox-gateway"
RECORD = "gateway.lock"
TLS_VARIABLE = "POS_TERMINAL_SANDBOX_TLS"
#: The way out a sandbox's gateway calls take, as status and the self-test say it: direct by the sandbox's own rule
#: (its config is made in memory with proxy = "direct"), not by a [gateway] proxy a person could find in a file.
DIRECT = N_("direct: the sandbox's gateway simulator runs on this machine, never through a proxy")
BUSY_WAIT = 30.0       # seconds a second process waits for another one-off check's simulator to stop
POLL = 0.05


class _SandboxSimulator(Simulator):
    """The embedded simulator holding the sandbox's record: written with its URL once it listens, emptied
    and released when it stops."""

    def __init__(self, folder: Path, record: int, tls: bool) -> None:
        super().__init__(folder, "127.0.0.1", 0, sftp_port=0, tls=tls)
        self._record: int | None = record

    def start(self) -> _SandboxSimulator:
        super().start()
        assert self._record is not None, "a simulator's record is released only by stop()"
        os.ftruncate(self._record, 0)
        os.pwrite(self._record, f"{self.url}\n{self.sftp_url}\n".encode(), 0)
        return self

    def stop(self) -> None:
        super().stop()
        record, self._record = self._record, None
        if record is not None:
            try:
                os.ftruncate(record, 0)   # a reader never sees the URL of a simulator that has stopped
            finally:
                os.close(record)          # drops the flock


def sandbox_tls(environ=os.environ) -> bool:
    """Whether the embedded simulator serves HTTPS: ``POS_TERMINAL_SANDBOX_TLS=1``; unset, empty or 0: plain HTTP.
    Any other value is said in words: taken silently as "no", a person who wrote ``yes`` would test plain HTTP
    believing it TLS."""
    value = environ.get(TLS_VARIABLE, "")
    if value.strip() in ("1", "0", ""):
        return value.strip() == "1"
    raise PosError(_("{name}={value}: expected 1 (the sandbox gateway over HTTPS) or 0 (plain HTTP)").format(
        name=TLS_VARIABLE, value=repr(value)), hint=_("set {name}=1, or unset it").format(name=TLS_VARIABLE))


def _recorded(record: int) -> tuple[str, str | None]:
    """The running simulator's URL and its SFTP URL (None from a record without one)."""
    lines = os.pread(record, 4096, 0).decode("utf-8", "replace").splitlines()
    url = lines[0].strip() if lines else ""
    sftp = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    return url, sftp


def _config(folder: Path, url: str, sftp: str | None) -> Config:
    """The sandbox's config with its URLs following the running simulator's ports (and scheme: over https, its
    CA), never through a proxy."""
    config = load_config(folder / "terminal.toml")
    ca_bundle = folder / "tls" / "ca.pem" if url.startswith("https://") else None
    config = replace(config, gateway=replace(config.gateway, url=url, ca_bundle=ca_bundle, proxy="direct",
                                             proxy_credentials=None))
    if sftp is not None and config.settlement is not None:
        config = replace(config, settlement=replace(config.settlement, sftp=sftp))
    return config


def start_sandbox(data_dir: Path, *, busy_wait: float = BUSY_WAIT) -> tuple[Simulator | None, Config]:
    """The sandbox's gateway and a config pointing at it.

    Returns ``(simulator, config)``: the simulator was started here and the caller stops it. Returns
    ``(None, config)`` when a terminal running on ``data_dir`` already runs it: the config points at that
    simulator, nothing was started and no file was written (a second window is then refused by the
    instance lock, as before)."""
    from .selftest.storage import terminal_running

    tls = sandbox_tls()   # a garbage value said before anything is made
    data_dir = Path(data_dir)
    make_private_dir(data_dir)   # made here first (not by the simulator's keys folder): 0700, like the journal's
    folder = data_dir / FOLDER
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        record = os.open(folder / RECORD, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise PosError(_("cannot set up the sandbox gateway in {folder}: {reason}").format(folder=folder,
                                                                                         reason=exc.strerror),
                       hint=_("pick a directory this user can write with --data-dir")) from None
    deadline = time.monotonic() + busy_wait
    try:
        while True:
            try:
                fcntl.flock(record, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            url, sftp = _recorded(record)
            if url and terminal_running(data_dir):
                log.info("sandbox: using the running terminal's gateway simulator at %s", url)
                os.close(record)
                return None, _config(folder, url, sftp)
            if time.monotonic() > deadline:
                raise PosError(_("the sandbox gateway in {folder} is held by another pos-terminal process that "
                                 "is not a running terminal (waited {seconds} s)").format(
                                   folder=folder, seconds=f"{busy_wait:g}"),
                               hint=_("let the other command finish (a status or self-test), then try again"))
            time.sleep(POLL)
        os.ftruncate(record, 0)   # a holder killed with kill -9 left its URL
        sim = _SandboxSimulator(folder, record, tls)
    except BaseException:
        os.close(record)
        raise
    try:
        sim.start()
        config = _config(folder, sim.url, sim.sftp_url)
    except BaseException:
        sim.stop()
        raise
    log.info("sandbox: the embedded gateway simulator listens on %s (reports over SFTP: %s)", sim.url,
             sim.sftp_url)
    return sim, config
