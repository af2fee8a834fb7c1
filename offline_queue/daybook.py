"""The manager's day table: one business day's transactions, counted, paged and bucketed by hour.

Queries only, each bounded: every one starts with ``day = ?`` so the ``(day, created_at)`` index
limits it to the day, and a page is ``LIMIT ? OFFSET ?``, so a busy day is never read whole. What the
rows mean is the callers' business (:mod:`pos_app.services.manager` builds the filter from what the
manager typed). Every function takes ``log``, a list the (SQL, parameters) run are appended to, so a
view or a benchmark can show exactly what it asked of SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_app.money import EXPONENTS

#: The columns the table shows and sorts by, in display order.
COLUMNS = ("created_at", "id", "kind", "tender", "amount", "currency", "status", "result_code", "description")

# An amount in any currency as a whole number of 1/10000 units (the largest ISO exponent is 4), so an
# amount range compares exactly with minor units of every currency.
_SCALE_TO_4 = ("(amount * CASE " + " ".join(
    f"WHEN currency IN ({','.join(repr(c) for c in sorted(c for c, e in EXPONENTS.items() if e == exp))}) "
    f"THEN {10 ** (4 - exp)}" for exp in (0, 3, 4)) + " ELSE 100 END)")


@dataclass(frozen=True)
class DayFilter:
    """What the table shows: one business day, narrowed by status, tender, an amount range (in
    ten-thousandths of a unit, any currency) and a text found in the id, description or paymentId."""

    day: str
    status: str | None = None
    tender: str | None = None
    min_4: int | None = None
    max_4: int | None = None
    text: str = ""

    def where(self) -> tuple[str, tuple]:
        """The WHERE clause; it always starts with ``day=?`` so the (day, created_at) index bounds it."""
        sql: list[str] = ["day=?"]
        params: list[str | int] = [self.day]
        if self.status:
            sql.append("status=?")
            params.append(self.status)
        if self.tender:
            sql.append("tender=?")
            params.append(self.tender)
        for value, op in ((self.min_4, ">="), (self.max_4, "<=")):
            if value is not None:
                sql.append(f"{_SCALE_TO_4} {op} ?")
                params.append(value)
        if self.text:
            like = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql.append("(id LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' OR payment_id LIKE ? ESCAPE '\\')")
            params += [like, like, like]
        return " AND ".join(sql), tuple(params)


def _run(journal, sql: str, params: tuple, log: list | None) -> list:
    if log is not None:
        log.append((sql, params))
    return journal.query(sql, params)


def count(journal, day_filter: DayFilter, *, log: list | None = None) -> int:
    """How many rows the filter keeps."""
    where, params = day_filter.where()
    return _run(journal, f"SELECT COUNT(*) FROM transactions WHERE {where}", params, log)[0][0]


def page(journal, day_filter: DayFilter, *, order: str, descending: bool, offset: int, limit: int,
         log: list | None = None) -> list[tuple]:
    """One page of the filtered day, ordered by ``order`` (one of :data:`COLUMNS`) then id; each row is a
    tuple of :data:`COLUMNS`."""
    if order not in COLUMNS:
        raise ValueError(f"the day table has no column {order!r}")
    where, params = day_filter.where()
    direction = "DESC" if descending else "ASC"
    sql = (f"SELECT {', '.join(COLUMNS)} FROM transactions WHERE {where} "
           f"ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?")
    return [tuple(r) for r in _run(journal, sql, (*params, limit, offset), log)]


def hourly(journal, day: str, *, kind: str, status: str, log: list | None = None) -> dict[str, list[int]]:
    """Per currency, the value of the day's ``kind`` rows in ``status`` for each local hour (24 buckets)."""
    rows = _run(journal, "SELECT CAST(strftime('%H', created_at, 'unixepoch', 'localtime') AS INTEGER) AS h, "
                         "currency, SUM(amount) AS v FROM transactions WHERE day=? AND kind=? AND status=? "
                         "GROUP BY h, currency", (day, kind, status), log)
    out: dict[str, list[int]] = {}
    for r in rows:
        out.setdefault(r["currency"], [0] * 24)[r["h"]] = r["v"] or 0
    return out
