"""The match of the gateway's report rows against the journal: pure, no I/O, one home for the rules.

Every row and every journal transaction ends in exactly one :class:`~.rows.Finding` per key
``(request_id, type)`` (PAYMENT / REFUND / CANCEL, the report's words), so a later run with a later file
replaces what an earlier run said about the same key.

Which rows are *live* is decided before the match, by :func:`live_rows`: a date's transactions report may come
in parts (``_000``, ``_001``: all live) and each part in generations (the same file re-produced: the newest by
content is live, so the T+2 file completes the T+1 one and a re-download of the T+1 file undoes nothing);
settlement files add up. :func:`reconcile` then takes the live rows as they are; the caller passes every live
row it has for the keys in question (of any date: a refund reported a day late is still its key's row), and the
journal rows of the day, of the ids the rows name, and the parent sale of every refund.

Rules (the design's "Matching rules"; choices the design left open are marked *chosen*):
- PAYMENT rows belong to the journal's sale whose id is the row's ``transactionRequestId``; failing that, to
  the sale whose ``payment_id`` is the row's ``transactionId`` (an entry-code payment: the request id is the
  merchant page's), only when no row claimed that sale by its request id (else the second row is a
  duplicate). CANCEL rows the same way. REFUND rows to the journal refund of that id.
- With ``store_id``, a row booked to another store (``referenceStoreId``) whose key is not ours is set aside
  (a chain's report lists every store): no finding, a warning.
- A cancelled sale (status CANCELLED, or a successful journal cancel of it) expects a PAYMENT and a CANCEL row,
  or none. *Chosen*: when only one of the two is listed, the other key is ``missing_at_gateway``; the listed
  one is compared like any row.
- Class of a listed key, first that holds: duplicate (more than one live transactions row, or more than one
  settlement row, or a second row for one sale); missing in the journal (no journal row, or one that is not
  SUCCESS, a cancelled sale's PAYMENT and CANCEL rows apart; a CANCEL of a sale the journal did not cancel;
  *chosen*: a row of our key booked to another store, to another paymentId than the journal's, or a refund
  booked against another payment than the journal refund's sale); currency mismatch; amount mismatch (the
  signed amount: PAYMENT ``+ours``, REFUND and CANCEL ``-ours``; and, when the settlement and fee are in the
  transaction currency, ``settlementAmountValue == amount + fee``; across currencies (FX) that is not
  checked); pending (no row is final: *chosen*: a transactions row is final with both a settlement amount and
  a fee, a settlement row with a settlement amount); matched.
- A journal SUCCESS sale or refund of the day with no row at all for its key: missing at the gateway.
A finding's ``detail`` is English (marked ``N_``): the journal keeps it, the screens translate it.
"""

from __future__ import annotations

import re
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
    words,
)

TYPES = (C.PAYMENT, C.REFUND, C.CANCEL)


class FileRef(NamedTuple):
    """What :func:`live_rows` needs of an imported file (a parse.ReportFile has these attributes too).

    ``name``: the file's name as imported (``transactionItems_20261205_001.csv``); None when the caller does not
    know it, and then the files of one date are taken as generations of one report (the latest wins)."""

    sha256: str
    kind: str
    report_date: str | None
    name: str | None = None


#: Antom's default transactions file name: the date and a sequence number (a day too big for one file is split
#: into _000, _001, ...). Searched, not matched whole: a browser's re-download adds " (1)" to the same name.
_PART_NAME = re.compile(r"transactionItems_(\d{8})_(\d+)", re.IGNORECASE)


def _part(name: str | None) -> tuple[str, ...]:
    """Which part of a date's transactions report a file is: the same part twice is two generations of it."""
    if name is None:
        return ("",)                                # unknown: one report a date, as before names were passed
    found = _PART_NAME.search(name)
    if found is not None:
        return ("seq", found.group(1), str(int(found.group(2))))
    return ("name", name.rsplit(".", 1)[0])         # a customised name: its own part (its re-downloads: generations)


