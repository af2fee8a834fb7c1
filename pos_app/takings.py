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
Which rows a report covers is the caller's choice. :func:`summary` reads the same rule as a person does:
gross sales, refunds and cancels, each the sum of what its rows moved, so they add up to the net.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Summary:
    """One currency's takings as a person reads them (minor units): gross sales (the sales that moved money,
    a sale reversed later included: its cancel counts under ``cancels``), refunds and cancels that went
    through, and the net they add up to; ``average`` is gross over ``sales``, to the nearest minor unit."""

    currency: str
    gross: int
    sales: int
    refunds: int
    refund_count: int
    cancels: int
    cancel_count: int
    net: int

    @property
    def average(self) -> int:
        return (2 * self.gross + self.sales) // (2 * self.sales) if self.sales else 0   # halves round up


def summary(rows: Iterable[Row]) -> dict[str, Summary]:
    """Per currency (every currency that has a row), sorted: :class:`Summary` from :func:`taken`, the one rule,
    so ``gross - refunds - cancels`` is :func:`net` by construction."""
    moved: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        per = moved.setdefault(row["currency"], {kind: [0, 0] for kind in KINDS})
        value = taken(row)
        if value:
            per[row["kind"]][0] += abs(value)
            per[row["kind"]][1] += _count(row)
    return {currency: Summary(currency, gross=per[SALE][0], sales=per[SALE][1], refunds=per[REFUND][0],
                              refund_count=per[REFUND][1], cancels=per[CANCEL][0], cancel_count=per[CANCEL][1],
                              net=per[SALE][0] - per[REFUND][0] - per[CANCEL][0])
            for currency, per in sorted(moved.items())}
