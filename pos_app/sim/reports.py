"""The gateway's reconciliation reports, written from the simulator's ledger as Antom lays them out.

For a day T (the machine's local day, as the journal's ``day`` is): the transaction details of T in the folder
``<T>``, and one settlement batch per settlement currency (settlement details + summary) in the folder of its
settlement date, T+1. Every file is CSV and XLSX with the same rows: a header of parameter names
(:data:`pos_app.settlement.columns.COLUMNS`, in order), the rows, and a last line ``<END>``; UTF-8.

Only money that moved is listed: a paid payment (PAYMENT), a successful refund (REFUND), the cancel of a paid
payment (its PAYMENT, and a CANCEL). Amounts are major-unit decimal strings by the currency's ISO 4217 exponent;
PAYMENT is positive, REFUND and CANCEL negative (the docs are silent; pos_app.settlement.columns says the same).

Fees, a rule of this simulator (Antom's pricing is per contract): every listed row is charged
``FEE_RATE`` of its settlement amount, rounded half-even to the settlement currency's minor unit, written
negative; tax is zero; ``settlementAmountValue`` is the net, gross plus fees. So a refund or a cancel costs a fee
too, as a money move of its own.

The scenario knobs (pos_app.sim.scenarios.REPORT_TABLE), by the payment amount's minor value, make the reports
differ from what happened; they act on the payment's own PAYMENT row, except REFUND_SETTLES_LATER (its refunds)
and FX_PENDING (all its rows: they settle in another currency, post-quoted, so their settlement amount and fee
stay empty in the transaction details until T+2 00:00 local, and their batch — its own, settled on T+2 — is
produced only then).

Choices where the docs are silent or cut off (antom-reports.md): ``transactionId`` is the paymentId on every row
(the current generation's rule, refunds included); ``originalTransactionRequestId`` is the payment's
paymentRequestId on REFUND and CANCEL rows, and a CANCEL's ``transactionRequestId`` is that paymentRequestId too;
batch ids are ``<T>-<CUR>-01`` (settled on T+1) and ``<T>-<CUR>-02`` (post-quoted FX, settled on T+2);
``quoteCurrencyPair`` is ``<transaction>/<settlement>`` and ``quotePrice`` the settlement currency's units per unit
of the transaction currency (:data:`QUOTES`, made up); ``settlementInitiatedDate`` is 00:00 local of the
settlement date. A day that has begun has its transactions file even with no rows; a batch exists only with rows.
``referenceStoreId``/``referenceMerchantId`` are the ones the pay request named (``order.merchant``), which the
ledger keeps; a payment an older ledger kept without them has its entry code's, or none (empty).

Deterministic: the same ledger and ``now`` give the same bytes on a machine (times carry its offset), XLSX
included (its document times and zip entry times are fixed, never the wall clock). The sandbox writes a day's files
at once, when asked (no waiting for T+1: T's same-currency batch appears in T+1's folder as soon as T has begun), so
a day can be fetched while it runs. But a day that has not begun at ``now`` has no files at all: a late refund of
T is T+1's money, and a fetch made during T (folders T..T+2) must not find it, not even in T+1's batch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import sqlite3
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from ..money import exponent, format_minor
from ..settlement import columns as C
from . import scenarios as sc

FEE_RATE = Decimal("0.006")   # 0.6 % of the settlement amount, per row
PSP = "ALIPAY_SANDBOX"         # the engine's pspName
METHOD = "CONNECT_WALLET"
SUCCESS = "SUCCESS"
#: Post-quoted FX: units of the settlement currency per unit of the transaction currency (made up, fixed so the
#: files are reproducible). A pair not listed is quoted 1.
QUOTES = {("CNY", "USD"): Decimal("0.138500"), ("HKD", "USD"): Decimal("0.128200"),
          ("JPY", "USD"): Decimal("0.006700"), ("EUR", "USD"): Decimal("1.085000"),
          ("USD", "EUR"): Decimal("0.921700"), ("SGD", "USD"): Decimal("0.742000"),
          ("GBP", "USD"): Decimal("1.270000"), ("KRW", "USD"): Decimal("0.000720")}
_TYPE_ORDER = {C.PAYMENT: 0, C.REFUND: 1, C.CANCEL: 2}
_XLSX_TIME = (1980, 1, 1, 0, 0, 0)   # every zip entry's time: the bytes must not depend on when they were written


def other_currency(currency: str) -> str:
    """The currency a knob swaps in: USD, or EUR for USD."""
    return "EUR" if currency == "USD" else "USD"


def day_start(day: date) -> float:
    """00:00 of a local day, as a timestamp."""
    return datetime.combine(day, time.min).astimezone().timestamp()


def local_day(at: float) -> date:
    return datetime.fromtimestamp(at).date()


def iso_local(at: float) -> str:
    """ISO 8601 with the machine's offset, to the second (``2026-12-06T10:12:01+08:00``)."""
    return datetime.fromtimestamp(int(at)).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Move:
    """One money move the gateway lists, as the gateway believes it (knobs applied)."""

    type: str                 # PAYMENT | REFUND | CANCEL
    request_id: str
    transaction_id: str       # the paymentId, for every type (the current generation's rule)
    original_request_id: str  # the payment's paymentRequestId for REFUND and CANCEL
    currency: str
    amount: int               # signed minor units of currency
    created: float
    completed: float
    day: date                 # the report day T
    knob: int                 # the payment's amount: which scenario knob applies
    store_id: str
    merchant_id: str


