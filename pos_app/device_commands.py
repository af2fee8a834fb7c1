"""The technician's device tools behind ``devices`` and ``scanner record|replay|listen``.

They drive the same drivers the cashier screen uses (the hub, the decoder, the serial reader), so what a
technician sees here is what the till gets. Payment codes are masked in ``listen`` unless ``--reveal``:
a customer's code scanned during a test is still a customer's code. ``replay`` prints what the trace
holds, since the trace already holds it. The ``pos-terminal`` options are bound in
:mod:`pos_app.cli.technician`; each tool prints through the CLI's one output path (``opts.json``).
"""

from __future__ import annotations

import errno
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import scan
from .config import PrinterConfig, ScannersConfig, SerialScannerConfig, find_config_file, load_config
from .errors import PosError
from .i18n import _


def scanner_settings(config: str | None) -> ScannersConfig:
    """[scanners] from the config file when there is one; the defaults in sandbox mode."""
    file = find_config_file(config)
    return load_config(file).scanners if file else ScannersConfig()


def printer_settings(config: str | None) -> PrinterConfig | None:
    """[printer] from the config file when there is one; None in sandbox mode (no printer configured)."""
    file = find_config_file(config)
    return load_config(file).printer if file else None


def _print(opts, obj: dict, line: str) -> None:
    from .cli.output import emit
    emit(opts, obj, line, stream=True)


# -- devices ------------------------------------------------------------------------------------------
def grab_state(path: str | None, role: str) -> str:
    """Whether a node is grabbed: probed with evdev's grab/ungrab for scanners only (a keyboard is never touched).
    In the person's language, as the device's ``reason`` beside it (``None``: a device without nodes)."""
    if path is None:
        return _("no nodes")
    if role != "scanner":
        return _("never (not a scanner)")
    try:
        import evdev
    except ImportError:
        return _("unknown (python-evdev is not installed)")
    try:
        device = evdev.InputDevice(path, readonly=True)
    except OSError as exc:   # missing, not readable, or not an evdev node at all
        return _("unknown ({reason})").format(reason=exc.strerror)
    try:
        device.grab()
        device.ungrab()
        return _("no (the terminal grabs it while running)")
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return _("yes (by a running pos-terminal, or another program holding it)")
        return _("unknown ({reason})").format(reason=exc.strerror)
    finally:
        device.close()


def device_lines(data: dict, input_dir: str) -> list[str]:
    """The ``devices`` use case's result as a technician reads it."""
    out = [] if data["input_devices"] else [_("input devices: none in {folder}").format(folder=input_dir)]
    for row in data["input_devices"]:
        name = row["name"] or _("(no name)")
        out.append(f"{row['role']:9} {name}  [{row['vendor']}:{row['product']}]")
        out.append("          " + _("id {id}; {reason}").format(id=row["id"], reason=row["reason"]))
        for node in row["nodes"]:
            access = "" if node["readable"] else \
                "  " + _("(no permission: add the user to 'input' or install the udev rule)")
            out.append(f"          {node['path']}  {' '.join(node['by_id'])}{access}")
        out.append("          " + _("grabbed: {state}").format(state=row["grabbed"]))
    if not data["serial_ports"]:
        out.append(_("serial ports: none"))
    for port in data["serial_ports"]:
        mark = "configured" if port["configured"] else ("scanner? " if port["likely_scanner"] else "serial   ")
        out.append(f"{mark:9} {port['device']}  [{port['vid'] or '----'}:{port['pid'] or '----'}] "
                   f"{port['description'] or ''}")
        if port["reason"]:
            out.append(f"          {port['reason']}")
    out += printer_lines(data.get("printers", []))
    out += [_("{what}: could not be listed ({reason})").format(what=what, reason=why)
            for what, why in data.get("errors", {}).items()]
    return out


def printer_lines(printers: list[dict]) -> list[str]:
    """Each printer found: where it is, its status in words when it was asked, and its [printer] lines."""
    if not printers:
        return [_("printers: none found (no USB printer, no /dev/usb/lp*, none configured in [printer])")]
    out = []
    for row in printers:
        mark = _("configured") if row["configured"] else _("printer")
        node = f"  {row['node']}" if row.get("node") else ""
        out.append(f"{mark:9} {row['name']}  [{row['where']}]{node}")
        if row.get("status"):
            out.append("          " + row["status"]["words"] + f"  ({row['status']['detail']})")
        if row.get("note"):
            out.append("          " + row["note"])
        out.append("          " + _("[printer]: {lines}").format(lines="; ".join(row["config"])))
    return out


