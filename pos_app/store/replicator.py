"""Terminal → store: ships the journal's history to the store's PostgreSQL from a thread of its own.

Why this shape:

- never on the payment path: a sale commits to SQLite and goes on; this thread reads what the journal's
  triggers queued (:mod:`offline_queue.outbound`) and ships it whenever the store answers;
- idempotent: every row's key is (terminal id, number), so a batch sent again after a crash, a kill -9 or a
  lost commit answer changes nothing in the store; the journal's cursor moves only after the store's commit;
- in order: one batch at a time, in the order the journal committed the changes; a transaction is shipped as
  it is when its batch is read, so the last one shipped is the newest and it overwrites the store's, whatever
  its ``updated_at`` says (a clock set back stamps a newer state with an older time);
- a journal the store does not know (a disk swapped without ``store restore``) is refused, not shipped under
  numbers the store already holds, where its rows would be dropped as resends;
- what leaves is masked: payment codes as the screens show them, keys removed (:func:`pos_app.logs.mask_text`);
  the PIN table is never queued at all.

Rows go in through ``COPY`` into temporary tables, then one ``INSERT … SELECT … ON CONFLICT`` per table in
the same transaction: the server parses a batch once, and its row-level security still checks every row.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from offline_queue import outbound
from offline_queue.journal import JournalError, business_day

from .. import logs
from ..i18n import _
from .schema import StoreError

if TYPE_CHECKING:
    import psycopg

    from ..config import StoreConfig

log = logging.getLogger(__name__)

#: Seconds between tries while the store does not answer: doubling from the first to the last.
BACKOFF = (0.5, 15.0)
#: How often an idle shipper looks for new rows: the lag floor when the store is healthy.
POLL = 0.2
#: Batches per round before the shipper looks up (a heartbeat due, a stop asked): a long backlog still moves.
ROUND_BATCHES = 50
#: Shipped queue rows are forgotten after a week, looked at hourly: a store restored from a backup up to a week
#: old gets back what it lost (the rows are sent again under the same numbers); an older one is told in the log.
PRUNE_AFTER, PRUNE_EVERY = 7 * 86_400.0, 3_600.0
#: A statement the store has not answered in this long is given up (the link may be dead without a RST).
STATEMENT_TIMEOUT_MS = 30_000

_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS in_events (seq bigint, txn text, txn_seq bigint, at float8, day date, kind text,
  detail jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS in_audit (seq bigint, at float8, action text, txn text, asked_by text,
  approved_by text, detail jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS in_z (number integer, day date, taken_at float8, taken_by text, body jsonb,
  sha256 text, prev_sha256 text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS in_txn (id text, kind text, tender text, parent text, payment_id text,
  currency text, amount bigint, status text, phase text, result_code text, message text, description text,
  code_masked text, state jsonb, final boolean, created_at float8, updated_at float8, day date, z_number integer,
  unmatched boolean) ON COMMIT DELETE ROWS;
"""

