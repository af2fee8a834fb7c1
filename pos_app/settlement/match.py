"""The match of the gateway's report rows against the journal: pure, no I/O, one home for the rules.

Every row and every journal transaction ends in exactly one :class:`~.rows.Finding` per key
``(request_id, type)`` (PAYMENT / REFUND / CANCEL, the report's words), so a later run with a later file
replaces what an earlier run said about the same key.

Which rows are *live* is decided before the match, by :func:`live_rows`: the latest imported transactions file
of a date replaces the earlier ones of that date (the T+2 file completes the T+1 one), settlement files add up.
:func:`reconcile` then takes the live rows as they are; the caller passes every live row it has for the keys in
question (of any date: a refund reported a day late is still its key's row).

Rules (the design's "Matching rules"; choices the design left open are marked *chosen*):
- PAYMENT rows belong to the journal's sale whose id is the row's ``transactionRequestId``; failing that, to
  the sale whose ``payment_id`` is the row's ``transactionId`` (an entry-code payment: the request id is the
  merchant page's). CANCEL rows the same way. REFUND rows to the journal refund of that id.
- A cancelled sale (status CANCELLED, or a successful journal cancel of it) expects a PAYMENT and a CANCEL row,
  or none. *Chosen*: when only one of the two is listed, the other key is ``missing_at_gateway``; the listed
  one is compared like any row.
- Class of a listed key, first that holds: duplicate (more than one live transactions row, or more than one
  settlement row); missing in the journal (no journal row, or one that is not SUCCESS, a cancelled sale's
  PAYMENT and CANCEL rows apart; a CANCEL of a sale the journal did not cancel); currency mismatch; amount
  mismatch (``abs(row.amount)`` against the journal's positive amount); pending (no row is final: *chosen*: a
  transactions row is final with both a settlement amount and a fee, a settlement row with a settlement
  amount); matched.
- A journal SUCCESS sale or refund of the day with no row at all for its key: missing at the gateway.
A finding's ``detail`` is English (marked ``N_``): the journal keeps it, the screens translate it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from .. import vocabulary as V
from ..errors import MoneyError
from ..i18n import N_, _
from ..money import format_minor
from . import columns as C
from .rows import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    DUPLICATE,
    MATCHED,
    MISSING_AT_GATEWAY,
    MISSING_IN_JOURNAL,
    PENDING,
    Finding,
    LedgerRow,
    ReportRow,
    SummaryRow,
)

TYPES = (C.PAYMENT, C.REFUND, C.CANCEL)


class FileRef(NamedTuple):
    """What :func:`live_rows` needs of an imported file (a parse.ReportFile has these attributes too)."""

    sha256: str
    kind: str
    report_date: str | None


def live_rows(rows: Iterable[ReportRow], files: Sequence[FileRef] | None = None) -> list[ReportRow]:
    """``rows`` without those of a transactions file that a later one of the same ``report_date`` replaces.

    ``files``: every imported file in import order (the latest last), rows or not, so that a latest file with
    no rows still replaces an earlier one; without it, the order in which files first appear in ``rows`` is
    taken as the import order. Settlement rows, and transactions rows of a file without a report date, are
    always live."""
    rows = list(rows)
    order = [f.sha256 for f in files] if files is not None else list(dict.fromkeys(r.file for r in rows))
    rank = {sha: i for i, sha in enumerate(order)}
    latest: dict[str, str] = {}
    dated = [(f.sha256, f.report_date) for f in files if f.kind == C.TRANSACTIONS] if files is not None else \
        list(dict.fromkeys((r.file, r.report_date) for r in rows if r.kind == C.TRANSACTIONS))
    for sha, date in dated:
        if date is not None and (date not in latest or rank[sha] > rank[latest[date]]):
            latest[date] = sha
    return [r for r in rows
            if r.kind != C.TRANSACTIONS or r.report_date is None or latest.get(r.report_date, r.file) == r.file]


def reconcile(ledger: Iterable[LedgerRow], rows: Iterable[ReportRow], day: str) -> list[Finding]:
    """One finding per key of the live ``rows`` (PAYMENT/REFUND/CANCEL only) and per journal transaction of
    ``day`` the gateway should list, sorted by (day, request_id, type)."""
    ledger = list(ledger)
    by_id: dict[tuple[str, str], LedgerRow] = {}
    by_payment_id: dict[str, LedgerRow] = {}
    cancelled: set[str] = set()
    for t in sorted(ledger, key=lambda t: (t.id, t.kind)):
        if t.kind == V.SALE:
            by_id[(t.id, V.SALE)] = t
            if t.payment_id:
                by_payment_id.setdefault(t.payment_id, t)
            if t.status == V.CANCELLED:
                cancelled.add(t.id)
        elif t.kind == V.REFUND:
            by_id[(t.id, V.REFUND)] = t
        elif t.kind == V.CANCEL and t.status == V.SUCCESS and t.parent:
            cancelled.add(t.parent)

    # group the rows by key, and find each key's journal row
    groups: dict[tuple[str, str], list[ReportRow]] = defaultdict(list)
    for r in rows:
        if r.type in TYPES:
            groups[(r.request_id, r.type)].append(r)
    ours: dict[tuple[str, str], LedgerRow | None] = {}
    for (request_id, type_), listed in groups.items():
        if type_ == C.REFUND:
            ours[(request_id, type_)] = by_id.get((request_id, V.REFUND))
        else:
            sale = by_id.get((request_id, V.SALE))
            if sale is None:
                sale = next((by_payment_id[r.transaction_id] for r in sorted(listed, key=_row_order)
                             if r.transaction_id in by_payment_id), None)
            ours[(request_id, type_)] = sale
    seen = {(t.id, type_) for (_rid, type_), t in ours.items() if t is not None}

    findings = [_listed(key, listed if len(listed) == 1 else sorted(listed, key=_row_order), ours[key], cancelled,
                        day) for key, listed in groups.items()]

    # what the journal expects and the gateway does not list
    for t in ledger:
        if t.kind == V.SALE and t.id in cancelled:
            pair = [(t.id, C.PAYMENT), (t.id, C.CANCEL)]
            listed_pair = [k for k in pair if k in seen]
            if len(listed_pair) == 1:
                (missing,) = set(pair) - set(listed_pair)
                findings.append(Finding(t.id, missing[1], MISSING_AT_GATEWAY, t, (), _cancel_half(missing[1]),
                                        t.day))
        elif t.status == V.SUCCESS and t.day == day and t.kind in (V.SALE, V.REFUND):
            type_ = C.PAYMENT if t.kind == V.SALE else C.REFUND
            if (t.id, type_) not in seen:
                findings.append(Finding(t.id, type_, MISSING_AT_GATEWAY, t, (), N_(
                    "the journal has this {kind} of {amount}; the gateway lists no row for it").format(
                    kind=V.KIND_WORDS[t.kind], amount=_money(t.amount, t.currency)), t.day))
    return sorted(findings, key=_finding_order)


_row_order = attrgetter("kind", "file", "line")
_finding_order = attrgetter("day", "request_id", "type")   # a day's 20,000 keys: sorted without a Python call each


def _money(minor: int, currency: str) -> str:
    try:
        return f"{format_minor(minor, currency)} {currency}"
    except MoneyError:   # a currency the parser would have refused: still words, never a failed match
        return f"{minor} (minor units) {currency}"


def _cancel_half(type_: str) -> str:
    if type_ == C.CANCEL:
        return N_("the journal has this sale cancelled; the gateway lists its payment but no cancel")
    return N_("the gateway lists a cancel of this sale but not its payment")


def _listed(key: tuple[str, str], listed: list[ReportRow], ours: LedgerRow | None, cancelled: set[str],
            day: str) -> Finding:
    request_id, type_ = key
    theirs = tuple(listed)
    when = ours.day if ours is not None else next((r.report_date for r in listed if r.report_date), day)

    def found(cls: str, detail: str) -> Finding:
        return Finding(request_id, type_, cls, ours, theirs, detail, when)

    if len(listed) > 1 and (sum(r.kind == C.TRANSACTIONS for r in listed) > 1
                            or sum(r.kind == C.SETTLEMENT for r in listed) > 1):
        where = ", ".join(f"{r.kind} line {r.line}" for r in listed)
        return found(DUPLICATE, N_("the gateway lists this {type} more than once ({where})").format(
            type=type_, where=where))
    first = listed[0]
    if ours is None:
        return found(MISSING_IN_JOURNAL, N_("the gateway lists a {type} of {amount}; the journal has no such "
                                           "transaction").format(type=type_, amount=_money(first.amount,
                                                                                            first.currency)))
    if type_ in (C.PAYMENT, C.CANCEL) and ours.id in cancelled:
        status = None                              # a cancelled sale: its PAYMENT and CANCEL are both expected
    elif type_ == C.CANCEL:
        status = N_("{status}, not cancelled").format(status=ours.status)
    else:
        status = None if ours.status == V.SUCCESS else ours.status
    if status is not None:
        return found(MISSING_IN_JOURNAL, N_("the gateway lists a {type} of {amount}; the journal says {status}").format(
            type=type_, amount=_money(first.amount, first.currency), status=status))
    for r in listed:
        if r.currency != ours.currency:
            return found(CURRENCY_MISMATCH, N_("the gateway says {theirs}, the journal {ours}").format(
                theirs=_money(r.amount, r.currency), ours=_money(ours.amount, ours.currency)))
    for r in listed:
        if abs(r.amount) != ours.amount:
            return found(AMOUNT_MISMATCH, N_("the gateway says {theirs}, the journal {ours}").format(
                theirs=_money(r.amount, r.currency), ours=_money(ours.amount, ours.currency)))
    if not any(_final(r) for r in listed):
        return found(PENDING, N_("fees or the settlement amount are not final yet (a later report completes "
                                "them)"))
    return found(MATCHED, "")


def _final(r: ReportRow) -> bool:
    if r.kind == C.SETTLEMENT:
        return r.settle_amount is not None
    return r.settle_amount is not None and r.fee is not None


# -- money per currency ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """A settlement currency's sums, in its minor units: ``net == gross + fee`` (fees are negative)."""

    count: int
    gross: int
    fee: int
    net: int
    pending: int = 0    # rows not counted: their settlement amount is not known yet

    def as_dict(self) -> dict[str, int]:
        return {"count": self.count, "gross": self.gross, "fee": self.fee, "net": self.net, "pending": self.pending}