def live_rows(rows: Iterable[ReportRow], files: Sequence[FileRef] | None = None) -> list[ReportRow]:
    """``rows`` without those of a transactions file that another generation of the same part replaces.

    A date's transactions report may be split into *parts* (``_000``, ``_001``: names that differ by the
    sequence, or customised names): every part is live, and a key listed in two parts is a duplicate. The same
    part may come in *generations* (the same name re-produced: the T+2 file completes the T+1 one; or the T+1
    file downloaded again after it): one generation is live, the newest by content: rows only ever become final
    (a settlement amount and fee filled in), so a generation holding a key unfinished that another holds final
    is the older one; otherwise the later import is the newer.

    ``files``: every imported file in import order (the latest last), rows or not, so that a latest file with
    no rows still replaces an earlier one; without it, the order in which files first appear in ``rows`` is
    taken as the import order (and every file of a date as one part). Settlement rows, transactions rows of a
    file without a report date, and rows of a file ``files`` does not name are always live."""
    rows = list(rows)
    if files is None:
        files = [FileRef(sha, C.TRANSACTIONS, date)
                 for sha, date in dict.fromkeys((r.file, r.report_date) for r in rows if r.kind == C.TRANSACTIONS)]
    parts: dict[tuple, list[str]] = defaultdict(list)
    for f in files:
        if f.kind == C.TRANSACTIONS and f.report_date is not None:
            generations = parts[(f.report_date, *_part(f.name))]
            if f.sha256 not in generations:
                generations.append(f.sha256)
    contested = [shas for shas in parts.values() if len(shas) > 1]
    if not contested:
        return rows
    listed: dict[str, dict[tuple[str, str], bool]] = defaultdict(dict)   # file -> key -> has a final row
    in_contest = {sha for shas in contested for sha in shas}
    for r in rows:
        if r.file in in_contest and r.kind == C.TRANSACTIONS:
            keys = listed[r.file]
            keys[(r.request_id, r.type)] = keys.get((r.request_id, r.type), False) or _final(r)
    dropped: set[str] = set()
    for shas in contested:
        newest = shas[0]
        for sha in shas[1:]:
            if not _older(listed[sha], listed[newest]):
                newest = sha
        dropped.update(sha for sha in shas if sha != newest)
    return [r for r in rows if r.file not in dropped or r.kind != C.TRANSACTIONS]


def _older(a: dict[tuple[str, str], bool], b: dict[tuple[str, str], bool]) -> bool:
    """Whether generation ``a`` is, by its rows, older than ``b``: a key unfinished in ``a`` is final in ``b``,
    and none the other way round (a file that says both is judged by import order)."""
    behind = any(not done and b.get(key, False) for key, done in a.items())
    ahead = any(not done and a.get(key, False) for key, done in b.items())
    return behind and not ahead


class Findings(list):
    """What :func:`reconcile` answers: its findings (a plain list of :class:`~.rows.Finding`), and ``warnings``,
    words for the run (rows set aside as another store's), and ``set_aside``, those rows."""

    warnings: list[str]
    set_aside: tuple[ReportRow, ...]

    def __init__(self, findings: Iterable[Finding] = (), warnings: Iterable[str] = (),
                 set_aside: Iterable[ReportRow] = ()) -> None:
        super().__init__(findings)
        self.warnings = list(warnings)
        self.set_aside = tuple(set_aside)


def reconcile(ledger: Iterable[LedgerRow], rows: Iterable[ReportRow], day: str, *,
              store_id: str | None = None) -> Findings:
    """One finding per key of the live ``rows`` (PAYMENT/REFUND/CANCEL only) and per journal transaction of
    ``day`` the gateway should list, sorted by (day, request_id, type).

    ``ledger``: the journal's rows of the day and of the ids the rows name, *with the parent sale of every
    refund* (a refund row's original payment is held against it). ``store_id``: this store's id (the
    ``referenceStoreId`` our pay requests send); a row booked to another store whose key is not ours is set
    aside (a chain's report lists every store): neither matched nor missing, counted in ``warnings``. None: no
    store is checked."""
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

    # group the rows by key, and find each key's journal row: by request id first, then (entry-code payments)
    # by paymentId, for a sale no row claimed by its request id: a second row for one sale is a duplicate
    groups: dict[tuple[str, str], list[ReportRow]] = defaultdict(list)
    for r in rows:
        if r.type in TYPES:
            groups[(r.request_id, r.type)].append(r)
    ours: dict[tuple[str, str], LedgerRow | None] = {}
    claimed: dict[tuple[str, str], tuple[str, str]] = {}     # (sale id, type) -> the key that claimed it
    for key in groups:
        request_id, type_ = key
        mine = by_id.get((request_id, V.REFUND if type_ == C.REFUND else V.SALE))
        ours[key] = mine
        if mine is not None and type_ != C.REFUND:
            claimed[(mine.id, type_)] = key
    twice: dict[tuple[str, str], tuple[str, str]] = {}       # a key -> the key that claimed its sale first
    for key in sorted(k for k, t in ours.items() if t is None and k[1] != C.REFUND):
        sale = next((by_payment_id[r.transaction_id] for r in sorted(groups[key], key=_row_order)
                     if r.transaction_id in by_payment_id), None)
        if sale is None:
            continue
        ours[key] = sale
        first = claimed.setdefault((sale.id, key[1]), key)
        if first != key:
            twice[key] = first
    seen = {(t.id, type_) for (_rid, type_), t in ours.items() if t is not None}

    # rows another store's: not ours unless the key is
    aside: list[ReportRow] = []
    if store_id is not None:
        for key in [k for k, t in ours.items() if t is None]:
            foreign = [r for r in groups[key] if r.store_id is not None and r.store_id != store_id]
            if foreign:
                aside += foreign
                kept = [r for r in groups[key] if r.store_id is None or r.store_id == store_id]
                if kept:
                    groups[key] = kept
                else:
                    del groups[key]
                    del ours[key]

    context = _Context(by_id, by_payment_id, cancelled, store_id)
    findings = [_listed(key, listed if len(listed) == 1 else sorted(listed, key=_row_order), ours[key], context,
                        day, twice.get(key)) for key, listed in groups.items()]

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
                findings.append(Finding(t.id, type_, MISSING_AT_GATEWAY, t, (), words(N_(
                    "the journal has this {kind} of {amount}; the gateway lists no row for it"),
                    kind=V.KIND_WORDS[t.kind], amount=_money(t.amount, t.currency)), t.day))
    warnings = []
    if aside:
        stores = sorted({r.store_id for r in aside if r.store_id})
        warnings.append(_("{n} report rows are booked to other stores ({stores}), not this store's {store}: set "
                          "aside, neither matched nor missing").format(
                              n=len(aside), stores=", ".join(stores[:5]) + (", …" if len(stores) > 5 else ""),
                              store=store_id))
    return Findings(sorted(findings, key=_finding_order), warnings, sorted(aside, key=_row_order))


