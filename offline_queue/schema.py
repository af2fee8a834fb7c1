"""The journal's schema, as an ordered list of migrations; ``PRAGMA user_version`` says how many ran.

Migrations only ever move forward and each runs in one transaction, so an upgrade interrupted by a
power cut leaves the previous version intact. Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from pos_app.i18n import _

if TYPE_CHECKING:  # sqlite-utils (and what it pulls in) loads only when a migration runs, not every start
    import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    db.table("transactions").create({
        "id": str,             # our request id: paymentRequestId for a sale, refundRequestId for a refund
        "kind": str,           # sale | refund | cancel
        "tender": str,         # payment_code | order_code (sales)
        "parent": str,         # the sale a refund or cancel is about
        "payment_id": str,     # the gateway's paymentId, once known
        "currency": str,
        "amount": int,         # minor units
        "status": str,         # SUCCESS | FAILED | CANCELLED | UNKNOWN | QUEUED | NEEDS_REVIEW
        "phase": str,          # the state machine's phase
        "result_code": str,
        "message": str,
        "description": str,
        "code_masked": str,    # the payment code, first 2 + last 4 digits
        "state": str,          # the machine's full state, JSON
        "next_at": float,      # when it next needs attention; NULL once final or while in flight
        "final": int,
        "created_at": float,
        "updated_at": float,
        "day": str,            # the local business date, YYYY-MM-DD
    }, pk="id", not_null={"kind", "currency", "amount", "status", "phase", "state", "final", "created_at",
                          "updated_at", "day"})
    db.table("transactions").create_index(["day", "created_at"])
    db.table("transactions").create_index(["payment_id"])
    db.table("transactions").create_index(["parent"])
    db.execute("CREATE INDEX idx_transactions_open ON transactions(next_at) WHERE final = 0")
    db.table("outbox").create({
        "txn": str,            # the transaction the request belongs to
        "api": str,            # pay | refund | cancel
        "body": bytes,         # the exact bytes signed and sent, resent unchanged
        "currency": str,
        "amount": int,
        "created_at": float,
    }, pk=("txn", "api"), not_null={"body", "created_at"})
    db.table("events").create({
        "seq": int,
        "txn": str,
        "at": float,
        "kind": str,           # created | state | sent | answer | notification | recovered | abort | ...
        "detail": str,         # JSON; never a full payment code
    }, pk="seq", not_null={"at", "kind"})
    db.table("events").create_index(["txn", "seq"])


def _v2(db: sqlite_utils.Database) -> None:
    """Fewer pages per write: the outbox keyed by its primary key alone (WITHOUT ROWID), and the
    lookup indexes partial, since most rows have no paymentId yet or no parent."""
    db.execute("CREATE TABLE outbox_v2 (txn TEXT NOT NULL, api TEXT NOT NULL, body BLOB NOT NULL, currency TEXT, "
               "amount INTEGER, created_at FLOAT NOT NULL, PRIMARY KEY (txn, api)) WITHOUT ROWID")
    db.execute("INSERT INTO outbox_v2 SELECT txn, api, body, currency, amount, created_at FROM outbox")
    db.execute("DROP TABLE outbox")
    db.execute("ALTER TABLE outbox_v2 RENAME TO outbox")
    db.execute("DROP INDEX idx_transactions_payment_id")
    db.execute("DROP INDEX idx_transactions_parent")
    db.execute("CREATE INDEX idx_transactions_payment_id ON transactions(payment_id) WHERE payment_id IS NOT NULL")
    db.execute("CREATE INDEX idx_transactions_parent ON transactions(parent, created_at) WHERE parent IS NOT NULL")


_TRANSACTION_COLUMNS = ("id, kind, tender, parent, payment_id, currency, amount, status, phase, result_code, message, "
                        "description, code_masked, state, next_at, final, created_at, updated_at, day")


def _v3(db: sqlite_utils.Database) -> None:
    """Each write touches fewer B-trees: transactions clustered by id (WITHOUT ROWID, no separate key
    index), and events by (txn, seq), which is how they are read. Events about no transaction of ours
    (an unmatched notification) have txn ''. About a quarter more journal writes per second."""
    db.execute("CREATE TABLE transactions_v3 (id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, tender TEXT, "
               "parent TEXT, payment_id TEXT, currency TEXT NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL, "
               "phase TEXT NOT NULL, result_code TEXT, message TEXT, description TEXT, code_masked TEXT, "
               "state TEXT NOT NULL, next_at FLOAT, final INTEGER NOT NULL, created_at FLOAT NOT NULL, "
               "updated_at FLOAT NOT NULL, day TEXT NOT NULL) WITHOUT ROWID")
    db.execute(f"INSERT INTO transactions_v3 ({_TRANSACTION_COLUMNS}) SELECT {_TRANSACTION_COLUMNS} FROM transactions")
    db.execute("DROP TABLE transactions")
    db.execute("ALTER TABLE transactions_v3 RENAME TO transactions")
    db.execute("CREATE INDEX idx_transactions_day_created_at ON transactions(day, created_at)")
    db.execute("CREATE INDEX idx_transactions_open ON transactions(next_at) WHERE final = 0")
    db.execute("CREATE INDEX idx_transactions_payment_id ON transactions(payment_id) WHERE payment_id IS NOT NULL")
    db.execute("CREATE INDEX idx_transactions_parent ON transactions(parent, created_at) WHERE parent IS NOT NULL")
    db.execute("CREATE TABLE events_v3 (txn TEXT NOT NULL, seq INTEGER NOT NULL, at FLOAT NOT NULL, "
               "kind TEXT NOT NULL, detail TEXT, PRIMARY KEY (txn, seq)) WITHOUT ROWID")
    db.execute("INSERT INTO events_v3 SELECT COALESCE(txn, ''), seq, at, kind, detail FROM events")
    db.execute("DROP TABLE events")
    db.execute("ALTER TABLE events_v3 RENAME TO events")


def _v4(db: sqlite_utils.Database) -> None:
    """What a manager does and closes: an append-only audit log, the PINs (scrypt hashes, with the wrong
    tries that lock a mode), and the numbered Z reports. The audit log and the Z reports refuse UPDATE
    and DELETE in the database itself, so no code path, ours or a bug's, can alter them."""
    db.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at FLOAT NOT NULL, action TEXT NOT NULL, "
               "txn TEXT, asked_by TEXT NOT NULL, approved_by TEXT, detail TEXT)")
    db.execute("CREATE TABLE pins (role TEXT PRIMARY KEY NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL, "
               "n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL, set_at FLOAT NOT NULL, "
               "failures INTEGER NOT NULL DEFAULT 0, locked_until FLOAT) WITHOUT ROWID")
    db.execute("CREATE TABLE z_reports (number INTEGER PRIMARY KEY, day TEXT NOT NULL UNIQUE, taken_at FLOAT NOT NULL, "
               "taken_by TEXT NOT NULL, body TEXT NOT NULL, sha256 TEXT NOT NULL, prev_sha256 TEXT)")
    for table, what in (("audit", "the audit log is append-only"), ("z_reports", "a Z report cannot be altered")):
        for op in ("UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{what}'); END")


