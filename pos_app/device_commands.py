"""The technician's device commands: ``devices`` and ``scanner record|replay|listen``.

They drive the same drivers the cashier screen uses (the hub, the decoder, the serial reader), so what a
technician sees here is what the till gets. Payment codes are masked in ``listen`` unless ``--reveal``:
a customer's code scanned during a test is still a customer's code. ``replay`` prints what the trace
holds, since the trace already holds it.
"""

from __future__ import annotations

import errno
import json
import os
import queue
import sys
import threading
import time
from pathlib import Path

from . import scan
from .config import LAYOUT_NAMES, SERIAL_SUFFIXES, ScannersConfig, SerialScannerConfig, find_config_file, load_config
from .errors import PosError


def scanner_settings(args) -> ScannersConfig:
    """[scanners] from the config file when there is one; the defaults in sandbox mode."""
    file = find_config_file(getattr(args, "config", None))
    return load_config(file).scanners if file else ScannersConfig()


def _print(args, obj: dict, line: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if args.json else line, flush=True)


def _hex(n: int | None) -> str:
    return f"{n:04x}" if n is not None else "----"


# -- devices ------------------------------------------------------------------------------------------
def grab_state(path: str, role: str) -> str:
    """Whether a node is grabbed: probed with evdev's grab/ungrab for scanners only (a keyboard is never touched)."""
    if role != "scanner":
        return "never (not a scanner)"
    try:
        import evdev
    except ImportError:
        return "unknown (python-evdev is not installed)"
    try:
        device = evdev.InputDevice(path, readonly=True)
    except OSError as exc:   # missing, not readable, or not an evdev node at all
        return f"unknown ({exc.strerror})"
    try:
        device.grab()
        device.ungrab()
        return "no (the terminal grabs it while running)"
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return "yes (by a running pos-terminal, or another program holding it)"
        return f"unknown ({exc.strerror})"
    finally:
        device.close()


def cmd_devices(args) -> int:
    from drivers.discovery import scan_input_devices, scan_serial_ports

    settings = scanner_settings(args)
    devices = scan_input_devices(settings, Path(args.input_dir), Path(args.sys_dir))
    ports = scan_serial_ports(settings)
    rows = []
    for device in devices:
        row = device.to_json()
        row["grabbed"] = grab_state(device.paths[0], device.role) if device.paths else "no nodes"
        rows.append(row)
    if args.json:
        print(json.dumps({"input_devices": rows, "serial_ports": [p.to_json() for p in ports]}, indent=2))
        return 0
    if not rows:
        print(f"input devices: none in {args.input_dir}")
    for device, row in zip(devices, rows):
        print(f"{device.role:9} {device.name or '(no name)'}  [{_hex(device.vendor)}:{_hex(device.product)}]")
        print(f"          id {device.id}; {device.reason}")
        for node in device.nodes:
            access = "" if node.readable else "  (no permission: add the user to 'input' or install the udev rule)"
            print(f"          {node.path}  {' '.join(node.by_id) or ''}{access}")
        print(f"          grabbed: {row['grabbed']}")
    if not ports:
        print("serial ports: none")
    for port in ports:
        mark = "configured" if port.configured else ("scanner? " if port.likely_scanner else "serial   ")
        print(f"{mark:9} {port.device}  [{_hex(port.vid)}:{_hex(port.pid)}] {port.description or ''}")
        if port.reason:
            print(f"          {port.reason}")
    return 0


# -- scanner replay -----------------------------------------------------------------------------------
def _scan_json(data: str, symbology: str, **extra) -> dict:
    return {"data": data, "symbology": symbology, "kind": scan.classify(data).kind, **extra}


def cmd_scanner_replay(args) -> int:
    from drivers.keydecoder import BurstRule, DecodedScan, KeyDecoder
    from drivers.trace import read_trace, replay

    settings = scanner_settings(args)
    shared = (BurstRule(settings.shared_avg_ms, settings.shared_max_gap_ms, settings.shared_min_length)
              if args.shared else None)
    decoder = KeyDecoder(args.layout or settings.layout, gap_ms=args.gap_ms or settings.gap_ms,
                         min_length=args.min_length or settings.min_length, shared=shared)
    scans = 0
    for out in replay(read_trace(args.trace), decoder):
        if isinstance(out, DecodedScan):
            scans += 1
            obj = _scan_json(out.text, out.symbology.name, aim=out.symbology.aim, ended_by=out.ended_by,
                             t=round(out.t, 6))
            _print(args, obj, f"{obj['kind']:12} {out.text}  ({out.symbology.name}, ended by {out.ended_by})")
        elif args.all:
            _print(args, {"event": out.kind, "reason": out.reason, "t": round(out.t, 6)},
                   f"{out.kind:12} {out.reason}")
        elif out.kind != "typed":
            print(f"note: {out.reason} (at t={out.t:.3f})", file=sys.stderr)
    if not scans:
        print(f"no scans decoded from {args.trace}", file=sys.stderr)
    return 0 if scans else 1


