"""The simulator's report files for a real sandbox day: paid over HTTP with signed requests, then read back with
the csv module and openpyxl and checked against the ledger's own rows (plain SQL), knob by knob."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from flowkit import sim_call
from kit import payment_code
from rawsim import Raw

from pos_app import messages
from pos_app.config import MerchantConfig
from pos_app.money import Money
from pos_app.sim import Simulator
from pos_app.sim import reports as sim_reports

#: Decimals per currency, said here rather than taken from pos_app.money (the code under test uses that).
DECIMALS = {"USD": 2, "JPY": 0, "EUR": 2}
TRANSACTION_HEADER = [
    "customerId", "PSP", "ARN", "referenceMerchantId", "referenceStoreId", "transactionId", "transactionRequestId",
    "referenceTransactionId", "originalTransactionRequestId", "transactionType", "paymentMethodType", "status",
    "transactionCreationTime", "transactionCompletionTime", "settlementBatchId", "transactionAmountValue",
    "transactionCurrency", "settlementAmountValue", "settlementCurrency", "quoteCurrencyPair", "quotePrice",
    "paymentMethodFeeAmountValue", "paymentMethodFeeCurrency", "taxFeeAmountValue", "taxFeeCurrency"]
MERCHANT = MerchantConfig("M1", "Shop", "5411", "S1", "Shop 1", "5411", "T1", "USD", "USD")
OTHER_STORE = MerchantConfig("M2", "Shop two", "5411", "S2", "Shop 2", "5411", "T9", "USD", "USD")


def minor(text: str, currency: str) -> int:
    """A report's major-unit text in minor units, exactly."""
    value = Decimal(text).scaleb(DECIMALS[currency])
    assert value == value.to_integral_value(), f"{text} {currency} has more decimals than the currency"
    return int(value)