_MERGE = (
    ("INSERT INTO pos_store.events (store_id, terminal_id, seq, txn, txn_seq, at, day, kind, detail) "
     "SELECT %(store)s, %(terminal)s, seq, nullif(txn, ''), txn_seq, to_timestamp(at), day, kind, detail "
     "FROM in_events "
     "ON CONFLICT (terminal_id, seq) DO NOTHING"),
    ("INSERT INTO pos_store.audit (store_id, terminal_id, seq, at, action, txn, asked_by, approved_by, detail) "
     "SELECT %(store)s, %(terminal)s, seq, to_timestamp(at), action, txn, asked_by, approved_by, detail FROM in_audit "
     "ON CONFLICT (terminal_id, seq) DO NOTHING"),
    ("INSERT INTO pos_store.z_reports (store_id, terminal_id, number, day, taken_at, taken_by, body, sha256, "
     "prev_sha256) SELECT %(store)s, %(terminal)s, number, day, to_timestamp(taken_at), taken_by, body, sha256, "
     "prev_sha256 FROM in_z "
     "ON CONFLICT (terminal_id, number) DO NOTHING"),
    ("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, tender, parent, payment_id, currency, "
     "amount, status, phase, result_code, message, description, code_masked, state, final, day, created_at, "
     "updated_at, "
     "z_number, unmatched) SELECT %(store)s, %(terminal)s, id, kind, tender, parent, payment_id, currency, amount, "
     "status, phase, result_code, message, description, code_masked, state, final, day, to_timestamp(created_at), "
     "to_timestamp(updated_at), z_number, unmatched FROM in_txn "
     "ON CONFLICT (terminal_id, id) DO UPDATE SET kind = excluded.kind, tender = excluded.tender, "
     "parent = excluded.parent, payment_id = excluded.payment_id, currency = excluded.currency, "
     "amount = excluded.amount, status = excluded.status, phase = excluded.phase, result_code = excluded.result_code, "
     "message = excluded.message, description = excluded.description, code_masked = excluded.code_masked, "
     "state = excluded.state, final = excluded.final, day = excluded.day, updated_at = excluded.updated_at, "
     "z_number = excluded.z_number, unmatched = excluded.unmatched"),
)


def masked(text: str | None) -> str:
    """JSON text as it may leave the terminal: payment codes masked, keys removed; not JSON: wrapped as a string."""
    if text is None:
        return "{}"
    clean = logs.mask_text(text)
    try:
        value = json.loads(clean, parse_constant=_not_json)
    except ValueError:
        return json.dumps({"text": clean.replace("\x00", "\ufffd")}, ensure_ascii=False)
    return json.dumps(_no_nul(value), ensure_ascii=False) if "\\u0000" in clean else clean


def _not_json(token: str):
    raise ValueError(f"{token} is not JSON")   # PostgreSQL's jsonb refuses NaN and Infinity


def _no_nul(value):
    """PostgreSQL refuses NUL in text and jsonb: the replacement character stands in for it."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    return value


def connect(config: StoreConfig, *, timeout: float = 10.0) -> psycopg.Connection:
    """A connection to the store as ``[store]`` says, with a statement timeout (a dead link is noticed)."""
    import psycopg

    # TCP keepalives and a user timeout: a link that dies without a reset (a pulled cable, a NAT that forgot
    # us) is noticed in ~30 s, not TCP's 15 min to 2 h; statement_timeout alone is the server's, which never
    # hears of it. A session idle inside a transaction (its till lost power mid-batch) is ended by the server.
    conn = psycopg.connect(config.conninfo(), connect_timeout=max(1, int(timeout)),
                           application_name="pos-terminal", autocommit=False, keepalives=1, keepalives_idle=10,
                           keepalives_interval=5, keepalives_count=3, tcp_user_timeout=STATEMENT_TIMEOUT_MS)
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    conn.execute(f"SET idle_in_transaction_session_timeout = {STATEMENT_TIMEOUT_MS}")
    conn.commit()
    return conn


def identity(conn: psycopg.Connection) -> tuple[str, str] | None:
    """(store id, terminal id) the store gives this login, or None: the role is not a registered terminal."""
    row = conn.execute("SELECT store_id, terminal_id FROM pos_store.terminals "
                       "WHERE role_name = current_user").fetchone()
    conn.commit()
    return (row[0], row[1]) if row else None


def check_identity(conn: psycopg.Connection, store_id: str, terminal_id: str) -> None:
    """Refuse, in words, a login that is not this terminal of this store in the store's database."""
    found = identity(conn)
    if found is None:
        raise StoreError(_("the store's database does not know this login as a terminal"),
                         hint=_("register the terminal there first (pos_app.store.schema.register_terminal), "
                                "or check [store] database's user"))
    if found != (store_id, terminal_id):
        raise StoreError(_("the store's database knows this login as terminal {terminal} of store {store}, "
                           "not terminal {mine} of store {my_store}").format(
                             terminal=found[1], store=found[0], mine=terminal_id, my_store=store_id),
                         hint=_("check [merchant] terminal_id and [store] store_id against the store's registration"))


