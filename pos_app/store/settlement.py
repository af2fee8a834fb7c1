"""The store's side of a settlement reconciliation (issue 18): every counter's transactions of a day, from PG.

Why here: the gateway settles the merchant, not a counter, so with ``[store]`` its report is matched against the
whole store's day, not one till's journal; and the store's SQL lives in this package. Read with the login the
store's reports read with (:func:`pos_app.store.reports.open_store`: ``[store] reader``, a till's own login refused
in words, since it would see only its own rows and the others would look missing at the gateway).

Besides the day's rows, the rows the report names by id are read whatever their day (a refund settled on a later
day, a cancel of an earlier payment, a payment the journal dated across midnight), so the match sees them as
the journals have them instead of calling them missing. An id is a transactionRequestId (our id: found on any
day, by the primary key) or a transactionId (the gateway's paymentId, by which entry-code payments are found:
looked for within :data:`SPAN` of the day, since the store's schema indexes days and not paymentIds).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .reports import check_day, open_store

#: How far from the day a row named only by the gateway's paymentId is looked for (the store indexes days, not
#: paymentIds): a report's rows reach two days on (T+2), a journal's day may sit one before (midnight).
SPAN = timedelta(days=3)
_COLUMNS = "terminal_id, id, kind, status, currency, amount, day::text, payment_id, parent"

if TYPE_CHECKING:
    from ..config import StoreConfig
    from ..settlement.rows import LedgerRow


def ledger_rows(store: StoreConfig, day: str, extra_ids: Iterable[str] = (), *,
                database: str | None = None) -> list[LedgerRow]:
    """The store's transactions of ``day`` and those ``extra_ids`` name, each with its terminal, ordered by
    terminal then id. ``database`` is a ``--database`` override, as for the store's reports."""
    from ..settlement.rows import LedgerRow

    day = check_day(day)
    first = date.fromisoformat(day)
    wanted = {str(i) for i in extra_ids if i}
    params = {"store": store.store_id, "day": day, "first": str(first - SPAN), "last": str(first + SPAN)}
    with open_store(store, database=database) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM pos_store.transactions WHERE store_id = %(store)s AND day = %(day)s",
                    params)
        found = {(r[0], r[1]): r for r in cur.fetchall()}
        # most ids a report names are the day's own: only the others are looked for, so the lookups stay small
        rest = sorted(wanted - {r[1] for r in found.values()} - {r[7] for r in found.values() if r[7]})
        if rest:
            cur.execute(
                # by our id, whatever the day: the primary key (terminal_id, id), per terminal of the store
                f"SELECT {_COLUMNS} FROM pos_store.transactions WHERE store_id = %(store)s "
                "AND terminal_id IN (SELECT terminal_id FROM pos_store.terminals WHERE store_id = %(store)s) "
                "AND id = ANY(%(ids)s) "
                # by the gateway's paymentId (not indexed): within the days a report's rows can span
                f"UNION SELECT {_COLUMNS} FROM pos_store.transactions WHERE store_id = %(store)s "
                "AND day BETWEEN %(first)s AND %(last)s AND payment_id = ANY(%(ids)s)", {**params, "ids": rest})
            for r in cur.fetchall():
                found.setdefault((r[0], r[1]), r)
        # the sale of each refund or cancel read on another day: the match reads its report rows too (issue 18 F3)
        parents = sorted({r[8] for r in found.values() if r[8]} - {r[1] for r in found.values()})
        if parents:
            cur.execute(f"SELECT {_COLUMNS} FROM pos_store.transactions WHERE store_id = %(store)s "
                        "AND terminal_id IN (SELECT terminal_id FROM pos_store.terminals WHERE store_id = %(store)s) "
                        "AND id = ANY(%(ids)s)", {**params, "ids": parents})
            for r in cur.fetchall():
                found.setdefault((r[0], r[1]), r)
        conn.commit()
    return [LedgerRow(id=i, kind=kind, status=status, currency=currency, amount=int(amount), day=d,
                      payment_id=payment_id, parent=parent, terminal=terminal)
            for terminal, i, kind, status, currency, amount, d, payment_id, parent in
            (found[key] for key in sorted(found))]
