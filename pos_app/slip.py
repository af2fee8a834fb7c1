"""What a receipt says, as data, and how it is rendered: ESC/POS bytes, a PDF, a PNG.

A :class:`Slip` is the printable document (a sale's receipt, a refund or cancel slip, an X or Z report, the
test page): lines of words, label/value pairs, rules, a QR, a barcode, the acceptance mark, a feed and a
cut. It is built from the journal (a transaction row and its events) and the config, in the receipts'
language, and is pure data with a JSON round trip: the printing spool journals the JSON before it prints,
so a slip prints the same after a restart, whatever the config or the language became since.

What a receipt says follows the issue's reading of the Alipay+ in-store brand guidelines (receipts carry
the Alipay+ brand and the amount): the amount in major units, large; the brand line ("Paid with Alipay+")
with the acceptance mark, or its neutral text when no artwork is configured (we ship none). The
``paymentRequestId`` is printed as a QR (and as text) so a refund can start by scanning the receipt. Code
128 is added only when it fits the paper at a scannable module width (2 dots): our request ids are 32
characters (``PR`` + time + 16 hex), about 350 modules in code set B, so 700 dots at 2 dots a module, wider
than 80 mm paper (576 dots); a QR of the same id is 25 × 25 modules. The customer's payment code is never
printed, not even masked: only the wallet's own masked customer id is.

The three renderers read one layout (:func:`layout`: rows of text in the printer's columns, a wide
Chinese character two columns, as :func:`pos_app.printout.width` counts), so the paper, the PDF and the PNG
show the same lines.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from . import printout
from .brand import BRAND_TEXT
from .brand import mark as brand_mark
from .errors import PosError, cannot_write
from .i18n import N_, _, speaking, stored
from .money import format_minor
from .printout import width
from .vocabulary import CANCEL, KIND_WORDS, REFUND, SALE, status_words

#: The kinds of slip, and of line.
KINDS = ("receipt", "refund", "cancel", "x", "z", "test")
LINE_KINDS = ("text", "pair", "rule", "qr", "barcode", "mark", "feed", "cut")
ALIGNS = ("left", "center", "right")
COPIES = ("customer", "merchant", "reprint")
VERSION = 1
log = logging.getLogger(__name__)

#: An 80 mm printer: 576 dots a line, font A 12 dots wide (48 columns); the PNG is drawn at that scale, 46
#: columns between two margins of a column (a printed line does not touch the paper's edge either).
PNG_WIDTH, COLUMN_DOTS, ROW_DOTS = 576, 12, 30
PAGE_COLUMNS = PNG_WIDTH // COLUMN_DOTS - 2
BARCODE_MODULE = 2    # dots a Code 128 module: one dot (0.125 mm) is below what most scanners read
QR_MODULE = 6         # dots a QR module (0.75 mm): a phone or a 2D scanner reads it at arm's length

COPY_WORDS = {"merchant": N_("MERCHANT COPY"), "reprint": N_("REPRINT")}
REQUEST_LABEL = {REFUND: N_("Refund request ID"), CANCEL: N_("Cancel request ID")}
BRAND_WORDS = {SALE: N_("Paid with {brand}"), REFUND: N_("Refunded through {brand}"),
               CANCEL: N_("Refunded through {brand}")}


class SlipError(PosError):
    """A slip that cannot be read back (a damaged spool body) or built (a row that is no such transaction)."""




# -- the document ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One line of a slip. ``text``: the words (a pair's label; the mark's words without artwork);
    ``value``: a pair's value, set right; ``data``: a QR's or barcode's payload; ``size`` 2 is double
    width and height."""

    kind: str
    text: str = ""
    value: str = ""
    data: str = ""
    align: str = "left"
    bold: bool = False
    size: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LINE_KINDS or self.align not in ALIGNS or self.size not in (1, 2) \
                or not isinstance(self.bold, bool) or not all(isinstance(v, str) for v in (self.text, self.value,
                                                                                            self.data)):
            raise SlipError(_("not a slip line: {line!r}").format(line=self))

    # builders, one per kind
    @classmethod
    def words(cls, text: str, *, align: str = "left", bold: bool = False, size: int = 1) -> Line:
        return cls("text", text=text, align=align, bold=bold, size=size)

    @classmethod
    def pair(cls, label: str, value: str, *, bold: bool = False) -> Line:
        return cls("pair", text=label, value=value, bold=bold)

    @classmethod
    def rule(cls) -> Line:
        return cls("rule")

    @classmethod
    def qr(cls, data: str) -> Line:
        return cls("qr", data=data, align="center")

    @classmethod
    def barcode(cls, data: str) -> Line:
        return cls("barcode", data=data, align="center")

    @classmethod
    def mark(cls, text: str) -> Line:
        return cls("mark", text=text, align="center", bold=True)

    @classmethod
    def feed(cls) -> Line:
        return cls("feed")

    @classmethod
    def cut(cls) -> Line:
        return cls("cut")

    def to_json(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        for name, default in (("text", ""), ("value", ""), ("data", ""), ("align", "left"), ("bold", False),
                              ("size", 1)):
            if getattr(self, name) != default:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_json(cls, d: object) -> Line:
        if not isinstance(d, dict) or set(d) - {"kind", "text", "value", "data", "align", "bold", "size"}:
            raise SlipError(_("not a slip line: {line!r}").format(line=d))
        try:
            return cls(**d)
        except TypeError:
            raise SlipError(_("not a slip line: {line!r}").format(line=d)) from None


@dataclass(frozen=True)
class Slip:
    """A printable document: its kind (:data:`KINDS`), its lines and the language it was written in."""

    kind: str
    lines: tuple[Line, ...] = field(default_factory=tuple)
    language: str = "en"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SlipError(_("a printed slip's record cannot be read"),
                            hint=_("print it again from the journal (reprint)"))
        object.__setattr__(self, "lines", tuple(self.lines))

    def to_json(self) -> dict:
        return {"version": VERSION, "kind": self.kind, "language": self.language,
                "lines": [line.to_json() for line in self.lines]}

    @classmethod
    def from_json(cls, d: object) -> Slip:
        """A slip from :meth:`to_json`'s dict (or its JSON text); a damaged one is a SlipError in words."""
        if isinstance(d, (str, bytes)):
            try:
                d = json.loads(d)
            except ValueError:
                raise SlipError(_("a printed slip's record is not JSON"),
                                hint=_("print it again from the journal (reprint)")) from None
        if not isinstance(d, dict) or d.get("version") != VERSION or not isinstance(d.get("lines"), list) \
                or not isinstance(d.get("language"), str) or not isinstance(d.get("kind"), str):
            raise SlipError(_("a printed slip's record cannot be read"),
                            hint=_("print it again from the journal (reprint)"))
        return cls(d["kind"], tuple(Line.from_json(x) for x in d["lines"]), d["language"])

    def text(self, columns: int = 42) -> str:
        """The slip as plain text in ``columns`` (a QR, a barcode, the mark as a bracketed word): for a
        prompt, a log and the tests."""
        out = []
        for row in layout(self, columns):
            if row.kind == "text":   # a double-size row's padding is double too
                placed = _placed(row.text, row.align, columns // row.size)
                out.append(" " * (row.size - 1) * (len(placed) - len(row.text)) + placed)
            elif row.kind in ("qr", "barcode"):
                out.append(_placed(f"[{row.kind.upper()} {row.data}]", "center", columns))
            elif row.kind == "mark":
                out.append(_placed(f"[{row.text}]", "center", columns))
            elif row.kind == "feed":
                out.append("")
        return "\n".join(line.rstrip() for line in out)


# -- building from the journal -------------------------------------------------------------------------------
def _details(events: Iterable[Mapping[str, Any]]) -> list[dict]:
    return [e["detail"] for e in events if isinstance(e.get("detail"), dict)]


def _last(details: Sequence[dict], key: str) -> str | None:
    """The latest non-empty ``key`` in the events' details (an answer, an inquiry or a notification)."""
    for d in reversed(details):
        value = d.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _when(row: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    """When it happened, local time: its last change of state (a reprint says the same time)."""
    states = [e["at"] for e in events if e.get("kind") == "state" and e.get("at")]
    at = states[-1] if states else (row.get("updated_at") or row["created_at"])
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _keys(row) -> Mapping[str, Any]:
    """A journal row (sqlite3.Row) or a dict, read alike."""
    return row if isinstance(row, Mapping) else dict(zip(row.keys(), tuple(row), strict=True))


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _slip_language(config) -> str | None:
    receipts = getattr(config, "receipts", None)
    return getattr(receipts, "language", None) or None


def _store(config, copy: str) -> list[Line]:
    """The copy's banner, the store's name and address, its terminal."""
    m = config.merchant
    out = [Line.words(_(COPY_WORDS[copy]), align="center", bold=True)] if copy in COPY_WORDS else []
    out.append(Line.words(m.store_name or m.name, align="center", bold=True, size=2))
    if m.name and m.store_name and m.name != m.store_name:
        out.append(Line.words(m.name, align="center"))
    out += [Line.words(part.strip(), align="center") for part in (m.store_address or "").splitlines() if part.strip()]
    out.append(Line.rule())
    return out


def _brand_lines(config, what: str) -> list[Line]:
    return [Line.rule(), Line.mark(BRAND_TEXT),
            Line.words(_(BRAND_WORDS[what]).format(brand=BRAND_TEXT), align="center")]


def _ids(request_id: str, columns: int = 48) -> list[Line]:
    """The request id as a QR (always) and as Code 128 when it fits the paper (module docstring)."""
    out = [Line.qr(request_id)]
    if code128_fits(request_id, columns):
        out.append(Line.barcode(request_id))
    return out


def code128_fits(data: str, columns: int) -> bool:
    """Whether ``data`` in Code 128 set B fits a line of ``columns`` font-A columns at
    :data:`BARCODE_MODULE` dots a module: start, data, check (11 modules each), stop (13), and the quiet
    zones (10 each side)."""
    if not data.isascii() or not data.isprintable():
        return False
    modules = 11 * (len(data) + 2) + 13 + 20
    return modules * BARCODE_MODULE <= columns * COLUMN_DOTS


def _end() -> list[Line]:
    return [Line.feed(), Line.cut()]


def sale_receipt(row, events: Sequence[Mapping[str, Any]], config, *, copy: str = "customer") -> Slip:
    """A sale's receipt: the customer's, the merchant's copy, or a reprint (manager's day view, CLI)."""
    row, events = _keys(row), list(events)
    if row.get("kind") != SALE:
        raise SlipError(_("{id} is not a sale").format(id=row.get("id")))
    if copy not in COPIES:
        raise SlipError(_("a receipt copy is customer, merchant or reprint, not {copy!r}").format(copy=copy))
    details = _details(events)
    with speaking(_slip_language(config)) as lang:
        lines = _store(config, copy) + _head(SALE, row, events, config) + _payment(row, details)
        if row.get("description"):
            lines.append(Line.pair(_("Description"), row["description"]))
        lines += _ids(row["id"], getattr(getattr(config, "printer", None), "columns", 48))
        lines += _brand_lines(config, SALE) + _end()
    return Slip("receipt", tuple(lines), lang)


def _head(kind: str, row, events, config) -> list[Line]:
    """Every slip's top after the store: the terminal, when, what (sale, refund, cancel), how much, the result."""
    return [Line.pair(_("Terminal"), config.merchant.terminal_id),
            Line.pair(_("Date"), _when(row, events)), Line.rule(),
            Line.words(_(KIND_WORDS[kind]).upper(), align="center", bold=True),
            Line.words(_money(row["amount"], row["currency"]), align="center", bold=True, size=2),
            Line.words(_(status_words(kind, row["status"], row.get("result_code"))), align="center", bold=True),
            Line.rule()]


def _payment(sale_row, details) -> list[Line]:
    """The payment a slip is about: the wallet and masked customer as the gateway named them, its paymentId,
    and our paymentRequestId (never a payment code)."""
    lines = []
    wallet, customer = _last(details, "pspName"), _last(details, "displayCustomerId")
    if wallet:
        lines.append(Line.pair(_("Wallet"), wallet))
    if customer:
        lines.append(Line.pair(_("Customer"), customer))
    payment_id = sale_row.get("payment_id") or _last(details, "paymentId")
    if payment_id:
        lines.append(Line.pair(_("Payment ID"), payment_id))
    lines.append(Line.pair(_("Payment request ID"), sale_row["id"]))
    return lines


def _followup(kind: str, row, sale_row, events, config, copy: str, sale_events) -> Slip:
    row, sale_row, events = _keys(row), _keys(sale_row), list(events)
    if row.get("kind") != kind or sale_row.get("kind") != SALE or row.get("parent") != sale_row.get("id"):
        raise SlipError(_("{id} is not a {kind} of sale {sale}").format(id=row.get("id"), kind=_(KIND_WORDS[kind]),
                                                                        sale=sale_row.get("id")))
    details, sale_details = _details(events), _details(sale_events)
    with speaking(_slip_language(config)) as lang:
        lines = _store(config, copy) + _head(kind, row, events, config)
        if kind == REFUND and row.get("description"):
            lines.append(Line.pair(_("Reason"), stored(row["description"])))
        refund_id = _last(details, "refundId")
        if refund_id:
            lines.append(Line.pair(_("Refund ID"), refund_id))
        lines.append(Line.pair(_(REQUEST_LABEL[kind]), row["id"]))
        lines += [Line.rule(), Line.words(_("Sale"), bold=True),
                  Line.pair(_("Amount"), _money(sale_row["amount"], sale_row["currency"]))]
        lines += _payment(sale_row, sale_details)
        lines += _brand_lines(config, kind) + _end()
    return Slip(kind, tuple(lines), lang)


def refund_slip(refund_row, sale_row, events: Sequence[Mapping[str, Any]], config, *, copy: str = "customer",
                sale_events: Sequence[Mapping[str, Any]] = ()) -> Slip:
    """A refund's slip: how much went back, its result, and the sale it belongs to (``events``: the
    refund's; ``sale_events``: the sale's, for its wallet and masked customer id)."""
    return _followup(REFUND, refund_row, sale_row, events, config, copy, sale_events)


def cancel_slip(cancel_row, sale_row, events: Sequence[Mapping[str, Any]], config, *, copy: str = "customer",
                sale_events: Sequence[Mapping[str, Any]] = ()) -> Slip:
    """A manager's cancel of a paid sale: the whole amount went back."""
    return _followup(CANCEL, cancel_row, sale_row, events, config, copy, sale_events)


def report_slip(report: Mapping[str, Any], config, kind: str = "x") -> Slip:
    """An X or Z report on paper: :func:`pos_app.closing.x_report`'s or ``take_z``'s dict (a use case's
    ``Report.data``), said with :mod:`pos_app.printout`'s heading and figures, the screen's and the PDF's."""
    if kind not in ("x", "z") or (report.get("type") or "").lower() != kind:
        raise SlipError(_("this is not a {kind} report").format(kind=kind.upper()))
    with speaking(_slip_language(config)) as lang:
        head = _("Z REPORT #{number}").format(number=report["number"]) if kind == "z" else _("X REPORT")
        lines = [Line.words(head, align="center", bold=True, size=2)]
        if report.get("reprint"):
            lines.append(Line.words(_("REPRINT"), align="center", bold=True))
        lines.append(Line.rule())
        lines += [Line.pair(label, value) for label, value in printout.heading(dict(report))]
        for currency, figures in printout.figures(report.get("summary") or {}).items():
            lines += [Line.rule(), Line.words(currency, bold=True)]
            for f in figures:
                label = f.label if f.count is None else f"{f.label} ({f.count})"
                lines.append(Line.pair(label, f"{f.amount} {currency}", bold=f.key == "net"))
        if not report.get("summary"):   # a Z stored before the summary: its net per currency
            for currency, cur in (report.get("totals") or {}).items():
                net = _("net")
                lines.append(Line.pair(f"{net} {currency}", _money(cur["net"], currency), bold=True))
        diff = report.get("differences") or {}
        counts = {"open": len(diff.get("stillOpen", [])), "review": len(diff.get("needsReview", [])),
                  "settled": len(diff.get("settledByReconciliation", []))}
        lines += [Line.rule(), Line.words(_("differences: {open} still open, {review} need review, {settled} settled "
                                            "by reconciliation").format(**counts))]
        if report.get("sha256"):
            lines += [Line.rule(), Line.words("sha256"), Line.words(report["sha256"])]
        lines += _end()
    return Slip(kind, tuple(lines), lang)


def test_page(config) -> Slip:
    """The technician's test page: the printer as configured, a column ruler, the fonts, a QR, a barcode
    and the brand line."""
    p = config.printer
    with speaking(_slip_language(config)) as lang:
        where = {"network": f"{p.host}:{p.port}", "usb": f"{p.usb_vendor:04x}:{p.usb_product:04x}",
                 "serial": f"{p.device} {p.baud}"}.get(p.kind, "")
        ruler = "".join(str(i % 10) for i in range(1, p.columns + 1))
        lines = [Line.words(_("TEST PAGE"), align="center", bold=True, size=2), Line.rule(),
                 Line.pair(_("Printer"), f"{p.kind} {where}".strip()),
                 Line.pair(_("Columns"), str(p.columns)),
                 Line.pair(_("Terminal"), config.merchant.terminal_id),
                 Line.pair(_("Date"), time.strftime("%Y-%m-%d %H:%M:%S")), Line.rule(),
                 Line.words(ruler), Line.words(_("Bold text"), bold=True), Line.words(_("Large"), size=2),
                 Line.words("中文 ABC 123"), Line.pair(_("Amount"), "12.34 USD"), Line.rule(),
                 Line.qr("pos-terminal test page"), Line.barcode("TEST-1234"),
                 *_brand_lines(config, SALE), *_end()]
    return Slip("test", tuple(lines), lang)


# -- layout ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One printed row: text already fitted to the columns (a pair padded to the full width), or a QR, a
    barcode, the mark, a feed or a cut."""

    kind: str
    text: str = ""
    align: str = "left"
    bold: bool = False
    size: int = 1
    data: str = ""


def _cut_to(text: str, columns: int) -> list[str]:
    """Hard breaks by display width (a word longer than the line; Chinese, which breaks anywhere)."""
    out, cur = [], ""
    for ch in text:
        if cur and width(cur + ch) > columns:
            out.append(cur)
            cur = ""
        cur += ch
    return [*out, cur] if cur or not out else out


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` display columns, broken at spaces where it can be."""
    out: list[str] = []
    for para in text.split("\n"):
        if width(para) <= columns:
            out.append(para)
            continue
        cur = ""
        for word in para.split(" "):
            candidate = f"{cur} {word}" if cur else word
            if width(candidate) <= columns:
                cur = candidate
                continue
            if cur:
                out.append(cur)
            pieces = _cut_to(word, columns)
            out += pieces[:-1]
            cur = pieces[-1]
        out.append(cur)
    return out


def printable(text: str, *, lines: bool = True) -> str:
    """Text as it may reach the paper: a tab, a carriage return or another control character that is
    whitespace becomes a space, any other control character (ESC, GS, BEL: a printer command inside a
    description or a wallet's answer) and the invisible format characters (bidi overrides, zero widths)
    are left out. ``lines``: a line break stays one (a text line's paragraphs), else it is a space too."""
    out = []
    for ch in text.replace("\r\n", "\n"):
        if ch == "\n" and lines:
            out.append(ch)
        elif ch in "\t\r\n\v\f\x85\u2028\u2029":
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return "".join(out)


def _placed(text: str, align: str, columns: int) -> str:
    pad = max(0, columns - width(text))
    return {"left": text, "right": " " * pad + text, "center": " " * (pad // 2) + text}[align]


def layout(slip: Slip, columns: int) -> list[Row]:
    """The slip's rows for a line of ``columns``: text wrapped (a size-2 line has half the columns), a pair
    on one row when it fits (label left, value right) else its value set right on the rows below."""
    rows: list[Row] = []
    for line in slip.lines:
        cols = max(1, columns // line.size)
        if line.kind == "text":
            rows += [Row("text", part, line.align, line.bold, line.size) for part in wrap(printable(line.text),
                                                                                         cols)]
        elif line.kind == "pair":
            label, value = printable(line.text, lines=False), printable(line.value, lines=False)
            if width(label) + 1 + width(value) <= cols:
                rows.append(Row("text", label + " " * (cols - width(label) - width(value)) + value, "left",
                                line.bold, line.size))
            else:
                rows += [Row("text", part, "left", line.bold, line.size) for part in wrap(label, cols)]
                rows += [Row("text", _placed(part, "right", cols), "left", line.bold, line.size)
                         for part in wrap(value, cols)]
        elif line.kind == "rule":
            rows.append(Row("text", "-" * columns))
        elif line.kind == "mark":   # its words, when there is no artwork, as large as a logo would be
            rows.append(Row("mark", printable(line.text, lines=False), "center", True, 2))
        else:
            rows.append(Row(line.kind, "", line.align, data=line.data))
    return rows


# -- ESC/POS ----------------------------------------------------------------------------------------------
FS_CHINESE_ON, FS_CHINESE_OFF = b"\x1c\x26", b"\x1c\x2e"   # FS & / FS .: two-byte (Chinese) character mode


def _is_wide_text(text: str) -> bool:
    return any(ord(ch) > 0x7F and width(ch) == 2 for ch in text)


def _two_byte(text: str) -> bytes:
    """A Chinese-mode row's bytes: GBK (GB18030's one- and two-byte part, what a printer's Chinese font
    holds); a character beyond it (an emoji, a rare ideograph: four bytes in GB18030, which printers print
    as garbage of unknown width) is a '?'."""
    return text.encode("gbk", errors="replace")


def escpos_bytes(slip: Slip, columns: int, *, mark=None) -> bytes:
    """The slip as ESC/POS for a printer of ``columns`` (font A), through python-escpos' Dummy printer
    (profile "default"): alignment ESC a, bold ESC E, double size GS !, the QR as the printer's own
    GS ( k symbol (error correction M: a plain id, no centre icon) at :data:`QR_MODULE` dots a module,
    Code 128 as GS k (set B), the mark (a Pillow image, from :func:`pos_app.brand.mark`) as a raster
    image GS v 0 or else its words, and a full cut with a feed at the end.

    Text without Chinese goes through python-escpos' encoder (the printer's code page). A row with
    Chinese characters is sent in Chinese mode (FS &, then FS . after it) encoded GBK (GB18030's two-byte
    part), which printers for the Chinese market take (ASCII stays one byte). Control and format characters
    never reach the printer (:func:`printable`): a description is text, not commands.
    """
    from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]  # python-escpos ships no types
    from escpos.printer import Dummy  # type: ignore[import-untyped]

    p = Dummy(profile="default")
    p.hw("INIT")
    for row in layout(slip, columns):
        if row.kind == "text":
            p.set(align=row.align, bold=row.bold, normal_textsize=row.size == 1,
                  double_width=row.size == 2, double_height=row.size == 2)
            if _is_wide_text(row.text):
                p._raw(FS_CHINESE_ON + _two_byte(row.text) + FS_CHINESE_OFF + b"\n")
            else:
                p.text(row.text + "\n")
        elif row.kind == "qr":
            p.set(align="center", bold=False, normal_textsize=True)
            p.qr(row.data, ec=QR_ECLEVEL_M, size=QR_MODULE, native=True)
            p.text("\n")
        elif row.kind == "barcode":
            p.set(align="center", bold=False, normal_textsize=True)
            # the printer's own Code 128 (GS k, set B); barcode() would pick the same but print() to stdout
            p._hw_barcode("{B" + row.data, "CODE128", height=64, width=BARCODE_MODULE, pos="BELOW",
                          function_type="B", align_ct=True)
        elif row.kind == "mark":
            if mark is not None:
                p.set(align="center", bold=False, normal_textsize=True)
                p.image(_mark_for_paper(mark, columns * COLUMN_DOTS), center=False)
            else:
                p.set(align="center", bold=True, double_width=True, double_height=True)
                p.text(row.text + "\n")
        elif row.kind == "feed":
            p.ln(1)
        elif row.kind == "cut":
            p.set(align="left", bold=False, normal_textsize=True)
            p.cut(mode="FULL", feed=True)
    return p.output


def _mark_for_paper(mark, dots: int):
    """The mark scaled to at most 96 dots high and the paper's width, centred on a white line of the
    paper's width (raster images are not aligned by ESC a on every printer)."""
    from PIL import Image

    img = mark.convert("RGBA")
    scale = min(96 / img.height, dots / img.width, 1.0)
    img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    canvas = Image.new("RGB", (dots, img.height), "white")
    canvas.paste(img, ((dots - img.width) // 2, 0), img)
    return canvas


# -- PNG --------------------------------------------------------------------------------------------------
def _fonts():
    """The monospaced font and the Chinese one, found as :mod:`pos_app.pdf` finds them, or a PosError
    naming the package to install."""
    from .pdf import FONT_DIRS, MONO, WIDE, _find

    mono, wide = _find(MONO, FONT_DIRS), _find(WIDE, FONT_DIRS)
    if mono is None:
        raise PosError(_("no monospaced font to draw the receipt with"),
                       hint=_("install one, e.g. apt install fonts-dejavu-core"))
    return mono, wide


def _needs_wide(slip: Slip) -> bool:
    return any(_is_wide_text(line.text + line.value) for line in slip.lines)


def _qr_image(data: str, module: int):
    import segno
    from PIL import Image

    buf = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buf, kind="png", scale=module, border=2)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _barcode_image(data: str, module: int, height: int):
    """Code 128 as the printer draws it: python-barcode's module pattern, each module ``module`` pixels,
    quiet zones of 10 modules, the text below (its own ImageWriter rounds module edges unevenly at printer
    resolution, which scanners refuse)."""
    from barcode import Code128  # type: ignore[import-untyped]  # python-barcode (python-escpos') ships no types
    from PIL import Image, ImageDraw, ImageFont

    pattern = Code128(data).build()[0]
    quiet = 10 * module
    font = ImageFont.truetype(str(_fonts()[0]), 20)
    img = Image.new("RGB", (len(pattern) * module + 2 * quiet, height + 30), "white")
    draw = ImageDraw.Draw(img)
    for i, bit in enumerate(pattern):
        if bit == "1":
            draw.rectangle((quiet + i * module, 0, quiet + (i + 1) * module - 1, height - 1), fill="black")
    draw.text((img.width / 2, height + 4), data, font=font, fill="black", anchor="mt")
    return img


def write_png(slip: Slip, path: Path | str, *, mark=None) -> Path:
    """The slip as a receipt-shaped image, :data:`PNG_WIDTH` pixels wide like an 80 mm printer's line (48
    columns of 12 dots), the QR drawn with segno; the screenshot of a receipt."""
    from PIL import Image, ImageDraw, ImageFont

    columns, margin_x = PAGE_COLUMNS, (PNG_WIDTH - PAGE_COLUMNS * COLUMN_DOTS) // 2
    mono_path, wide_path = _fonts()
    if wide_path is None and _needs_wide(slip):
        raise PosError(_("no font with Chinese characters to draw the receipt with"),
                       hint=_("install one, e.g. apt install fonts-droid-fallback"))
    fonts: dict = {}

    def font(wide: bool, size: int):
        key = (wide, size)
        if key not in fonts:
            if wide:
                fonts[key] = ImageFont.truetype(str(wide_path), 2 * COLUMN_DOTS * size)
            else:   # a size whose advance is one column: 12 px at size 1
                probe = ImageFont.truetype(str(mono_path), 100)
                fonts[key] = ImageFont.truetype(str(mono_path), int(100 * COLUMN_DOTS * size / probe.getlength("0")))
        return fonts[key]

    pieces = []   # (image or None, row)
    for row in layout(slip, columns):
        if row.kind == "qr":
            pieces.append((_qr_image(row.data, QR_MODULE), row))
        elif row.kind == "barcode":
            pieces.append((_barcode_image(row.data, BARCODE_MODULE, 64), row))
        elif row.kind == "mark" and mark is not None:
            pieces.append((_mark_for_paper(mark, PNG_WIDTH), row))
        elif row.kind != "cut":
            pieces.append((None, row))
    margin = 24
    height = margin * 2 + sum(img.height + 8 if img is not None else ROW_DOTS * row.size for img, row in pieces)
    page = Image.new("RGB", (PNG_WIDTH, height), "white")
    draw = ImageDraw.Draw(page)
    y = margin
    for img, row in pieces:
        if img is not None:
            page.paste(img, ((PNG_WIDTH - img.width) // 2, y + 4))
            y += img.height + 8
            continue
        if row.kind in ("text", "mark"):   # each character on its own columns: the grid the printer has
            step = COLUMN_DOTS * row.size
            x = margin_x + step * (len(_placed(row.text, row.align, columns // row.size)) - len(row.text))
            baseline = y + int(ROW_DOTS * row.size * 0.76)   # one baseline for both fonts
            for ch in row.text:
                cells = width(ch)
                if ch != " ":
                    f = font(cells == 2, row.size)
                    left = x + (cells * step - f.getlength(ch)) / 2
                    for dx in ((0, 1) if row.bold else (0,)):
                        draw.text((left + dx, baseline), ch, font=f, fill="black", anchor="ls")
                x += cells * step
        y += ROW_DOTS * row.size
    buf = io.BytesIO()
    page.save(buf, format="PNG")
    return save_file(path, buf.getvalue())


# -- PDF --------------------------------------------------------------------------------------------------
def write_pdf(slip: Slip, path: Path | str, *, mark=None) -> Path:
    """The slip as a receipt-shaped PDF (80 mm wide, as long as the slip), with fpdf2 and the fonts
    :mod:`pos_app.pdf` finds: 48 monospaced columns, a Chinese character two columns wide, the QR and
    the barcode as images. The text stays text (search, copy, the tests read it back)."""
    from fpdf import FPDF
    from fpdf.enums import TextMode

    columns = PAGE_COLUMNS
    mono_path, wide_path = _fonts()
    wide_needed = _needs_wide(slip)
    if wide_path is None and wide_needed:
        raise PosError(_("no font with Chinese characters to write the PDF with"),
                       hint=_("install one, e.g. apt install fonts-droid-fallback"))
    paper, column_mm = 80.0, 1.5   # 48 columns of 1.5 mm: 72 mm of print on 80 mm paper
    margin = (paper - columns * column_mm) / 2
    line_mm = column_mm * ROW_DOTS / COLUMN_DOTS
    dot_mm = column_mm / COLUMN_DOTS
    rows = layout(slip, columns)
    images = {}
    for i, row in enumerate(rows):
        if row.kind == "qr":
            images[i] = _qr_image(row.data, QR_MODULE)
        elif row.kind == "barcode":
            images[i] = _barcode_image(row.data, BARCODE_MODULE, 64)
        elif row.kind == "mark" and mark is not None:
            images[i] = _mark_for_paper(mark, PNG_WIDTH)
    height = 2 * margin + sum(images[i].height * dot_mm + 2 if i in images else
                              (0 if row.kind == "cut" else line_mm * row.size) for i, row in enumerate(rows))
    pdf = FPDF(unit="mm", format=(paper, max(height, 40)))
    pdf.set_title({"receipt": "receipt", "refund": "refund", "cancel": "cancel", "x": "X report",
                   "z": "Z report", "test": "test page"}[slip.kind])
    pdf.set_margins(margin, margin)
    pdf.set_auto_page_break(False)
    pdf.add_font("mono", fname=str(mono_path))
    if wide_needed:
        pdf.add_font("wide", fname=str(wide_path))
    pdf.add_page()
    pdf.c_margin = 0
    pdf.set_line_width(0.12)
    y = margin
    for i, row in enumerate(rows):
        if i in images:
            img = images[i]
            w = img.width * dot_mm
            pdf.image(img, x=(paper - w) / 2, y=y + 1, w=w)
            y += img.height * dot_mm + 2
            continue
        if row.kind not in ("text", "mark"):
            y += 0 if row.kind == "cut" else line_mm
            continue
        col = column_mm * row.size
        cols = columns // row.size
        x = margin + col * (len(_placed(row.text, row.align, cols)) - len(row.text))
        for is_wide, run in groupby(row.text, lambda ch: width(ch) == 2):
            text = "".join(run)
            name = "wide" if is_wide else "mono"
            pdf.set_font(name, size=10)   # then scaled so the run takes its columns exactly, as pos_app.pdf does
            probe = pdf.get_string_width(text if is_wide else "0" * len(text))
            pdf.set_font(name, size=10 * col * width(text) / probe if probe else 10)
            pdf.set_xy(x, y)
            # bold without a bold face: the glyphs are outlined too (text set twice would read twice)
            pdf.text_mode = TextMode.FILL_STROKE if row.bold else TextMode.FILL
            pdf.cell(col * width(text), line_mm * row.size, text)
            x += col * width(text)
        y += line_mm * row.size
    return save_file(path, bytes(pdf.output()))


def save_file(path: Path | str, data: bytes) -> Path:
    """Write a rendered slip to ``path`` whole or not at all: through a temporary file beside it, renamed
    over it once written, so a full disk or a failure leaves no empty or cut file (nor a good file of that
    name cut short). A path that exists and is no plain file (a device, a pipe) is written directly."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        if target.exists() and not target.is_file() and not target.is_dir():
            with open(target, "wb") as out:
                out.write(data)
            return target
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        try:
            with open(tmp, "xb") as out:
                out.write(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise cannot_write(target, exc) from None
    return target


def mark_of(config):
    """The acceptance mark configured (a Pillow image), or None: its words are printed instead. A bad
    file is the config check's to report (it names the file); a receipt is never held up by it."""
    brand = getattr(config, "brand", None)
    if brand is None:
        return None
    try:
        return brand_mark(brand)
    except PosError as exc:
        log.warning("receipt printed with the brand's words, not its mark: %s", exc)
        return None