def stored_upto(conn: psycopg.Connection, terminal_id: str) -> int:
    """The highest history number the store holds for this terminal (0: none)."""
    row = conn.execute("SELECT greatest((SELECT max(seq) FROM pos_store.events WHERE terminal_id = %s), 0)",
                       (terminal_id,)).fetchone()
    conn.commit()
    return int(row[0]) if row else 0


def stored_event(conn: psycopg.Connection, terminal_id: str, number: int) -> tuple[str, int] | None:
    """The journal event (txn, its own seq) the store holds under this terminal's history number, or None."""
    row = conn.execute("SELECT coalesce(txn, ''), txn_seq FROM pos_store.events WHERE terminal_id = %s AND seq = %s",
                       (terminal_id, number)).fetchone()
    conn.commit()
    return (row[0], int(row[1])) if row and row[1] is not None else None


def claim(conn: psycopg.Connection, journal_id: str, *, take: bool = False) -> str | None:
    """Record ``journal_id`` as the journal that ships as this login's terminal: only where none is recorded
    yet, or, with ``take`` (a restore onto a new disk), whatever was; the one recorded now is returned."""
    conn.execute("UPDATE pos_store.terminals SET journal_id = %s WHERE role_name = current_user"
                 + ("" if take else " AND journal_id IS NULL"), (journal_id,))
    row = conn.execute("SELECT journal_id FROM pos_store.terminals WHERE role_name = current_user").fetchone()
    conn.commit()
    return row[0] if row else None


def _fenced(terminal_id: str) -> StoreError:
    return StoreError(
        _("the store records another journal as terminal {terminal}'s (its history was restored onto another "
          "disk): this one may not ship as it").format(terminal=terminal_id),
        hint=_("this till's disk was replaced: take it out of service, or give it a terminal id of its own "
               "(register it in the store); nothing of it is shipped"))


def foreign_journal(conn: psycopg.Connection, journal, terminal_id: str) -> StoreError | None:
    """Why ``journal`` is not the one the store knows as this terminal's (None: it is): the store holds more of
    its history than the journal numbered, or its newest row is not one this journal wrote (a fresh journal
    that numbered past the store while out of reach). Shipping it would drop its first rows as resends of the
    other disk's and mix in the rest; a replaced disk is rebuilt with ``store restore`` instead."""
    held = stored_upto(conn, terminal_id)
    mine = outbound.backlog(journal)["last"] if journal is not None else 0   # None: no journal yet
    last = stored_event(conn, terminal_id, held) if held and held <= mine else None
    if held <= mine and (last is None or outbound.wrote(journal, held, *last)):
        # its history is the store's; but since a restore onto a new disk, another journal may be the one
        holder = conn.execute("SELECT journal_id FROM pos_store.terminals WHERE role_name = current_user").fetchone()
        conn.commit()
        if journal is not None and holder and holder[0] is not None and holder[0] != outbound.journal_id(journal):
            return _fenced(terminal_id)
        return None
    what = (_("the store holds history of terminal {terminal} up to number {held}, but this journal only reaches "
              "{mine}") if held > mine else
            _("the store holds history of terminal {terminal} up to number {held} that this journal did not write"))
    return StoreError(
        what.format(terminal=terminal_id, held=held, mine=mine) + _(": it is not the journal the store knows "
                                                                     "(a replaced disk?)"),
        hint=_("run `pos-terminal store restore` to rebuild this terminal's history from the store; nothing is "
               "shipped until then"))


def _events(batch: outbound.Batch) -> list[tuple]:
    return [(r["oseq"], r["txn"], r["seq"], r["at"], business_day(r["at"]), r["kind"], masked(r["detail"]))
            for r in batch.events]


def _audit(batch: outbound.Batch) -> list[tuple]:
    return [(r["seq"], r["at"], r["action"], r["txn"], r["asked_by"], r["approved_by"], masked(r["detail"]))
            for r in batch.audit]


