"""``pos-terminal``: every operation a person can do, as a subcommand with ``--json`` output.

Errors a person can fix print as one plain message and a hint (exit 2); a bug prints where its details
were written (exit 70). Nothing ends in a bare traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
import traceback

from . import __version__, scan
from .config import find_config_file, find_data_dir, load_config
from .errors import OutcomeNotJournaled, PosError

EXIT_USER_ERROR = 2
EXIT_NOT_SETTLED = 3
EXIT_BUG = 70


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", metavar="FILE", default=default,
                        help="terminal.toml (default: $POS_TERMINAL_CONFIG, else sandbox mode)")
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="data directory (default: $POS_TERMINAL_DATA_DIR, else $XDG_DATA_HOME/pos-terminal)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="print machine-readable JSON")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=argparse.SUPPRESS if suppress else False, help="log more")


def _gui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customer-screen", type=int, metavar="N", default=argparse.SUPPRESS,
                        help="screen index for the customer display (default: the second screen if any)")
    parser.add_argument("--language", choices=("en", "zh_CN"), default=argparse.SUPPRESS,
                        help="the screens' language (default: $POS_TERMINAL_LANGUAGE, else $LANG)")
    parser.add_argument("--kiosk", action="store_true", default=argparse.SUPPRESS,
                        help="full screen without a title bar (the packaged service starts it so)")
    parser.add_argument("--no-scanners", action="store_true", default=argparse.SUPPRESS,
                        help="do not open scanners (a scanner typing into the window still works)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pos-terminal",
                                     description="Alipay / Alipay+ checkout terminal. With no command: the "
                                                 "cashier window (status with --json).")
    parser.add_argument("--version", action="version", version=f"pos-terminal {__version__}")
    _common(parser, suppress=False)
    _gui_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = sub.add_parser("status", help="show the mode and check the gateway with a signed call")
    _common(status, suppress=True)

    shots = sub.add_parser("screenshots", help="render every screen state to PNG files for review")
    _common(shots, suppress=True)
    shots.add_argument("--out", default="screenshots", metavar="DIR", help="where the PNGs go (default ./screenshots)")
    shots.add_argument("--languages", nargs="+", default=["en", "zh_CN"], choices=("en", "zh_CN"))

    gui = sub.add_parser("gui", help="the cashier window and the customer display (the default)")
    _common(gui, suppress=True)
    _gui_options(gui)

    sim = sub.add_parser("sim", help="run the gateway simulator (sandbox gateway)")
    _common(sim, suppress=True)
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    sim.add_argument("--client-id", default=None, help="the client id it accepts (default SANDBOX_POSTERMINAL0001)")
    sim.add_argument("--notify-time-scale", type=float, default=1.0,
                     help="scale the notification resend schedule (0.001 turns a day into 90 s)")
    sim.add_argument("--cancel-window", type=float, default=86400.0, metavar="SECONDS",
                     help="how long after a payment cancel is allowed (default 86400)")
    sim.add_argument("--refund-window", type=float, default=365 * 86400.0, metavar="SECONDS",
                     help="how long after a payment refunds are allowed (default 365 days)")
    sim.add_argument("--order-code-ttl", type=float, default=600.0, metavar="SECONDS",
                     help="order-code lifetime when the request sets no paymentExpiryTime (default 600)")

    sale = sub.add_parser("sale", help="take a payment and run it to a final state (exit 0 only when paid)")
    _common(sale, suppress=True)
    sale.add_argument("--amount", required=True, help="the amount, e.g. 12.34")
    sale.add_argument("--currency", default=None, help="ISO 4217 code (default: [merchant] currency)")
    tender = sale.add_mutually_exclusive_group(required=True)
    tender.add_argument("--code", help="the customer's payment code, as scanned")
    tender.add_argument("--order-code", action="store_true", help="show a QR for the customer to scan")
    sale.add_argument("--description", default="", help="what is sold (shown in the wallet)")
    sale.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="stop waiting after this long (an order code is then cancelled)")
    sale.add_argument("--alongside", action="store_true",
                      help="take it although an earlier sale is still being settled (surely another customer)")

    refund = sub.add_parser("refund", help="refund a paid sale, in full or in part (manager PIN)")
    _common(refund, suppress=True)
    refund.add_argument("payment", metavar="PAYMENT", help="paymentRequestId or paymentId")
    refund.add_argument("--amount", default=None, help="the amount to refund, e.g. 5.00 (default: all that is left)")
    refund.add_argument("--reason", default=None, help="why (required; kept with the refund in the audit log)")
    refund.add_argument("--by", help="who asks (default: the login name); the manager PIN approves")
    refund.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="wait at most this long")

    cancel = sub.add_parser("cancel", help="cancel a sale: close an open one, or reverse a paid one in full "
                                           "(manager PIN)")
    _common(cancel, suppress=True)
    cancel.add_argument("payment", metavar="PAYMENT", help="paymentRequestId or paymentId")
    cancel.add_argument("--reason", default=None, help="why (required to reverse a paid sale; audited)")
    cancel.add_argument("--by", help="who asks (default: the login name); the manager PIN approves")
    cancel.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="wait at most this long")

    inquiry = sub.add_parser("inquiry", help="ask the gateway about a payment (or refund) now")
    _common(inquiry, suppress=True)
    inquiry.add_argument("payment", metavar="PAYMENT", help="paymentRequestId, paymentId or refundRequestId")

    reconcile = sub.add_parser("reconcile", help="settle every open transaction with the gateway")
    _common(reconcile, suppress=True)
    reconcile.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="stop after this long")

    report = sub.add_parser("report", help="the day's transactions and totals")
    _common(report, suppress=True)
    report.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="the business day (default today)")
    report.add_argument("--csv", default=None, metavar="FILE", help="also write the transactions (or totals) as CSV")
    kind = report.add_mutually_exclusive_group()
    kind.add_argument("--x", action="store_true", help="X report: the current session (since the last Z), any time")
    kind.add_argument("--z", action="store_true", help="Z report: close the session, numbered and immutable (manager PIN)")
    report.add_argument("--number", type=int, default=None, metavar="N", help="with --z: reprint Z report N")
    report.add_argument("--pdf", default=None, metavar="FILE", help="with --x/--z: also write a printable PDF")
    report.add_argument("--by", help="who asks (default: the login name)")

    queue = sub.add_parser("queue", help="what waits in the outbox for the link")
    _common(queue, suppress=True)
    queue.add_argument("--drain", action="store_true",
                       help="try everything waiting now, not at its retry time (the technician's Drain now)")

    classify = sub.add_parser("classify", help="tell what a scanned code is (payment code, product, unknown)")
    _common(classify, suppress=True)
    classify.add_argument("code", help="the scanned text")
    from .device_commands import add_parsers
    add_parsers(sub, _common)
    from .manager_commands import add_parsers as add_manager_parsers
    add_manager_parsers(sub, _common)
    from .selftest import add_parser as add_selftest_parser
    add_selftest_parser(sub, _common)

    setup = sub.add_parser("setup", help="first run: write the config (gateway, ids, keys, PINs), asking and "
                                         "checking each answer")
    _common(setup, suppress=True)
    setup.add_argument("--force", action="store_true", help="replace an existing config (it is backed up first)")
    setup.add_argument("--new-key", action="store_true",
                       help="make a new merchant key pair (the old private key is backed up); the gateway knows only "
                            "the old public key, so register the new one before taking payments")
    setup.add_argument("--answers", metavar="FILE", default=None,
                       help="take the answers from a TOML file instead of asking (unattended installs)")

    logs = sub.add_parser("logs", help="the terminal's log files; --export packs them for support")
    _common(logs, suppress=True)
    logs.add_argument("--export", metavar="FILE", default=None,
                      help="write the logs (payment codes masked, no keys) and a system summary to FILE (.tar.gz)")
    return parser


def _emit(args, data: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines))


def cmd_status(args) -> int:
    from .health import Verdict, probe_gateway

    data_dir = find_data_dir(args.data_dir)
    config_file = find_config_file(args.config)
    sim = None
    if config_file is None:
        from .sandbox import start_sandbox
        sim, config = start_sandbox(data_dir)
        mode = "sandbox (embedded gateway simulator)"
    else:
        config = load_config(config_file)
        mode = "sandbox" if config.gateway.sandbox else "live"
    try:
        probe = probe_gateway(config, label="status-probe")
    finally:
        if sim is not None:
            sim.stop()
    outcome, reachable = probe.outcome, probe.ok
    if reachable:
        check = f"OK: a signed inquiry was answered and verified in {probe.elapsed_ms:.0f} ms"
    elif probe.verdict is Verdict.BAD_SIGNATURE:
        check = ("FAILED: the gateway rejects our signature; merchant_private_key does not match the public key "
                 "registered with the gateway")
    elif probe.verdict is Verdict.UNVERIFIED:
        check = "FAILED: the gateway's answer does not verify; check gateway_public_key"
    else:
        check = f"FAILED: {outcome.message or outcome.result_code}"
    m = config.merchant
    data = {"version": __version__, "mode": mode, "config": str(config.path) if config_file else None,
            "dataDir": str(data_dir), "gateway": config.gateway.url, "clientId": config.gateway.client_id,
            "merchant": {"name": m.name, "store": m.store_id, "terminal": m.terminal_id, "currency": m.currency},
            "gatewayCheck": {"ok": reachable, "message": check, "outcome": outcome.to_json()}}
    _emit(args, data, [
        f"pos-terminal {__version__}: {mode}",
        f"  config:    {config.path if config_file else '(none: sandbox mode)'}",
        f"  data dir:  {data_dir}",
        f"  gateway:   {config.gateway.url} (client id {config.gateway.client_id})",
        f"  merchant:  {m.name}, store {m.store_id}, terminal {m.terminal_id}, {m.currency}",
        f"  check:     {check}",
    ])
    return 0 if reachable else 1


def cmd_sim(args) -> int:
    from .sim import DEFAULT_CLIENT_ID, Simulator
    data_dir = find_data_dir(args.data_dir) if args.data_dir else find_data_dir(None) / "simulator"
    if args.client_id is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", args.client_id):
        raise PosError(f"--client-id {args.client_id!r} is not a client id",
                       hint="use 1 to 64 letters, digits, '_' or '-', e.g. SANDBOX_POSTERMINAL0001")
    for name in ("notify_time_scale", "cancel_window", "refund_window", "order_code_ttl"):
        if not getattr(args, name) > 0:
            raise PosError(f"--{name.replace('_', '-')} must be more than zero")
    if not 0 <= args.port < 65536:
        raise PosError(f"--port {args.port} is not a port (0 to 65535)")
    # A gateway answers in a millisecond; with Python's default 5 ms GIL switch interval, a handler
    # thread could wait that long behind the notifier thread. This process only serves, so shorten it.
    sys.setswitchinterval(0.0005)
    sim = Simulator(data_dir, args.host, args.port, client_id=args.client_id or DEFAULT_CLIENT_ID,
                    notify_time_scale=args.notify_time_scale, cancel_window=args.cancel_window,
                    refund_window=args.refund_window, order_code_ttl=args.order_code_ttl).start()
    signal.signal(signal.SIGTERM, lambda *_: sim.server and sim.server.shutdown())
    p = sim.provisioned
    data = {"url": sim.url, "dataDir": str(sim.data_dir), "keys": str(p.keys_dir), "config": str(p.config_file),
            "created": [str(c) for c in p.created], "clientId": sim.client_id}
    _emit(args, data, [
        f"gateway simulator listening on {sim.url} (client id {sim.client_id})",
        f"  keys:    {p.keys_dir}{' (created)' if p.created else ''}",
        f"  config:  {p.config_file}{' (created)' if p.config_file in p.created else ''}",
        f"  ledger:  {sim.data_dir / 'sim-ledger.sqlite'}",
        f"  use it:  pos-terminal --config {p.config_file}",
        "  stop:    Ctrl-C",
    ])
    sys.stdout.flush()
    try:
        sim.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def cmd_classify(args) -> int:
    result = scan.classify(args.code)
    wallets = ", ".join(result.wallets) or "wallet not told by the code format"
    line = {scan.PAYMENT_CODE: f"payment code {result.masked} ({wallets})",
            scan.PRODUCT: f"product barcode {result.value} ({result.symbology})",
            scan.UNKNOWN: f"unknown: {result.reason}"}[result.kind]
    if result.reason and result.kind == scan.PAYMENT_CODE:
        line += f"; {result.reason}"
    _emit(args, result.to_json(), [line])
    return 0 if result.kind != scan.UNKNOWN else 1


def _lazy(module: str, name: str):
    """A command loaded when it runs: the window does not wait for the payment stack's imports."""
    def run(args) -> int:
        import importlib

        return getattr(importlib.import_module(module, __package__), name)(args)
    return run


