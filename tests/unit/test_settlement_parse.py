"""Antom report files, good and malformed, written here with the csv module and openpyxl (independent writers),
read by pos_app.settlement.parse: every malformed shape is refused in words naming where, or read as it should."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.errors import PosError
from pos_app.settlement import columns as C
from pos_app.settlement.parse import SettlementFileError, read_report

TX_NAME = "transactionItems_20261206_000.csv"
TX = list(C.COLUMNS[C.TRANSACTIONS])
ST = list(C.COLUMNS[C.SETTLEMENT])
SU = list(C.COLUMNS[C.SUMMARY])


def tx_row(**values) -> dict:
    row = dict.fromkeys(TX, "")
    row.update(customerId="2188120000000001", PSP="ALIPAY_CN", transactionId="2026120611000001",
               transactionRequestId="pay-1", transactionType="PAYMENT", status="SUCCESS",
               transactionAmountValue="12.34", transactionCurrency="USD", settlementAmountValue="11.96",
               settlementCurrency="USD", paymentMethodFeeAmountValue="-0.38", paymentMethodFeeCurrency="USD",
               transactionCreationTime="2026-12-06T10:12:01+08:00", settlementBatchId="20261206-USD-01")
    row.update(values)
    return row


def csv_bytes(header, rows, *, end=True, bom=False, crlf=True, after_end=()) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    if end:
        writer.writerow([C.END])
    for row in after_end:
        writer.writerow(row)
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(header, rows, *, end=True, merge=None, numbers=False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        cells = [row.get(h, "") or None for h in header] if isinstance(row, dict) else row
        if numbers:   # a sheet saved by a person: amounts become number cells (floats)
            cells = [float(v) if h.endswith("AmountValue") and v else v for h, v in zip(header, cells, strict=True)]
        sheet.append(cells)
    if end:
        sheet.append([C.END])
    if merge:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(data: bytes, name: str = TX_NAME) -> str:
    with pytest.raises(SettlementFileError) as caught:
        read_report(data, name)
    assert isinstance(caught.value, PosError) and caught.value.hint
    return str(caught.value)


# -- good files --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_good_transactions_file_reads_exactly(fmt):
    rows = [tx_row(), tx_row(transactionRequestId="ref-1", transactionType="REFUND", transactionAmountValue="-5",
                             transactionCurrency="JPY", settlementAmountValue="", settlementCurrency="",
                             paymentMethodFeeAmountValue="", paymentMethodFeeCurrency="",
                             originalTransactionRequestId="pay-0"),
            tx_row(transactionRequestId="pay-k", transactionAmountValue="1.005", transactionCurrency="KWD",
                   settlementAmountValue="1.000", settlementCurrency="KWD", paymentMethodFeeAmountValue="-0.005",
                   paymentMethodFeeCurrency="KWD", taxFeeAmountValue="", taxFeeCurrency="")]
    data = csv_bytes(TX, rows) if fmt == "csv" else xlsx_bytes(TX, rows)
    report = read_report(data, TX_NAME.replace(".csv", "." + fmt))
    assert report.kind == C.TRANSACTIONS and report.report_date == "2026-12-06"
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.customer_ids == {"2188120000000001"} and report.warnings == [] and report.other_rows == []
    usd, jpy, kwd = report.rows
    assert (usd.line, usd.request_id, usd.type, usd.currency, usd.amount) == (2, "pay-1", "PAYMENT", "USD", 1234)
    assert (usd.settle_currency, usd.settle_amount, usd.fee_currency, usd.fee) == ("USD", 1196, "USD", -38)
    assert usd.batch == "20261206-USD-01" and usd.at == "2026-12-06T10:12:01+08:00"
    assert (jpy.line, jpy.type, jpy.amount, jpy.currency) == (3, "REFUND", -5, "JPY")
    assert (jpy.settle_amount, jpy.fee, jpy.settle_currency, jpy.original_id) == (None, None, None, "pay-0")
    assert (kwd.amount, kwd.settle_amount, kwd.fee) == (1005, 1000, -5)
    assert all(r.file == report.sha256 and r.report_date == "2026-12-06" for r in report.rows)


def test_bom_crlf_quotes_and_changed_column_order_are_read_by_name():
    header = list(reversed(TX))
    row = tx_row(referenceStoreId='store "7", north', transactionAmountValue="1,234.00")
    row["transactionAmountValue"] = "1234.00"
    data = csv_bytes(header, [row], bom=True, crlf=True)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b'"store ""7"", north"' in data
    (got,) = read_report(data, TX_NAME).rows
    assert (got.amount, got.currency, got.store_id, got.request_id) == (123400, "USD", 'store "7", north', "pay-1")


def test_a_quoted_cell_spanning_lines_keeps_the_next_rows_file_line():
    rows = [tx_row(referenceStoreId="two\nlines"), tx_row(transactionRequestId="pay-2")]
    report = read_report(csv_bytes(TX, rows), TX_NAME)
    assert [r.line for r in report.rows] == [2, 4]


def test_old_generation_names_are_read_as_the_current_ones():
    header = ["customerId", "acquirer", "acquirerReferenceNo", "transactionId", "originalTransactionId",
              "transactionRequestId", "transactionType", "paymentTime", "transactionAmountValue",
              "transactionCurrency", "settlementAmountValue", "settlementCurrency", "feeAmountValue", "feeCurrency"]
    row = ["C9", "ALIPAY_CN", "", "2026120699", "2026120600", "ref-9", "REFUND", "2026-12-06 10:00:00",
           "-100", "JPY", "-97", "JPY", "3", "JPY"]
    report = read_report(csv_bytes(header, [row]), "transactionItems_20261206_001.csv")
    (got,) = report.rows
    assert report.warnings == []
    assert (got.amount, got.settle_amount, got.fee, got.original_id, got.at) == (
        -100, -97, 3, "2026120600", "2026-12-06 10:00:00")


def test_an_unknown_column_is_a_warning_and_the_file_is_read():
    header = [*TX, "brandNewColumn"]
    report = read_report(csv_bytes(header, [tx_row(brandNewColumn="x")]), TX_NAME)
    assert len(report.rows) == 1 and any("brandNewColumn" in w for w in report.warnings)


def test_other_types_are_kept_apart_and_counted():
    rows = [tx_row(), tx_row(transactionType="SETTLEMENT_FEE", transactionRequestId="", transactionAmountValue="",
                             transactionCurrency="", settlementAmountValue="-1.00"),
            tx_row(transactionRequestId="pay-f", status="FAIL")]
    report = read_report(csv_bytes(TX, rows), TX_NAME)
    assert [r.request_id for r in report.rows] == ["pay-1"]
    assert sorted(r.type for r in report.other_rows) == ["PAYMENT", "SETTLEMENT_FEE"]
    assert any("2 row(s)" in w and "SETTLEMENT_FEE" in w for w in report.warnings)


def test_a_settlement_and_a_summary_file():
    st = dict.fromkeys(ST, "")
    st.update(settlementBatchId="20261206-USD-01", customerId="C1", transactionId="T1", transactionRequestId="pay-1",
              transactionType="PAYMENT", settlementInitiatedDate="2026-12-07", transactionAmountValue="10.00",
              transactionCurrency="USD", settlementAmountValue="9.70", settlementCurrency="USD",
              paymentMethodFeeAmountValue="-0.20", paymentMethodFeeCurrency="USD", taxFeeAmountValue="-0.10",
              taxFeeCurrency="USD")
    report = read_report(xlsx_bytes(ST, [st]), "settlementItems_USD_20261206-USD-01_000.xlsx")
    (row,) = report.rows
    assert report.kind == C.SETTLEMENT and report.report_date is None and row.report_date is None
    assert (row.batch, row.amount, row.settle_amount, row.fee) == ("20261206-USD-01", 1000, 970, -30)
    su = dict.fromkeys(SU, "")
    su.update(settlementBatchId="20261206-USD-01", customerId="C1", PSP="ALIPAY_CN", summaryType="TOTAL",
              settlementInitiatedDate="2026-12-07", count="1", settlementAmountValue="9.70", settlementCurrency="USD",
              paymentMethodFeeAmountValue="-0.20", paymentMethodFeeCurrency="USD")
    summary = read_report(csv_bytes(SU, [su]), "settlementSummary_USD_20261206-USD-01_000.csv")
    assert summary.kind == C.SUMMARY and summary.rows == []
    (total,) = summary.summary
    assert (total.batch, total.summary_type, total.count, total.settle_currency, total.settle_amount, total.fee) == (
        "20261206-USD-01", "TOTAL", 1, "USD", 970, -20)


def test_a_path_is_read_with_its_name(tmp_path: Path):
    path = tmp_path / TX_NAME
    path.write_bytes(csv_bytes(TX, [tx_row()]))
    report = read_report(path)
    assert report.name == TX_NAME and report.report_date == "2026-12-06" and len(report.rows) == 1


def test_a_name_without_a_date_has_no_report_date():
    assert read_report(csv_bytes(TX, [tx_row()]), "my-export.csv").report_date is None


# -- malformed shapes: refused, in words that say where -----------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_truncated_without_end_is_refused(fmt):
    data = csv_bytes(TX, [tx_row()], end=False) if fmt == "csv" else xlsx_bytes(TX, [tx_row()], end=False)
    words = refused(data)
    assert "cut short" in words and C.END in words and "download it again" in words


def test_cut_inside_a_row_is_refused():
    data = csv_bytes(TX, [tx_row(), tx_row(transactionRequestId="pay-2")])
    words = refused(data[: data.rindex(b"pay-2") + 3])
    assert "cut short" in words or "cells" in words


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n  \n"])
def test_an_empty_file_is_refused(data):
    assert "empty" in refused(data)


def test_an_empty_xlsx_is_refused():
    assert "empty" in refused(xlsx_bytes([], [], end=False), "x.xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_after_end_is_refused(fmt):
    extra = [tx_row(transactionRequestId="late")[h] for h in TX]
    if fmt == "csv":
        data = csv_bytes(TX, [tx_row()], after_end=[extra])
    else:
        data = xlsx_bytes(TX, [tx_row(), [C.END], extra], end=False)
    words = refused(data)
    assert "line 4" in words and "after the <END>" in words


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_missing_needed_column_is_named(fmt):
    header = [h for h in TX if h != "transactionCurrency"]
    data = csv_bytes(header, [tx_row()]) if fmt == "csv" else xlsx_bytes(header, [tx_row()])
    assert "transactionCurrency" in refused(data)


@pytest.mark.parametrize("header", [[*TX, "status"], [*TX, "acquirer"]])
def test_a_duplicate_header_name_is_refused(header):
    words = refused(csv_bytes(header, [tx_row(acquirer="x")]))
    assert "more than once" in words and ("status" in words or "PSP" in words)


@pytest.mark.parametrize("delta", [+1, -1])
def test_a_row_with_more_or_fewer_cells_is_refused(delta):
    cells = [tx_row()[h] for h in TX]
    cells = [*cells, "x"] if delta > 0 else cells[:-1]
    words = refused(csv_bytes(TX, [tx_row(), cells]))
    assert "line 3" in words and f"{len(TX) + delta} cells" in words


def test_xlsx_a_row_wider_than_its_header_is_refused():
    words = refused(xlsx_bytes(TX, [tx_row(), [tx_row()[h] for h in TX] + ["surplus"]]), "t_20261206.xlsx")
    assert "line 3" in words and f"{len(TX) + 1} cells" in words


def test_xlsx_merged_header_cells_are_refused_and_named():
    words = refused(xlsx_bytes(TX, [tx_row()], merge="B1:C1"), "transactionItems_20261206_000.xlsx")
    assert "merged" in words and "B1:C1" in words


def test_xlsx_merged_cells_below_the_header_are_not_a_header_problem():
    row = tx_row(referenceMerchantId="m", referenceStoreId="")
    report = read_report(xlsx_bytes(TX, [row], merge="D2:E2"), "t_20261206.xlsx")
    assert len(report.rows) == 1


def test_an_xlsx_with_a_corrupt_sheet_is_refused():
    data = xlsx_bytes(TX, [tx_row()])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part_name, body in parts.items():
            archive.writestr(part_name, body[: len(body) // 2] if part_name.startswith("xl/worksheets/") else body)
    assert "not a readable .xlsx" in refused(out.getvalue(), "t.xlsx")


def test_a_pdf_is_refused():
    assert "PDF" in refused(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "report.pdf")


def test_a_zip_that_is_not_xlsx_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(TX_NAME, csv_bytes(TX, [tx_row()]))
    assert "zip" in refused(out.getvalue(), "reports.zip")


def test_a_damaged_xlsx_is_refused():
    data = xlsx_bytes(TX, [tx_row()])
    assert "cannot" in refused(data[: len(data) // 2], "t.xlsx")


@pytest.mark.parametrize("data", [
    "customerId,transactionId\r\nCafé\r\n".encode("latin-1"),
    "customerId\r\n".encode("utf-16"),
])
def test_not_utf8_is_refused(data):
    assert "UTF-8" in refused(data)


def test_binary_is_refused():
    assert "not a text report" in refused(b"\x00\x01\x02garbage\x00" * 10, "x.bin")


@pytest.mark.parametrize("column,value,expect", [
    ("transactionAmountValue", "12.345", "more decimals than USD"),
    ("transactionAmountValue", "12,34", "not an amount"),
    ("transactionAmountValue", "1e3", "not an amount"),
    ("transactionAmountValue", "NaN", "not an amount"),
    ("transactionAmountValue", "", "is empty"),
    ("transactionCurrency", "XYZ", "not a currency"),
    ("settlementAmountValue", "abc", "not an amount"),
    ("paymentMethodFeeAmountValue", "-0.001", "more decimals"),
    ("transactionRequestId", "", "is empty"),
])
def test_a_bad_cell_is_refused_naming_file_line_and_column(column, value, expect):
    words = refused(csv_bytes(TX, [tx_row(), tx_row(**{"transactionRequestId": "pay-2", column: value})]))
    assert f"{TX_NAME}, line 3, column {column}" in words and expect in words


@pytest.mark.parametrize("currency,text", [("JPY", "5.5"), ("USD", "0.001"), ("KWD", "0.0001")])
def test_more_decimals_than_the_exponent_is_refused(currency, text):
    words = refused(csv_bytes(TX, [tx_row(transactionCurrency=currency, transactionAmountValue=text,
                                          settlementCurrency="", settlementAmountValue="",
                                          paymentMethodFeeAmountValue="")]))
    assert "more decimals" in words and currency in words


@pytest.mark.parametrize("currency,text,minor", [("JPY", "1500", 1500), ("JPY", "100.00", 100), ("USD", "15", 1500),
                                                 ("KWD", "1.5", 1500), ("KWD", "-0.001", -1), ("USD", ".5", 50)])
def test_amounts_convert_by_the_currency_exponent(currency, text, minor):
    report = read_report(csv_bytes(TX, [tx_row(transactionCurrency=currency, transactionAmountValue=text,
                                               settlementCurrency="", settlementAmountValue="",
                                               paymentMethodFeeAmountValue="")]), TX_NAME)
    assert report.rows[0].amount == minor


def test_an_unclosed_quote_is_refused():
    data = csv_bytes(TX, [tx_row()]) + b'"unclosed,' + b"x" * 10
    words = refused(data)
    assert "line" in words


def test_a_header_cell_without_a_name_is_refused():
    words = refused(csv_bytes([*TX[:3], "", *TX[3:]], [[*([""] * (len(TX) + 1))]]))
    assert "column 4" in words and "no name" in words


def test_a_trailing_separator_on_every_line_is_no_column_but_a_value_there_is_refused():
    header = [*TX, ""]
    good = [*(tx_row()[h] for h in TX), ""]
    assert len(read_report(csv_bytes(header, [good]), TX_NAME).rows) == 1
    bad = [*(tx_row()[h] for h in TX), "stray"]
    words = refused(csv_bytes(header, [good, bad]))
    assert "line 3" in words and f"{len(TX) + 1} cells" in words


def test_a_summary_count_that_is_not_a_number_is_refused():
    su = dict.fromkeys(SU, "")
    su.update(settlementBatchId="b", customerId="C1", summaryType="TOTAL", count="two", settlementAmountValue="1",
              settlementCurrency="USD")
    assert "column count" in refused(csv_bytes(SU, [su]), "settlementSummary_USD_b_000.csv")


EXPONENTS = {"JPY": 0, "USD": 2, "KWD": 3, "CLF": 4}   # ISO 4217, written out here on purpose


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(EXPONENTS)), st.integers(-10**12, 10**12)), min_size=1, max_size=8),
       st.sampled_from(["csv", "xlsx", "xlsx numbers"]))
def test_major_unit_text_reads_back_as_the_minor_units_it_was_written_from(amounts, fmt):
    rows = []
    for i, (currency, minor) in enumerate(amounts):
        text = str(Decimal(minor).scaleb(-EXPONENTS[currency]))   # Decimal's own major-unit text, e.g. 12.34
        rows.append(tx_row(transactionRequestId=f"pay-{i}", transactionCurrency=currency, transactionAmountValue=text,
                           settlementCurrency=currency, settlementAmountValue=text, paymentMethodFeeAmountValue="",
                           paymentMethodFeeCurrency=""))
    data = csv_bytes(TX, rows) if fmt == "csv" else xlsx_bytes(TX, rows, numbers=fmt == "xlsx numbers")
    got = read_report(data, TX_NAME.replace(".csv", "." + fmt[:4])).rows
    assert [(r.currency, r.amount, r.settle_amount) for r in got] == [(c, m, m) for c, m in amounts]


# -- XLSX written by hand (another writer than openpyxl): shared strings, rich text, prefixes, numbers, dates ----
def hand_xlsx(header: list[str], row: list[tuple[str, str, str | None]], *, date1904=False) -> bytes:
    """A minimal workbook as ECMA-376 lays it out, elements prefixed ``x:``; ``row``: (type, value, style)."""
    ns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    shared = [*header, "<END>"]
    si = "".join(f"<x:si><x:t>{h.replace('<', '&lt;').replace('>', '&gt;')}</x:t></x:si>" for h in shared)
    # one rich-text string with a phonetic guide that is not part of the text
    si += ('<x:si><x:r><x:t>pay-</x:t></x:r><x:r><x:t xml:space="preserve">rich</x:t></x:r>'
           '<x:rPh><x:t>ZZ</x:t></x:rPh></x:si>')
    cols = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def ref(i):
        return cols[i] if i < 26 else cols[i // 26 - 1] + cols[i % 26]
    head = "".join(f'<x:c r="{ref(i)}1" t="s"><x:v>{i}</x:v></x:c>' for i in range(len(header)))
    cells = []
    for i, (kind, value, style) in enumerate(row):
        if value is None or value == "":
            continue
        s = f' s="{style}"' if style else ""
        t = f' t="{kind}"' if kind != "n" else ""
        cells.append(f'<x:c r="{ref(i)}3"{t}{s}><x:v>{value}</x:v></x:c>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><x:worksheet {ns}><x:sheetData>'
             f'<x:row r="1">{head}</x:row><x:row r="3">{"".join(cells)}</x:row>'
             f'<x:row r="4"><x:c r="A4" t="s"><x:v>{len(header)}</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    styles = (f'<x:styleSheet {ns}><x:numFmts count="1"><x:numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
              '</x:numFmts><x:cellXfs count="3"><x:xf numFmtId="0"/><x:xf numFmtId="164"/><x:xf numFmtId="2"/>'
              '</x:cellXfs></x:styleSheet>')
    book = (f'<x:workbook {ns} xmlns:r="{rel}"><x:workbookPr date1904="{int(date1904)}"/><x:sheets>'
            '<x:sheet name="Report" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>')
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId7" Type="{rel}/worksheet" Target="sheets/data.xml"/>'
            f'<Relationship Id="rId8" Type="{rel}/sharedStrings" Target="/xl/strings.xml"/>'
            f'<Relationship Id="rId9" Type="{rel}/styles" Target="styles.xml"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", book)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr("xl/sheets/data.xml", sheet)
        archive.writestr("xl/strings.xml", f"<x:sst {ns}>{si}</x:sst>")
        archive.writestr("xl/styles.xml", styles)
    return out.getvalue()


@pytest.mark.parametrize("date1904,at", [(False, "2026-12-06T12:00:00"), (True, "2030-12-07T12:00:00")])
def test_a_hand_written_xlsx_reads_shared_and_rich_strings_exact_numbers_and_dates(date1904, at):
    header = ["customerId", "transactionId", "transactionRequestId", "transactionType", "transactionAmountValue",
              "transactionCurrency", "settlementAmountValue", "settlementCurrency", "paymentMethodFeeAmountValue",
              "paymentMethodFeeCurrency", "transactionCreationTime", "status"]
    rich = str(len(header) + 1)
    row = [("str", "2188120000000001", None), ("n", "2026120611000001", None), ("s", rich, None),
           ("str", "PAYMENT", None),
           ("n", "12.339999999999999", "2"), ("str", "USD", None), ("n", "1.2E1", None), ("str", "USD", None),
           ("n", "-0.34000000000000002", None), ("str", "USD", None), ("n", "46362.5", "1"), ("str", "SUCCESS", None)]
    report = read_report(hand_xlsx(header, row, date1904=date1904), "transactionItems_20261206_000.xlsx")
    (got,) = report.rows
    assert (got.line, got.customer_id, got.transaction_id, got.request_id) == (
        3, "2188120000000001", "2026120611000001", "pay-rich")
    assert (got.amount, got.settle_amount, got.fee) == (1234, 1200, -34)
    assert got.at == at   # serial 46362.5 in the 1900 and the 1904 date systems


# -- what a gateway's sheet never holds, and files too large to read -----------------------------------------
@pytest.mark.parametrize("column", ["transactionAmountValue", "transactionRequestId"])
def test_a_formula_anywhere_in_a_sheet_is_refused(column):
    """openpyxl writes a text starting with '=' as a formula cell (<f>): the sheet was edited, whatever column."""
    data = xlsx_bytes(TX, [tx_row(**{column: "=5+5"})])
    words = refused(data, TX_NAME.replace(".csv", ".xlsx"))
    assert "formula" in words and "5+5" in words and column in words and "not the gateway's evidence" in words


WIDE = ["customerId", "transactionId", "transactionRequestId", "transactionType", "transactionAmountValue",
        "transactionCurrency", "status"]


@pytest.mark.parametrize(("kind", "column", "value", "read"), [
    ("n", 1, "9007199254740992", "9007199254740992"),     # 2**53: a double holds it, every digit kept
    ("n", 1, "9007199254740993", None),                   # 2**53 + 1: a double cannot: refused, never rounded
    ("n", 4, "0.30000000000000004", None),                # a double whose shortest form has 17 digits
    ("n", 4, "123456789012345.67", None),
    ("n", 4, "1234567890123.25", "1234567890123.25"),     # 15 significant digits: what was typed
])
def test_a_number_cell_a_double_cannot_hold_is_refused(kind, column, value, read):
    row = [("str", "C1", None), ("str", "G1", None), ("str", "pay-1", None), ("str", "PAYMENT", None),
           ("str", "10.00", None), ("str", "USD", None), ("str", "SUCCESS", None)]
    row[column] = (kind, value, None)
    data = hand_xlsx(WIDE, row)
    if read is None:
        words = refused(data, "transactionItems_20261206_000.xlsx")
        assert value in words and WIDE[column] in words and "more digits" in words
        return
    (got,) = read_report(data, "transactionItems_20261206_000.xlsx").rows
    assert got.transaction_id == read if column == 1 else got.amount == int(Decimal(read) * 100)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    from pos_app.settlement import parse

    path = tmp_path / TX_NAME
    with path.open("wb") as f:
        f.truncate(parse.MAX_BYTES + 1)   # sparse: reading it would take 64 MB; the refusal reads nothing
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "more than the 64 MB a report file may have" in caught.value.message
    assert "split the report by date" in caught.value.hint and "ask the gateway" in caught.value.hint
    with pytest.raises(SettlementFileError):
        read_report(b"x" * (parse.MAX_BYTES + 1), TX_NAME)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_past_the_row_limit_are_refused_in_words(fmt, monkeypatch):
    from pos_app.settlement import parse

    monkeypatch.setattr(parse, "MAX_ROWS", 3)
    rows = [tx_row(transactionRequestId=f"pay-{i}") for i in range(4)]
    build = csv_bytes if fmt == "csv" else xlsx_bytes
    name = TX_NAME.replace(".csv", "." + fmt)
    assert len(read_report(build(TX, rows[:3]), name).rows) == 3
    words = refused(build(TX, rows), name)
    assert "more than 3 rows" in words and "split the report by date" in words


def test_a_bad_row_in_a_file_cut_short_is_said_as_cut_short():
    """Rows are built as they come, but what the whole file shows is said first."""
    words = refused(csv_bytes(TX, [tx_row(transactionAmountValue="ten")], end=False))
    assert "cut short" in words
    assert "ten" in refused(csv_bytes(TX, [tx_row(transactionAmountValue="ten")]))


def _resheeted(data: bytes, old: str, new: str) -> bytes:
    """The workbook with one text of its sheet part replaced (what a hand-edited or hostile file holds)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            dst.writestr(name, body.replace(old.encode(), new.encode()) if name == "xl/sheets/data.xml" else body)
    return out.getvalue()


