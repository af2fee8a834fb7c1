"""The technician's commands: selftest, devices, logs, and the scanner tools (listen, record, replay).

At a prompt the terminal's own OS account counts as the technician (``services.shell``): it can already
read the journal and the keys. The self-test, the device list and the log export are use cases shared
with the technician's screen; the scanner tools are the CLI's own (:mod:`pos_app.device_commands`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from .. import services
from ..config import LAYOUT_NAMES, SERIAL_SUFFIXES
from ..selftest import LEVELS, SCAN_TIMEOUT
from . import grants
from .options import command, device_roots, timeout_option
from .output import emit


@command()
@click.option("--level", type=click.Choice(LEVELS), default="internal",
              help="internal: this machine only; external: also the gateway, the notification endpoint and the "
                   "display; interactive: also a test scan (default internal)")
@timeout_option(SCAN_TIMEOUT, "how long the interactive level waits for the test scan")
@click.option("--out", metavar="FILE", help="also write the report: JSON if FILE ends in .json, else text")
@device_roots(hidden=True)
def selftest(opts, level, timeout, out, input_dir, sys_dir):
    """Check config, keys, journal, clock, scanners, gateway and notifications (exit 0 only if no check
    failed)."""
    report = services.technician.selftest(grants.shell(), level, opts.config_file(), opts.data_path(),
                                          input_dir=input_dir, sys_dir=sys_dir, prompt=prompt_for(opts.json),
                                          scan_timeout=timeout)
    if out:
        report.write(out)
    emit(opts, report, report.lines())
    return report.exit_code


def prompt_for(as_json: bool) -> Callable[[str], None]:
    """The interactive level's prompt: the test code and its QR drawn in the terminal (on stderr when
    stdout carries the JSON)."""
    out = sys.stderr if as_json else sys.stdout

    def prompt(code: str) -> None:
        print(f"scan the test barcode now: {code}", file=out, flush=True)
        try:
            import segno
            segno.make(code, error="m").terminal(out=out, compact=True)
        except (ImportError, ValueError, OSError) as exc:   # no segno, a code too long, a terminal that
            print(f"(cannot draw the QR here: {exc})", file=out)   # cannot take it: the text says what to scan
        out.flush()
    return prompt


@command()
@device_roots()
def devices(opts, input_dir, sys_dir):
    """Input devices (scanner, shared, keyboard, other: and why), their nodes and whether they are
    grabbed; serial ports and which look like scanners."""
    from ..device_commands import device_lines, printer_settings, scanner_settings
    data = services.technician.devices(grants.shell(), scanner_settings(opts.config), input_dir=input_dir,
                                       sys_dir=sys_dir, printer=printer_settings(opts.config))
    emit(opts, data, device_lines(data, input_dir))
    return 0


@command()
@click.option("--export", metavar="FILE",
              help="write the logs (payment codes masked, no keys) and a system summary to FILE (.tar.gz)")
def logs(opts, export):
    """The terminal's log files, newest first; --export packs them for support."""
    from .. import logs as logbook
    folder = opts.data_path() / "logs"
    if export:
        result = services.technician.log_export(grants.shell(), folder, Path(export), config=opts.config)
        n = result.log_files
        emit(opts, result, f"wrote {result.path}: {len(result.names)} files ({n} log file{'' if n == 1 else 's'} "
                           "and system.txt), payment codes masked, no keys")
        return 0
    files = logbook.listing(folder)
    width = max((len(f["name"]) for f in files), default=0)
    lines = ([f"Log files in {folder}, newest first:"]
             + [f"  {f['name']:<{width}}  {f['size']:>10,} bytes  {f['modified']}" for f in files]
             + ["For support: pos-terminal logs --export pos-terminal-logs.tar.gz"]
             if files else [f"No log files yet (they go to {folder})."])
    emit(opts, {"folder": str(folder), "files": files}, lines)
    return 0


# -- scanner tools ---------------------------------------------------------------------------------------
@command(group=True)
def scanner(opts):
    """Technician tools: listen to scanners, record and replay traces."""