class Day:
    """One sandbox day: every kind of money move and every report knob, made over HTTP."""

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.raw = sim, Raw(sim)
        self.ids: dict[str, str] = {}

    def pay(self, name: str, amount: int, currency: str) -> str:
        request_id = f"{name}-{uuid.uuid4().hex[:12]}"
        body = json.loads(messages.pay_payment_code(MERCHANT, request_id, Money(amount, currency), payment_code(),
                                                    description="x", notify_url="http://127.0.0.1:9/n").body)
        status, answer, _ = self.raw.post("pay", body)
        assert status == 200, answer
        self.ids[name] = request_id
        self.ids[name + ".paymentId"] = answer.get("paymentId", "")
        return answer["result"]["resultStatus"]

    def pay_order(self, name: str, amount: int, currency: str, merchant: MerchantConfig) -> str:
        """Merchant-presented: the order code is shown, the customer's wallet pays it."""
        request_id = f"{name}-{uuid.uuid4().hex[:12]}"
        body = json.loads(messages.pay_order_code(merchant, request_id, Money(amount, currency), description="x",
                                                  notify_url="http://127.0.0.1:9/n").body)
        status, answer, _ = self.raw.post("pay", body)
        assert status == 200 and answer["result"]["resultStatus"] == "S", answer
        code = answer["orderCodeForm"]["codeDetails"][0]["codeValue"]
        status, paid = sim_call(self.sim, "/sim/wallet/pay-order", {"codeValue": code})
        assert status == 200, paid
        self.ids[name] = request_id
        return paid["paymentStatus"]

    def refund(self, name: str, of: str, amount: int, currency: str) -> str:
        request_id = f"{name}-{uuid.uuid4().hex[:12]}"
        status, answer, _ = self.raw.post("refund", {"refundRequestId": request_id,
                                                     "paymentId": self.ids[of + ".paymentId"],
                                                     "refundAmount": {"currency": currency, "value": str(amount)}})
        assert status == 200, answer
        self.ids[name] = request_id
        return answer["result"]["resultStatus"]

    def cancel(self, of: str) -> str:
        status, answer, _ = self.raw.post("cancel", {"paymentRequestId": self.ids[of]})
        assert status == 200, answer
        return answer["result"]["resultStatus"]


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("gw"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    d = Day(sim)
    try:
        assert d.pay("plain", 1234, "USD") == "S"
        assert d.refund("plain.refund", "plain", 200, "USD") == "S"
        assert d.refund("plain.too-much", "plain", 5000, "USD") == "F"    # refused: never listed
        assert d.pay("yen", 5000, "JPY") == "S"
        assert d.cancel("yen") == "S"                                      # PAYMENT + CANCEL
        assert d.pay("declined", 9905, "USD") == "F"                       # never listed
        assert d.pay("stuck", 9906, "USD") == "U"
        assert d.cancel("stuck") == "S"                                    # never paid: never listed
        assert d.pay("omits", 9921, "USD") == "S"
        assert d.pay("phantom", 9922, "JPY") == "S"
        assert d.pay("wrong", 9923, "USD") == "S"
        assert d.pay("other", 9924, "JPY") == "S"
        assert d.pay("late", 9925, "USD") == "S"
        assert d.refund("late.refund", "late", 25, "USD") == "S"
        assert d.pay("fx", 9926, "JPY") == "S"
        assert d.pay("dup", 9927, "USD") == "S"
        assert d.pay_order("order", 777, "USD", OTHER_STORE) == "SUCCESS"
        d.now = time.time()
        d.db = sqlite3.connect(sim.ledger_file)
        d.today = datetime.fromtimestamp(d.db.execute("SELECT MIN(created_at) FROM payments").fetchone()[0]).date()
        d.out = tmp_path_factory.mktemp("reports")
        d.written = sim_reports.write_reports(sim.ledger_file, d.out, d.today, sim.client_id, now=d.now)
        yield d
    finally:
        sim.stop()


def folder(d: Day, on: date):
    return d.out / "v1" / "settlements" / d.sim.client_id / f"{on:%Y%m%d}"


def read_csv(path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    lines = text.splitlines()
    assert lines[-1] == "<END>", f"{path.name} does not end with <END>"
    return list(csv.reader(io.StringIO("\n".join(lines[:-1]))))


def read_xlsx(path) -> list[list[str]]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[-1][0] == "<END>" and not any(rows[-1][1:]), f"{path.name} does not end with <END>"
    return rows[:-1]


def records(path) -> list[dict[str, str]]:
    header, *rows = read_csv(path)
    return [dict(zip(header, row, strict=True)) for row in rows]


def transactions(d: Day, on: date | None = None):
    on = on or d.today
    return records(folder(d, on) / f"transactionItems_{on:%Y%m%d}_000.csv")


def by_request(rows, request_id):
    return [r for r in rows if r["transactionRequestId"] == request_id]


# -- the files ----------------------------------------------------------------------------------------------

def test_csv_and_xlsx_hold_the_same_rows_under_the_documented_header(day):
    names = sorted(p.relative_to(day.out).as_posix() for p in day.written)
    stamp, next_day = f"{day.today:%Y%m%d}", f"{day.today + timedelta(days=1):%Y%m%d}"
    base = f"v1/settlements/{day.sim.client_id}"
    assert f"{base}/{stamp}/transactionItems_{stamp}_000.csv" in names
    assert f"{base}/{next_day}/settlementItems_USD_{stamp}-USD-01_000.csv" in names
    assert f"{base}/{next_day}/settlementSummary_JPY_{stamp}-JPY-01_000.xlsx" in names
    for path in day.written:
        if path.suffix == ".csv":
            assert read_csv(path) == read_xlsx(path.with_suffix(".xlsx")), path.name
    header = read_csv(folder(day, day.today) / f"transactionItems_{stamp}_000.csv")[0]
    assert header == TRANSACTION_HEADER


def test_every_row_is_this_merchants_with_times_that_carry_an_offset(day):
    rows = transactions(day)
    assert {r["customerId"] for r in rows} == {day.sim.client_id}
    for r in rows:
        for column in ("transactionCreationTime", "transactionCompletionTime"):
            assert datetime.fromisoformat(r[column]).tzinfo is not None, r[column]
        assert r["status"] == "SUCCESS"


def test_every_row_names_the_merchant_and_store_its_pay_request_named(day):
    """Payment-code and order-code payments alike: referenceMerchantId/referenceStoreId are the ones the
    terminal's pay request sent (order.merchant), for the payment's rows and its refunds' and cancels'."""
    expected = {"plain": ("M1", "S1"), "plain.refund": ("M1", "S1"), "yen": ("M1", "S1"), "order": ("M2", "S2")}
    rows = transactions(day)
    for name, ids in expected.items():
        found = by_request(rows, day.ids[name])
        assert found and {(r["referenceMerchantId"], r["referenceStoreId"]) for r in found} == {ids}, name
    assert {(r["referenceMerchantId"], r["referenceStoreId"]) for r in rows} == {("M1", "S1"), ("M2", "S2")}


def test_only_money_that_moved_is_listed(day):
    listed = {r["transactionRequestId"] for r in transactions(day)}
    for name in ("declined", "stuck", "plain.too-much", "omits"):
        assert day.ids[name] not in listed, name
    yen = by_request(transactions(day), day.ids["yen"])
    assert sorted((r["transactionType"], r["transactionAmountValue"]) for r in yen) == \
        [("CANCEL", "-5000"), ("PAYMENT", "5000")]
    refund = by_request(transactions(day), day.ids["plain.refund"])
    assert [(r["transactionType"], r["transactionAmountValue"], r["transactionCurrency"],
             r["originalTransactionRequestId"]) for r in refund] == [("REFUND", "-2.00", "USD", day.ids["plain"])]


def test_amounts_sum_to_the_ledgers_by_plain_sql(day):
    """Rows of payments no knob touches: per currency, the report's total is the ledger's (paid, less refunds and
    cancels of the day)."""
    knobs = (9921, 9927)
    paid = dict(day.db.execute(
        "SELECT currency, SUM(amount) FROM payments WHERE paid_at IS NOT NULL AND amount NOT BETWEEN ? AND ? "
        "GROUP BY currency", knobs).fetchall())
    refunded = dict(day.db.execute(
        "SELECT r.currency, SUM(r.amount) FROM refunds r JOIN payments p USING (payment_id) WHERE r.status = "
        "'SUCCESS' AND p.amount NOT BETWEEN ? AND ? GROUP BY r.currency", knobs).fetchall())
    cancelled = dict(day.db.execute(
        "SELECT currency, SUM(amount) FROM payments WHERE status = 'CANCELLED' AND paid_at IS NOT NULL "
        "AND amount NOT BETWEEN ? AND ? GROUP BY currency", knobs).fetchall())
    ours = {c: paid.get(c, 0) - refunded.get(c, 0) - cancelled.get(c, 0) for c in paid}
    plain_ids = {row[0] for row in day.db.execute(
        "SELECT payment_id FROM payments WHERE amount NOT BETWEEN ? AND ?", knobs)}
    theirs: dict[str, int] = {}
    for r in transactions(day):
        if r["transactionId"] in plain_ids:
            theirs[r["transactionCurrency"]] = theirs.get(r["transactionCurrency"], 0) + \
                minor(r["transactionAmountValue"], r["transactionCurrency"])
    assert theirs == ours == {"USD": 1234 - 200 + 777, "JPY": 0}


def test_fees_are_negative_and_net_is_gross_plus_fee(day):
    for r in transactions(day):
        if not r["settlementAmountValue"]:
            continue
        currency = r["settlementCurrency"]
        assert r["paymentMethodFeeCurrency"] == currency
        gross = minor(r["transactionAmountValue"], currency)   # same currency: no FX here
        fee = minor(r["paymentMethodFeeAmountValue"], currency)
        assert fee <= 0 and abs(Decimal(-fee) - abs(gross) * Decimal("0.006")) <= Decimal("0.5"), r
        assert minor(r["settlementAmountValue"], currency) == gross + fee


def test_settlement_summary_adds_up_its_details(day):
    next_day = day.today + timedelta(days=1)
    for summary_path in sorted(folder(day, next_day).glob("settlementSummary_*.csv")):
        details = records(summary_path.with_name(summary_path.name.replace("settlementSummary", "settlementItems")))
        summary = records(summary_path)
        currency = summary[0]["settlementCurrency"]
        total = [s for s in summary if s["summaryType"] == "TOTAL"]
        assert len(total) == 1 and summary[-1] is total[0]
        assert int(total[0]["count"]) == len(details)
        net = sum(minor(r["settlementAmountValue"], currency) for r in details)
        fee = sum(minor(r["paymentMethodFeeAmountValue"], currency) for r in details)
        assert minor(total[0]["settlementAmountValue"], currency) == net
        assert minor(total[0]["paymentMethodFeeAmountValue"], currency) == fee
        types = [s for s in summary if s["summaryType"] != "TOTAL"]
        assert sum(int(s["count"]) for s in types) == len(details)
        assert sum(minor(s["settlementAmountValue"], currency) for s in types) == net
        assert {r["settlementBatchId"] for r in details} == {total[0]["settlementBatchId"]}
        assert all(r["settlementCurrency"] == currency for r in details)


# -- the knobs, one by one ----------------------------------------------------------------------------------

def test_9921_the_payment_is_missing_from_every_report(day):
    for path in day.written:
        if path.suffix == ".csv":
            assert day.ids["omits"].encode() not in path.read_bytes(), path.name


def test_9922_a_phantom_payment_of_the_same_amount(day):
    ledger_ids = {row[0] for row in day.db.execute("SELECT payment_request_id FROM payments UNION "
                                                   "SELECT refund_request_id FROM refunds")}
    phantoms = [r for r in transactions(day) if r["transactionRequestId"] not in ledger_ids]
    assert [(r["transactionType"], r["transactionAmountValue"], r["transactionCurrency"]) for r in phantoms] == \
        [("PAYMENT", "9922", "JPY")]
    assert len(by_request(transactions(day), day.ids["phantom"])) == 1   # the real one is there too


def test_9923_one_major_unit_more(day):
    (row,) = by_request(transactions(day), day.ids["wrong"])
    assert (row["transactionAmountValue"], row["transactionCurrency"]) == ("100.23", "USD")


def test_9924_another_currency(day):
    (row,) = by_request(transactions(day), day.ids["other"])
    assert (row["transactionAmountValue"], row["transactionCurrency"]) == ("99.24", "USD")


def test_9925_its_refund_is_reported_the_next_day(day):
    assert by_request(transactions(day), day.ids["late.refund"]) == []
    assert [r["transactionType"] for r in by_request(transactions(day), day.ids["late"])] == ["PAYMENT"]
    tomorrow = day.today + timedelta(days=1)
    later = sim_reports.write_reports(day.sim.ledger_file, day.out, tomorrow, day.sim.client_id,
                                      now=sim_reports.day_start(tomorrow) + 60)
    (row,) = by_request(transactions(day, tomorrow), day.ids["late.refund"])
    assert (row["transactionType"], row["transactionAmountValue"]) == ("REFUND", "-0.25")
    batch = folder(day, tomorrow + timedelta(days=1)) / f"settlementItems_USD_{tomorrow:%Y%m%d}-USD-01_000.csv"
    assert batch in later and by_request(records(batch), day.ids["late.refund"])


def fetched(out, d: Day, first: date, *, now: float) -> dict[str, bytes]:
    """What a fetch of day ``first`` takes home at ``now``: the folders ``first``..``first``+2, each written as
    listing it writes it; CSV and XLSX (read back as rows) alike."""
    for n in range(3):
        sim_reports.write_folder(d.sim.ledger_file, out, first + timedelta(days=n), d.sim.client_id, now=now)
    got = {}
    for path in sorted(out.rglob("*.*")):
        rows = read_csv(path) if path.suffix == ".csv" else read_xlsx(path)
        got[path.relative_to(out).as_posix()] = "\n".join(",".join(row) for row in rows).encode()
    return got


def test_9925_a_fetch_of_its_day_never_sees_the_late_refund_until_the_next_day_has_begun(day, tmp_path):
    refund, t = day.ids["late.refund"], day.today
    tomorrow = t + timedelta(days=1)
    assert day.now < sim_reports.day_start(tomorrow)
    while_t_lasts = fetched(tmp_path / "during", day, t, now=day.now)
    assert f"v1/settlements/{day.sim.client_id}/{t:%Y%m%d}/transactionItems_{t:%Y%m%d}_000.csv" in while_t_lasts
    assert [name for name, data in while_t_lasts.items() if refund.encode() in data] == []
    # nothing at all of a day that has not begun: no transactions file of T+1, no batch of T+1 on T+2
    assert [name for name in while_t_lasts if f"/{tomorrow:%Y%m%d}/transactionItems_" in name
            or f"_{tomorrow:%Y%m%d}-" in name] == []

    once_begun = fetched(tmp_path / "after", day, t, now=sim_reports.day_start(tomorrow) + 60)
    base = f"v1/settlements/{day.sim.client_id}"
    holding = sorted(name for name, data in once_begun.items() if refund.encode() in data)
    assert holding == sorted(
        f"{base}/{folder_date:%Y%m%d}/{stem}.{ext}" for folder_date, stem in (
            (tomorrow, f"transactionItems_{tomorrow:%Y%m%d}_000"),
            (tomorrow + timedelta(days=1), f"settlementItems_USD_{tomorrow:%Y%m%d}-USD-01_000"))
        for ext in ("csv", "xlsx"))


def test_9926_fx_is_pending_until_t_plus_2_then_settles_in_usd(day):
    (row,) = by_request(transactions(day), day.ids["fx"])
    assert row["transactionCurrency"] == "JPY" and row["settlementCurrency"] == "USD"
    assert row["settlementAmountValue"] == row["paymentMethodFeeAmountValue"] == row["quotePrice"] == ""
    assert row["settlementBatchId"] == ""
    t2 = day.today + timedelta(days=2)
    assert not [p for p in day.written if f"/{t2:%Y%m%d}/" in p.as_posix()]   # no batch for it before T+2
    out = day.out.parent / (day.out.name + "-t2")
    later = sim_reports.write_reports(day.sim.ledger_file, out, day.today, day.sim.client_id,
                                      now=sim_reports.day_start(t2) + 1)
    files = {p.relative_to(out).as_posix(): p for p in later}
    stamp = f"{day.today:%Y%m%d}"
    (row,) = by_request(records(files[f"v1/settlements/{day.sim.client_id}/{stamp}/transactionItems_{stamp}_000.csv"]),
                        day.ids["fx"])
    quote = Decimal(row["quotePrice"])
    assert row["quoteCurrencyPair"] == "JPY/USD" and quote > 0
    gross = Decimal(9926) * quote                               # in USD, before rounding to cents
    fee = minor(row["paymentMethodFeeAmountValue"], "USD")
    assert abs(minor(row["settlementAmountValue"], "USD") - fee - gross * 100) <= Decimal("0.5")
    batch = [p for name, p in files.items() if f"/{t2:%Y%m%d}/settlementItems_USD_" in name and p.suffix == ".csv"]
    assert len(batch) == 1 and by_request(records(batch[0]), day.ids["fx"])


def test_9927_its_row_appears_twice(day):
    rows = by_request(transactions(day), day.ids["dup"])
    assert len(rows) == 2 and rows[0] == rows[1]
    name = f"settlementItems_USD_{day.today:%Y%m%d}-USD-01_000.csv"
    details = records(folder(day, day.today + timedelta(days=1)) / name)
    assert len(by_request(details, day.ids["dup"])) == 2


# -- determinism --------------------------------------------------------------------------------------------

def test_the_same_ledger_and_now_give_the_same_bytes(day):
    first = {p: p.read_bytes() for p in day.written}
    time.sleep(1.1)   # a later second: zip entry times and document times must not follow the wall clock
    again = sim_reports.build(day.sim.ledger_file, day.today, day.sim.client_id, now=day.now)
    assert {day.out / name: data for name, data in again.items()} == first
    mtimes = {p: p.stat().st_mtime_ns for p in day.written}
    sim_reports.write_reports(day.sim.ledger_file, day.out, day.today, day.sim.client_id, now=day.now)
    assert {p: p.stat().st_mtime_ns for p in day.written} == mtimes   # unchanged files are not rewritten


# -- an older ledger ------------------------------------------------------------------------------------------

#: The payments table as ledger schema 1 (no entry_code) and 2 made it, said here rather than taken from the code.
OLD_PAYMENTS = """CREATE TABLE payments (payment_id TEXT PRIMARY KEY, payment_request_id TEXT NOT NULL UNIQUE,
    body_hash TEXT NOT NULL, mode TEXT NOT NULL, scenario INTEGER, currency TEXT NOT NULL, amount INTEGER NOT NULL,
    status TEXT NOT NULL, result_code TEXT NOT NULL, result_message TEXT NOT NULL, code_hash TEXT,
    code_value TEXT UNIQUE, expire_at REAL, settle_at REAL, notify_url TEXT, created_at REAL NOT NULL, paid_at REAL,
    closed_at REAL, inquiries INTEGER NOT NULL DEFAULT 0, cancels INTEGER NOT NULL DEFAULT 0{more})"""


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_ledger_gains_the_store_columns_keeps_its_payments_and_still_reports_them(tmp_path, version):
    from pos_app.sim.ledger import open_ledger
    path, on = tmp_path / "sim-ledger.sqlite", date(2026, 11, 20)
    at = datetime(2026, 11, 20, 10, 30).timestamp()
    old = sqlite3.connect(path)
    old.execute(OLD_PAYMENTS.format(more=", entry_code TEXT" if version == 2 else ""))
    old.execute("INSERT INTO payments (payment_id, payment_request_id, body_hash, mode, currency, amount, status, "
                "result_code, result_message, created_at, paid_at) VALUES ('P1', 'R1', 'h', 'PaymentCode', 'USD', "
                "1000, 'SUCCESS', 'SUCCESS', 'success', ?, ?)", (at, at))
    old.execute(f"PRAGMA user_version = {version}")
    old.commit()
    old.close()

    for _ in range(2):   # a second open finds nothing left to do
        open_ledger(path).close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone() == (3,)
    assert {"entry_code", "store_id", "merchant_id"} <= {r[1] for r in raw.execute("PRAGMA table_info(payments)")}
    assert raw.execute("SELECT payment_request_id, amount, status, paid_at, store_id, merchant_id FROM payments"
                       ).fetchall() == [("R1", 1000, "SUCCESS", at, None, None)]
    raw.close()
    files = sim_reports.build(path, on, "C1", now=sim_reports.day_start(on + timedelta(days=1)))
    report = tmp_path / "transactions.csv"
    report.write_bytes(files[f"v1/settlements/C1/{on:%Y%m%d}/transactionItems_{on:%Y%m%d}_000.csv"])
    (row,) = records(report)
    assert (row["transactionRequestId"], row["transactionAmountValue"], row["referenceStoreId"],
            row["referenceMerchantId"]) == ("R1", "10.00", "", "")
