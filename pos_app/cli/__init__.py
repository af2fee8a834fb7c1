"""``pos-terminal``: every operation a person can do, as a subcommand with ``--json`` output.

Each command is registered once, in :data:`COMMANDS`, and imported only when it runs or its own help is
shown: ``pos-terminal --help`` and the window's start do not load the payment stack, the self-test or
the setup wizard. A command binds its options to a use case of :mod:`pos_app.services` (or, for a
tool, to the tool); :mod:`.options` holds the options they share and :mod:`.output` the one way they
print.

Exit codes, a contract scripts rely on: 0 paid / done; 1 declined, failed or cancelled; 2 a person's
error (a :class:`~pos_app.errors.PosError`, or arguments the parser refuses), as one plain message and
a hint; 3 not settled yet (unknown, queued, needs review, or an answer that could not be journaled);
70 a bug, whose details are written to a crash report; 130 Ctrl-C. Nothing ends in a bare traceback.
"""

from __future__ import annotations

import json
import sys

import click

from .. import __version__
from ..errors import OutcomeNotJournaled, PosError
from .lazy import LazyGroup
from .options import Options, common, gui_options

EXIT_USER_ERROR = 2
EXIT_NOT_SETTLED = 3
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

#: Every command, once: name -> ("module:command", the one line ``pos-terminal --help`` shows).
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("pos_app.cli.tools:gui", "the cashier window and the customer display (the default)"),
    "status": ("pos_app.cli.tools:status", "show the mode and check the gateway with a signed call"),
    "setup": ("pos_app.cli.tools:setup",
              "first run: write the config (gateway, ids, keys, PINs), asking and checking each answer"),
    "screenshots": ("pos_app.cli.tools:screenshots", "render every screen state to PNG files for review"),
    "sim": ("pos_app.cli.tools:sim", "run the gateway simulator (sandbox gateway)"),
    "classify": ("pos_app.cli.tools:classify", "tell what a scanned code is (payment code, product, unknown)"),
    "sale": ("pos_app.cli.counter:sale", "take a payment and run it to a final state (exit 0 only when paid)"),
    "cancel": ("pos_app.cli.counter:cancel",
               "cancel a sale: close an open one, or reverse a paid one in full (manager PIN)"),
    "inquiry": ("pos_app.cli.counter:inquiry", "ask the gateway about a payment (or refund) now"),
    "reconcile": ("pos_app.cli.counter:reconcile", "settle every open transaction with the gateway"),
    "queue": ("pos_app.cli.counter:queue", "what waits in the outbox for the link; --drain sends it now"),
    "entry-payments": ("pos_app.cli.counter:entry_payments",
                       "entry-code payments nobody waited for; assign one to a waiting sale"),
    "refund": ("pos_app.cli.manager:refund", "refund a paid sale, in full or in part (manager PIN)"),
    "report": ("pos_app.cli.manager:report", "the day's transactions and totals; --x the session, --z closes it"),
    "receipt": ("pos_app.cli.receipts:receipt",
                "a sale's receipt (or a refund's or cancel's slip): --print, --pdf FILE or --png FILE"),
    "printer": ("pos_app.cli.receipts:printer", "how the receipt printer is, in words, and what waits for a reprint"),
    "store": ("pos_app.cli.store:store",
              "the store's PostgreSQL: day, x and z over every counter; terminals (the fleet); restore"),
    "reconcile-settlement": ("pos_app.cli.settlement:reconcile_settlement",
                             "match the gateway's settlement reports against the day (manager PIN)"),
    "review": ("pos_app.cli.manager:review", "what is still open or needs a manager; retry, cancel or resolve it"),
    "pin": ("pos_app.cli.manager:pin", "set the manager's or technician's PIN"),
    "selftest": ("pos_app.cli.technician:selftest",
                 "check config, keys, journal, clock, scanners, gateway, notifications (exit 0: no check failed)"),
    "devices": ("pos_app.cli.technician:devices", "list input devices (scanner, keyboard, other) and serial ports"),
    "scanner": ("pos_app.cli.technician:scanner", "technician tools: listen to scanners, record and replay traces"),
    "logs": ("pos_app.cli.technician:logs", "the terminal's log files; --export packs them for support"),
}


@click.group("pos-terminal", cls=LazyGroup, lazy=COMMANDS, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="pos-terminal", message="%(prog)s %(version)s")
@common
@gui_options
@click.pass_context
def root(ctx: click.Context, **window) -> int | None:
    """Alipay / Alipay+ checkout terminal. With no command: the cashier window (status with --json)."""
    if ctx.invoked_subcommand is not None:
        return None
    if ctx.ensure_object(Options).json:
        return ctx.invoke(_registered(ctx, "status"))
    return ctx.invoke(_registered(ctx, "gui"), **window)


def _registered(ctx: click.Context, name: str) -> click.Command:
    command = root.get_command(ctx, name)
    assert command is not None, name
    return command


def main(argv: list[str] | None = None) -> int:
    """Run ``pos-terminal`` with ``argv`` (default: the process's) and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    opts = Options()
    try:
        return root.main(args=argv, prog_name="pos-terminal", standalone_mode=False, obj=opts) or 0
    except click.ClickException as exc:    # arguments the parser refuses: a person's error, said plainly
        failed_in = getattr(exc, "ctx", None)
        where = failed_in.command_path if failed_in is not None else "pos-terminal"
        print(f"pos-terminal: {exc.format_message()}\n  → `{where} --help` lists what it takes", file=sys.stderr)
        return EXIT_USER_ERROR
    except click.Abort as exc:             # click's name for Ctrl-C, and for Ctrl-D at a prompt
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(exc.__cause__, EOFError):
            print("pos-terminal: the input ended before an answer was given", file=sys.stderr)
            return EXIT_USER_ERROR
        return _bug(opts, exc)
    except OutcomeNotJournaled as exc:
        # Sent, answer not recorded: an open outcome (exit 3) that the next start settles, never "nothing".
        if opts.json:
            print(json.dumps({**exc.summary, "hint": exc.hint}, indent=2, ensure_ascii=False))
        print(f"pos-terminal: {exc}", file=sys.stderr)
        return EXIT_NOT_SETTLED
    except PosError as exc:
        if opts.json:
            print(json.dumps({"error": exc.message, "hint": exc.hint}, indent=2, ensure_ascii=False))
        print(f"pos-terminal: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- a bug: keep the details, tell the person where they are
        return _bug(opts, exc)
    finally:
        if "pos_app.logs" in sys.modules:   # in-process callers (tests, tools) must not keep a handler on this data dir
            sys.modules["pos_app.logs"].shutdown()


def _bug(opts: Options, exc: BaseException) -> int:
    from ..logs import mask_text
    report = _write_crash_report(opts)
    print(f"pos-terminal: internal error ({type(exc).__name__}: {mask_text(str(exc))}). This is a bug; "
          f"details are in {report}", file=sys.stderr)
    return EXIT_BUG


def _write_crash_report(opts: Options) -> str:
    """The traceback, masked like every log line (a payment code can sit in a frame's message)."""
    try:
        import logging
        import time
        import traceback

        from offline_queue.lock import make_private_dir

        from ..logs import mask_text, to_file
        data_dir = opts.data_path()
        make_private_dir(data_dir)
        folder = data_dir / "logs"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        path.write_text(mask_text(traceback.format_exc()), encoding="utf-8")
        to_file(logging.ERROR, "internal error: details in %s", path)
        return str(path)
    except Exception:  # noqa: BLE001 -- the report is a courtesy: never let it raise in turn
        return "(could not write a report; run with -v)"