@command("listen", parent=scanner)
@device_roots()
@click.option("--device", metavar="PATH", help="a /dev/input path (by-id is best)")
@click.option("--no-grab", is_flag=True,
              help="read without grabbing (scans also type into the desktop; typing is told apart by speed)")
@click.option("--serial", metavar="PORT", help="a serial port, e.g. /dev/ttyACM0")
@click.option("--baud", type=int, help="default: the port's [[scanners.serial]] entry, else 9600")
@click.option("--bytesize", type=click.IntRange(5, 8), help="default 8")
@click.option("--parity", type=click.Choice(("N", "E", "O", "M", "S")), help="default N")
@click.option("--stopbits", type=click.Choice(("1", "1.5", "2")), help="default 1")
@click.option("--xonxoff", is_flag=True)
@click.option("--rtscts", is_flag=True)
@click.option("--suffix", type=click.Choice(SERIAL_SUFFIXES), help="default auto (CR, LF or CR+LF)")
@click.option("--ack", is_flag=True, help="answer ACK/NAK to the scanner")
@click.option("--layout", type=click.Choice(LAYOUT_NAMES), help="the layout a USB scanner emulates (default us)")
@click.option("--gap-ms", type=float, help="inter-key gap that ends a scan without a suffix")
@click.option("--count", type=int, help="stop after this many scans (exit 1 if fewer came)")
@timeout_option(None, "stop after this many seconds")
@click.option("--reveal", is_flag=True, help="show payment codes in full")
def scanner_listen(opts, input_dir, sys_dir, device, no_grab, serial, baud, bytesize, parity, stopbits, xonxoff,
                   rtscts, suffix, ack, layout, gap_ms, count, timeout, reveal):
    """Print scans as they come, from every scanner (with hotplug) or the one named; payment codes are
    masked unless --reveal."""
    from ..device_commands import listen
    flags = {"baud": baud, "bytesize": bytesize, "parity": parity, "stopbits": stopbits and float(stopbits),
             "suffix": suffix, "xonxoff": xonxoff or None,
             "rtscts": rtscts or None, "ack": ack or None}
    return listen(opts, input_dir=input_dir, sys_dir=sys_dir, device=device, serial=serial, no_grab=no_grab,
                  serial_flags=flags, layout=layout, gap_ms=gap_ms,
                  count=count, timeout=timeout, reveal=reveal)


@command("record", parent=scanner)
@click.option("--device", metavar="PATH", required=True, help="the scanner's /dev/input node")
@click.option("--out", metavar="FILE", required=True, help="the trace to write (JSONL)")
@click.option("--no-grab", is_flag=True, help="leave it ungrabbed (its scans also type into the desktop)")
@click.option("--count", type=int, help="stop after this many events")
@timeout_option(None, "stop after this many seconds")
def scanner_record(opts, device, out, no_grab, count, timeout):
    """Record a USB scanner's evdev events to a JSONL trace (grabbed, so the scans do not type into the
    desktop)."""
    from ..device_commands import record_trace
    return record_trace(opts, device=device, out=out, no_grab=no_grab, count=count, timeout=timeout)


@command("replay", parent=scanner)
@click.argument("trace", metavar="TRACE")
@click.option("--layout", type=click.Choice(LAYOUT_NAMES), help="the layout the scanner emulated (default us)")
@click.option("--gap-ms", type=float, help="inter-key gap that ends a scan without a suffix")
@click.option("--min-length", type=int, help="the shortest burst taken as a scan")
@click.option("--shared", is_flag=True, help="apply the typing-vs-scanner burst rule")
@click.option("--all", "everything", is_flag=True, help="also print rejected and dropped bursts")
def scanner_replay(opts, trace, layout, gap_ms, min_length, shared, everything):
    """Decode a recorded TRACE (ours, or evtest output) through the live decoder: one line per scan."""
    from ..device_commands import replay_trace
    return replay_trace(opts, trace, layout=layout, gap_ms=gap_ms,
                        min_length=min_length, shared=shared, everything=everything)

