"""Settlement reconciliation attacked as a hostile gateway and a careless user would (issue 18, review H8).

Real journal files, report files written by hand (csv module, or an .xlsx built part by part with zipfile), the
real use cases. Each finding is read back with plain SQL over the journal's raw rows (settlement_findings,
settlement_rows, audit), never with the code's own helpers. Each of the 20 defects the review found here failed
before its fix (they were strict xfails until the fixes landed)."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest
from flowkit import journal_query

from offline_queue.journal import Journal
from pos_app import services
from pos_app.errors import PosError
from pos_app.roles import MANAGER, TECHNICIAN, PinBook
from pos_app.settlement import columns as C
from pos_app.settlement.parse import SettlementFileError, read_report
from pos_app.vocabulary import REFUND, SALE, SUCCESS

DAY, NEXT = "2026-12-05", "2026-12-06"
CUSTOMER = "SANDBOX_SETTLE"
PIN, TECH_PIN = "246810", "135790"


class Cfg:
    """The parts of a Config the use case reads: the merchant's ids, no [settlement], no [store]."""

    class gateway:
        client_id = CUSTOMER

    class merchant:
        terminal_id, store_id = "T001", "S001"

    settlement = None
    store = None


def row(request_id: str, value: str, *, type_: str = "PAYMENT", currency: str = "USD", fee: str = "-0.10",
        settle: str | None = None, **more) -> dict:
    """One report row; the net is worked out here from the strings (gross + fee), as the simulator writes it."""
    if settle is None:
        settle = f"{float(value) + float(fee or 0):.2f}"
    return {"customerId": CUSTOMER, "PSP": "ALIPAY_CN", "transactionId": "G" + request_id,
            "transactionRequestId": request_id, "transactionType": type_, "status": "SUCCESS",
            "transactionAmountValue": value, "transactionCurrency": currency, "settlementAmountValue": settle,
            "settlementCurrency": currency, "paymentMethodFeeAmountValue": fee,
            "paymentMethodFeeCurrency": currency if fee else "", "transactionCreationTime": f"{DAY}T10:00:00+08:00",
            **more}


def report(path: Path, rows: list[dict], *, kind: str = C.TRANSACTIONS, end: bool = True,
           header: list[str] | None = None) -> Path:
    """A report as Antom writes it: the header, one row a transaction, then <END>."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, header or list(C.COLUMNS[kind]), restval="", extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
        if end:
            f.write(C.END + "\n")
    return path


def tx_file(folder: Path, day: str, rows: list[dict], seq: int = 0) -> Path:
    compact = day.replace("-", "")
    return report(folder / compact / f"transactionItems_{compact}_{seq:03d}.csv", rows)


def txn(j: Journal, id: str, amount: int, *, kind: str = SALE, day: str = DAY, status: str = SUCCESS,
        parent: str | None = None, currency: str = "USD", payment_id: str | None = None) -> None:
    now = time.time()
    j.record({"id": id, "kind": kind, "currency": currency, "amount": amount, "status": status, "phase": "done",
              "state": "{}", "final": 1, "created_at": now, "updated_at": now, "day": day, "parent": parent,
              "payment_id": payment_id}, insert=True)


@pytest.fixture
def journal(tmp_path):
    with Journal.open(tmp_path / "data") as j:
        PinBook(j).set(MANAGER, PIN)
        PinBook(j).set(TECHNICIAN, TECH_PIN)
        yield j


def grant(j):
    return services.unlock(j, MANAGER, PIN, asked_by="boss")


def raw(j: Journal, sql: str, *params) -> list[tuple]:
    """The journal's raw rows by plain SQL (flowkit's read-only oracle)."""
    return journal_query(j.path.parent, sql, params)


def classes(j: Journal) -> dict[str, str]:
    """Every kept finding's class by request id, as the raw table holds it (one type per id in these tests)."""
    return dict(raw(j, "SELECT request_id, cls FROM settlement_findings"))


def run(j: Journal, *files: Path, day: str | None = DAY):
    return services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=list(files), day=day)


def untouched(j: Journal) -> tuple:
    """Everything reconciliation may write, counted by plain SQL: a refused file must leave it as it was."""
    tables = [raw(j, f"SELECT count(*) FROM {t}")[0][0]
              for t in ("settlement_files", "settlement_rows", "settlement_findings")]
    return (*tables, raw(j, "SELECT count(*) FROM audit WHERE action = 'settlement_import'")[0][0])