@dataclass(frozen=True)
class Settled:
    """A move with its settlement: ``settle_amount`` (net) and ``fee`` are None while post-quoted FX pends."""

    move: Move
    currency: str
    batch: str | None
    settle_date: date
    gross: int | None
    fee: int | None
    pair: str
    quote: Decimal | None

    @property
    def net(self) -> int | None:
        return None if self.gross is None or self.fee is None else self.gross + self.fee


def _connect(ledger: Path | sqlite3.Connection) -> tuple[sqlite3.Connection, bool]:
    if isinstance(ledger, sqlite3.Connection):
        return ledger, False
    db = sqlite3.connect(f"file:{Path(ledger)}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    return db, True


#: The merchant and store a payment was made for: as its pay request named them (ledger schema 3), else — a
#: payment of an older ledger — its entry code's; else unknown (written empty).
_IDS = "COALESCE(p.store_id, e.store_id) AS store_id, COALESCE(p.merchant_id, e.merchant_id) AS merchant_id"


def _moves(db: sqlite3.Connection, day: date) -> list[Move]:
    """The moves reported on ``day``, read straight from the ledger (a late refund of T-1 lands on T)."""
    lo, hi = day_start(day - timedelta(days=1)), day_start(day + timedelta(days=1))
    moves: list[Move] = []
    payments = db.execute(
        "SELECT p.payment_id, p.payment_request_id, p.currency, p.amount, p.status, p.created_at, p.paid_at, "
        f"p.closed_at, {_IDS} FROM payments p LEFT JOIN entry_codes e ON e.code_value = "
        "p.entry_code WHERE p.paid_at IS NOT NULL AND ((p.paid_at >= ? AND p.paid_at < ?) OR "
        "(p.status = 'CANCELLED' AND p.closed_at >= ? AND p.closed_at < ?))", (lo, hi, lo, hi)).fetchall()
    for p in payments:
        common = {"transaction_id": p["payment_id"], "currency": p["currency"], "knob": p["amount"],
                  "store_id": p["store_id"] or "", "merchant_id": p["merchant_id"] or ""}
        moves.append(Move(C.PAYMENT, p["payment_request_id"], original_request_id="", amount=p["amount"],
                          created=p["created_at"], completed=p["paid_at"], day=local_day(p["paid_at"]), **common))
        if p["status"] == "CANCELLED" and p["closed_at"] is not None:
            moves.append(Move(C.CANCEL, p["payment_request_id"], original_request_id=p["payment_request_id"],
                              amount=-p["amount"], created=p["closed_at"], completed=p["closed_at"],
                              day=local_day(p["closed_at"]), **common))
    refunds = db.execute(
        "SELECT r.refund_request_id, r.currency, r.amount, r.created_at, p.payment_id, p.payment_request_id, "
        f"p.amount AS paid, {_IDS} FROM refunds r JOIN payments p ON p.payment_id = "
        "r.payment_id LEFT JOIN entry_codes e ON e.code_value = p.entry_code "
        "WHERE r.status = 'SUCCESS' AND r.created_at >= ? AND r.created_at < ?", (lo, hi)).fetchall()
    for r in refunds:
        late = timedelta(days=1 if r["paid"] == sc.REFUND_SETTLES_LATER else 0)
        moves.append(Move(C.REFUND, r["refund_request_id"], r["payment_id"], r["payment_request_id"], r["currency"],
                          -r["amount"], r["created_at"], r["created_at"], local_day(r["created_at"]) + late,
                          r["paid"], r["store_id"] or "", r["merchant_id"] or ""))
    return [m for m in moves if m.day == day]


def _as_reported(moves: Iterable[Move]) -> list[Move]:
    """The knobs that change which rows the gateway lists, and what they say."""
    out: list[Move] = []
    for m in moves:
        if m.type != C.PAYMENT:
            out.append(m)
            continue
        if m.knob == sc.REPORT_OMITS:
            continue
        if m.knob == sc.REPORT_WRONG_AMOUNT:
            m = replace(m, amount=m.amount + 10 ** exponent(m.currency))
        elif m.knob == sc.REPORT_OTHER_CURRENCY:
            m = replace(m, currency=other_currency(m.currency))
        out.append(m)
        if m.knob == sc.REPORT_DUPLICATE:
            out.append(m)
        elif m.knob == sc.REPORT_PHANTOM:
            made_up = hashlib.sha256(m.transaction_id.encode()).hexdigest()
            out.append(replace(m, request_id=f"PHANTOM{made_up[:24]}", transaction_id=f"PH{made_up[24:50]}"))
    out.sort(key=lambda m: (m.completed, _TYPE_ORDER.get(m.type, 9), m.request_id))
    return out


def _fee(gross: int) -> int:
    return -int((abs(gross) * FEE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _settle(m: Move, now: float) -> Settled:
    if m.knob != sc.FX_PENDING:
        currency = m.currency
        return Settled(m, currency, f"{m.day:%Y%m%d}-{currency}-01", m.day + timedelta(days=1), m.amount,
                       _fee(m.amount), "", None)
    currency = other_currency(m.currency)
    settle_date = m.day + timedelta(days=2)
    pair = f"{m.currency}/{currency}"
    if now < day_start(settle_date):
        return Settled(m, currency, None, settle_date, None, None, pair, None)
    quote = QUOTES.get((m.currency, currency), Decimal(1))
    major = Decimal(m.amount).scaleb(-exponent(m.currency)) * quote
    gross = int(major.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return Settled(m, currency, f"{m.day:%Y%m%d}-{currency}-02", settle_date, gross, _fee(gross), pair, quote)


def _money(minor: int | None, currency: str) -> str:
    return "" if minor is None else format_minor(minor, currency)


def _transaction_row(s: Settled, customer_id: str) -> dict[str, str]:
    m = s.move
    return {"customerId": customer_id, "PSP": PSP, "ARN": "", "referenceMerchantId": m.merchant_id,
            "referenceStoreId": m.store_id, "transactionId": m.transaction_id, "transactionRequestId": m.request_id,
            "referenceTransactionId": "", "originalTransactionRequestId": m.original_request_id,
            "transactionType": m.type, "paymentMethodType": METHOD, "status": SUCCESS,
            "transactionCreationTime": iso_local(m.created), "transactionCompletionTime": iso_local(m.completed),
            "settlementBatchId": s.batch or "", "transactionAmountValue": format_minor(m.amount, m.currency),
            "transactionCurrency": m.currency, "settlementAmountValue": _money(s.net, s.currency),
            "settlementCurrency": s.currency, "quoteCurrencyPair": s.pair,
            "quotePrice": "" if s.quote is None else str(s.quote),
            "paymentMethodFeeAmountValue": _money(s.fee, s.currency),
            "paymentMethodFeeCurrency": "" if s.fee is None else s.currency,
            "taxFeeAmountValue": _money(None if s.fee is None else 0, s.currency),
            "taxFeeCurrency": "" if s.fee is None else s.currency}


def _initiated(settle_date: date) -> str:
    return iso_local(day_start(settle_date))


def _table(kind: str, rows: list[dict[str, str]]) -> list[list[str]]:
    names = C.COLUMNS[kind]
    return [list(names)] + [[row.get(name, "") for name in names] for row in rows]


def _csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(table)
    out.write(C.END + "\r\n")
    return out.getvalue().encode("utf-8")


def _xlsx(table: list[list[str]], day: date) -> bytes:
    """The same rows as the CSV, every cell text (the docs type amounts String(16)); empty cells left out."""
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    book = Workbook()
    sheet = book.worksheets[0]   # a new workbook's one sheet (``active`` may be None, as its type says)
    for row in table:
        sheet.append([cell if cell != "" else None for cell in row])
    sheet.append([C.END])
    when = datetime.combine(day, time.min)
    book.properties.created = book.properties.modified = when
    book.properties.creator = "pos-terminal gateway simulator"
    raw = io.BytesIO()
    book.save(raw)   # stamps "modified" with the wall clock: core.xml is written again below, with ours
    book.properties.modified = when
    core = tostring(book.properties.to_tree())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_XLSX_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, core if info.filename == "docProps/core.xml" else src.read(info.filename))
    return out.getvalue()


def folder(customer_id: str, day: date) -> str:
    """The reports folder of a date, relative to the SFTP root (``v1/settlements/<customer>/<yyyyMMdd>``)."""
    return C.FOLDER.format(customer=customer_id, date=f"{day:%Y%m%d}").lstrip("/")


def build(ledger: Path | sqlite3.Connection, day: date, customer_id: str, *, now: float) -> dict[str, bytes]:
    """Every file day T's money produces, as ``{relative path: bytes}``: T's transaction details, and its
    settlement batches (in the folders of their settlement dates). Nothing while T has not begun at ``now``: a
    late refund of T-1 is T's money, and no fetch made during T-1 may see it, not even in T's batch."""
    if now < day_start(day):
        return {}
    db, mine = _connect(ledger)
    try:
        moves = _moves(db, day)
    finally:
        if mine:
            db.close()
    settled = [_settle(m, now) for m in _as_reported(moves)]
    files: dict[str, bytes] = {}

    def put(kind: str, where: date, stem: str, rows: list[dict[str, str]], stamp: date) -> None:
        table = _table(kind, rows)
        base = f"{folder(customer_id, where)}/{stem}"
        files[base + ".csv"] = _csv(table)
        files[base + ".xlsx"] = _xlsx(table, stamp)

    put(C.TRANSACTIONS, day, C.FILE_NAMES[C.TRANSACTIONS].format(date=f"{day:%Y%m%d}", seq=0),
        [_transaction_row(s, customer_id) for s in settled], day + timedelta(days=1))
    batches: dict[str, list[Settled]] = {}
    for s in settled:
        if s.batch is not None:
            batches.setdefault(s.batch, []).append(s)
    for batch, members in sorted(batches.items()):
        currency, settle_date = members[0].currency, members[0].settle_date
        initiated = _initiated(settle_date)
        details = []
        for s in members:
            row = _transaction_row(s, customer_id)
            row.update(settlementBatchId=batch, settlementInitiatedDate=initiated)
            details.append(row)
        summary = []
        groups = [(t, [s for s in members if s.move.type == t]) for t in (C.PAYMENT, C.REFUND, C.CANCEL)]
        for summary_type, group in [g for g in groups if g[1]] + [(C.TOTAL, members)]:
            summary.append({"settlementBatchId": batch, "customerId": customer_id, "PSP": PSP,
                            "summaryType": summary_type, "settlementInitiatedDate": initiated,
                            "count": str(len(group)),
                            "settlementAmountValue": format_minor(sum(s.net or 0 for s in group), currency),
                            "settlementCurrency": currency,
                            "paymentMethodFeeAmountValue": format_minor(sum(s.fee or 0 for s in group), currency),
                            "paymentMethodFeeCurrency": currency,
                            "taxFeeAmountValue": format_minor(0, currency), "taxFeeCurrency": currency})
        put(C.SETTLEMENT, settle_date, C.FILE_NAMES[C.SETTLEMENT].format(currency=currency, batch=batch, seq=0),
            details, settle_date)
        put(C.SUMMARY, settle_date, C.FILE_NAMES[C.SUMMARY].format(currency=currency, batch=batch, seq=0),
            summary, settle_date)
    return files


def _write(path: Path, data: bytes) -> None:
    """Replace a file only when its bytes change, atomically (a client reading it keeps the old one whole)."""
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_reports(ledger: Path | sqlite3.Connection, out_dir: Path, day: date, customer_id: str, *,
                  now: float) -> list[Path]:
    """(Re)write every file day T's money produces under ``out_dir`` (the SFTP root); returns their paths."""
    written = []
    for relative, data in sorted(build(ledger, day, customer_id, now=now).items()):
        _write(Path(out_dir) / relative, data)
        written.append(Path(out_dir) / relative)
    return written


def write_folder(ledger: Path | sqlite3.Connection, out_dir: Path, day: date, customer_id: str, *,
                 now: float) -> list[Path]:
    """(Re)write everything that lands in the folder of ``day``: its transaction details, the batches of the day
    before (settled on ``day``) and the post-quoted batches of two days before. What a listing of it shows."""
    where = folder(customer_id, day) + "/"
    written = []
    for back in (0, 1, 2):
        for relative, data in sorted(build(ledger, day - timedelta(days=back), customer_id, now=now).items()):
            if relative.startswith(where):
                _write(Path(out_dir) / relative, data)
                written.append(Path(out_dir) / relative)
    return written
