"""The first sheet of an .xlsx report as rows of text, streamed from its XML.

openpyxl (even read-only) builds a cell object per cell: a 20,000-row report took over ten seconds, against
about one for this stream. A report needs only the cells' text, so this reads the workbook's parts the way the
format lays them out (ECMA-376: workbook, its relationships, shared strings, styles, the sheet) and nothing else;
openpyxl still lends its tables of number formats and its Excel-date arithmetic. A number cell keeps the text the
file stores (``12.34``, ``2026120611000001``), never a float's rounding; a date-formatted number becomes ISO 8601.

What a report from the gateway never holds is refused (:class:`CellRefused`), not guessed at: a formula (the
sheet was edited: its cached value is someone's arithmetic, not the gateway's evidence) and a number a double
cannot hold exactly (a spreadsheet number is a double: ``1234567890123456789.01`` would be read as another
amount; an id written as such a number is lost the same way, so ids must be text cells). Rows stop being built
once ``max_rows`` filled rows are passed (:class:`TooManyRows`), so a huge sheet is refused, not held.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

Row = tuple[int, list[str]]


class NotAWorkbook(ValueError):
    """The archive lacks a part a workbook has, or a part is not what the format says."""


class CellRefused(NotAWorkbook):
    """A cell a gateway's report never holds: ``what`` is :data:`FORMULA` or :data:`INEXACT`."""

    def __init__(self, what: str, ref: str, column: str | None, value: str) -> None:
        super().__init__(f"{what} in cell {ref}: {value!r}")
        self.what, self.ref, self.column, self.value = what, ref, column, value