# == money: the sign, the ids and the store the gateway writes ================================================
def test_a_refund_row_with_a_positive_amount_is_not_matched(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "r1", 200, kind=REFUND, parent="p1")
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00"), row("r1", "2.00", type_="REFUND", fee="0.00")]))
    assert classes(journal)["p1"] == "matched"
    assert classes(journal)["r1"] != "matched"


def test_a_payment_row_with_a_negative_amount_is_not_matched(journal, tmp_path):
    txn(journal, "p1", 1000)
    run(journal, tx_file(tmp_path, DAY, [row("p1", "-10.00", fee="0.00")]))
    assert classes(journal)["p1"] != "matched"


def test_a_cancel_row_that_charges_again_is_not_matched(journal, tmp_path):
    from pos_app.vocabulary import CANCELLED
    txn(journal, "p1", 1000, status=CANCELLED)
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00", fee="0.00"),
                                         row("p1", "10.00", type_="CANCEL", fee="0.00")]))
    assert dict(raw(journal, "SELECT type, cls FROM settlement_findings")) != {"PAYMENT": "matched",
                                                                              "CANCEL": "matched"}


def test_a_row_with_our_request_id_but_another_payment_id_is_not_matched(journal, tmp_path):
    txn(journal, "p1", 1000, payment_id="PAY-OURS")
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00", transactionId="PAY-SOMEONE-ELSES")]))
    assert classes(journal)["p1"] != "matched"


def test_the_payment_id_fallback_cannot_hide_a_second_row_for_one_sale(journal, tmp_path):
    txn(journal, "p1", 1000, payment_id="PAY-1")
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00", transactionId="PAY-1"),
                                         row("ENTRY-PAGE-9", "10.00", transactionId="PAY-1")]))
    got = classes(journal)
    # the gateway settles 20.00 for one 10.00 sale: at least one of the two rows must be a difference
    assert not (got["p1"] == "matched" and got["ENTRY-PAGE-9"] == "matched"), got


def test_a_row_that_settles_less_than_gross_plus_fee_is_not_matched(journal, tmp_path):
    txn(journal, "p1", 1000)
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00", fee="-0.10", settle="1.00")]))
    assert raw(journal, "SELECT amount, fee, settle_amount FROM settlement_rows") == [(1000, -10, 100)]
    assert classes(journal)["p1"] != "matched"


def test_a_refund_booked_against_another_payment_is_not_matched(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "p2", 3000)
    txn(journal, "r1", 200, kind=REFUND, parent="p1")
    run(journal, tx_file(tmp_path, DAY, [
        row("p1", "10.00"), row("p2", "30.00"),
        row("r1", "-2.00", type_="REFUND", fee="0.00", transactionId="Gp2", originalTransactionRequestId="p2")]))
    assert classes(journal)["r1"] != "matched"


def test_a_customised_file_name_still_reports_a_phantom_row(journal, tmp_path):
    txn(journal, "p1", 1000)
    path = report(tmp_path / "store-S001-daily.csv", [row("p1", "10.00"), row("PHANTOM", "99.00")])
    run(journal, path, day=DAY)
    assert classes(journal) == {"p1": "matched", "PHANTOM": "missing_in_journal"}


def test_a_time_the_local_clock_cannot_hold_refuses_its_file_in_words_and_the_next_file_still_imports(
        journal, tmp_path):
    """A customised name, no --date, and a row's time at the calendar's edge: its day cannot be known, so the file
    is refused in words (not an internal error), and the file given after it is still imported."""
    txn(journal, "p1", 1000)
    odd = report(tmp_path / "store-S001-daily.csv",
                 [row("p1", "10.00", transactionCreationTime="0001-01-01T00:00:00+14:00")])
    good = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    result = run(journal, odd, good, day=None)
    assert [r["name"] for r in result.data["refused"]] == [odd.name], result.data["refused"]
    assert raw(journal, "SELECT name FROM settlement_files") == [(good.name,)]
    assert classes(journal) == {"p1": "matched"}


