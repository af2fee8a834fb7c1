"""What the counter took: the one rule for the net, used by the day report, the X and the Z.

Money is counted where it moved, once:

- a sale counts its amount when it was paid: SUCCESS, or CANCELLED by a manager's cancel afterwards
  (``reversed``: a cancel row of it succeeded). The reversal is that cancel row, counted where it is,
  so a sale and its cancel in one session (or day) net to 0, and a cancel in a later session subtracts
  there while the earlier, immutable Z stays right;
- a sale the payment flow closed itself (the cashier's abort, a cancel after an unknown outcome:
  CANCELLED with no cancel row) moved nothing; nor did a failed, voided, queued, unknown or
  under-review one, accepted at the merchant's risk or not, until it settles as paid;
- a refund, and a manager's cancel, subtract once they succeeded.

Pure: rows in (journal rows or dicts with ``kind``, ``status``, ``currency``, ``amount`` in minor units
and ``reversed``; or groups of such rows, with their ``count`` and summed ``amount``), figures out.
Which rows a report covers is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .vocabulary import CANCEL, CANCELLED, KINDS, REFUND, SALE, SUCCESS


class Row(Protocol):
    """A journal row (``sqlite3.Row``) or a dict: read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def taken(row: Row) -> int:
    """What this one row moved into the till (negative: out of it), in minor units."""
    kind, status = row["kind"], row["status"]
    if kind == SALE:
        return row["amount"] if status == SUCCESS or (status == CANCELLED and row["reversed"]) else 0
    if kind in (REFUND, CANCEL) and status == SUCCESS:
        return -row["amount"]
    return 0


def _count(row: Row) -> int:
    """How many rows this one stands for: a group's ``count``, else one."""
    try:
        return row["count"]
    except (KeyError, IndexError):   # a dict, a sqlite3.Row without that column
        return 1


def net(rows: Iterable[Row]) -> dict[str, int]:
    """The net per currency (every currency that has a row, 0 included), sorted by currency."""
    out: dict[str, int] = {}
    for row in rows:
        out[row["currency"]] = out.get(row["currency"], 0) + taken(row)
    return dict(sorted(out.items()))


def totals(rows: Iterable[Row]) -> dict[str, dict]:
    """Per currency: each kind's rows by status (count and value) and the net: the X and Z's figures."""
    rows = list(rows)
    out: dict[str, dict] = {}
    for row in rows:
        cur = out.setdefault(row["currency"], {kind: {} for kind in KINDS})
        entry = cur[row["kind"]].setdefault(row["status"], {"count": 0, "value": 0})
        entry["count"] += _count(row)
        entry["value"] += row["amount"]
    for currency, value in net(rows).items():
        out[currency]["net"] = value
    return {currency: {**cur, **{kind: dict(sorted(cur[kind].items())) for kind in KINDS}}
            for currency, cur in sorted(out.items())}