class TooManyRows(NotAWorkbook):
    """The sheet has more filled rows than the reader was allowed to build."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")
        self.limit = limit


FORMULA, INEXACT = "formula", "inexact"
#: Significant digits any double tells back exactly (DBL_DIG): a decimal of at most this many is what was typed.
DOUBLE_DIGITS = 15


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]   # both transitional and strict OOXML namespaces, any prefix


def _attr(element: ET.Element, name: str) -> str | None:
    return next((v for k, v in element.attrib.items() if _local(k) == name), None)


def _text(element: ET.Element) -> str:
    """A string item's text: its <t>, or its runs' <t>s; phonetic guides (<rPh>) are not the text."""
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


MAX_COLUMNS = 16384   # XFD, the last column Excel and the OOXML format allow


def _column(ref: str) -> int:
    """``"C7"`` → 2 (0-based)."""
    number = 0
    for ch in ref:
        if not ("A" <= ch <= "Z"):
            break
        number = number * 26 + ord(ch) - 64
        if number > MAX_COLUMNS:   # past XFD: no spreadsheet has it, and a row would be built that wide
            raise NotAWorkbook(f"cell reference {ref[:20]!r} is past column XFD")
    if number == 0:
        raise NotAWorkbook(f"cell reference {ref!r}")
    return number - 1


def _parts(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None, bool]:
    """The first sheet's part, the shared strings' and the styles' parts (if any), and the 1904 date system."""
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    date1904 = any(_local(e.tag) == "workbookPr" and e.get("date1904") in ("1", "true") for e in book.iter())
    sheet = next((e for e in book.iter() if _local(e.tag) == "sheet"), None)
    if sheet is None:
        raise NotAWorkbook("no sheet")
    rid = _attr(sheet, "id")
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    by_id: dict[str | None, str] = {}
    by_type: dict[str, str] = {}
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("Target"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            by_id[rel.get("Id")] = path
            by_type.setdefault(rel.get("Type", "").rsplit("/", 1)[-1], path)
    if rid not in by_id:
        raise NotAWorkbook("the first sheet has no part")
    return by_id[rid], by_type.get("sharedStrings"), by_type.get("styles"), date1904


def _shared(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    if path is None or path not in archive.namelist():
        return []
    strings = []
    with archive.open(path) as part:
        for _event, element in ET.iterparse(part):
            if _local(element.tag) == "si":
                strings.append(_text(element))
                element.clear()
    return strings


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> set[int]:
    """Indexes of the cell formats that show a number as a date or time."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    if path is None or path not in archive.namelist():
        return set()
    root = ET.fromstring(archive.read(path))
    custom = {int(e.get("numFmtId", "0")): e.get("formatCode", "") for e in root.iter() if _local(e.tag) == "numFmt"}
    dates = set()
    xfs = next((e for e in root.iter() if _local(e.tag) == "cellXfs"), None)
    for index, xf in enumerate(x for x in (xfs if xfs is not None else ()) if _local(x.tag) == "xf"):
        number_format = int(xf.get("numFmtId", "0"))
        code = custom.get(number_format, BUILTIN_FORMATS.get(number_format, "General"))
        if is_date_format(code):
            dates.add(index)
    return dates


def _number(text: str, style: int, dates: set[int], date1904: bool) -> str:
    if style in dates:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
        when = from_excel(float(text), epoch=CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)
        return when.isoformat() if when is not None else ""
    try:
        double = float(text)
    except ValueError:
        raise NotAWorkbook(f"number {text!r}") from None
    if double != double or double in (float("inf"), float("-inf")):
        raise NotAWorkbook(f"number {text!r}")
    if text.lstrip("-").isdigit():
        # a whole number (an id, a JPY amount): every digit as stored, if a double holds it exactly
        if int(text) != int(double):
            raise _Inexact(text)
        return text
    # a double as Excel stores it (8.9072999999999993): its shortest form is what was typed (8.9073), unless
    # that needs more digits than a double holds exactly: then the file's number is not the one that was meant
    shortest = Decimal(repr(double))
    if len(shortest.normalize().as_tuple().digits) > DOUBLE_DIGITS:
        raise _Inexact(text)
    try:
        return format(shortest, "f")
    except (ValueError, InvalidOperation):
        raise NotAWorkbook(f"number {text!r}") from None


class _Inexact(Exception):
    """A number cell's text a double cannot hold (the cell's reference is added by the caller)."""


def stream_rows(archive: zipfile.ZipFile, merges: list[str], max_rows: int | None = None) -> Iterator[Row]:
    """The first sheet's filled rows, one at a time (a row is built only when asked for), as (1-based row number,
    cell texts without trailing empty cells); ``merges`` gets the merged ranges (``"A1:B1"``) as the sheet is read:
    whole once the rows are exhausted (a sheet lists its merged cells after its rows). Raises
    :class:`NotAWorkbook` (:class:`CellRefused`, :class:`TooManyRows`), ``KeyError`` (a missing part) or
    ``ET.ParseError``."""
    sheet, shared_path, styles_path, date1904 = _parts(archive)
    shared = _shared(archive, shared_path)
    dates = _date_styles(archive, styles_path)
    header: list[str] | None = None
    count = 0
    previous = 0
    ns = None
    with archive.open(sheet) as part:
        for _event, element in ET.iterparse(part):
            if ns is None:   # the sheet's namespace, from its first element: tags are then compared whole
                ns = element.tag[:element.tag.index("}") + 1] if element.tag.startswith("{") else ""
                row_tag, cell_tag, v_tag, is_tag, merge_tag, f_tag = (
                    ns + t for t in ("row", "c", "v", "is", "mergeCell", "f"))
            if element.tag == merge_tag:
                merges.append(element.get("ref", ""))
            if element.tag != row_tag:
                continue
            number = int(element.get("r") or previous + 1)
            previous = number
            cells: dict[int, str] = {}
            position = -1
            for cell in element.iterfind(cell_tag):
                ref = cell.get("r")
                position = _column(ref) if ref else position + 1
                formula = cell.find(f_tag)
                if formula is not None:
                    raise CellRefused(FORMULA, ref or f"#{position + 1}", _title(header, position),
                                      "".join(formula.itertext()))
                kind = cell.get("t", "n")
                v = cell.find(v_tag)
                value = None if v is None else v.text or ""
                if kind == "inlineStr":
                    inline = cell.find(is_tag)
                    text = _text(inline) if inline is not None else ""
                elif value is None:
                    text = ""
                elif kind == "s":
                    text = shared[int(value)]
                elif kind == "b":
                    text = "TRUE" if value.strip() in ("1", "true") else "FALSE"
                elif kind == "n":
                    try:
                        text = _number(value.strip(), int(cell.get("s", "0")), dates, date1904)
                    except _Inexact:
                        raise CellRefused(INEXACT, ref or f"#{position + 1}", _title(header, position),
                                          value.strip()) from None
                else:   # str (a formula's text), d (ISO 8601), e (an error such as #N/A): as written
                    text = value
                if text:
                    cells[position] = text
            element.clear()
            if not cells:
                continue    # a row of blanks is no row (a sheet may hold millions of them)
            if max_rows is not None and count >= max_rows:
                raise TooManyRows(max_rows)
            count += 1
            row = [""] * (max(cells) + 1)
            for position, text in cells.items():
                row[position] = text
            if header is None:
                header = row
            yield number, row


def _title(header: list[str] | None, position: int) -> str | None:
    """The header's name of a column (the first filled row's cell), to name a refused cell by."""
    if header is None:
        return None
    return header[position] if position < len(header) and header[position] else None