def _z(batch: outbound.Batch) -> list[tuple]:
    return [(r["number"], r["day"], r["taken_at"], r["taken_by"], masked(r["body"]), r["sha256"], r["prev_sha256"])
            for r in batch.z_reports]


def _txn(batch: outbound.Batch) -> list[tuple]:
    return [(r["id"], r["kind"], r["tender"], r["parent"], r["payment_id"], r["currency"], r["amount"], r["status"],
             r["phase"], r["result_code"], logs.mask_text(r["message"] or "") or None,
             logs.mask_text(r["description"] or "") or None,
             r["code_masked"], masked(r["state"]), bool(r["final"]), r["created_at"], r["updated_at"], r["day"],
             r["z_number"], None if r["unmatched"] is None else bool(r["unmatched"]))
            for r in batch.transactions]


_COPY = (("in_events", "seq, txn, txn_seq, at, day, kind, detail", _events),
         ("in_audit", "seq, at, action, txn, asked_by, approved_by, detail", _audit),
         ("in_z", "number, day, taken_at, taken_by, body, sha256, prev_sha256", _z),
         ("in_txn", ("id, kind, tender, parent, payment_id, currency, amount, status, phase, result_code, message, "
                     "description, code_masked, state, final, created_at, updated_at, day, z_number, unmatched"), _txn))


def ship(conn: psycopg.Connection, batch: outbound.Batch, store_id: str, terminal_id: str, *,
         journal_id: str | None = None) -> None:
    """Write one batch in one PostgreSQL transaction; returns once the store has committed it. With
    ``journal_id``, only while the store records that journal as this terminal's (checked in the batch's own
    transaction, the row share-locked: a restore's claim waits for the batch, and the next batch sees it)."""
    if journal_id is not None:
        holder = conn.execute("SELECT journal_id FROM pos_store.terminals WHERE role_name = current_user "
                              "FOR SHARE").fetchone()
        if holder is None or holder[0] != journal_id:
            conn.rollback()
            raise _fenced(terminal_id)
    conn.execute(_TEMP)
    with conn.cursor() as cur:
        for table, columns, rows in _COPY:
            values = rows(batch)
            if not values:
                continue
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(_no_nul(list(value)))
        names = {"store": store_id, "terminal": terminal_id}
        inserted = []
        for sql in _MERGE:
            cur.execute(sql, names)
            inserted.append(cur.rowcount)
        # After the inserts, in the same transaction: a row another journal shipped under one of these numbers
        # (a cloned disk, or the replaced till still running) would have made ours a silent no-op. Only a batch
        # some of whose events were already there (a resend, or such a clash) needs the look.
        if inserted[0] == len(batch.events):
            conn.commit()
            return
        cur.execute("SELECT count(*) FROM in_events i JOIN pos_store.events e ON e.terminal_id = %(terminal)s "
                    "AND e.seq = i.seq WHERE e.txn IS DISTINCT FROM nullif(i.txn, '') "
                    "OR e.txn_seq IS DISTINCT FROM i.txn_seq", names)
        clash = cur.fetchone()
        if clash and clash[0]:
            conn.rollback()
            raise StoreError(_("another journal ships as terminal {terminal}: the store holds other rows under "
                               "this journal's numbers, so nothing of this batch was kept").format(
                                 terminal=terminal_id),
                             hint=_("stop the other till (a cloned disk, or the replaced till still running); "
                                    "then restart this one"))
    conn.commit()