def totals(rows: Iterable[ReportRow]) -> dict[str, Totals]:
    """Fee and net settlement per settlement currency: from the settlement rows when there are any (what was
    paid out), else from the transactions rows (what will be). A row whose settlement amount is not known yet
    is counted as pending under its transaction currency, not in the sums."""
    rows = list(rows)
    chosen = [r for r in rows if r.kind == C.SETTLEMENT] or [r for r in rows if r.kind == C.TRANSACTIONS]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in chosen:
        if r.settle_amount is None or r.settle_currency is None:
            sums[r.currency][4] += 1
            continue
        fee = r.fee or 0
        s = sums[r.settle_currency]
        s[0] += 1
        s[1] += r.settle_amount - fee
        s[2] += fee
        s[3] += r.settle_amount
    return {cur: Totals(*s) for cur, s in sorted(sums.items())}


def summary_check(summary_rows: Iterable[SummaryRow], settlement_rows: Iterable[ReportRow]) -> list[str]:
    """Words where a settlement summary disagrees with the settlement details of its batch: the TOTAL row's
    count and net against all the batch's rows, each type's row against that type's rows.

    ``settlement_rows``: every row of the batch's details files, the listed-only ones (fees) included."""
    details: dict[str, list[ReportRow]] = defaultdict(list)
    for r in settlement_rows:
        if r.kind == C.SETTLEMENT and r.batch:
            details[r.batch].append(r)
    said: list[str] = []
    for s in sorted(summary_rows, key=lambda s: (s.batch, s.summary_type != C.TOTAL, s.summary_type)):
        batch = details.get(s.batch)
        if batch is None:
            if s.summary_type == C.TOTAL:
                said.append(_("batch {batch}: a summary but no settlement details imported").format(batch=s.batch))
            continue
        mine = batch if s.summary_type == C.TOTAL else [r for r in batch if r.type == s.summary_type]
        net = sum(r.settle_amount or 0 for r in mine)
        if len(mine) != s.count:
            said.append(_("batch {batch}, {type}: the summary counts {theirs} rows, the details have {ours}").format(
                batch=s.batch, type=s.summary_type, theirs=s.count, ours=len(mine)))
        if net != s.settle_amount:
            said.append(_("batch {batch}, {type}: the summary's net is {theirs}, the details add up to {ours}").format(
                batch=s.batch, type=s.summary_type, theirs=_money(s.settle_amount, s.settle_currency),
                ours=_money(net, s.settle_currency)))
    return said