def test_a_cell_past_the_last_column_a_spreadsheet_has_is_refused_in_words():
    """ZZZZZZZZZZZZ3 is no column (XFD is the last): a row that wide is never built (it ended in MemoryError)."""
    row = [("str", "C1", None), ("str", "G1", None), ("str", "pay-1", None), ("str", "PAYMENT", None),
           ("str", "10.00", None), ("str", "USD", None), ("str", "SUCCESS", None)]
    data = _resheeted(hand_xlsx(WIDE, row), 'r="A3"', 'r="ZZZZZZZZZZZZ3"')
    words = refused(data, "transactionItems_20261206_000.xlsx")
    assert "not a readable .xlsx" in words and "XFD" in words


def test_a_date_cell_past_any_calendar_is_refused_in_words():
    """A date-styled cell of 1e300 days: no date holds it (from_excel's OverflowError was a bare traceback)."""
    row = [("str", "C1", None), ("str", "G1", None), ("str", "pay-1", None), ("str", "PAYMENT", None),
           ("str", "10.00", None), ("str", "USD", None), ("str", "SUCCESS", None), ("n", "1e300", "1")]
    data = hand_xlsx([*WIDE, "transactionCreationTime"], row)
    assert "not a readable .xlsx" in refused(data, "transactionItems_20261206_000.xlsx")


def test_a_small_xlsx_that_unpacks_past_the_limit_is_refused_before_it_is_unpacked(monkeypatch):
    """A part whose stated size is past what a report workbook may hold: refused on the archive's own directory,
    nothing inflated (its shared strings would be read whole)."""
    from pos_app.settlement import parse
    data = xlsx_bytes(TX, [tx_row()])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        size = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(parse, "MAX_UNPACKED", size - 1)   # the limit scaled down to this small file
    words = refused(data, TX_NAME.replace(".csv", ".xlsx"))
    assert "unpacks to" in words and "not read" in words
