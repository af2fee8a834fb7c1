"""The hardware around the terminal: the scanners open (``scanners``), the customer display shows the
test pattern (``display``), and the report's list of devices.

The scanners are either the running GUI's hub (it holds them, grabbed) or a hub opened here for the run;
the display only the GUI can drive, so it hands in a callable. The drivers are imported when a check
runs, not when the self-test is imported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import PrinterConfig, ScannersConfig
from ..errors import PosError
from ..i18n import N_, _
from .interactive import TEST_CODE
from .results import Check, failed, one_line, passed, skipped
from .storage import terminal_running

log = logging.getLogger(__name__)

#: The drivers' words for a scanner that cannot be grabbed (drivers/hid.py, drivers/discovery.py): when the
#: run opened its own hub, the program holding it may be a terminal running on the data directory.
GRAB_REFUSALS = (N_("scanner {path}: another program has grabbed it, so its scans go there"),
                 N_("scanner {path}: cannot grab it: {reason}"),
                 N_("input device {path}: another program has it (grabbed)"))


def grab_refused(rows: list[dict]) -> bool:
    """Whether a row's error is a refused grab, said in English or in the person's language (the drivers
    translate their errors as they raise them)."""
    patterns = [re.compile(".*".join(re.escape(part) for part in re.split(r"\{\w+\}", text)))
                for template in GRAB_REFUSALS for text in {template, _(template)}]
    return any(pattern.search(str(row.get("error") or "")) for pattern in patterns for row in rows)


def open_hub(settings: ScannersConfig, input_dir, sys_dir, opener=None):
    """A started :class:`~drivers.hub.ScannerHub` for the configured and discovered scanners (the caller
    stops it); ``opener`` opens a device node, as for the hub."""
    from drivers.hub import ScannerHub

    kw = {} if opener is None else {"opener": opener}
    return ScannerHub(settings, input_dir=input_dir, sys_dir=sys_dir, serial=True, watch=False, **kw).start()


def check_scanners(rows: list[dict], *, own_hub: bool, data_dir: Path) -> Check:
    """Judge the hub's status rows: every scanner found must be open. ``own_hub`` says the hub was opened
    for this run (then a scanner that cannot be grabbed may be held by a terminal running on ``data_dir``)."""
    if not rows:
        return skipped("scanners", _("no scanner found (none configured, none discovered)"),
                       _("`pos-terminal devices` lists the input devices and why none counts as a scanner"))
    bad = [r for r in rows if r.get("error") or not r.get("connected")]
    if bad:
        messages = [r.get("error") or _("{source}: not connected").format(source=r["source"]) for r in bad]
        _first, _sep, hint = messages[0].partition("\n")
        detail = "; ".join(one_line(m.partition("\n")[0]) for m in messages)
        hint = hint.strip().removeprefix("→").strip()
        if own_hub and grab_refused(bad) and terminal_running(data_dir):
            hint = _("the running terminal holds the scanners: run the self-test from its technician screen")
        ok = len(rows) - len(bad)
        words = _("{bad} of {count} scanner(s) cannot be used: {detail}").format(bad=len(bad), count=len(rows),
                                                                                detail=detail)
        if ok:
            words += _(" ({ok} open)").format(ok=ok)
        return failed("scanners", words, hint or _("`pos-terminal devices` says more"))
    names = ", ".join(_("{source} ({kind})").format(source=r["source"], kind=_(r["kind"])) for r in rows)
    return passed("scanners", _("{count} scanner(s) open: {names}").format(count=len(rows), names=names))


def check_display(display: Callable[[str], Any] | None, *, absent: str | None = None) -> Check:
    """``display(test_code)`` shows the test pattern and QR and answers True, False or ``(ok, detail)``;
    None skips the check: ``absent`` says why when the caller knows (the technician screen itself, with no
    customer display in its session), else it is a headless run and only the technician screen can."""
    if display is None:
        if absent:
            return skipped("display", absent,
                           _("connect the customer display as a second screen and restart the terminal"))
        return skipped("display", _("no customer display here: run from the technician screen"),
                       _("the technician screen shows a test pattern and a test QR on the customer display"))
    try:
        answer = display(TEST_CODE)
    except PosError as exc:
        return failed("display", one_line(exc.message),
                      exc.hint or _("check the customer display's cable and power"))
    except Exception as exc:  # noqa: BLE001 -- the screen's own failure is this check's answer
        return failed("display", _("the customer display failed: {error}: {reason}").format(
                          error=type(exc).__name__, reason=one_line(exc)),
                      _("check the customer display's cable and power"))
    ok, detail = answer if isinstance(answer, tuple) else (bool(answer), "")
    if ok:
        return passed("display", detail or _("the customer display shows the test pattern and the test QR"))
    return failed("display", detail or _("the customer display did not show the test pattern"),
                  _("check its cable and power, and that the desktop sees a second screen"))


def device_report(hub, settings: ScannersConfig, level: str, displays, printer: PrinterConfig | None = None) -> dict:
    """The report's ``devices``: each scanner's status row with its health text, the serial ports, the
    ``displays`` handed in, and the printers (the configured ``printer`` asked for its status)."""
    out: dict = {"scanners": [], "serial_ports": [], "displays": list(displays or []), "printers": []}
    if hub is not None:
        by_source = {s.source: s for s in hub.scanners}
        for row in hub.status():
            scanner = by_source.get(row["source"])
            if scanner is not None:
                try:
                    row["health"] = scanner.check_health("external" if level != "internal" else "internal")
                except Exception as exc:  # noqa: BLE001 -- a report line, never a reason to lose the report
                    row["health"] = _("health check failed: {reason}").format(reason=exc)
            out["scanners"].append(row)
    try:
        from drivers.discovery import scan_serial_ports

        out["serial_ports"] = [p.to_json() for p in scan_serial_ports(settings)]
    except Exception as exc:  # noqa: BLE001 -- the list is a courtesy: the checks stand without it
        log.debug("listing serial ports failed: %s", exc)
    try:
        from drivers.printer import find_printers

        out["printers"] = [p.to_json() for p in find_printers(printer)]
    except Exception as exc:  # noqa: BLE001 -- as for the serial ports
        log.debug("listing printers failed: %s", exc)
    return out