def _v5(db: sqlite_utils.Database) -> None:
    """A Z closes a session, not a day: each transaction records the Z that covered it (``z_number``, NULL
    until then), so the next Z covers exactly what no earlier one did, and several Zs a day are allowed
    (the UNIQUE day goes; the append-only triggers come back with the table). The partial index keeps
    the uncovered rows (the session, and what is still open) a small read however long the history.

    What an old one-per-day Z closed is marked covered by it: the day's rows that existed when it was
    taken, less those it listed as still open or under review (they were counted by no Z yet)."""
    db.execute("ALTER TABLE transactions ADD COLUMN z_number INTEGER")
    db.execute("CREATE TABLE z_reports_v5 (number INTEGER PRIMARY KEY, day TEXT NOT NULL, taken_at FLOAT NOT NULL, "
               "taken_by TEXT NOT NULL, body TEXT NOT NULL, sha256 TEXT NOT NULL, prev_sha256 TEXT)")
    db.execute("INSERT INTO z_reports_v5 SELECT number, day, taken_at, taken_by, body, sha256, prev_sha256 "
               "FROM z_reports")
    db.execute("DROP TABLE z_reports")   # its triggers go with it
    db.execute("ALTER TABLE z_reports_v5 RENAME TO z_reports")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER z_reports_no_{op.lower()} BEFORE {op} ON z_reports "
                   f"BEGIN SELECT RAISE(ABORT, 'a Z report cannot be altered'); END")
    for number, day, taken_at, body in db.execute("SELECT number, day, taken_at, body FROM z_reports").fetchall():
        try:
            differences = json.loads(body)["differences"]
            listed = [item["id"] for key in ("stillOpen", "needsReview") for item in differences[key]]
        except (ValueError, TypeError, KeyError):
            continue   # an unreadable body (the chain check names it): its rows go to the next Z, never lost
        db.execute("UPDATE transactions SET z_number = ? WHERE day = ? AND final = 1 AND created_at <= ? "
                   "AND id NOT IN (SELECT value FROM json_each(?))", (number, day, taken_at, json.dumps(listed)))
    db.execute("CREATE INDEX idx_transactions_uncovered ON transactions(created_at) WHERE z_number IS NULL")


