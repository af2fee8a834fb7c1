"""Read one of Antom's report files (CSV or XLSX) into normalised rows, or refuse it in words.

A settlement file is evidence about money, so a file the parser is not sure of is refused whole, never read
in part: a file cut short (no ``<END>`` line), a cell that is not an amount, a currency the terminal does not
know, a header it cannot read by name. Each refusal names the file, the line and the column, and says what to
do (usually: download it again). Only an unknown column is let through, as a warning: Antom adds columns.

Amounts are major-unit decimal strings; they become minor units with the currency's ISO 4217 exponent,
exactly (``Decimal``, never a float, never a fixed 100). A value that is not a whole number of minor units
(``12.345`` USD, ``5.5`` JPY) is refused; trailing zeros (``100.00`` JPY) are exact and accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import PosError
from ..i18n import N_, _
from ..money import EXPONENTS
from . import columns as C
from .rows import ReportRow, SummaryRow


class SettlementFileError(PosError):
    """A report file the terminal will not read: nothing of it is imported."""


@dataclass
class ReportFile:
    """One parsed report: its identity (name, sha256), what it covers, its rows and what was said about it."""

    name: str
    sha256: str
    kind: str                               # columns.TRANSACTIONS | SETTLEMENT | SUMMARY
    report_date: str | None                 # YYYY-MM-DD of a transactions file (from its name), else None
    customer_ids: set[str] = field(default_factory=set)
    rows: list[ReportRow] = field(default_factory=list)          # PAYMENT / REFUND / CANCEL: matched
    summary: list[SummaryRow] = field(default_factory=list)      # a summary file's rows
    warnings: list[str] = field(default_factory=list)            # words for a person (already translated)
    other_rows: list[ReportRow] = field(default_factory=list)    # other types (fees, disputes...): listed only


MATCHED_TYPES = frozenset({C.PAYMENT, C.REFUND, C.CANCEL})
#: A transactions file lists failed attempts too (its ``status``); only money that moved is matched.
MOVED_STATUSES = frozenset({"", "SUCCESS"})

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_PLAIN = re.compile(r"(-?)(\d+)(?:\.(\d+))?", re.ASCII)   # the common shape of an amount, read without Decimal
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_AGAIN = N_("download it again from the SFTP folder or the Antom Dashboard")


#: The largest report file read (bytes) and the most data rows built from one. A store's day is a few thousand
#: rows (20,000 is a big one, about 3 MB); a file past these is refused in words before it is read whole, so a
#: wrong or hostile file cannot run the terminal out of memory (MemoryError) halfway through an import. The
#: whole ``reconcile-settlement`` of 200,000 rows peaked at about 830 MB (measured): it fits 1.5 GB with room.
MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
#: An XLSX is a zip: what its parts unpack to is bounded too (zipfile reads no part past its stated size), so a
#: small file that unpacks to gigabytes (its shared strings are read whole) is refused before it is unpacked.
MAX_UNPACKED = 8 * MAX_BYTES
_TOO_LARGE_HINT = N_("a store's day is far smaller: split the report by date (one file a day), or ask the gateway "
                     "why it is so large")


def read_report(source: Path | bytes, name: str | None = None) -> ReportFile:
    """Parse ``source`` (a path, or the file's bytes with its ``name``) into a :class:`ReportFile`.

    Raises :class:`SettlementFileError` for anything it will not read; never returns part of a file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "report"
        if len(data) > MAX_BYTES:
            raise _too_large(name, len(data))
    else:
        path = Path(source)
        name = name or path.name
        try:
            with path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_BYTES:     # said before anything is read
                    raise _too_large(name, size)
                data = f.read(MAX_BYTES + 1)   # a file that grows while read is still cut off here
        except OSError as exc:
            raise SettlementFileError(_("cannot read {name}: {reason}").format(name=name, reason=exc.strerror or exc),
                                      hint=_("check the path and that this user may read the file")) from None
        if len(data) > MAX_BYTES:
            raise _too_large(name, len(data))
    if not data.strip():
        raise SettlementFileError(_("{name} is empty").format(name=name), hint=_(_AGAIN))
    sheet = data[:4] == b"PK\x03\x04"
    merges: list[str] | None = None
    if sheet:
        table, merges = _xlsx_table(data, name)
    else:
        table = _csv_table(data, name)
    return _read_table(table, name, hashlib.sha256(data).hexdigest(), short_ok=sheet, merges=merges)


def _too_large(name: str, size: int) -> SettlementFileError:
    return SettlementFileError(
        _("{name} is {size} MB, more than the {limit} MB a report file may have: it was not read").format(
            name=name, size=f"{size / 1024 / 1024:.1f}", limit=MAX_BYTES // (1024 * 1024)),
        hint=_(_TOO_LARGE_HINT))


def _too_many_rows(name: str) -> SettlementFileError:
    return SettlementFileError(
        _("{name} has more than {limit} rows, more than a report file may have: it was not read").format(
            name=name, limit=f"{MAX_ROWS:,}"), hint=_(_TOO_LARGE_HINT))


# -- the two formats, each to (line, cells) rows ----------------------------------------------------------
def _csv_table(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    """The checks of the whole file first (format, encoding); then its rows one by one (never all at once)."""
    if data[:5] == b"%PDF-":
        raise SettlementFileError(_("{name} is a PDF, not a report file").format(name=name),
                                  hint=_("use the .csv or .xlsx report; a PDF cannot be reconciled"))
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise SettlementFileError(_("{name} is an old Excel (.xls) file").format(name=name),
                                  hint=_("use the .csv or .xlsx report as Antom publishes it"))
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SettlementFileError(_("{name} is not UTF-8 (it is UTF-16)").format(name=name),
                                  hint=_("use the file as Antom publishes it, or save it again as CSV UTF-8"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        if b"\x00" in data[:4096]:
            raise SettlementFileError(_("{name} is not a text report file").format(name=name),
                                      hint=_("use the .csv or .xlsx report as Antom publishes it")) from None
        raise SettlementFileError(_("{name}, line {line}: not UTF-8 text").format(name=name, line=line),
                                  hint=_("use the file as Antom publishes it, or save it again as CSV UTF-8")) from None
    if "\x00" in text:
        raise SettlementFileError(_("{name} is not a text report file").format(name=name),
                                  hint=_("use the .csv or .xlsx report as Antom publishes it"))
    return _csv_rows(text, name)


def _csv_rows(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SettlementFileError(_("{name}, line {line}: cannot read the CSV ({reason})").format(
            name=name, line=start, reason=exc), hint=_(_AGAIN)) from None


def _xlsx_table(data: bytes, name: str) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    """The sheet's rows one by one, and its merged ranges (whole once the rows are read)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise SettlementFileError(_("{name} looks like an .xlsx or .zip file but cannot be opened").format(name=name),
                                  hint=_(_AGAIN)) from None
    if "xl/workbook.xml" not in names:
        raise SettlementFileError(_("{name} is a zip archive, not a report file").format(name=name),
                                  hint=_("unpack it and import the .csv or .xlsx report inside"))
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED:
        raise SettlementFileError(
            _("{name} unpacks to {size} MB, more than the {limit} MB a report workbook may hold: it was not read")
            .format(name=name, size=f"{unpacked / 1024 / 1024:.0f}", limit=MAX_UNPACKED // (1024 * 1024)),
            hint=_(_TOO_LARGE_HINT))
    merges: list[str] = []
    return _xlsx_rows(archive, name, merges), merges


def _xlsx_rows(archive: zipfile.ZipFile, name: str, merges: list[str]) -> Iterator[tuple[int, list[str]]]:
    from xml.etree.ElementTree import ParseError

    from .xlsx import FORMULA, CellRefused, NotAWorkbook, TooManyRows, stream_rows
    try:
        yield from stream_rows(archive, merges, max_rows=MAX_ROWS + 2)   # the header and the <END> line too
    except TooManyRows:
        raise _too_many_rows(name) from None
    except CellRefused as exc:
        where = _("cell {ref}").format(ref=exc.ref) if exc.column is None else \
            _("cell {ref} (column {column})").format(ref=exc.ref, column=exc.column)
        if exc.what == FORMULA:
            raise SettlementFileError(
                _("{name}, {where}: a formula ({formula}); the gateway's report holds values, so this sheet was "
                  "edited and is not the gateway's evidence").format(
                    name=name, where=where, formula=repr(exc.value[:80])),
                hint=_("{again}, or use the .csv report").format(again=_(_AGAIN))) from None
        raise SettlementFileError(
            _("{name}, {where}: the number {value} has more digits than a spreadsheet number holds exactly, so "
              "it cannot be read without rounding it").format(name=name, where=where, value=exc.value),
            hint=_("use the .csv report, which keeps every digit, or {again}").format(again=_(_AGAIN))) from None
    except (NotAWorkbook, KeyError, IndexError, ValueError, OverflowError, ParseError, zipfile.BadZipFile,
            zlib.error, EOFError, OSError) as exc:
        raise SettlementFileError(_("{name} is not a readable .xlsx file ({reason})").format(name=name, reason=exc),
                                  hint=_("{again}, or use the .csv report").format(again=_(_AGAIN))) from None


def _merged_header(name: str, merges: list[str], header_line: int) -> None:
    hit = []
    for ref in merges:   # "B1:C1"; a whole-column range ("A:B") has no row numbers and spans every row
        rows = [int(n) for n in re.findall(r"\d+", ref)]
        if not rows or min(rows) <= header_line <= max(rows):
            hit.append(ref)
    if hit:
        raise SettlementFileError(
            _("{name}: the header row has merged cells ({cells}), so its column names cannot be read").format(
                name=name, cells=", ".join(hit)),
            hint=_("use the file as Antom publishes it, or unmerge those cells and name each column"))


# -- the table, whichever format it came in --------------------------------------------------------------
def _read_table(table: Iterable[tuple[int, list[str]]], name: str, sha256: str, *, short_ok: bool,
                merges: list[str] | None = None) -> ReportFile:
    """Rows are read one at a time and each is built as it comes, so a file is never held twice over.

    What is said first is what the whole file shows (cut short, a row after ``<END>``, no header), then the
    first bad header or row: so a row's fault found on the way is kept until the end has been seen.
    ``short_ok``: a sheet row may stop before the header's last column (an empty cell is no cell in XLSX);
    ``merges``: a sheet's merged ranges (filled as its rows are read), refused when one spans the header."""
    reader: _Table | None = None
    fault: SettlementFileError | None = None
    seen = ended = False
    after_end: int | None = None
    rows = header_line = 0
    for line, cells in table:
        if not _filled(cells):
            continue
        if ended:
            after_end = line
            break
        if _is_end(cells):
            ended = True
            continue
        if not seen:
            seen, header_line = True, line
            try:
                reader = _Table(name, sha256, line, cells, short_ok=short_ok)
            except SettlementFileError as exc:
                fault = exc
            continue
        rows += 1
        if rows > MAX_ROWS:     # no more rows built: the file is refused whatever its end says
            raise _too_many_rows(name)
        if reader is not None:
            try:
                reader.add(line, cells)
            except SettlementFileError as exc:
                fault, reader = exc, None   # what was built is let go now
    if not seen and not ended:
        raise SettlementFileError(_("{name} is empty").format(name=name), hint=_(_AGAIN))
    if not ended:
        raise SettlementFileError(
            _("{name} is cut short: it does not end with {end}").format(name=name, end=C.END),
            hint=_("download it again: the file ends before {end}").format(end=C.END))
    if after_end is not None:
        raise SettlementFileError(
            _("{name}, line {line}: a row after the {end} line").format(name=name, line=after_end, end=C.END),
            hint=_("the file was joined or edited: {again}").format(again=_(_AGAIN)))
    if merges and seen:
        _merged_header(name, merges, header_line)
    if not seen:
        raise SettlementFileError(_("{name} has no header row before {end}").format(name=name, end=C.END),
                                  hint=_(_AGAIN))
    if fault is not None:
        raise fault
    assert reader is not None   # seen, and no fault: the header was read
    return reader.finish()


class _Table:
    """A report being read: its header by name, then each data row into the :class:`ReportFile`."""

    def __init__(self, name: str, sha256: str, header_line: int, raw_header: list[str], *, short_ok: bool) -> None:
        header = [C.canonical(h.replace("\ufeff", "")) for h in raw_header]
        blank_tail = 0
        while header and not header[-1]:   # "a,b,c," : a trailing separator, no column; its cells must stay empty
            header.pop()
            blank_tail += 1
        for number, title in enumerate(header, start=1):
            if not title:
                raise SettlementFileError(
                    _("{name}, line {line}: column {column} of the header has no name").format(
                        name=name, line=header_line, column=number), hint=_(_AGAIN))
        twice = sorted(n for n, k in Counter(header).items() if k > 1)
        if twice:
            raise SettlementFileError(
                _("{name}: the header names {columns} more than once").format(name=name, columns=", ".join(twice)),
                hint=_("use the file as Antom publishes it: each column once"))
        kind = C.kind_of(header)
        missing = [n for n in C.NEEDED[kind] if n not in header]
        if missing:
            raise SettlementFileError(
                _("{name} lacks the column(s) {columns}, which reconciliation needs").format(
                    name=name, columns=", ".join(missing)),
                hint=_("check that this is an Antom transaction, settlement or summary report, or {again}").format(
                    again=_(_AGAIN)))
        self.report = ReportFile(name=name, sha256=sha256, kind=kind,
                                 report_date=_date_in_name(name) if kind == C.TRANSACTIONS else None)
        unknown = [n for n in header if n not in C.KNOWN]
        if unknown:
            self.report.warnings.append(_("{name}: column(s) {columns} unknown to the terminal, not used").format(
                name=name, columns=", ".join(unknown)))
        self.name, self.sha256, self.kind = name, sha256, kind
        self.header, self.width, self.blank_tail, self.short_ok = header, len(header), blank_tail, short_ok

    def add(self, line: int, cells: list[str]) -> None:
        width, report = self.width, self.report
        if self.short_ok and len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        if self.blank_tail and len(cells) == width + self.blank_tail and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]
        if len(cells) != width:
            raise SettlementFileError(
                _("{name}, line {line}: {count} cells where the header has {width}").format(
                    name=self.name, line=line, count=len(cells), width=width),
                hint=_(_AGAIN))
        cell = _Cells(self.name, line, dict(zip(self.header, map(str.strip, cells), strict=True)))
        if self.kind == C.SUMMARY:
            report.summary.append(_summary_row(cell))
            report.customer_ids.add(cell.need("customerId"))
        else:
            row, moved = _report_row(cell, self.kind, self.sha256, report.report_date)
            report.customer_ids.add(row.customer_id)
            (report.rows if moved else report.other_rows).append(row)

    def finish(self) -> ReportFile:
        report = self.report
        if report.other_rows:
            counts = Counter(_other_label(cell_type) for cell_type in report.other_rows)
            words = ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))
            report.warnings.append(_("{name}: {count} row(s) listed but not matched ({types})").format(
                name=report.name, count=len(report.other_rows), types=words))
        return report


def _other_label(row: ReportRow) -> str:
    return row.type or "?"


def _filled(cells: list[str]) -> bool:
    """Whether a row has any text (a row of blanks is no row); the first cell decides for nearly every row."""
    return bool(cells) and (bool(cells[0].strip()) or any(c.strip() for c in cells))


def _is_end(cells: list[str]) -> bool:
    texts = [c.strip() for c in cells]
    return bool(texts) and texts[0] == C.END and not any(texts[1:])


def _date_in_name(name: str) -> str | None:
    for match in _DATE_IN_NAME.finditer(Path(name).name):
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            continue
    return None


class _Cells:
    """One data row by column name, with refusals that say file, line and column."""

    def __init__(self, name: str, line: int, values: dict[str, str]) -> None:
        self.name, self.line, self.values = name, line, values

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def opt(self, column: str) -> str | None:
        return self.values.get(column) or None

    def need(self, column: str) -> str:
        value = self.values.get(column, "")
        if not value:
            raise self.refuse(column, _("is empty"))
        return value

    def refuse(self, column: str, what: str) -> SettlementFileError:
        return SettlementFileError(
            _("{name}, line {line}, column {column}: {what}").format(
                name=self.name, line=self.line, column=column, what=what),
            hint=_("the file is damaged or was edited: {again}").format(again=_(_AGAIN)))

    def currency(self, column: str, *, required: bool) -> str | None:
        code = self.values.get(column, "").upper()
        if not code:
            if required:
                raise self.refuse(column, _("is empty"))
            return None
        if code not in EXPONENTS:
            raise self.refuse(column, _("{value!r} is not a currency the terminal knows").format(
                value=self.values[column]))
        return code

    def minor(self, column: str, currency: str | None) -> int | None:
        """The cell in minor units of ``currency``, exactly; None when empty."""
        text = self.values.get(column, "")
        if not text:
            return None
        if currency is None:
            raise self.refuse(column, _("{value!r} has no currency beside it").format(value=text))
        plain = _PLAIN.fullmatch(text) if len(text) <= 32 else None
        if plain is not None:   # "-12.34": in integers, exactly as Decimal would say it (20,000 rows a day)
            sign, whole, fraction = plain.groups()
            places = EXPONENTS[currency]
            fraction = fraction or ""
            if len(fraction) > places and fraction[places:].strip("0"):
                raise self.refuse(column, _("{value!r} has more decimals than {currency} has ({places})").format(
                    value=text, currency=currency, places=places))
            value = int(whole + fraction[:places].ljust(places, "0"))
            return -value if sign else value
        if len(text) > 32 or not _NUMBER.fullmatch(text):
            raise self.refuse(column, _("{value!r} is not an amount").format(value=text))
        try:
            scaled = Decimal(text).scaleb(EXPONENTS[currency])
        except InvalidOperation:
            raise self.refuse(column, _("{value!r} is not an amount").format(value=text)) from None
        if scaled != scaled.to_integral_value():
            places = EXPONENTS[currency]
            raise self.refuse(column, _("{value!r} has more decimals than {currency} has ({places})").format(
                value=text, currency=currency, places=places))
        return int(scaled)


def _report_row(cell: _Cells, kind: str, sha256: str, report_date: str | None) -> tuple[ReportRow, bool]:
    """The row, and whether it is matched (a PAYMENT/REFUND/CANCEL whose money moved)."""
    get = cell.values.get   # optional cells straight from the dict: a day's file is 20,000 rows
    type_ = cell.need("transactionType").upper()
    status = get("status", "").upper()
    moved = type_ in MATCHED_TYPES and status in MOVED_STATUSES
    currency = cell.currency("transactionCurrency", required=moved)
    amount = cell.minor("transactionAmountValue", currency)
    if amount is None:
        if moved:
            raise cell.refuse("transactionAmountValue", _("is empty"))
        amount = 0
    settle_currency = cell.currency("settlementCurrency", required=False)
    settle_amount = cell.minor("settlementAmountValue", settle_currency)
    fee, fee_currency = _fee(cell, settle_currency or currency)
    row = ReportRow(
        kind=kind, file=sha256, line=cell.line, report_date=report_date,
        batch=get("settlementBatchId") or None,
        customer_id=cell.need("customerId"),
        request_id=cell.need("transactionRequestId") if moved else get("transactionRequestId", ""),
        transaction_id=cell.need("transactionId") if moved else get("transactionId", ""),
        original_id=get("originalTransactionRequestId") or get("originalTransactionId") or None,
        type=type_, currency=currency or "", amount=amount,
        settle_currency=settle_currency, settle_amount=settle_amount,
        fee_currency=fee_currency, fee=fee,
        store_id=get("referenceStoreId") or None,
        at=get("transactionCreationTime") or get("transactionCompletionTime") or get("settlementInitiatedDate")
        or None, status=status or None)
    return row, moved


def _fee(cell: _Cells, fallback: str | None) -> tuple[int | None, str | None]:
    """Payment-method fee plus tax fee, in one currency; None when no fee cell is filled (not known yet).

    A fee cell without its currency is in the settlement currency (else the transaction's): fees are
    deducted from what is settled."""
    total, currency = None, None
    for value, cur in (("paymentMethodFeeAmountValue", "paymentMethodFeeCurrency"),
                       ("taxFeeAmountValue", "taxFeeCurrency")):
        if not cell.get(value):
            continue
        code = cell.currency(cur, required=False) or fallback
        if currency is not None and code != currency:
            raise cell.refuse(cur, _("the fees are in two currencies ({a} and {b})").format(a=currency, b=code))
        currency = code
        total = (total or 0) + (cell.minor(value, code) or 0)   # the cell is filled: never None
    return total, currency


def _summary_row(cell: _Cells) -> SummaryRow:
    count_text = cell.need("count")
    if not (count_text.isascii() and count_text.isdigit()):
        raise cell.refuse("count", _("{value!r} is not a whole number").format(value=count_text))
    settle_currency = cell.currency("settlementCurrency", required=True) or ""   # required: never empty
    settle_amount = cell.minor("settlementAmountValue", settle_currency)
    if settle_amount is None:
        raise cell.refuse("settlementAmountValue", _("is empty"))
    fee, fee_currency = _fee(cell, settle_currency)
    return SummaryRow(batch=cell.need("settlementBatchId"), customer_id=cell.need("customerId"),
                      summary_type=cell.need("summaryType").upper(), count=int(count_text),
                      settle_currency=settle_currency, settle_amount=settle_amount,
                      fee_currency=fee_currency, fee=fee, line=cell.line)
