"""Receipts and the printer at a prompt: ``receipt PAYMENT (--print | --pdf F | --png F)``, ``printer``, and
the ``--print`` of ``report --x|--z``.

Where a print goes depends on who holds the journal. With no till running, the command opens the journal
itself and its print is a journaled job, printed by :class:`~pos_app.printing.Printing` as the till would.
Beside a running till (its instance lock held) the journal is the till's alone: the command reads it and
sends the slip straight to the printer (:class:`~pos_app.printing.Direct`), unjournaled, and says so; the
till's own prints stay journaled. A PDF or PNG is only a file: nothing is journaled, it works either way.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .. import services
from ..errors import PosError
from ..i18n import _
from . import grants
from .options import by_option, command, timeout_option
from .output import emit

#: An outcome's exit code: printed 0; not printed 1; not known yet (still waiting or printing) 3.
PRINT_EXIT = {"printed": 0, "failed": 1, "waiting": 3, "printing": 3}
PRINT_WAIT = 30.0


def config_of(opts):
    """The config a till on this data directory uses (sandbox mode: the one its simulator wrote), read
    without starting anything."""
    from ..config import load_config
    file = opts.config_file()
    if file is None:
        file = opts.data_path() / "sandbox-gateway" / "terminal.toml"
        if not file.is_file():
            raise PosError(_("there is no journal in {folder} yet").format(folder=opts.data_path()),
                           hint=_("it is created by the first sale; check --data-dir"))
    return load_config(file)


def till_runs(opts) -> bool:
    from ..selftest.storage import terminal_running
    return terminal_running(opts.data_path())


@contextlib.contextmanager
def printer_for(opts, journal=None) -> Iterator:
    """What prints for this command: the journal's own worker when no till runs (``journal``: one this
    command already holds open for writing), else :class:`~pos_app.printing.Direct` beside the till."""
    from offline_queue.journal import Journal

    from ..printing import Direct, Printing
    config = config_of(opts)
    if journal is None and till_runs(opts):
        with Journal.open(opts.data_path(), readonly=True) as reader:
            yield Direct(config, reader)
        return
    with contextlib.ExitStack() as stack:
        if journal is None:
            journal = stack.enter_context(Journal.open(opts.data_path()))
        printing = Printing(None, config, journal=journal).start()
        stack.callback(printing.stop)
        yield printing


def say_direct(opts, printed) -> None:
    if not printed.journaled:
        print("pos-terminal: " + _("a till is running on {folder}: this print went straight to the printer and is "
                                    "not in the print journal (the till's own prints are)").format(
                                        folder=opts.data_path()), file=sys.stderr)


def print_lines(printed) -> list[str]:
    return [printed.words]


@command()
@click.argument("payment", metavar="PAYMENT")
@click.option("--print", "to_printer", is_flag=True, help="print it on the receipt printer (a reprint after the first)")
@click.option("--pdf", metavar="FILE", help="write it to FILE as a PDF")
@click.option("--png", metavar="FILE", help="write it to FILE as a PNG image")
@click.option("--copy", type=click.Choice(("customer", "merchant")), default="customer",
              help="which copy (default customer)")
@timeout_option(PRINT_WAIT, "with --print: wait at most this long for the printer")
@by_option
def receipt(opts, payment, to_printer, pdf, png, copy, timeout, by):
    """The receipt of the paid sale PAYMENT (paymentRequestId or paymentId), or the slip of a refund or
    cancel (its id): --print on the receipt printer, or --pdf FILE / --png FILE."""
    chosen = [name for name, given in (("--print", to_printer), ("--pdf", pdf), ("--png", png)) if given]
    if len(chosen) != 1:
        raise click.UsageError("give one of --print, --pdf FILE or --png FILE" if not chosen else
                               f"{' and '.join(chosen)}: give one of them")
    from offline_queue.journal import Journal
    if not to_printer:
        fmt, path = ("pdf", pdf) if pdf else ("png", png)
        with Journal.open(opts.data_path(), readonly=True) as journal:
            result = services.receipts.receipt_file(grants.counter(by), journal, config_of(opts), payment, Path(path),
                                                    format=fmt, copy=copy)
        emit(opts, result, [result.words])
        return 0
    with printer_for(opts) as printing:
        printed = services.receipts.print_receipt(grants.counter(by), printing, payment, copy=copy, wait=timeout)
    say_direct(opts, printed)
    emit(opts, printed, print_lines(printed))
    return PRINT_EXIT.get(printed.state, 1)


@command()
def printer(opts):
    """How the receipt printer is, in words (online, paper, cover), and the slips waiting for a reprint
    (exit 0 when it is ready or none is configured)."""
    from offline_queue.journal import Journal

    from ..printing import Direct
    config = config_of(opts)
    with contextlib.ExitStack() as stack:
        try:
            journal = stack.enter_context(Journal.open(opts.data_path(), readonly=True))
        except PosError:   # no journal yet: nothing can wait for a reprint
            journal = None
        state = services.receipts.printer_status(grants.counter(), Direct(config, journal))
    lines = [state.words]
    if state.detail and not state.ready:   # why: no USB library, unknown host, not a serial port, ...
        lines.append("  " + state.detail)
    if state.failed:
        lines.append(_("reprint with `pos-terminal receipt PAYMENT --print`; `pos-terminal printer --json` lists the "
                       "jobs"))
    emit(opts, state, lines)
    return 0 if state.ready or not state.configured else 1


def require_printer(opts) -> None:
    """Before a Z is taken with --print: refused now if there is no printer, not after the Z is closed."""
    from ..printing import no_printer
    if config_of(opts).printer.kind == "none":
        raise no_printer()


def print_report(opts, grant, report, journal=None):
    """``report --x|--z --print``: the report on the receipt printer (``journal``: the one the Z holds open)."""
    with printer_for(opts, journal) as printing:
        return services.receipts.print_report(grant, printing, report, wait=PRINT_WAIT)


def emit_report(opts, report, printed) -> int:
    """A report and what became of its print: with --json one object (the report and ``print``)."""
    say_direct(opts, printed)
    data = {**report.to_json(), "print": printed.to_json()}
    emit(opts, data, [*report.lines, "", printed.words])
    if not printed.ok and report.to_json().get("type") == "Z":
        print("pos-terminal: " + _("the Z report is taken and stored; only its print failed: `pos-terminal report "
                                    "--z --number {number} --print` prints it again").format(
                                        number=report.to_json().get("number")), file=sys.stderr)
    return PRINT_EXIT.get(printed.state, 1)