def _v6(db: sqlite_utils.Database) -> None:
    """Receipts and the entry code.

    ``print_jobs``: every slip to print (receipt, merchant copy, refund or cancel slip, X or Z report, test
    page), journaled with the document itself (``body``, JSON) before the printer is tried, so a print that
    fails (offline, paper out, a crash mid-print) waits for a reprint and is never lost. ``state``: waiting,
    printing, printed, failed (and waiting for a reprint).

    ``transactions.unmatched``: 1 on an entry-code payment that arrived with no waiting amount to match
    (the money came; a person assigns it), NULL otherwise; the partial index keeps that list a small read."""
    db.execute("CREATE TABLE print_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, txn TEXT, "
               "copy TEXT, body TEXT NOT NULL, state TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0, "
               "last_error TEXT, created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL, printed_at FLOAT)")
    db.execute("CREATE INDEX idx_print_jobs_txn ON print_jobs(txn) WHERE txn IS NOT NULL")
    db.execute("CREATE INDEX idx_print_jobs_pending ON print_jobs(created_at) WHERE state != 'printed'")
    db.execute("ALTER TABLE transactions ADD COLUMN unmatched INTEGER")
    db.execute("CREATE INDEX idx_transactions_unmatched ON transactions(created_at) WHERE unmatched = 1")


#: Now, in Unix seconds, inside SQLite (a trigger has no Python clock): when a change was journaled.
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"

#: The triggers that enqueue every change for the store (issue 17), in the commit that makes it.
_OUTBOUND_TRIGGERS = {
    "outbound_event": f"AFTER INSERT ON events BEGIN INSERT INTO outbound (stream, k, n, at) "
                      f"VALUES ('event', NEW.txn, NEW.seq, {_NOW}); END",
    "outbound_audit": f"AFTER INSERT ON audit BEGIN INSERT INTO outbound (stream, k, n, at) "
                      f"VALUES ('audit', '', NEW.seq, {_NOW}); END",
    "outbound_z": f"AFTER INSERT ON z_reports BEGIN INSERT INTO outbound (stream, k, n, at) "
                  f"VALUES ('z', '', NEW.number, {_NOW}); END",
    "outbound_txn_insert": f"AFTER INSERT ON transactions BEGIN INSERT INTO outbound (stream, k, n, at) "
                           f"VALUES ('txn', NEW.id, NULL, {_NOW}); END",
    "outbound_txn_update": f"AFTER UPDATE ON transactions BEGIN INSERT INTO outbound (stream, k, n, at) "
                           f"VALUES ('txn', NEW.id, NULL, {_NOW}); END",
}


#: The whole history queued for the store, in the order it happened: a v6 journal's at its upgrade, and a
#: journal's whose store holds nothing of it yet (:func:`offline_queue.outbound.requeue_history`).
QUEUE_HISTORY = (
    ("INSERT INTO outbound (stream, k, n, at) SELECT 'txn', id, NULL, updated_at FROM transactions "
     "ORDER BY created_at, id"),
    "INSERT INTO outbound (stream, k, n, at) SELECT 'event', txn, seq, at FROM events ORDER BY at, seq",
    "INSERT INTO outbound (stream, k, n, at) SELECT 'audit', '', seq, at FROM audit ORDER BY seq",
    "INSERT INTO outbound (stream, k, n, at) SELECT 'z', '', number, taken_at FROM z_reports ORDER BY number",
)


def _v7(db: sqlite_utils.Database) -> None:
    """The store's outbound history (issue 17): ``outbound`` numbers every change in the order it was
    committed (AUTOINCREMENT: never reused, never lower than an earlier change's, whatever the clock does;
    an event's own ``seq`` is microseconds and may go back after the clock is set back), written by
    triggers in the same commit as the change, so no code path can change the journal without it. What is
    queued is a reference (which event, audit entry, Z report or transaction), not a copy: the shipper reads
    the row as it is when it ships. ``replication`` keeps the cursor: the last ``outbound.seq`` the store
    committed. Existing history is queued once, in the order it happened."""
    db.execute("CREATE TABLE outbound (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, k TEXT NOT NULL, "
               "n INTEGER, at FLOAT NOT NULL)")
    db.execute("CREATE TABLE replication (name TEXT PRIMARY KEY NOT NULL, shipped INTEGER NOT NULL, "
               "shipped_at FLOAT, tried_at FLOAT, error TEXT) WITHOUT ROWID")
    for sql in QUEUE_HISTORY:
        db.execute(sql)
    for name, body in _OUTBOUND_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER {name} {body}")