class _Context(NamedTuple):
    """What the rules of one key need to know of the rest of the day."""

    by_id: dict[tuple[str, str], LedgerRow]
    by_payment_id: dict[str, LedgerRow]
    cancelled: set[str]
    store_id: str | None


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


def _listed(key: tuple[str, str], listed: list[ReportRow], ours: LedgerRow | None, context: _Context,
            day: str, first: tuple[str, str] | None) -> Finding:
    request_id, type_ = key
    theirs = tuple(listed)
    when = ours.day if ours is not None else next((r.report_date for r in listed if r.report_date), day)

    def found(cls: str, detail: str) -> Finding:
        return Finding(request_id, type_, cls, ours, theirs, detail, when)

    if len(listed) > 1 and (sum(r.kind == C.TRANSACTIONS for r in listed) > 1
                            or sum(r.kind == C.SETTLEMENT for r in listed) > 1):
        where = ", ".join(f"{r.kind} line {r.line}" for r in listed)
        return found(DUPLICATE, words(N_("the gateway lists this {type} more than once ({where})"),
            type=type_, where=where))
    if first is not None and ours is not None:
        return found(DUPLICATE, words(N_("the gateway lists this {type} of sale {sale} (paymentId {payment}) under "
                                   "request id {first} too: one sale, two rows"),
            type=type_, sale=ours.id, payment=ours.payment_id, first=first[0]))
    head = listed[0]
    if ours is None:
        return found(MISSING_IN_JOURNAL, words(N_("the gateway lists a {type} of {amount}; the journal has no such "
                                           "transaction"), type=type_, amount=_money(head.amount,
                                                                                           head.currency)))
    if type_ in (C.PAYMENT, C.CANCEL) and ours.id in context.cancelled:
        status = None                              # a cancelled sale: its PAYMENT and CANCEL are both expected
    elif type_ == C.CANCEL:
        status = words(N_("{status}, not cancelled"), status=ours.status)
    else:
        status = None if ours.status == V.SUCCESS else ours.status
    if status is not None:
        return found(MISSING_IN_JOURNAL, words(N_("the gateway lists a {type} of {amount}; the journal says {status}"),
            type=type_, amount=_money(head.amount, head.currency), status=status))
    for r in listed:
        other = _booked_elsewhere(r, type_, ours, context)
        if other is not None:
            return found(MISSING_IN_JOURNAL, other)
    for r in listed:
        if r.currency != ours.currency:
            return found(CURRENCY_MISMATCH, words(N_("the gateway says {theirs}, the journal {ours}"),
                theirs=_money(r.amount, r.currency), ours=_money(ours.amount, ours.currency)))
    want = ours.amount if type_ == C.PAYMENT else -ours.amount   # PAYMENT positive, REFUND and CANCEL negative
    for r in listed:
        if r.amount != want:
            if r.amount == -want and want:
                return found(AMOUNT_MISMATCH, words(N_(
                    "the gateway says {theirs}, the journal {ours}: the sign is wrong (a {type} row is {sign} in "
                    "the gateway's reports: {meaning})"),
                    theirs=_money(r.amount, r.currency), ours=_money(ours.amount, ours.currency), type=type_,
                    sign=N_("positive") if type_ == C.PAYMENT else N_("negative"),
                    meaning=N_("money paid to the merchant") if type_ == C.PAYMENT else
                    N_("money taken back from the merchant")))
            return found(AMOUNT_MISMATCH, words(N_("the gateway says {theirs}, the journal {ours}"),
                theirs=_money(r.amount, r.currency), ours=_money(ours.amount, ours.currency)))
    for r in listed:
        if (r.settle_amount is not None and r.fee is not None and r.settle_currency == r.currency
                and (r.fee_currency or r.settle_currency) == r.currency and r.settle_amount != r.amount + r.fee):
            return found(AMOUNT_MISMATCH, words(N_("the gateway settles {settled} for {amount} with a fee of {fee}: "
                                             "amount plus fee is {expected} ({kind} line {line})"),
                settled=_money(r.settle_amount, r.currency), amount=_money(r.amount, r.currency),
                fee=_money(r.fee, r.currency), expected=_money(r.amount + r.fee, r.currency), kind=r.kind,
                line=r.line))
    if not any(_final(r) for r in listed):
        return found(PENDING, N_("fees or the settlement amount are not final yet (a later report completes "
                                "them)"))
    return found(MATCHED, "")


