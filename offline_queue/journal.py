"""The durable journal: one SQLite file with the transactions, the outbox and an append-only event log.

Every change is one transaction committed with ``synchronous=FULL`` in WAL mode, so once a method
returns, the change survives a power cut; the flows commit *before* a request leaves (write-ahead).
The outbox holds the exact bytes of each request that may still be (re)sent. A pay's body carries the
full payment code, so its row is deleted the moment the pay can no longer be resent, with
``secure_delete`` on so the freed page is zeroed rather than left readable, and the WAL (which still
holds the old page) is truncated by :meth:`Journal.checkpoint` soon after, off the payment's path.

The journal knows rows, not payment rules: :mod:`pos_app.terminal` decides what to write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pos_app.errors import PosError

from . import schema
from .lock import InstanceLock

FILE_NAME = "journal.sqlite"

TRANSACTION_COLUMNS = ("id", "kind", "tender", "parent", "payment_id", "currency", "amount", "status", "phase",
                       "result_code", "message", "description", "code_masked", "state", "next_at", "final",
                       "created_at", "updated_at", "day")


class JournalError(PosError):
    pass


def _corrupt(path: Path, exc: BaseException) -> JournalError:
    return JournalError(
        f"the journal {path} cannot be read ({exc})",
        hint=f"do not delete it: it may hold payments not yet settled. Stop the terminal, copy {path} "
             f"(and its -wal file) for support, then try: sqlite3 {path} '.recover' > recovered.sql")


def business_day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(at))


class Journal:
    """Open with :meth:`open`; every write method commits before it returns."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: InstanceLock | None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock
        # One connection, many threads (the flows, the receiver, the reconciler): one at a time, so a
        # read never lands inside another thread's open write transaction.
        self._mutex = threading.RLock()
        self._seq = 0  # the last event number this process gave (see _event)

    # -- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: Path | str, *, readonly: bool = False) -> "Journal":
        """Open (creating if absent) ``<data_dir>/journal.sqlite``.

        A writer takes the instance lock first; a reader (reports, queue status) does not, since WAL
        lets it read while the terminal writes. A file that is not a journal is refused, never replaced.
        """
        data_dir = Path(data_dir)
        path = data_dir / FILE_NAME
        lock = None
        if not readonly:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(f"cannot create the data directory {data_dir}: {exc.strerror}",
                                   hint="check its permissions, or pass another --data-dir") from None
            lock = InstanceLock(data_dir).acquire()
        elif not path.exists():
            raise JournalError(f"there is no journal in {data_dir} yet",
                               hint="it is created by the first sale; check --data-dir")
        try:
            conn = cls._connect(path, readonly)
        except BaseException:
            if lock:
                lock.release()
            raise
        return cls(path, conn, lock)

    @staticmethod
    def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            else:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _corrupt(path, exc) from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.DatabaseError(f"cannot switch to WAL mode (got {mode})")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA foreign_keys = ON")
                schema.migrate(conn)
            else:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if 0 < version < schema.VERSION:   # an upgrade not yet started: not corrupt, just older
                    conn.close()
                    raise JournalError(
                        f"the journal {path} is from an older pos-terminal (schema {version}; this one uses "
                        f"{schema.VERSION}) and is upgraded when the terminal next opens it for writing",
                        hint="start the terminal once, or run `pos-terminal queue --drain`: the upgrade keeps "
                             "every payment and everything waiting in the queue")
                if version != schema.VERSION:
                    raise sqlite3.DatabaseError(f"schema version {version}, expected {schema.VERSION}")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = {"transactions", "outbox", "events"} - names
            if missing:
                raise sqlite3.DatabaseError(f"table {sorted(missing)[0]} is missing")
        except (sqlite3.Error, ValueError) as exc:
            conn.close()
            raise _corrupt(path, exc) from None
        return conn

    def close(self) -> None:
        """Closes under the mutex: a receiver or worker thread still in a query finishes first (closing a
        connection another thread is using crashes SQLite's C code), and later calls get a JournalError."""
        try:
            with self._mutex:
                self._closed = True
                self.conn.close()
        finally:
            if self._lock:
                self._lock.release()

    def _check_open(self) -> None:
        if getattr(self, "_closed", False):
            raise JournalError(f"the journal {self.path} is closed (the terminal is stopping)",
                               hint="this request is answered after a restart")

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self._check_open()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _corrupt(self.path, exc) from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    try:
                        self.conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.IntegrityError):  # a constraint or trigger said no: the file is fine
                    raise JournalError(f"the journal refused the change: {exc}",
                                       hint="the audit log and Z reports are append-only by design") from None
                if isinstance(exc, sqlite3.OperationalError):
                    raise JournalError(f"cannot write the journal {self.path}: {exc}",
                                       hint="check free disk space and the data directory's permissions; "
                                            "nothing was half written") from None
                if isinstance(exc, sqlite3.DatabaseError):
                    raise _corrupt(self.path, exc) from None
                raise

    def transaction(self):
        """One commit for a module that keeps its own tables here (roles, closing): BEGIN IMMEDIATE, and
        the same error handling as the journal's own writes."""
        return self._write()

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self._query(sql, params)

    def record(self, row: dict[str, Any], *, insert: bool = False, events: list[tuple[str, dict]] = (),
               outbox_put: tuple[str, bytes] | None = None, outbox_drop: str | None = None) -> None:
        """Insert or update one transaction, its outbox row and its events, in one commit."""
        self.record_many([(row, {"insert": insert, "events": events, "outbox_put": outbox_put,
                                 "outbox_drop": outbox_drop})])

    def record_many(self, changes: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Several :meth:`record` calls as one commit: what must never be half done (a cancel's answer
        and the reversal of its sale)."""
        with self._write() as c:
            for row, options in changes:
                self._apply(c, row, **options)

    def _apply(self, c: sqlite3.Connection, row: dict[str, Any], *, insert: bool = False,
               events: list[tuple[str, dict]] = (), outbox_put: tuple[str, bytes] | None = None,
               outbox_drop: str | None = None) -> None:
        now = row.get("updated_at") or time.time()
        if insert:
            cols = [k for k in TRANSACTION_COLUMNS if k in row]
            c.execute(f"INSERT INTO transactions ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                      [row[k] for k in cols])
        else:
            cols = [k for k in row if k != "id"]
            c.execute(f"UPDATE transactions SET {','.join(f'{k}=?' for k in cols)} WHERE id=?",
                      [row[k] for k in cols] + [row["id"]])
        if outbox_put is not None:
            api, body = outbox_put
            c.execute("INSERT OR REPLACE INTO outbox (txn, api, body, currency, amount, created_at) "
                      "VALUES (?,?,?,?,?,?)", (row["id"], api, body, row.get("currency"), row.get("amount"), now))
        if outbox_drop is not None:
            c.execute("DELETE FROM outbox WHERE txn=? AND api=?", (row["id"], outbox_drop))
        for kind, detail in events:
            self._event(c, row["id"], now, kind, detail)

    def _event(self, c: sqlite3.Connection, txn: str, at: float, kind: str, detail: dict) -> None:
        """Events are numbered by the microsecond, and always above the transaction's last one: in time
        order, unique per transaction even if the clock went back between runs, and found without a
        scan of the whole log (the key is (txn, seq))."""
        last = c.execute("SELECT MAX(seq) FROM events WHERE txn=?", (txn,)).fetchone()[0] or 0
        self._seq = max(self._seq + 1, int(at * 1_000_000), last + 1)
        c.execute("INSERT INTO events (txn, seq, at, kind, detail) VALUES (?,?,?,?,?)",
                  (txn, self._seq, at, kind, json.dumps(detail, ensure_ascii=False, default=str)))

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it: the WAL still holds the pages a deleted pay
        body was on (``secure_delete`` only zeroes the page's new version). True when it succeeded.
        It never waits for a reader: busy now means "try again later"."""
        with self._mutex:
            if getattr(self, "_closed", False):
                return False
            try:
                self.conn.execute("PRAGMA busy_timeout = 0")
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:
                return False
            finally:
                self.conn.execute("PRAGMA busy_timeout = 5000")
        return busy == 0

    def log_event(self, txn: str | None, kind: str, detail: dict) -> None:
        """An event outside a state change; about no transaction of ours (txn None, stored as '') when
        e.g. a notification names an unknown payment."""
        with self._write() as c:
            self._event(c, txn or "", time.time(), kind, detail)

    # -- reading --------------------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            with self._mutex:
                self._check_open()
                return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _corrupt(self.path, exc) from None

    def get(self, id: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM transactions WHERE id=?", (id,))
        return rows[0] if rows else None

    def find(self, ref: str, kind: str | None = None) -> sqlite3.Row | None:
        """A transaction by our request id or by the gateway's paymentId."""
        row = self.get(ref)
        if row is None:
            rows = self._query("SELECT * FROM transactions WHERE payment_id=? AND payment_id IS NOT NULL "
                               "AND kind='sale'", (ref,)) \
                if kind in (None, "sale") else []
            row = rows[0] if rows else None
        return row if row is None or kind is None or row["kind"] == kind else None

    def children(self, parent: str) -> list[sqlite3.Row]:
        return self._query("SELECT * FROM transactions WHERE parent=? AND parent IS NOT NULL ORDER BY created_at",
                           (parent,))

    def open_transactions(self) -> list[sqlite3.Row]:
        return self._query("SELECT * FROM transactions WHERE final=0 ORDER BY created_at")

    def due(self, now: float) -> list[sqlite3.Row]:
        """Open transactions whose next action has come (in-flight ones have no next_at)."""
        return self._query("SELECT * FROM transactions WHERE final=0 AND next_at<=? ORDER BY next_at", (now,))

    def next_due_at(self) -> float | None:
        rows = self._query("SELECT MIN(next_at) FROM transactions WHERE final=0")
        return rows[0][0]

    def outbox_body(self, txn: str, api: str) -> bytes | None:
        rows = self._query("SELECT body FROM outbox WHERE txn=? AND api=?", (txn, api))
        return bytes(rows[0][0]) if rows else None

    def outbox(self) -> list[sqlite3.Row]:
        return self._query(
            "SELECT o.txn, o.api, o.currency, o.amount, o.created_at, t.kind, t.status, t.parent "
            "FROM outbox o JOIN transactions t ON t.id=o.txn ORDER BY o.created_at")

    def events(self, txn: str) -> list[dict]:
        return [{"seq": r["seq"], "at": r["at"], "kind": r["kind"], "detail": json.loads(r["detail"] or "null")}
                for r in self._query("SELECT * FROM events WHERE txn=? ORDER BY seq", (txn,))]

    def day(self, day: str) -> list[sqlite3.Row]:
        return self._query("SELECT id, kind, tender, parent, payment_id, currency, amount, status, result_code, "
                           "message, description, code_masked, created_at, updated_at FROM transactions "
                           "WHERE day=? ORDER BY created_at", (day,))