def test_a_failed_attempt_listed_by_the_gateway_is_not_a_difference(journal, tmp_path):
    from pos_app.vocabulary import FAILED
    txn(journal, "p1", 1000)
    txn(journal, "p2", 500, status=FAILED)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00", status="FAIL", settle="", fee=""), row("p1", "10.00"),
                                   row("p2", "5.00", status="FAIL", settle="", fee="")])
    assert [r.request_id for r in read_report(path).rows] == ["p1"]     # the parser knows only p1 moved
    run(journal, path)
    got = classes(journal)
    assert got["p1"] == "matched", got
    assert got.get("p2") in (None, "matched"), got


def test_a_row_booked_to_another_store_does_not_silently_match(journal, tmp_path):
    txn(journal, "p1", 1000)
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00", referenceStoreId="S999-OTHER-STORE")]))
    assert raw(journal, "SELECT store_id FROM settlement_rows") == [("S999-OTHER-STORE",)]
    assert classes(journal)["p1"] != "matched"


def test_fees_in_another_currency_are_not_added_to_the_settlement_currency(journal, tmp_path):
    """A fee in EUR beside a USD settlement must be refused, or kept out of the USD sums."""
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00", settle="10.00", fee="-0.50",
                                       paymentMethodFeeCurrency="EUR")])
    result = run(journal, path)
    if result.refused:
        assert untouched(journal)[:2] == (0, 0)
        return
    usd = result.data["totals"].get("USD", {})
    [(net,)] = raw(journal, "SELECT sum(settle_amount) FROM settlement_rows WHERE settle_currency = 'USD'")
    assert usd.get("net") == net == 1000
    assert usd.get("fee", 0) == 0, f"a EUR fee summed into USD: {result.data['totals']}"


# == duplicates hidden across files ==========================================================================
def test_a_day_split_into_two_sequence_files_keeps_both(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "p2", 2000)
    first = tx_file(tmp_path, DAY, [row("p1", "10.00")], seq=0)
    second = tx_file(tmp_path, DAY, [row("p2", "20.00")], seq=1)
    run(journal, first, second)
    assert raw(journal, "SELECT count(*) FROM settlement_files") == [(2,)]
    assert classes(journal) == {"p1": "matched", "p2": "matched"}


def test_a_duplicate_split_across_two_files_of_one_day_is_found(journal, tmp_path):
    txn(journal, "p1", 1000)
    first = tx_file(tmp_path, DAY, [row("p1", "10.00")], seq=0)
    second = tx_file(tmp_path, DAY, [row("p1", "10.00")], seq=1)
    run(journal, first, second)
    assert classes(journal) == {"p1": "duplicate"}


def settlement_file(folder: Path, batch: str, rows: list[dict], seq: int = 0) -> Path:
    full = [{**r, "settlementBatchId": batch, "settlementInitiatedDate": f"{NEXT}T02:00:00+08:00"} for r in rows]
    return report(folder / f"settlementItems_USD_{batch}_{seq:03d}.csv", full, kind=C.SETTLEMENT)


def test_a_batch_split_across_two_settlement_files_reads_both(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "p2", 2000)
    tx = tx_file(tmp_path, DAY, [row("p1", "10.00"), row("p2", "20.00")])
    first = settlement_file(tmp_path / "s", "B1", [row("p1", "10.00")], seq=0)
    second = settlement_file(tmp_path / "s", "B1", [row("p2", "20.00"), row("p1", "10.00")], seq=1)
    result = run(journal, tx, first, second)
    assert result.data["skipped"] == []
    assert raw(journal, "SELECT count(*) FROM settlement_rows WHERE kind = 'settlement'") == [(3,)]
    assert classes(journal)["p1"] == "duplicate"   # settled twice in one batch


def test_the_csv_and_its_xlsx_twin_are_read_once(journal, tmp_path):
    """Held: the twin of a CSV (same folder, same stem) is skipped, said so, and its rows never counted twice."""
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    twin = path.with_suffix(".xlsx")
    twin.write_bytes(xlsx(table_of(path)))
    result = run(journal, path, twin)
    assert [s["name"] for s in result.data["skipped"]] == [twin.name]
    assert classes(journal) == {"p1": "matched"}
    assert raw(journal, "SELECT count(*) FROM settlement_rows") == [(1,)]