# -- scanner replay -----------------------------------------------------------------------------------
def _scan_json(data: str, symbology: str, **extra) -> dict:
    return {"data": data, "symbology": symbology, "kind": scan.classify(data).kind, **extra}


def replay_trace(opts, trace: str, *, layout: str | None = None, gap_ms: float | None = None,
                 min_length: int | None = None, shared: bool = False, everything: bool = False) -> int:
    """Decode a recorded trace through the live decoder: one line (or JSON object) per scan; exit 1 if none."""
    from drivers.keydecoder import BurstRule, DecodedScan, KeyDecoder
    from drivers.trace import read_trace, replay

    settings = scanner_settings(opts.config)
    rule = (BurstRule(settings.shared_avg_ms, settings.shared_max_gap_ms, settings.shared_min_length)
            if shared else None)
    decoder = KeyDecoder(layout or settings.layout, gap_ms=gap_ms or settings.gap_ms,
                         min_length=min_length or settings.min_length, shared=rule)
    scans = 0
    for out in replay(read_trace(trace), decoder):
        if isinstance(out, DecodedScan):
            scans += 1
            obj = _scan_json(out.text, out.symbology.name, aim=out.symbology.aim, ended_by=out.ended_by,
                             t=round(out.t, 6))
            _print(opts, obj, f"{obj['kind']:12} {out.text}  ({out.symbology.name}, ended by {out.ended_by})")
        elif everything:
            _print(opts, {"event": out.kind, "reason": out.reason, "t": round(out.t, 6)},
                   f"{out.kind:12} {out.reason}")
        elif out.kind != "typed":
            print(_("note: {reason} (at t={t})").format(reason=out.reason, t=f"{out.t:.3f}"), file=sys.stderr)
    if not scans:
        print(_("no scans decoded from {trace}").format(trace=trace), file=sys.stderr)
    return 0 if scans else 1


# -- scanner listen -----------------------------------------------------------------------------------
def _device_for(path: str, settings: ScannersConfig, input_dir: str, sys_dir: str):
    """The discovered device holding ``path`` (all its nodes), or that node alone."""
    from drivers.discovery import InputDeviceInfo, InputNode, scan_input_devices

    real = os.path.realpath(path)
    for device in scan_input_devices(settings, Path(input_dir), Path(sys_dir)):
        if any(os.path.realpath(p) == real for p in device.paths) or path in sum(
                (n.by_id + n.by_path for n in device.nodes), ()):
            return device, device.name
    if not os.path.exists(path):
        raise PosError(_("{path}: no such input device").format(path=path),
                       hint=_("list them with `pos-terminal devices`"))
    node = InputNode(path=path, name="", phys="", uniq="", bustype=0, vendor=0, product=0, keys=frozenset(),
                     has_rel=False, has_abs=False, by_id=(), by_path=(), readable=os.access(path, os.R_OK))
    return InputDeviceInfo(id=os.path.basename(path), name="", vendor=0, product=0, nodes=(node,),
                           role="scanner", reason=_("named on the command line"), config=None), path


def _serial_settings(port: str, settings: ScannersConfig, flags: dict) -> SerialScannerConfig:
    """The port's [[scanners.serial]] entry when there is one (else the defaults); flags given override."""
    import dataclasses

    real = os.path.realpath(port)
    base = next((p for p in settings.serial if os.path.realpath(p.port) == real), None) \
        or SerialScannerConfig(port=port)
    return dataclasses.replace(base, port=port, **{k: v for k, v in flags.items() if v is not None})