# -- scanner listen -----------------------------------------------------------------------------------
def _device_for(path: str, settings: ScannersConfig, args):
    """The discovered device holding ``path`` (all its nodes), or that node alone."""
    from drivers.discovery import InputDeviceInfo, InputNode, scan_input_devices

    real = os.path.realpath(path)
    for device in scan_input_devices(settings, Path(args.input_dir), Path(args.sys_dir)):
        if any(os.path.realpath(p) == real for p in device.paths) or path in sum(
                (n.by_id + n.by_path for n in device.nodes), ()):
            return device, device.name
    if not os.path.exists(path):
        raise PosError(f"{path}: no such input device", hint="list them with `pos-terminal devices`")
    node = InputNode(path=path, name="", phys="", uniq="", bustype=0, vendor=0, product=0, keys=frozenset(),
                     has_rel=False, has_abs=False, by_id=(), by_path=(), readable=os.access(path, os.R_OK))
    return InputDeviceInfo(id=os.path.basename(path), name="", vendor=0, product=0, nodes=(node,),
                           role="scanner", reason="named on the command line", config=None), path


def _serial_settings(args, settings: ScannersConfig) -> SerialScannerConfig:
    """The port's [[scanners.serial]] entry when there is one (else the defaults); flags given override."""
    import dataclasses

    real = os.path.realpath(args.serial)
    base = next((p for p in settings.serial if os.path.realpath(p.port) == real), None) \
        or SerialScannerConfig(port=args.serial)
    flags = {"baud": args.baud, "bytesize": args.bytesize, "parity": args.parity, "stopbits": args.stopbits,
             "suffix": args.suffix, "gap_ms": args.gap_ms, "xonxoff": args.xonxoff or None,
             "rtscts": args.rtscts or None, "ack": args.ack or None}
    return dataclasses.replace(base, port=args.serial, **{k: v for k, v in flags.items() if v is not None})


