"""The hardware around the terminal: the scanners open (``scanners``), the customer display shows the
test pattern (``display``), and the report's list of devices.

The scanners are either the running GUI's hub (it holds them, grabbed) or a hub opened here for the run;
the display only the GUI can drive, so it hands in a callable. The drivers are imported when a check
runs, not when the self-test is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ScannersConfig
from ..errors import PosError
from .interactive import TEST_CODE
from .results import Check, failed, one_line, passed, skipped
from .storage import terminal_running

log = logging.getLogger(__name__)


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
        return skipped("scanners", "no scanner found (none configured, none discovered)",
                       "`pos-terminal devices` lists the input devices and why none counts as a scanner")
    bad = [r for r in rows if r.get("error") or not r.get("connected")]
    if bad:
        messages = [r.get("error") or f"{r['source']}: not connected" for r in bad]
        _, _, hint = messages[0].partition("\n")
        detail = "; ".join(one_line(m.partition("\n")[0]) for m in messages)
        hint = hint.strip().removeprefix("→").strip()
        if own_hub and "grab" in detail and terminal_running(data_dir):
            hint = "the running terminal holds the scanners: run the self-test from its technician screen"
        ok = len(rows) - len(bad)
        return failed("scanners", f"{len(bad)} of {len(rows)} scanner(s) cannot be used: {detail}"
                                  + (f" ({ok} open)" if ok else ""), hint or "`pos-terminal devices` says more")
    names = ", ".join(f"{r['source']} ({r['kind']})" for r in rows)
    return passed("scanners", f"{len(rows)} scanner(s) open: {names}")


def check_display(display: Callable[[str], Any] | None, *, absent: str | None = None) -> Check:
    """``display(test_code)`` shows the test pattern and QR and answers True, False or ``(ok, detail)``;
    None skips the check: ``absent`` says why when the caller knows (the technician screen itself, with no
    customer display in its session), else it is a headless run and only the technician screen can."""
    if display is None:
        if absent:
            return skipped("display", absent,
                           "connect the customer display as a second screen and restart the terminal")
        return skipped("display", "no customer display here: run from the technician screen",
                       "the technician screen shows a test pattern and a test QR on the customer display")
    try:
        answer = display(TEST_CODE)
    except PosError as exc:
        return failed("display", one_line(exc.message), exc.hint or "check the customer display's cable and power")
    except Exception as exc:  # noqa: BLE001 -- the screen's own failure is this check's answer
        return failed("display", f"the customer display failed: {type(exc).__name__}: {one_line(exc)}",
                      "check the customer display's cable and power")
    ok, detail = answer if isinstance(answer, tuple) else (bool(answer), "")
    if ok:
        return passed("display", detail or "the customer display shows the test pattern and the test QR")
    return failed("display", detail or "the customer display did not show the test pattern",
                  "check its cable and power, and that the desktop sees a second screen")


def device_report(hub, settings: ScannersConfig, level: str, displays) -> dict:
    """The report's ``devices``: each scanner's status row with its health text, the serial ports, and the
    ``displays`` handed in."""
    out: dict = {"scanners": [], "serial_ports": [], "displays": list(displays or [])}
    if hub is not None:
        by_source = {s.source: s for s in hub.scanners}
        for row in hub.status():
            scanner = by_source.get(row["source"])
            if scanner is not None:
                try:
                    row["health"] = scanner.check_health("external" if level != "internal" else "internal")
                except Exception as exc:  # noqa: BLE001 -- a report line, never a reason to lose the report
                    row["health"] = f"health check failed: {exc}"
            out["scanners"].append(row)
    try:
        from drivers.discovery import scan_serial_ports

        out["serial_ports"] = [p.to_json() for p in scan_serial_ports(settings)]
    except Exception as exc:  # noqa: BLE001 -- the list is a courtesy: the checks stand without it
        log.debug("listing serial ports failed: %s", exc)
    return out