# == state: a later file, the Z, roles, audit =================================================================
def test_a_later_file_that_drops_a_phantom_row_resolves_it(journal, tmp_path):
    txn(journal, "p1", 1000)
    run(journal, tx_file(tmp_path / "t1", DAY, [row("p1", "10.00"), row("PHANTOM", "99.00")]))
    assert classes(journal)["PHANTOM"] == "missing_in_journal"
    run(journal, tx_file(tmp_path / "t2", DAY, [row("p1", "10.00")]))
    kept = services.settlement.settlement_result(grant(journal), journal, DAY)
    assert kept.differences == 0, kept.findings
    assert "PHANTOM" not in classes(journal) or classes(journal)["PHANTOM"] == "matched"


def test_the_next_days_run_does_not_turn_a_matched_sale_into_missing(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "r1", 200, kind=REFUND, parent="p1")
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00")]))
    assert classes(journal) == {"p1": "matched", "r1": "missing_at_gateway"}
    run(journal, tx_file(tmp_path, NEXT, [row("r1", "-2.00", type_="REFUND", fee="0.00")]), day=NEXT)
    assert raw(journal, "SELECT day, cls FROM settlement_findings WHERE request_id = 'r1'") == [(DAY, "matched")]
    assert classes(journal)["p1"] == "matched"
    assert services.settlement.settlement_result(grant(journal), journal, DAY).differences == 0


def test_an_older_file_imported_late_does_not_undo_a_completed_day(journal, tmp_path):
    txn(journal, "p1", 1000)
    t1 = tx_file(tmp_path / "t1", DAY, [row("p1", "10.00", settle="", fee="",
                                             transactionCreationTime=f"{DAY}T10:00:00+08:00")])
    t2 = tx_file(tmp_path / "t2", DAY, [row("p1", "10.00")])
    run(journal, t2)
    assert classes(journal) == {"p1": "matched"}
    run(journal, t1)     # the T+1 file, downloaded again from the dashboard after the T+2 one
    assert classes(journal) == {"p1": "matched"}


def test_the_z_line_agrees_with_the_kept_findings_after_a_later_run(journal, tmp_path):
    txn(journal, "p1", 1000)
    txn(journal, "p2", 500)      # late in the evening: the gateway (UTC+8) books it on the next day
    run(journal, tx_file(tmp_path, DAY, [row("p1", "10.00")]))
    assert classes(journal) == {"p1": "matched", "p2": "missing_at_gateway"}
    run(journal, tx_file(tmp_path, NEXT, [row("p2", "5.00")]), day=NEXT)
    assert raw(journal, "SELECT day, cls FROM settlement_findings WHERE request_id = 'p2'") == [(DAY, "matched")]
    kept = services.settlement.settlement_result(grant(journal), journal, DAY)
    assert kept.differences == 0, kept.findings
    check = services.settlement.gateway_check(journal, DAY)
    assert check["differences"] == kept.differences, services.settlement.gateway_lines(check)


def test_the_z_line_says_not_yet_then_the_run(journal, tmp_path):
    """Held: before any run the Z says "not yet"; after one, the counts of that run and its file."""
    txn(journal, "p1", 1000)
    txn(journal, "p2", 500)
    assert services.settlement.gateway_check(journal, DAY) == {"day": DAY, "checked": False}
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    run(journal, path)
    check = services.settlement.gateway_check(journal, DAY)
    assert check["checked"] and check["files"] == [path.name] and check["differences"] == 1
    assert check["source"] == "journal"
    assert services.settlement.gateway_check(journal, DAY, source="store") == {"day": DAY, "checked": False}
    words = "\n".join(services.settlement.gateway_lines(check))
    assert "1 differences" in words and path.name in words


def test_a_cashier_or_technician_is_refused_and_nothing_is_written(journal, tmp_path):
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    for who in (services.counter("cash"), services.unlock(journal, TECHNICIAN, TECH_PIN, asked_by="tech")):
        with pytest.raises(PosError):
            services.settlement.reconcile_settlement(who, journal, Cfg(), files=[path])
        with pytest.raises(PosError):
            services.settlement.settlement_result(who, journal, DAY)
    assert untouched(journal) == (0, 0, 0, 0)


