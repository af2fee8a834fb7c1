"""Receipts and the printer: print (or reprint) a transaction's slip, write it to a PDF or PNG file, print an X
or Z report, and say how the printer is.

The slips are :mod:`pos_app.slip`'s; printing goes through :mod:`pos_app.printing` (a journaled job and the
worker, or :class:`~pos_app.printing.Direct` beside a running till). Printing is not audited: the print
journal itself (``print_jobs``) records every print and reprint, with its copy and outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import PosError, cannot_write
from ..i18n import N_, _
from .registry import Grant, use_case

FORMATS = ("pdf", "png")
#: A slip's kind as a person reads it ("the refund slip of RF… written to …").
SLIP_WORDS = {"receipt": N_("Receipt"), "refund": N_("Refund slip"), "cancel": N_("Cancel slip")}


def transaction(journal, ref: str):
    """The journal's row ``ref`` names: a sale by its paymentRequestId or paymentId, a refund or cancel by
    its id; a PosError in words when there is none."""
    row = journal.find(ref) if 0 < len(ref) <= 64 else None
    if row is None:   # a pasted page is named by its start and length, not echoed back whole
        shown = repr(ref) if len(ref) <= 64 else _("{start}… ({count} characters)").format(
            start=repr(ref[:32])[:-1], count=len(ref))
        raise PosError(_("no transaction {ref} in this terminal's journal").format(ref=shown),
                       hint=_("give a paymentRequestId or paymentId (or a refund's or cancel's id) from the receipt "
                              "or `pos-terminal report`"))
    return row


@use_case("print_receipt", cli="receipt --print", gui="ui.manager:ManagerWindow.reprint_selected")
def print_receipt(grant: Grant, printing, ref: str, *, copy: str = "customer", wait: float | None = None):
    """Print the slip of the transaction ``ref`` (a paid sale's receipt, a refund's or cancel's slip): the
    ``copy`` asked for the first time one is printed (the cashier's print key when ``[receipts] customer =
    "key"``), a reprint after that. ``printing`` is the till's :class:`~pos_app.printing.Printing` (journaled,
    printed by its worker; ``wait`` seconds for the outcome) or a :class:`~pos_app.printing.Direct`.
    Returns a :class:`~pos_app.printing.Printed`."""
    from ..printing import SLIP_OF, journaled_copy, no_printer, slip_of
    if not printing.configured:
        raise no_printer()
    row = transaction(printing.journal, ref)
    kind = SLIP_OF[row["kind"]]
    copy = journaled_copy(printing.journal, kind, row["id"], copy)
    doc = slip_of(printing.journal, printing.config, row, copy)
    return printing.print_now(doc, kind, row["id"], copy, wait=wait)


@dataclass(frozen=True)
class ReceiptFile:
    path: Path
    format: str          # pdf | png
    kind: str            # receipt | refund | cancel
    txn: str
    copy: str

    def to_json(self) -> dict:
        return {"path": str(self.path), "format": self.format, "kind": self.kind, "txn": self.txn, "copy": self.copy}

    @property
    def words(self) -> str:
        return _("{kind} of {txn} written to {path}").format(kind=_(SLIP_WORDS.get(self.kind, self.kind)),
                                                               txn=self.txn, path=self.path)


@use_case("receipt_file", cli="receipt", gui=None,
          why="a receipt as a file is for a prompt (support, an e-mail, the screenshots); the windows print it")
def receipt_file(grant: Grant, journal, config, ref: str, path: Path | str, *, format: str = "pdf",
                 copy: str = "customer") -> ReceiptFile:
    """Write the slip of the transaction ``ref`` to ``path`` as a PDF or PNG (nothing is journaled: a file
    is not a print). Works with no printer, and beside a running till (the journal is only read)."""
    from .. import slip as slips
    from ..printing import SLIP_OF, slip_of
    if format not in FORMATS:
        raise PosError(_("no receipt format {format}").format(format=repr(format)), hint=_("use pdf or png"))
    row = transaction(journal, ref)
    doc = slip_of(journal, config, row, copy)
    target = Path(path)
    writer = slips.write_pdf if format == "pdf" else slips.write_png
    try:
        writer(doc, target, mark=slips.mark_of(config))
    except PosError:
        raise
    except OSError as exc:
        raise cannot_write(target, exc) from None
    return ReceiptFile(target, format, SLIP_OF[row["kind"]], row["id"], copy)


@use_case("print_report", cli="report --print", gui="ui.manager:ManagerWindow.print_report")
def print_report(grant: Grant, printing, report, *, wait: float | None = None):
    """Print an X or Z report (a :class:`~pos_app.services.closing.Report` as taken or reprinted) on the
    receipt printer. A Z's job is about ``Z<number>``, so its reprints are found with it."""
    from .. import slip as slips
    from ..printing import X, Z, no_printer
    if not printing.configured:
        raise no_printer()
    data = report.to_json() if hasattr(report, "to_json") else report
    kind = Z if data.get("type") == "Z" else X
    doc = slips.report_slip(data, printing.config, kind=kind)   # in the receipts' language
    txn = f"Z{data['number']}" if kind == Z and data.get("number") is not None else None
    return printing.print_now(doc, kind, txn, None, wait=wait)


@use_case("printer_status", cli="printer", gui="ui.cashier:CashierWindow.show_printer")
def printer_status(grant: Grant, printing, *, fresh: bool = False):
    """How the printer is (a :class:`~pos_app.printing.PrinterState`: its status in words and the slips
    waiting for a reprint). The till's worker answers with what it last saw and, with ``fresh``, asks the
    printer again (the answer arrives through ``on_state``); a :class:`~pos_app.printing.Direct` asks now."""
    if fresh:
        printing.check_now()
    return printing.state
