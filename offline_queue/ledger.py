"""The journal's rows as the reports read them, and the store of Z reports.

Queries only: which rows a session, a day or the review list holds, and the Z reports' table. What the
rows add up to (the net, what is a difference) is :mod:`pos_app.takings`' and :mod:`pos_app.closing`'s
business. Every function takes ``db``: a :class:`~offline_queue.journal.Journal` (each read on its own),
or the connection of one ``journal.transaction()``, so that a Z reads, stores and covers its rows in a
single commit and nothing settles in between.
"""

from __future__ import annotations

import sqlite3

from pos_app.vocabulary import CANCEL, CANCELLED, SALE, SUCCESS


def read(db, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
    """Rows from a Journal, or from the connection of an open ``journal.transaction()``."""
    if isinstance(db, sqlite3.Connection):
        return db.execute(sql, params).fetchall()
    return db.query(sql, params)


#: Whether a sale was reversed by a manager's cancel (a cancel row of it that succeeded): such a sale
#: moved money, then its cancel moved it back. Only CANCELLED sales are looked up (the parent index).
_REVERSED = ("(t.kind = :sale AND t.status = :cancelled AND EXISTS (SELECT 1 FROM transactions c "
             "WHERE c.parent = t.id AND c.kind = :cancel AND c.status = :success)) AS reversed")
_WORDS = {"sale": SALE, "cancelled": CANCELLED, "cancel": CANCEL, "success": SUCCESS}

#: A row as a report lists it; the state's counters are read by SQLite, not parsed row by row here.
_ITEM_COLUMNS = ("t.id, t.kind, t.parent, t.currency, t.amount, t.status, t.final, t.created_at, t.day, t.z_number, "
                 "json_extract(t.state, '$.accepted_at_risk') AS accepted_at_risk, " + _REVERSED)


# -- sessions: the rows no Z covers yet (through the partial index on ``z_number IS NULL``, so a long
# -- history costs nothing) ----------------------------------------------------------------------------------
def uncovered_groups(db) -> list[sqlite3.Row]:
    """The settled rows no Z covers yet, summed per kind, currency, status and reversal: ``count`` rows
    of ``amount`` in all. What a Z covers now."""
    return read(db, "SELECT t.kind, t.currency, t.status, " + _REVERSED + ", COUNT(*) AS count, "
                    "SUM(t.amount) AS amount FROM transactions t WHERE t.z_number IS NULL AND t.final = 1 "
                    "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4", _WORDS)


def uncovered_differences(db) -> list[sqlite3.Row]:
    """The rows no Z covers yet that a report lists one by one: not settled (still moving, or waiting
    for a review, from any session), and the settled sales only an inquiry or a cancel settled."""
    return read(db, f"SELECT {_ITEM_COLUMNS} FROM transactions t WHERE t.z_number IS NULL AND (t.final = 0 OR "
                    "(t.kind = :sale AND (json_extract(t.state, '$.inquiries') > 0 OR "
                    "json_extract(t.state, '$.cancels') > 0))) ORDER BY t.created_at", _WORDS)


def cover(c: sqlite3.Connection, number: int) -> int:
    """Mark every settled row no Z covered yet as covered by Z ``number``; how many. Call inside the
    transaction that summed them with :func:`uncovered_groups` and stores the Z."""
    return c.execute("UPDATE transactions SET z_number = ? WHERE z_number IS NULL AND final = 1",
                     (number,)).rowcount


def first_transaction_at(db) -> float | None:
    """When the journal's first transaction was made (through the ``(day, created_at)`` index)."""
    rows = read(db, "SELECT created_at FROM transactions ORDER BY day, created_at LIMIT 1")
    return rows[0][0] if rows else None


# -- a calendar day ---------------------------------------------------------------------------------------
def day_rows(db, day: str) -> list[sqlite3.Row]:
    """One business day's rows in time order (the ``(day, created_at)`` index), with the paymentId of a
    refund's or cancel's sale."""
    return read(db, f"SELECT {_ITEM_COLUMNS}, t.tender, t.payment_id, t.result_code, t.description, t.message, "
                    "p.payment_id AS parent_payment_id FROM transactions t LEFT JOIN transactions p ON p.id = t.parent "
                    "WHERE t.day = :day ORDER BY t.created_at", {**_WORDS, "day": day})


# -- review -----------------------------------------------------------------------------------------------
def unsettled(db) -> list[sqlite3.Row]:
    """Rows not final: still moving, or parked for a manager (a review is never final either)."""
    return read(db, "SELECT id, kind, status, currency, amount, message, created_at FROM transactions "
                     "WHERE final = 0 ORDER BY created_at")


def unreadable_notifications(db) -> list[sqlite3.Row]:
    """Gateway-signed notifications that could not be applied (journaled by the receiver)."""
    return read(db, "SELECT seq, at, detail FROM events WHERE kind = 'notification_unreadable' ORDER BY seq")


# -- the Z reports' store (append-only: the database refuses UPDATE and DELETE) -------------------------------
def last_z(db) -> sqlite3.Row | None:
    rows = read(db, "SELECT number, taken_at, sha256 FROM z_reports ORDER BY number DESC LIMIT 1")
    return rows[0] if rows else None


def insert_z(c: sqlite3.Connection, *, number: int, day: str, taken_at: float, taken_by: str, body: str,
             sha256: str, prev_sha256: str | None) -> None:
    c.execute("INSERT INTO z_reports (number, day, taken_at, taken_by, body, sha256, prev_sha256) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)", (number, day, taken_at, taken_by, body, sha256, prev_sha256))


def z_by_number(db, number: int) -> sqlite3.Row | None:
    rows = read(db, "SELECT * FROM z_reports WHERE number = ?", (number,))
    return rows[0] if rows else None


def z_of_day(db, day: str) -> sqlite3.Row | None:
    """The last Z taken on ``day``."""
    rows = read(db, "SELECT * FROM z_reports WHERE day = ? ORDER BY number DESC LIMIT 1", (day,))
    return rows[0] if rows else None


def z_list(db) -> list[sqlite3.Row]:
    return read(db, "SELECT number, day, taken_at, taken_by, sha256 FROM z_reports ORDER BY number")


def z_chain(db) -> list[sqlite3.Row]:
    """Every Z with its body and links, in order: what the chain check rehashes."""
    return read(db, "SELECT number, body, sha256, prev_sha256 FROM z_reports ORDER BY number")