def test_each_import_and_each_run_is_audited_once_and_a_reimport_changes_nothing(journal, tmp_path):
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    run(journal, path)
    before = untouched(journal)
    again = run(journal, path)
    assert "already imported" in again.data["skipped"][0]["why"]
    assert untouched(journal) == before
    assert raw(journal, "SELECT action, asked_by, approved_by FROM audit WHERE action LIKE 'settlement%' "
                        "ORDER BY seq") == [("settlement_import", "boss", MANAGER),
                                            ("settlement_reconcile", "boss", MANAGER),
                                            ("settlement_reconcile", "boss", MANAGER)]


def test_a_garbage_date_is_said_in_words(journal, tmp_path):
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    for bad in ("2026-13-01", "yesterday", "2026-12-05; DROP TABLE x", ""):
        with pytest.raises(PosError) as caught:
            run(journal, path, day=bad)
        assert "not a date" in caught.value.message
    assert untouched(journal) == (0, 0, 0, 0)


# == bad cells: each refused whole, the journal unchanged =====================================================
@pytest.mark.parametrize("value", ["1e3", "12,00", "NaN", "Infinity", "-inf", "0x10", "1_000.00",
                                   "\u0661\u0662.\u0660\u0660", "12.001", "--5", "12.00 USD", "$12.00", "1.2.3"])
def test_an_amount_that_is_not_an_amount_refuses_the_whole_file(journal, tmp_path, value):
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00"), row("p2", value, settle="", fee="")])
    result = run(journal, path)
    assert [r["name"] for r in result.refused] == [path.name]
    assert "line 3" in result.refused[0]["why"] and "transactionAmountValue" in result.refused[0]["why"]
    assert untouched(journal) == (0, 0, 1, 0)   # the run of the day still lists p1 as missing at the gateway
    assert classes(journal) == {"p1": "missing_at_gateway"}


@pytest.mark.parametrize(("value", "minor"), [("  10.00 ", 1000), ("+10.00", 1000), ("10", 1000), ("10.0", 1000),
                                              ("-0.00", 0), (".5", 50)])
def test_blank_padding_a_plus_and_short_decimals_are_exact(value, minor, tmp_path):
    path = tx_file(tmp_path, DAY, [row("p1", value, settle="", fee="")])
    [parsed] = read_report(path).rows
    assert parsed.amount == minor


def test_a_nul_byte_refuses_the_file(tmp_path):
    path = tx_file(tmp_path, DAY, [row("p1", "10.00")])
    path.write_bytes(path.read_bytes().replace(b"ALIPAY_CN", b"ALIPAY\x00CN"))
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "not a text report file" in caught.value.message


def test_a_header_naming_one_column_twice_through_an_alias_is_refused(tmp_path):
    header = [*C.COLUMNS[C.TRANSACTIONS], "acquirer"]
    path = report(tmp_path / "transactionItems_20261205_000.csv", [row("p1", "10.00", acquirer="X")],
                  header=header)
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "PSP" in caught.value.message and "more than once" in caught.value.message


def test_a_huge_cell_is_refused_in_words(journal, tmp_path):
    txn(journal, "p1", 1000)
    path = tx_file(tmp_path, DAY, [row("p1", "10.00", orderDescription="x")])
    text = path.read_text().replace("ALIPAY_CN", "A" * 200_000, 1)   # one cell past csv's field size limit
    path.write_text(text)
    result = run(journal, path)
    assert [r["name"] for r in result.refused] == [path.name]
    assert untouched(journal)[:2] == (0, 0)