def send_heartbeat(conn: psycopg.Connection, store_id: str, terminal_id: str, facts: dict[str, Any]) -> None:
    """Upsert this terminal's heartbeat: ``facts`` as :func:`pos_app.store.fleet.facts` gathers them."""
    conn.execute(
        "INSERT INTO pos_store.heartbeats (store_id, terminal_id, at, version, queue_depth, oldest_age_s, "
        "needs_review, selftest, selftest_at, lag_s, clock_offset_s, shipped, backlog, open_count, detail) "
        "VALUES (%(store)s, %(terminal)s, now(), %(version)s, %(queue_depth)s, %(oldest_age_s)s, %(needs_review)s, "
        "%(selftest)s, to_timestamp(%(selftest_at)s), %(lag_s)s, "
        "%(local_now)s - extract(epoch FROM clock_timestamp()), %(shipped)s, %(backlog)s, %(open_count)s, "
        "%(detail)s) ON CONFLICT (terminal_id) DO UPDATE SET at = excluded.at, version = excluded.version, "
        "queue_depth = excluded.queue_depth, oldest_age_s = excluded.oldest_age_s, "
        "needs_review = excluded.needs_review, selftest = excluded.selftest, selftest_at = excluded.selftest_at, "
        "lag_s = excluded.lag_s, clock_offset_s = excluded.clock_offset_s, shipped = excluded.shipped, "
        "backlog = excluded.backlog, open_count = excluded.open_count, detail = excluded.detail",
        {"store": store_id, "terminal": terminal_id, "local_now": time.time(),
         **{k: facts.get(k) for k in ("version", "queue_depth", "oldest_age_s", "needs_review", "selftest",
                                      "selftest_at", "lag_s", "shipped", "backlog", "open_count")},
         "detail": json.dumps(facts.get("detail") or {}, ensure_ascii=False)})
    conn.commit()


@dataclass
class Progress:
    """What the shipper last did, for status lines (read by other threads; each field is replaced whole)."""

    connected: bool = False
    shipped_rows: int = 0
    batches: int = 0
    last_ok_at: float | None = None
    error: str | None = None
    refused: str | None = None    # a refusal no retry mends (wrong login, a journal the store does not know)