cmd_sale, cmd_refund, cmd_cancel, cmd_inquiry, cmd_reconcile, cmd_report, cmd_queue = (
    _lazy(".commands", name) for name in ("cmd_sale", "cmd_refund", "cmd_cancel", "cmd_inquiry", "cmd_reconcile",
                                          "cmd_report", "cmd_queue"))
cmd_devices, cmd_scanner = (_lazy(".device_commands", name) for name in ("cmd_devices", "cmd_scanner"))
cmd_pin, cmd_review, cmd_report_xz = (_lazy(".manager_commands", n) for n in ("cmd_pin", "cmd_review", "report_xz"))

def cmd_gui(args) -> int:
    """The windows: loaded by name, so the core never imports Qt (the GUI is a front end, like the CLI)."""
    import importlib

    return importlib.import_module("ui.app").main(args)


def cmd_screenshots(args) -> int:
    import importlib

    return importlib.import_module("ui.screenshots").main(args)


COMMANDS = {None: cmd_gui, "gui": cmd_gui, "screenshots": cmd_screenshots, "status": cmd_status, "sim": cmd_sim, "classify": cmd_classify, "sale": cmd_sale,
            "refund": cmd_refund, "cancel": cmd_cancel, "inquiry": cmd_inquiry, "reconcile": cmd_reconcile,
            "report": cmd_report, "queue": cmd_queue, "devices": cmd_devices, "scanner": cmd_scanner,
            "pin": cmd_pin, "review": cmd_review, "selftest": _lazy(".selftest", "cmd_selftest"),
            "setup": _lazy(".setup_wizard", "cmd_setup"), "logs": _lazy(".logs", "cmd_logs")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    from . import logs
    try:
        log_dir = find_data_dir(args.data_dir)
    except PosError:  # a bad --data-dir: the command says so; log to stderr only until then
        log_dir = None
    logs.setup(log_dir, args.verbose, command=args.command)
    try:
        _check_text_arguments(argv, args)
        command = "status" if args.command is None and args.json else args.command
        if command == "report" and (args.x or args.z):
            return cmd_report_xz(args)
        return COMMANDS[command](args)
    except OutcomeNotJournaled as exc:
        # Sent, answer not recorded: an open outcome (exit 3) that the next start settles, never "nothing".
        if args.json:
            print(json.dumps({**exc.summary, "hint": exc.hint}, indent=2, ensure_ascii=False))
        print(f"pos-terminal: {exc}", file=sys.stderr)
        return EXIT_NOT_SETTLED
    except PosError as exc:
        if args.json:
            print(json.dumps({"error": exc.message, "hint": exc.hint}, indent=2))
        print(f"pos-terminal: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 -- a bug: keep the details, tell the person where they are
        report = _write_crash_report(args)
        print(f"pos-terminal: internal error ({type(exc).__name__}: {logs.mask_text(str(exc))}). This is a bug; "
              f"details are in {report}", file=sys.stderr)
        return EXIT_BUG
    finally:
        logs.shutdown()   # in-process callers (tests, tools) must not keep a handler on this data dir


def _check_text_arguments(argv: list[str], args) -> None:
    """An argument that is not UTF-8 (Python keeps its bytes as lone surrogates) is a person's input
    error: say which one, before it reaches the journal or the wire as text that cannot be encoded."""
    for i, item in enumerate(argv):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            if item.startswith("--") and "=" in item:
                which = f"the value of {item.split('=', 1)[0]}"
            elif i > 0 and argv[i - 1].startswith("--"):
                which = f"the value of {argv[i - 1]}"
            else:
                dest = next((k for k, v in vars(args).items() if v == item), None)
                which = f"the {dest.upper()} argument" if dest else f"argument {i + 1}"
            try:
                which.encode("utf-8")
            except UnicodeEncodeError:
                which = f"argument {i + 1}"
            raise PosError(f"{which} is not valid UTF-8 text",
                           hint="retype it, or set the terminal's locale to UTF-8 (e.g. LANG=C.UTF-8)") from None


def _write_crash_report(args) -> str:
    """The traceback, masked like every log line (a payment code can sit in a frame's message)."""
    try:
        from offline_queue.lock import make_private_dir

        from .logs import mask_text, to_file
        data_dir = find_data_dir(getattr(args, "data_dir", None))
        make_private_dir(data_dir)
        folder = data_dir / "logs"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        path.write_text(mask_text(traceback.format_exc()), encoding="utf-8")
        to_file(logging.ERROR, "internal error: details in %s", path)
        return str(path)
    except Exception:  # noqa: BLE001 -- the report is a courtesy: never let it raise in turn
        return "(could not write a report; run with -v)"