def _v8(db: sqlite_utils.Database) -> None:
    """This journal's own random id (``meta.journal_id``): the store is told which journal may ship as its
    terminal, so after a disk swap and a restore the old disk, should it come back, is fenced off rather than
    the new one (issue 17). A copied disk copies the id; the store's per-batch check catches that instead."""
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID")
    db.execute("INSERT INTO meta (key, value) VALUES ('journal_id', lower(hex(randomblob(16))))")


def _v9(db: sqlite_utils.Database) -> None:
    """Settlement reconciliation (issue 18): the gateway's report files as imported (``settlement_files``, one
    row a file, keyed by its SHA-256 so the same file twice is a no-op; ``seq`` the import order, which decides
    which transactions file of a day is the latest), their rows in minor units (``settlement_rows``), the
    result kept per (request id, type) so a later file resolves an earlier pending item
    (``settlement_findings``), and each run (``settlement_runs``). Not shipped to the store: no outbound
    triggers (the files are the gateway's, fetched again by whoever needs them; a run's audit entry ships).

    Changed in place, not by a v10: v9 is unreleased (added this week), so no journal in the field has it. A row
    keeps its ``status`` as the file wrote it and ``moved`` (1: a PAYMENT/REFUND/CANCEL whose money moved, as the
    parser decided; 0: a failed attempt, a fee, a dispute: listed, never matched as money)."""
    db.execute("CREATE TABLE settlement_files (sha256 TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL UNIQUE, "
               "name TEXT NOT NULL, kind TEXT NOT NULL, report_date TEXT, batch TEXT, customer_id TEXT, "
               "rows INTEGER NOT NULL, summary TEXT, warnings TEXT, imported_at FLOAT NOT NULL, "
               "imported_by TEXT NOT NULL) WITHOUT ROWID")
    db.execute("CREATE TABLE settlement_rows (file TEXT NOT NULL, line INTEGER NOT NULL, kind TEXT NOT NULL, "
               "report_date TEXT, batch TEXT, customer_id TEXT, request_id TEXT NOT NULL, type TEXT NOT NULL, "
               "transaction_id TEXT, original_id TEXT, currency TEXT NOT NULL, amount INTEGER NOT NULL, "
               "settle_currency TEXT, settle_amount INTEGER, fee_currency TEXT, fee INTEGER, store_id TEXT, at TEXT, "
               "status TEXT, moved INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (file, line)) WITHOUT ROWID")
    db.execute("CREATE INDEX idx_settlement_rows_request ON settlement_rows(request_id)")
    db.execute("CREATE INDEX idx_settlement_rows_transaction ON settlement_rows(transaction_id) "
               "WHERE transaction_id IS NOT NULL")
    db.execute("CREATE INDEX idx_settlement_rows_day ON settlement_rows(report_date) WHERE report_date IS NOT NULL")
    db.execute("CREATE TABLE settlement_findings (request_id TEXT NOT NULL, type TEXT NOT NULL, day TEXT NOT NULL, "
               "cls TEXT NOT NULL, ledger_id TEXT, terminal TEXT, currency TEXT, amount INTEGER, their_currency TEXT, "
               "their_amount INTEGER, theirs TEXT, detail TEXT, run INTEGER NOT NULL, updated_at FLOAT NOT NULL, "
               "PRIMARY KEY (request_id, type)) WITHOUT ROWID")
    db.execute("CREATE INDEX idx_settlement_findings_day ON settlement_findings(day, cls)")
    db.execute("CREATE TABLE settlement_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, at FLOAT NOT NULL, "
               "by TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, files TEXT NOT NULL, counts TEXT NOT NULL)")
    db.execute("CREATE INDEX idx_settlement_runs_day ON settlement_runs(day, id)")


MIGRATIONS = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9]
VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to :data:`VERSION`; return the version it had. Refuses a newer file."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise ValueError(_("schema version {found} is newer than this pos-terminal knows ({known})").format(
            found=found, known=VERSION))
    if found == VERSION:
        return found
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    for number in range(found, VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number](db)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found