def listen(opts, *, input_dir: str, sys_dir: str, device: str | None = None, serial: str | None = None,
           no_grab: bool = False, serial_flags: dict | None = None, layout: str | None = None,
           gap_ms: float | None = None, count: int | None = None, timeout: float | None = None,
           reveal: bool = False) -> int:
    """Print scans as they come, from every scanner (hotplug included), the input ``device`` or the
    ``serial`` port; exit 1 if ``count`` scans did not come."""
    import dataclasses

    from drivers import model
    from drivers.hid import HidScanner
    from drivers.hub import ScannerHub
    from drivers.serial_scanner import SerialScanner

    settings = scanner_settings(opts.config)
    settings = dataclasses.replace(settings, layout=layout or settings.layout, gap_ms=gap_ms or settings.gap_ms)
    events: queue.Queue = queue.Queue()
    close: Callable[[], None]
    if serial:
        port = _serial_settings(serial, settings, {**(serial_flags or {}), "gap_ms": gap_ms})
        reader = SerialScanner(port, events).start()
        close = reader.close
        what = _("serial scanner {port} ({settings})").format(port=port.port, settings=reader.summary())
    elif device:
        found, name = _device_for(device, settings, input_dir, sys_dir)
        if found.role not in ("scanner", "shared") and not no_grab:
            raise PosError(_("{device} is a {role} ({reason})").format(device=device, role=found.role,
                                                                       reason=found.reason),
                           hint=_("grabbing it would take it from whoever types on it: add --no-grab to read it "
                                  'beside the desktop, or give it role = "scanner" in [[scanners.hid]]'))
        cfg = found.config and dataclasses.replace(found.config, layout=layout or found.config.layout,
                                                   gap_ms=gap_ms or found.config.gap_ms)
        found = dataclasses.replace(found, role="shared" if no_grab else "scanner", config=cfg)
        close = HidScanner(found, settings, events).start().close
        what = f"{name or device}"
    else:
        hub = ScannerHub(settings, events, input_dir=input_dir, sys_dir=sys_dir).start()
        close = hub.stop
        what = _("{count} scanner(s) found; plugging one in is picked up").format(count=len(hub.scanners)) \
            if hub.scanners else _("no scanner found yet; plug one in, or name it with --device / --serial")
    if not opts.json:
        print(_("listening: {what}. Ctrl-C stops.").format(what=what), file=sys.stderr, flush=True)
    deadline = time.monotonic() + timeout if timeout else None
    scans = 0
    stop = threading.Event()
    try:
        while not stop.is_set():
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                event = events.get(timeout=wait)
            except queue.Empty:
                continue
            if isinstance(event, model.ScanEvent):
                scans += 1
                shown = event.data if reveal else event.masked
                obj = _scan_json(event.data, event.symbology, source=event.source, aim=event.aim,
                                 ended_by=event.ended_by, timestamp=round(event.timestamp, 6))
                obj["data"] = shown
                _print(opts, obj, f"{obj['kind']:12} {shown}  ({event.symbology}, {event.source}, "
                                  f"ended by {event.ended_by})")
                if count and scans >= count:
                    break
            else:
                _print(opts, event.to_json(), f"{event.kind:12} {event.source}: {event.message}")
    except KeyboardInterrupt:
        pass
    finally:
        close()
    return 0 if scans or not count else 1


# -- scanner record -----------------------------------------------------------------------------------
def _trace_file(target: Path):
    try:
        return open(target, "w", encoding="utf-8")
    except OSError as exc:
        raise PosError(_("{path}: cannot write the trace there: {reason}").format(path=target,
                                                                                reason=exc.strerror)) from None


def record_trace(opts, *, device: str, out: str, no_grab: bool = False, count: int | None = None,
                 timeout: float | None = None) -> int:
    """Record a USB scanner's evdev events to a JSONL trace (grabbed, unless ``no_grab``)."""
    from drivers.hid import EvdevNode
    from drivers.trace import record

    node = EvdevNode(device)
    try:
        if not no_grab:
            try:
                node.grab()
            except OSError as exc:
                raise PosError(_("{device}: cannot grab it ({reason}), so scans would type into the "
                                 "desktop").format(device=device, reason=exc.strerror),
                               hint=_("stop the program holding it, or record with --no-grab")) from None
        stop = threading.Event()
        timer = threading.Timer(timeout, stop.set) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        target = Path(out)
        lost = None
        with _trace_file(target) as handle:
            print(_("recording {device} to {path}; scan now. Ctrl-C stops.").format(device=device, path=target),
                  file=sys.stderr, flush=True)
            try:
                events = record(node, handle, stop, limit=count)
            except KeyboardInterrupt:
                events = None
            except OSError as exc:  # unplugged while recording: what came so far is kept
                events, lost = None, exc.strerror or str(exc)
        if timer:
            timer.cancel()
        _print(opts, {"trace": str(target), "device": device, "events": events, "device_lost": lost},
               _("wrote {path}").format(path=target)
               + (_(" ({count} events)").format(count=events) if events is not None else "")
               + (_("; the device went away ({reason}), the trace holds what came before").format(reason=lost)
                  if lost else ""))
    finally:
        node.close()
    return 1 if lost else 0
