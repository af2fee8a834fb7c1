"""The simulator's ledger: what the gateway knows, in one SQLite file that survives restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import PosError

SCHEMA_VERSION = 3   # 2: entry codes (the entry_codes table, payments.entry_code); 3: payments.merchant_id, store_id
#: Columns added to ``payments`` after schema 1, in order: an older ledger gains them (NULL in its old rows).
_ADDED_PAYMENT_COLUMNS = {"entry_code": "TEXT",
                          "merchant_id": "TEXT",   # the pay request's order.merchant.referenceMerchantId
                          "store_id": "TEXT"}      # ... and order.merchant.store.referenceStoreId: the reports

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_id TEXT PRIMARY KEY,
    payment_request_id TEXT NOT NULL UNIQUE,
    body_hash TEXT NOT NULL,
    mode TEXT NOT NULL,                 -- PaymentCode | OrderCode | EntryCode
    scenario INTEGER,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,               -- PROCESSING | SUCCESS | FAIL | CANCELLED
    result_code TEXT NOT NULL,
    result_message TEXT NOT NULL,
    code_hash TEXT,
    code_value TEXT UNIQUE,
    expire_at REAL,
    settle_at REAL,
    notify_url TEXT,
    created_at REAL NOT NULL,
    paid_at REAL,
    closed_at REAL,
    inquiries INTEGER NOT NULL DEFAULT 0,
    cancels INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS payments_open ON payments(status) WHERE status = 'PROCESSING';
CREATE TABLE IF NOT EXISTS refunds (
    refund_id TEXT PRIMARY KEY,
    refund_request_id TEXT NOT NULL UNIQUE,
    payment_id TEXT NOT NULL REFERENCES payments(payment_id),
    body_hash TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,               -- SUCCESS | FAIL (a refused refund keeps its id and its answer)
    result_code TEXT NOT NULL,
    result_message TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cancels (
    id INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(payment_id),
    at REAL NOT NULL,
    result_code TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_requests (  -- cancelled before any pay with this id arrived
    payment_request_id TEXT PRIMARY KEY,
    closed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS used_codes (
    code_hash TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    used_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                 -- notifyPayment | notifyRefund
    ref TEXT NOT NULL,                  -- paymentId or refundId
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications(next_at) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS entry_codes (  -- a store's static entry code, issued once
    code_value TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    merchant TEXT NOT NULL,             -- the order.merchant object (JSON) the merchant's page pays with
    notify_url TEXT,
    created_at REAL NOT NULL,
    UNIQUE (merchant_id, store_id)
);
"""


def open_ledger(path: Path) -> sqlite3.Connection:
    """Open (or create) the ledger; a file that is not a ledger is refused, never overwritten."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PosError(f"{path}: ledger schema {version} is newer than this simulator ({SCHEMA_VERSION})",
                           hint="upgrade pos-terminal, or start the simulator with another --data-dir")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(payments)")}
        for name, kind in _ADDED_PAYMENT_COLUMNS.items():   # an older ledger: its payments predate the column
            if name not in columns:
                db.execute(f"ALTER TABLE payments ADD COLUMN {name} {kind}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise PosError(f"{path}: the simulator ledger is unreadable ({exc})",
                       hint=f"move it aside (mv {path} {path}.broken) to start an empty ledger") from None
    return db