def _booked_elsewhere(r: ReportRow, type_: str, ours: LedgerRow, context: _Context) -> str | None:
    """Words when the row, though keyed to our transaction, books it to another payment or another store."""
    if context.store_id is not None and r.store_id is not None and r.store_id != context.store_id:
        return words(N_("the gateway books this {type} to store {theirs}; this store is {ours}"),
            type=type_, theirs=r.store_id, ours=context.store_id)
    if type_ in (C.PAYMENT, C.CANCEL):
        if ours.payment_id and r.transaction_id != ours.payment_id:
            return words(N_("the gateway lists this {type} under paymentId {theirs}; the journal's sale has paymentId "
                      "{ours}"), type=type_, theirs=r.transaction_id, ours=ours.payment_id)
        return None
    # a REFUND: its original payment must be the journal refund's sale
    if not ours.parent:
        return None
    parent = context.by_id.get((ours.parent, V.SALE))
    names = [n for n in (r.original_id, r.transaction_id) if n]
    # the current generation: transactionId is the paymentId; the old one: originalTransactionId is
    if parent is not None and parent.payment_id and parent.payment_id not in names:
        return _other_payment(r, parent)
    for name in names:   # an id that names another sale of the journal, by request id or by paymentId
        other = context.by_id.get((name, V.SALE)) or context.by_payment_id.get(name)
        if other is not None and other.id != ours.parent:
            return _other_payment(r, parent, ours.parent)
    return None


def _other_payment(r: ReportRow, parent: LedgerRow | None, parent_id: str | None = None) -> str:
    sale = parent.id if parent is not None else parent_id
    named = ", ".join(dict.fromkeys(n for n in (r.original_id, r.transaction_id) if n))
    if parent is not None and parent.payment_id:
        return words(N_("the gateway books this refund against payment {theirs}; the journal's refund is of "
                        "sale {sale} (paymentId {payment})"), theirs=named, sale=sale, payment=parent.payment_id)
    return words(N_("the gateway books this refund against payment {theirs}; the journal's refund is of sale "
              "{sale}"), theirs=named, sale=sale)


def _final(r: ReportRow) -> bool:
    if r.kind == C.SETTLEMENT:
        return r.settle_amount is not None
    return r.settle_amount is not None and r.fee is not None


# -- money per currency ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """A settlement currency's sums, in its minor units: ``net == gross + fee`` (fees are negative), except that
    a fee charged in this currency on another currency's settlement is in ``fee`` alone."""

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
    is counted as pending under its transaction currency, not in the sums. A fee is kept under its own
    currency: a fee in another currency than the row's settlement is not deducted from that settlement's gross
    (what was paid out is the settlement amount) and shows as that currency's fee alone."""
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
        s[3] += r.settle_amount
        fee_currency = r.fee_currency or r.settle_currency
        if fee_currency == r.settle_currency:
            s[1] += r.settle_amount - fee
            s[2] += fee
        else:
            s[1] += r.settle_amount
            sums[fee_currency][2] += fee
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
