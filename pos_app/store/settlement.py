"""The store's side of a settlement reconciliation (issue 18): every counter's transactions of a day, from PG.

Why here: the gateway settles the merchant, not a counter, so with ``[store]`` its report is matched against the
whole store's day, not one till's journal; and the store's SQL lives in this package. Read with the login the
store's reports read with (:func:`pos_app.store.reports.open_store`: ``[store] reader``, a till's own login refused
in words, since it would see only its own rows and the others would look missing at the gateway).

Besides the day's rows, the rows the report names by id are read whatever their day (a refund settled on a later
day, a cancel of an earlier payment, a payment the journal dated across midnight), so the match sees them as
the journals have them instead of calling them missing. An id is a transactionRequestId (our id) or a
transactionId (the gateway's paymentId: entry-code payments are found by it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .reports import check_day, open_store

if TYPE_CHECKING:
    from ..config import StoreConfig
    from ..settlement.rows import LedgerRow


def ledger_rows(store: StoreConfig, day: str, extra_ids: Iterable[str] = (), *,
                database: str | None = None) -> list[LedgerRow]:
    """The store's transactions of ``day`` and those ``extra_ids`` name, each with its terminal, ordered by
    terminal then id. ``database`` is a ``--database`` override, as for the store's reports."""
    from ..settlement.rows import LedgerRow

    day = check_day(day)
    ids = sorted({str(i) for i in extra_ids if i})
    with open_store(store, database=database) as conn, conn.cursor() as cur:
        cur.execute("SELECT terminal_id, id, kind, status, currency, amount, day::text, payment_id, parent "
                    "FROM pos_store.transactions WHERE store_id = %(store)s "
                    "AND (day = %(day)s OR id = ANY(%(ids)s) OR payment_id = ANY(%(ids)s)) "
                    "ORDER BY terminal_id, id", {"store": store.store_id, "day": day, "ids": ids})
        found = cur.fetchall()
        conn.commit()
    return [LedgerRow(id=i, kind=kind, status=status, currency=currency, amount=int(amount), day=d,
                      payment_id=payment_id, parent=parent, terminal=terminal)
            for terminal, i, kind, status, currency, amount, d, payment_id, parent in found]