# == XLSX built part by part: what a spreadsheet can hide =====================================================
def table_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def _cell(ref: str, value: str, raw_xml: str | None = None) -> str:
    if raw_xml is not None:
        return raw_xml
    text = value.replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _ref(col: int, line: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{line}"


def xlsx(table: list[list[str]], *, override: dict[str, str] | None = None, doctype: str = "",
         sheet_extra: str = "", styles: str | None = None) -> bytes:
    """An .xlsx whose first sheet holds ``table`` as inline strings; ``override`` replaces a cell's XML by its
    reference (``"P2"``: a formula, a number); ``doctype`` goes before the sheet's root (entity tricks)."""
    override = override or {}
    rows = []
    for i, cells in enumerate(table, start=1):
        rows.append(f'<row r="{i}">' + "".join(_cell(_ref(c, i), v, override.get(_ref(c, i)))
                                              for c, v in enumerate(cells)) + "</row>")
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet {ns}><sheetData>{"".join(rows)}'
             f"</sheetData>{sheet_extra}</worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns} {rel}><sheets>'
                                      '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                      'relationships/styles" Target="styles.xml"/>' if styles else "") + "</Relationships>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if styles:
            z.writestr("xl/styles.xml", styles)
    return out.getvalue()


def _amount_ref(table: list[list[str]], line: int = 2) -> str:
    return _ref(table[0].index("transactionAmountValue"), line)


def xlsx_file(tmp_path: Path, rows: list[dict], **kw) -> tuple[Path, list[list[str]]]:
    csv_path = tx_file(tmp_path / "src", DAY, rows)
    table = table_of(csv_path)
    path = tmp_path / "transactionItems_20261205_000.xlsx"
    path.write_bytes(xlsx(table, **{k: (v(table) if callable(v) else v) for k, v in kw.items()}))
    return path, table


def test_the_xlsx_builder_reads_back_like_the_csv(tmp_path):
    path, _table = xlsx_file(tmp_path, [row("p1", "10.00")])
    [parsed] = read_report(path).rows
    assert (parsed.request_id, parsed.amount, parsed.fee, parsed.settle_amount) == ("p1", 1000, -10, 990)


LAUGHS = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">' +
          "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>")


def test_billion_laughs_in_a_sheet_is_refused_in_words(tmp_path):
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00")], doctype=LAUGHS,
                         override=lambda t: {"A2": '<c r="A2" t="inlineStr"><is><t>&j;</t></is></c>'})
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "not a readable .xlsx" in caught.value.message


def test_an_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{secret}">]>'
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00")], doctype=doctype,
                         override=lambda t: {"A2": '<c r="A2" t="inlineStr"><is><t>&x;</t></is></c>'})
    try:
        parsed = read_report(path)
    except SettlementFileError as exc:
        assert "TOP-SECRET" not in exc.message
    else:
        assert all("TOP-SECRET" not in r.customer_id for r in parsed.rows)


def test_a_zip_bomb_sheet_is_refused_without_reading_it_whole(tmp_path):
    """A 1 GB sheet of blanks compressed to about 1 MB: the streamed reader must not hold it (nor time out)."""
    path = tmp_path / "transactionItems_20261205_000.xlsx"
    good = xlsx([["customerId"], ["x"]])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info, src.read(info))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                       b'spreadsheetml/2006/main"><sheetData>')
            block = b"<row/>" * (1 << 17)
            for _ in range(64):   # 64 * 768 KiB of empty rows = 48 MiB uncompressed
                part.write(block)
            part.write(b"</sheetData></worksheet>")
    path.write_bytes(out.getvalue())
    assert path.stat().st_size < 2_000_000
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "empty" in caught.value.message or "END" in caught.value.message


def test_a_formula_in_an_amount_cell_is_refused(tmp_path):
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00")],
                         override=lambda t: {_amount_ref(t): f'<c r="{_amount_ref(t)}"><f>5+5</f><v>10</v></c>'})
    with pytest.raises(SettlementFileError):
        read_report(path)


def test_an_xlsx_amount_float_cannot_hold_is_refused_not_rounded(tmp_path):
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00", settle="", fee="")],
                         override=lambda t: {_amount_ref(t): f'<c r="{_amount_ref(t)}"><v>1234567890123456789.01'
                                                             "</v></c>"})
    try:
        [parsed] = read_report(path).rows
    except SettlementFileError:
        return
    assert parsed.amount == 123456789012345678901


DATE_STYLES = ('<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>')


def test_a_date_where_an_amount_should_be_is_refused(tmp_path):
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00")], styles=DATE_STYLES,
                         override=lambda t: {_amount_ref(t): f'<c r="{_amount_ref(t)}" s="1"><v>46000</v></c>'})
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "transactionAmountValue" in caught.value.message and "not an amount" in caught.value.message


@pytest.mark.parametrize("number", ["NaN", "INF", "-inf", "1E-3", "1e400"])
def test_a_number_cell_that_is_no_amount_is_refused(tmp_path, number):
    path, _t = xlsx_file(tmp_path, [row("p1", "10.00", settle="", fee="")],
                         override=lambda t: {_amount_ref(t): f'<c r="{_amount_ref(t)}"><v>{number}</v></c>'})
    with pytest.raises(SettlementFileError) as caught:
        read_report(path)
    assert "transactionAmountValue" in caught.value.message or "not a readable" in caught.value.message