def cmd_scanner_listen(args) -> int:
    import dataclasses

    from drivers import model
    from drivers.hid import HidScanner
    from drivers.hub import ScannerHub
    from drivers.serial_scanner import SerialScanner

    settings = scanner_settings(args)
    overrides = {k: v for k, v in (("layout", args.layout), ("gap_ms", args.gap_ms)) if v}
    settings = dataclasses.replace(settings, **overrides)
    events: queue.Queue = queue.Queue()
    if args.serial:
        port = _serial_settings(args, settings)
        owner = SerialScanner(port, events).start()
        close = owner.close
        what = f"serial scanner {port.port} ({owner.summary()})"
    elif args.device:
        device, name = _device_for(args.device, settings, args)
        if device.role not in ("scanner", "shared") and not args.no_grab:
            raise PosError(f"{args.device} is a {device.role} ({device.reason})",
                           hint="grabbing it would take it from whoever types on it: add --no-grab to read it "
                                'beside the desktop, or give it role = "scanner" in [[scanners.hid]]')
        cfg = device.config and dataclasses.replace(device.config, **overrides)
        device = dataclasses.replace(device, role="shared" if args.no_grab else "scanner", config=cfg)
        owner = HidScanner(device, settings, events).start()
        close = owner.close
        what = f"{name or args.device}"
    else:
        owner = ScannerHub(settings, events, input_dir=args.input_dir, sys_dir=args.sys_dir).start()
        close = owner.stop
        count = len(owner.scanners)
        what = f"{count} scanner(s) found; plugging one in is picked up" if count else \
            "no scanner found yet; plug one in, or name it with --device / --serial"
    if not args.json:
        print(f"listening: {what}. Ctrl-C stops.", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.timeout if args.timeout else None
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
                shown = event.data if args.reveal else event.masked
                obj = _scan_json(event.data, event.symbology, source=event.source, aim=event.aim,
                                 ended_by=event.ended_by, timestamp=round(event.timestamp, 6))
                obj["data"] = shown
                _print(args, obj, f"{obj['kind']:12} {shown}  ({event.symbology}, {event.source}, "
                                  f"ended by {event.ended_by})")
                if args.count and scans >= args.count:
                    break
            else:
                _print(args, event.to_json(), f"{event.kind:12} {event.source}: {event.message}")
    except KeyboardInterrupt:
        pass
    finally:
        close()
    return 0 if scans or not args.count else 1


# -- scanner record -----------------------------------------------------------------------------------
def cmd_scanner_record(args) -> int:
    from drivers.hid import EvdevNode
    from drivers.trace import record

    node = EvdevNode(args.device)
    try:
        if not args.no_grab:
            try:
                node.grab()
            except OSError as exc:
                raise PosError(f"{args.device}: cannot grab it ({exc.strerror}), so scans would type into the "
                               "desktop", hint="stop the program holding it, or record with --no-grab") from None
        stop = threading.Event()
        timer = threading.Timer(args.timeout, stop.set) if args.timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        out = Path(args.out)
        try:
            handle = open(out, "w", encoding="utf-8")
        except OSError as exc:
            raise PosError(f"{out}: cannot write the trace there: {exc.strerror}") from None
        print(f"recording {args.device} to {out}; scan now. Ctrl-C stops.", file=sys.stderr, flush=True)
        lost = None
        with handle:
            try:
                count = record(node, handle, stop, limit=args.count)
            except KeyboardInterrupt:
                count = None
            except OSError as exc:  # unplugged while recording: what came so far is kept
                count, lost = None, exc.strerror or str(exc)
        if timer:
            timer.cancel()
        _print(args, {"trace": str(out), "device": args.device, "events": count, "device_lost": lost},
               f"wrote {out}" + (f" ({count} events)" if count is not None else "")
               + (f"; the device went away ({lost}), the trace holds what came before" if lost else ""))
    finally:
        node.close()
    return 1 if lost else 0


def add_parsers(sub, common) -> None:
    """``devices`` and ``scanner`` for the CLI's parser."""
    def roots(p):
        p.add_argument("--input-dir", default="/dev/input", metavar="DIR",
                       help="where the input device nodes are (default /dev/input)")
        p.add_argument("--sys-dir", default="/sys/class/input", metavar="DIR",
                       help="where sysfs describes them (default /sys/class/input)")

    devices = sub.add_parser("devices", help="list input devices (scanner, keyboard, other) and serial ports")
    common(devices, suppress=True)
    roots(devices)

    scanner = sub.add_parser("scanner", help="technician tools: listen to scanners, record and replay traces")
    common(scanner, suppress=True)
    actions = scanner.add_subparsers(dest="scanner_command", metavar="ACTION", required=True)

    listen = actions.add_parser("listen", help="print scans as they come (all scanners, or the one named)")
    common(listen, suppress=True)
    roots(listen)
    listen.add_argument("--device", metavar="PATH", help="a /dev/input path (by-id is best)")
    listen.add_argument("--no-grab", action="store_true", help="read without grabbing (scans also type into "
                                                               "the desktop; typing is told apart by speed)")
    listen.add_argument("--serial", metavar="PORT", help="a serial port, e.g. /dev/ttyACM0")
    listen.add_argument("--baud", type=int, help="default: the port's [[scanners.serial]] entry, else 9600")
    listen.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), help="default 8")
    listen.add_argument("--parity", choices=("N", "E", "O", "M", "S"), help="default N")
    listen.add_argument("--stopbits", type=float, choices=(1, 1.5, 2), help="default 1")
    listen.add_argument("--xonxoff", action="store_true")
    listen.add_argument("--rtscts", action="store_true")
    listen.add_argument("--suffix", choices=SERIAL_SUFFIXES, help="default auto (CR, LF or CR+LF)")
    listen.add_argument("--ack", action="store_true", help="answer ACK/NAK to the scanner")
    listen.add_argument("--layout", choices=LAYOUT_NAMES, help="the layout a USB scanner emulates (default us)")
    listen.add_argument("--gap-ms", type=float, help="inter-key gap that ends a scan without a suffix")
    listen.add_argument("--count", type=int, help="stop after this many scans (exit 1 if fewer came)")
    listen.add_argument("--timeout", type=float, help="stop after this many seconds")
    listen.add_argument("--reveal", action="store_true", help="show payment codes in full")

    record = actions.add_parser("record", help="record a USB scanner's evdev events to a JSONL trace")
    common(record, suppress=True)
    record.add_argument("--device", metavar="PATH", required=True)
    record.add_argument("--out", metavar="FILE", required=True)
    record.add_argument("--no-grab", action="store_true")
    record.add_argument("--count", type=int, help="stop after this many events")
    record.add_argument("--timeout", type=float, help="stop after this many seconds")

    replay = actions.add_parser("replay", help="decode a recorded trace (JSONL or evtest output)")
    common(replay, suppress=True)
    replay.add_argument("trace", metavar="TRACE")
    replay.add_argument("--layout", choices=LAYOUT_NAMES, help="the layout the scanner emulated (default us)")
    replay.add_argument("--gap-ms", type=float)
    replay.add_argument("--min-length", type=int)
    replay.add_argument("--shared", action="store_true", help="apply the typing-vs-scanner burst rule")
    replay.add_argument("--all", action="store_true", help="also print rejected and dropped bursts")


def cmd_scanner(args) -> int:
    return {"listen": cmd_scanner_listen, "record": cmd_scanner_record,
            "replay": cmd_scanner_replay}[args.scanner_command](args)
