"""One self-test run: the checks of a level in order, each told what the earlier ones found.

The checks themselves live with their concern (config and keys, the data directory, the clock, the
devices, the network, the notification endpoint, the test scan); this module only sequences them, skips
a check whose cause another has already reported, turns a check's own crash into a failed line instead
of a lost report, and stops whatever the run started (the sandbox's simulator, a scanner hub).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, ScannersConfig, find_data_dir
from ..errors import PosError
from ..i18n import _
from . import config_keys, devices, interactive, network, notifications, printer, settlement, storage, store
from .clock import check_clock, check_skew
from .results import FAIL, LEVELS, NO_CONFIG, PASS, Check, Report, failed, one_line, passed, skipped

log = logging.getLogger(__name__)


@dataclass
class _Context:
    """What the checks of one run found, for the checks after them."""

    level: int
    config_file: Path | None
    data_dir: Path
    clock: Callable[[], float]
    config: Config | None = None
    sim: Any = None
    journal_newest: float | None = None
    proxy: Any = None               # the netpath.Proxy the gateway's calls take (the proxy check's)
    proxy_down: bool = False
    reachable: bool = False
    tls_failed: bool = False
    answer: tuple | None = None   # (response-time header of a verified answer, sent, received)
    hub: Any = None
    own_hub: bool = False
    running: Config | None = None   # the config the terminal running this run uses (the GUI's own)

    @property
    def sandbox(self) -> bool:
        return self.config_file is None

    @property
    def scanner_settings(self) -> ScannersConfig:
        return self.config.scanners if self.config is not None else ScannersConfig()

    def load_config(self) -> Check:
        if self.running is not None and self.sandbox:
            self.config = self.running
            return passed("config", _("sandbox: no config file (this terminal's embedded simulator at {url})").format(
                url=self.running.gateway.url))
        check, self.config, self.sim = config_keys.load(self.config_file, self.data_dir,
                                                        start_sandbox=self.level >= 2 and self.running is None)
        if self.running is not None:   # the file is checked as the next start will read it; the rest is live
            self.config = self.running
        return check

    def journal(self) -> Check:
        check, self.journal_newest = storage.inspect_journal(self.data_dir)
        return check

    def wall_clock(self) -> Check:
        return check_clock(self.clock(), self.journal_newest)

    def scanners(self, hub, input_dir, sys_dir, opener) -> Check:
        if hub is not None:
            self.hub = hub
        elif self.config is None and not self.sandbox:
            return skipped("scanners", _(NO_CONFIG))
        else:
            self.hub = devices.open_hub(self.scanner_settings, input_dir, sys_dir, opener)
            self.own_hub = True
        return devices.check_scanners(self.hub.status(), own_hub=self.own_hub, data_dir=self.data_dir)

    @property
    def where(self) -> str:
        path = self.config.path if self.config is not None else self.config_file
        return _("the sandbox") if self.sandbox else _("[gateway] url in {path}").format(path=path)

    def proxy_check(self) -> Check:
        if self.config is None:
            return skipped("proxy", _(NO_CONFIG))
        self.proxy_down = True   # until the check says otherwise (a proxy login that does not load raises)
        check, self.proxy = network.check_proxy(self.config.gateway, self.config.gateway.connect_timeout,
                                                where=str(self.config.path), sandbox=self.sandbox)
        self.proxy_down = check.status != PASS
        return check

    def gateway(self) -> Check:
        if self.config is None:
            return skipped("gateway", _(NO_CONFIG))
        if self.proxy_down:
            return skipped("gateway", _("the proxy cannot be reached (see proxy)"))
        check = network.check_reachable(self.config.gateway.url, self.config.gateway.connect_timeout,
                                        where=self.where, proxy=self.proxy)
        self.reachable = check.status == PASS
        return check

    def tls(self) -> Check:
        if self.config is None:
            return skipped("tls", _(NO_CONFIG))
        if not self.reachable and self.config.gateway.url.startswith("https:"):
            return skipped("tls", self.unreached())
        check = network.check_tls(self.config.gateway, self.proxy, self.clock(), where=str(self.config.path))
        self.tls_failed = check.status == FAIL
        return check

    def unreached(self) -> str:
        return _("the proxy cannot be reached (see proxy)") if self.proxy_down else \
            _("the gateway cannot be reached (see gateway)")

    def round_trip(self) -> Check:
        if self.config is None:
            return skipped("round-trip", _(NO_CONFIG))
        if not self.reachable:
            return skipped("round-trip", self.unreached())
        if self.tls_failed:
            return skipped("round-trip", _("the TLS handshake fails (see tls)"))
        check, self.answer = network.check_round_trip(self.config, self.clock)
        return check

    def skew(self) -> Check:
        if self.answer is None:
            return skipped("clock-skew", _("no verified answer from the gateway to compare with (see round-trip)"))
        return check_skew(*self.answer)

    def notifications(self) -> Check:
        if self.config is None:
            return skipped("notifications", _(NO_CONFIG))
        # the running terminal's own receiver (in sandbox mode too: its config has the port it listens on)
        return notifications.check_notifications(self.config, self.data_dir,
                                                 sandbox=self.sandbox and self.running is None)

    def scan(self, scan, prompt, timeout: float) -> Check:
        layout = self.config.scanners.layout if self.config else "us"
        return interactive.check_test_scan(self.hub, self.own_hub, layout, scan, prompt, timeout)

    def stop(self) -> None:
        if self.own_hub and self.hub is not None:
            self.hub.stop()
        if self.sim is not None:
            self.sim.stop()


def run(level: str = "internal", config_file: Path | str | None = None, data_dir: Path | str | None = None, *,
        running: Config | None = None, scanners=None, display: Callable[[str], Any] | None = None,
        display_absent: str | None = None, displays: list[dict] | None = None,
        clock: Callable[[], float] = time.time, input_dir: Path | str = "/dev/input",
        sys_dir: Path | str = "/sys/class/input", opener=None, printing=None,
        scan: Callable[[str, float], Any] | None = None, prompt: Callable[[str], None] | None = None,
        scan_timeout: float = interactive.SCAN_TIMEOUT, on_check: Callable[[Check], None] | None = None) -> Report:
    """Run the checks of ``level`` and those below it; never raises for what it finds.

    - ``config_file`` None is sandbox mode; ``data_dir`` None is the usual data directory.
    - ``running``: the config of the terminal this run is part of (the GUI passes its own). The gateway,
      round trip and notification checks then check exactly what that terminal uses (in sandbox mode its
      simulator and its receiver's port), and nothing is started. Without it, in sandbox mode, a terminal
      running on ``data_dir`` lends its simulator (:func:`pos_app.sandbox.start_sandbox`), so a
      ``pos-terminal selftest`` beside it neither starts a second one nor rewrites its terminal.toml.
    - ``scanners``: a running :class:`~drivers.hub.ScannerHub` (the GUI's, which holds the scanners) to
      report on; without it the scanners are opened here (``input_dir``, ``sys_dir``, ``opener`` as for
      the hub) and closed at the end.
    - ``display(test_code)`` shows the test pattern and QR on the customer display and returns True,
      False or ``(ok, detail)``; None skips the check, saying ``display_absent`` (the caller knows why there
      is none: the GUI on one screen) or else that only the technician screen can drive one.
      ``displays`` go into the report's devices.
    - ``printing``: the running till's :class:`~pos_app.printing.Printing`, which asks the printer and prints
      the test page (journaled); without it the printer is opened here and the page sent to it directly.
    - ``clock`` is the wall clock the clock checks judge.
    - Interactive: ``prompt(test_code)`` asks the person to scan; ``scan(test_code, timeout)`` returns the
      scan (a ScanEvent or the raw text) or None; without ``scan`` the hub opened here is listened to.
    - ``on_check(check)`` is called as each check ends (a screen's progress).
    """
    if level not in LEVELS:
        raise PosError(_("no self-test level {level}").format(level=repr(level)),
                       hint=_("the levels are internal, external and interactive"))
    data_dir = Path(data_dir) if data_dir is not None else find_data_dir(None)
    ctx = _Context(LEVELS.index(level) + 1, Path(config_file) if config_file is not None else None,
                   Path(data_dir), clock, running=running)
    report = Report(level, started_at=clock())

    def add(name: str, fn: Callable[[], Check]) -> None:
        started = time.perf_counter()
        try:
            check = fn()
        except PosError as exc:  # a person's error the check did not expect: still theirs to fix
            check = failed(name, one_line(exc.message), exc.hint or "")
        except Exception as exc:  # one broken check must not lose the others' results
            log.exception("self-test check failed")
            check = failed(name, _("the check itself failed: {error}: {reason}").format(
                               error=type(exc).__name__, reason=one_line(exc)),
                           _("this is a bug: run with -v and report it"))
        check = Check(check.name, check.status, one_line(check.detail), one_line(check.hint),
                      time.perf_counter() - started)
        report.checks.append(check)
        if on_check is not None:
            on_check(check)

    try:
        add("config", ctx.load_config)
        add("keys", lambda: config_keys.keys_of(ctx.config, sandbox=ctx.sandbox))
        add("journal", ctx.journal)
        add("disk", lambda: storage.check_disk(ctx.data_dir))
        add("clock", ctx.wall_clock)
        add("scanners", lambda: ctx.scanners(scanners, input_dir, sys_dir, opener))
        add("printer", lambda: printer.check_printer(ctx.config, printing))
        add("replication", lambda: store.check_replication(ctx.config, ctx.data_dir, ctx.clock()))
        if ctx.level >= 2:
            add("proxy", ctx.proxy_check)
            add("gateway", ctx.gateway)
            add("tls", ctx.tls)
            add("round-trip", ctx.round_trip)
            add("clock-skew", ctx.skew)
            add("notifications", ctx.notifications)
            add("store", lambda: store.check_store(ctx.config, ctx.data_dir))
            add("settlement", lambda: settlement.check_settlement(ctx.config))
            add("display", lambda: devices.check_display(display, absent=display_absent))
            add("test-page", lambda: printer.check_test_page(ctx.config, printing))
        if ctx.level >= 3:
            add("scan", lambda: ctx.scan(scan, prompt, scan_timeout))
        report.devices = devices.device_report(ctx.hub, ctx.scanner_settings, level, displays,
                                               ctx.config.printer if ctx.config is not None else None)
    finally:
        ctx.stop()
    store.write_last(ctx.data_dir, report)   # the heartbeat carries it (pos_app.store.fleet)
    return report
