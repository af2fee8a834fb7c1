"""``pos-terminal selftest``: the run's options, its prompt for the test scan, and its text or JSON output.

The CLI glue only: what is checked lives in :mod:`pos_app.selftest.runner`. Exit 0 exactly when no check
failed, 1 when one did (2 for a person's error in the options, as for every command).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable

from ..config import find_config_file, find_data_dir
from ..errors import PosError
from .interactive import SCAN_TIMEOUT
from .results import LEVELS
from .runner import run


def add_parser(sub, common) -> argparse.ArgumentParser:
    """Register ``selftest`` on the CLI's subparsers; ``common(parser, suppress=True)`` adds the shared
    options (--config, --data-dir, --json, -v)."""
    p = sub.add_parser("selftest", help="check config, keys, journal, clock, scanners, gateway and notifications "
                                        "(exit 0 only if no check failed)")
    common(p, suppress=True)
    p.add_argument("--level", choices=LEVELS, default="internal",
                   help="internal: this machine only; external: also the gateway, the notification endpoint and "
                        "the display; interactive: also a test scan (default internal)")
    p.add_argument("--timeout", type=float, default=SCAN_TIMEOUT, metavar="SECONDS",
                   help=f"how long the interactive level waits for the test scan (default {SCAN_TIMEOUT:g})")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the report: JSON if FILE ends in .json, "
                                                               "else text")
    p.add_argument("--input-dir", default="/dev/input", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--sys-dir", default="/sys/class/input", metavar="DIR", help=argparse.SUPPRESS)
    return p


def prompt_for(as_json: bool) -> Callable[[str], None]:
    """The interactive level's prompt: the test code and its QR drawn in the terminal (on stderr when
    stdout carries the JSON)."""
    out = sys.stderr if as_json else sys.stdout

    def prompt(code: str) -> None:
        print(f"scan the test barcode now: {code}", file=out, flush=True)
        try:
            import segno
            segno.make(code, error="m").terminal(out=out, compact=True)
        except Exception as exc:  # noqa: BLE001 -- the text above still says what to scan
            print(f"(cannot draw the QR here: {exc})", file=out)
        out.flush()
    return prompt


def cmd_selftest(args) -> int:
    timeout = getattr(args, "timeout", SCAN_TIMEOUT)
    if not (math.isfinite(timeout) and timeout > 0):
        raise PosError(f"--timeout {timeout} is not a number of seconds above zero")
    as_json = bool(getattr(args, "json", False))
    report = run(getattr(args, "level", "internal") or "internal", find_config_file(getattr(args, "config", None)),
                 find_data_dir(getattr(args, "data_dir", None)), input_dir=getattr(args, "input_dir", "/dev/input"),
                 sys_dir=getattr(args, "sys_dir", "/sys/class/input"), prompt=prompt_for(as_json), scan_timeout=timeout)
    if getattr(args, "out", None):
        report.write(args.out)
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return report.exit_code