class Replicator:
    """Start with :meth:`start`; :meth:`stop` ends it after the batch in flight (never mid-commit in SQLite)."""

    def __init__(self, journal, config: StoreConfig, terminal_id: str, *,
                 facts: Callable[[], dict[str, Any]] = dict, clock: Callable[[], float] = time.time,
                 poll: float = POLL, connector: Callable[[StoreConfig], psycopg.Connection] = connect) -> None:
        self.journal = journal
        self.config = config
        self.store_id = config.store_id
        self.terminal_id = terminal_id
        self.facts = facts
        self.clock = clock
        self.poll = poll
        self.connector = connector
        self.progress = Progress()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread: threading.Thread | None = None
        self._conn: psycopg.Connection | None = None
        self._next_heartbeat = 0.0
        self._next_prune = 0.0
        self._error_journaled = False
        self._journal_id: str | None = None

    def start(self) -> Replicator:
        self.thread = threading.Thread(target=self._run, name="replicator", daemon=True)
        self.thread.start()
        return self

    def wake(self) -> None:
        """Something was journaled: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """A connected shipper ships what is queued once more (a one-off ``pos-terminal sale`` leaves nothing
        behind while the store answers), within ``timeout``; then it ends. What it could not ship waits in the
        journal for the next start."""
        self._stop.set()
        self._wake.set()
        if self.thread is not None:   # one that never reached the store does not hold a one-off command's exit
            self.thread.join(timeout if self.progress.connected else 0.5)
            if self.thread.is_alive():
                log.warning("store replication: still busy at stop; the rest ships at the next start")
                return   # a daemon thread: it ends with the process; its connection with it
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the store's connection failed", exc_info=True)

    def _open(self) -> psycopg.Connection:
        conn = self.connector(self.config)
        try:
            check_identity(conn, self.store_id, self.terminal_id)
            self._journal_id = outbound.journal_id(self.journal)
            claim(conn, self._journal_id)   # the first journal to ship as this terminal is the one
            refusal = foreign_journal(conn, self.journal, self.terminal_id)
            if refusal is not None:
                raise refusal
            held = stored_upto(conn, self.terminal_id)
            if held == 0 and outbound.requeue_history(self.journal):
                log.info("store replication: the store holds nothing of this terminal yet: its whole history is "
                         "queued for it")
            elif outbound.rewind_to(self.journal, held):
                log.warning("store replication: the store holds this terminal's history only up to %s, less than "
                            "it committed (restored from an older backup?): sending again from there", held)
        except BaseException:
            conn.close()
            raise
        return conn

    def round(self) -> int:
        """Ship what is queued, batch after batch, and the heartbeat when due; how many rows went.
        Raises what the store or the journal raised (the thread backs off; a caller in a test sees it)."""
        if self._conn is None or self._conn.closed:
            self._conn = self._open()
            self.progress.connected = True
        sent = 0
        for _round in range(ROUND_BATCHES):
            batch = outbound.batch(self.journal, self.config.batch_size)
            if batch is None:
                break
            ship(self._conn, batch, self.store_id, self.terminal_id, journal_id=self._journal_id)
            now = self.clock()
            outbound.advance(self.journal, batch.upto, now)
            sent += batch.count
            self.progress.shipped_rows += batch.count
            self.progress.batches += 1
            self.progress.last_ok_at = now
            if batch.count < self.config.batch_size:
                break   # caught up: what the till journals meanwhile goes at the next poll, in one batch (a
                #         busy till otherwise shipped, and committed the cursor beside its sales, every few sales)
        now = self.clock()
        if self._error_journaled:   # the store answers again: an error journaled in the outage is over, even
            outbound.advance(self.journal, outbound.cursor(self.journal), now)   # with nothing left to ship
            self._error_journaled = False
        if now >= self._next_prune:   # the queue's shipped rows: the journal's own rows stay, this index goes
            outbound.prune(self.journal, now - PRUNE_AFTER)
            self._next_prune = now + PRUNE_EVERY
        if now >= self._next_heartbeat:
            try:
                facts = self.facts()
            except Exception as exc:   # noqa: BLE001 (the journal is busy or closing: a thinner heartbeat, not a backoff)
                log.warning("store heartbeat: cannot gather this terminal's facts (%s)", exc)
                facts = {"detail": {"factsError": str(exc)}}
            # the store judges this terminal silent by its own interval, not the reader's
            facts = {**facts, "detail": {**(facts.get("detail") or {}),
                                         "heartbeatInterval": self.config.heartbeat_interval}}
            send_heartbeat(self._conn, self.store_id, self.terminal_id, facts)
            self._next_heartbeat = now + self.config.heartbeat_interval
        self.progress.error = None
        return sent

    def _run(self) -> None:
        delay = BACKOFF[0]
        while True:
            last = self._stop.is_set()
            if last and not self.progress.connected:
                return
            try:
                self.round()
                delay = BACKOFF[0]
                wait = self.poll
            except StoreError as exc:   # this terminal or this journal is refused: say so, try again slowly
                self._close()
                self._failed(exc.message + (f" ({exc.hint})" if exc.hint else ""), refused=True)
                wait = BACKOFF[1]
            except JournalError as exc:   # this till's own disk, not the store: said as such, tried again
                self._close()
                self._failed(_("this terminal's journal cannot be read or written for the store: {reason}").format(
                    reason=exc.message))
                wait, delay = delay, min(delay * 2, BACKOFF[1])
            except Exception as exc:   # noqa: BLE001 (the store is down, the link dropped, a statement timed out)
                self._close()
                self._failed(_("the store's database does not answer: {reason}").format(
                    reason=str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
                wait, delay = delay, min(delay * 2, BACKOFF[1])
            if last:
                return
            self._wake.wait(wait)
            self._wake.clear()

    def _failed(self, text: str, *, refused: bool = False) -> None:
        self.progress.connected = False
        self.progress.error = text
        self.progress.refused = text if refused else None
        log.warning("store replication: %s", text)
        try:
            outbound.failed(self.journal, self.clock(), text)
            self._error_journaled = True
        except Exception:
            log.debug("could not journal the replication error", exc_info=True)
