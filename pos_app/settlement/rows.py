"""The normalised rows reconciliation works on, and the classes a key can end in.

One shape per side, so the matcher never sees a file format or a journal schema: the parser turns either
generation of Antom's CSV/XLSX into :class:`ReportRow` (minor units, signs as written), the journal and the
store's PostgreSQL each give :class:`LedgerRow`, and the matcher answers with one :class:`Finding` per key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..i18n import N_

# -- classes of a finding: what ``--json`` and the journal's ``settlement_findings.cls`` say ------------------
MATCHED = "matched"
MISSING_IN_JOURNAL = "missing_in_journal"
MISSING_AT_GATEWAY = "missing_at_gateway"
AMOUNT_MISMATCH = "amount_mismatch"
CURRENCY_MISMATCH = "currency_mismatch"
PENDING = "pending"            # FX or fees not final yet: a later file settles it
DUPLICATE = "duplicate"

CLASSES = (MATCHED, MISSING_IN_JOURNAL, MISSING_AT_GATEWAY, AMOUNT_MISMATCH, CURRENCY_MISMATCH, PENDING,
           DUPLICATE)
#: The classes that need a person: everything but matched and pending.
DIFFERENCES = frozenset(CLASSES) - {MATCHED, PENDING}

CLASS_WORDS = {
    MATCHED: N_("matched"),
    MISSING_IN_JOURNAL: N_("missing in the journal"),
    MISSING_AT_GATEWAY: N_("missing at the gateway"),
    AMOUNT_MISMATCH: N_("amount differs"),
    CURRENCY_MISMATCH: N_("currency differs"),
    PENDING: N_("pending FX or fees"),
    DUPLICATE: N_("duplicate"),
}


@dataclass(frozen=True)
class ReportRow:
    """One transaction row of a transactions or settlement file, amounts in minor units of their currency.

    ``amount`` keeps the file's sign (refunds and cancels are negative in Antom's files as the simulator writes
    them; the docs are silent), ``settle_amount``/``fee`` are None when the cell is empty: not known yet."""

    kind: str                   # columns.TRANSACTIONS | columns.SETTLEMENT
    file: str                   # sha256 hex of the file the row came from
    line: int                   # 1-based line of the file (the header is line 1)
    report_date: str | None     # YYYY-MM-DD: the day T a transactions file covers; None for settlement rows
    batch: str | None           # settlementBatchId
    customer_id: str
    request_id: str             # transactionRequestId: our paymentRequestId, or refundRequestId
    transaction_id: str
    original_id: str | None     # originalTransactionId / originalTransactionRequestId
    type: str                   # PAYMENT | REFUND | CANCEL | ...
    currency: str
    amount: int
    settle_currency: str | None = None
    settle_amount: int | None = None
    fee_currency: str | None = None
    fee: int | None = None
    store_id: str | None = None
    at: str | None = None       # the time as the file writes it
    status: str | None = None   # the row's status as the file writes it (upper case; None: no cell): SUCCESS, FAIL...


@dataclass(frozen=True)
class LedgerRow:
    """One journal (or store) transaction, as the terminal keeps it: amount positive, in minor units."""

    id: str                     # the request id we sent: paymentRequestId of a sale, refundRequestId of a refund
    kind: str                   # vocabulary.SALE | REFUND | CANCEL
    status: str                 # vocabulary.SUCCESS | ...
    currency: str
    amount: int
    day: str                    # YYYY-MM-DD, local day of the journal
    payment_id: str | None = None   # the gateway's paymentId
    parent: str | None = None       # a refund's or cancel's sale id
    terminal: str | None = None


@dataclass(frozen=True)
class SummaryRow:
    """One row of a settlement summary file: per batch, per summaryType, and a TOTAL row."""

    batch: str
    customer_id: str
    summary_type: str
    count: int
    settle_currency: str
    settle_amount: int
    fee_currency: str | None = None
    fee: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Finding:
    """What one key (request_id, type) came to; ``detail`` is made by :func:`words`, read by :func:`detail_text`."""

    request_id: str
    type: str                   # PAYMENT | REFUND | CANCEL: the report's word, for our own rows too
    cls: str                    # one of CLASSES
    ours: LedgerRow | None
    theirs: tuple[ReportRow, ...]
    detail: str
    day: str


def words(template: str, **args: object) -> str:
    """A finding's detail as it is kept: its English template and arguments (JSON), so it is read later in the
    language of whoever looks at it (the manager's window, a technician's CLI), not of whoever ran the match."""
    return json.dumps([template, args], ensure_ascii=False) if args else template


def detail_text(detail: str | None) -> str:
    """A kept detail in the reader's language; arguments that are themselves words (a kind, a status) too."""
    from ..i18n import _

    if not detail:
        return ""
    if not detail.startswith('["'):
        return _(detail)
    try:
        template, args = json.loads(detail)
        return _(template).format(**{k: detail_text(v) if isinstance(v, str) else v for k, v in args.items()})
    except (ValueError, TypeError, KeyError, IndexError):
        return detail   # not ours (an older form): shown as kept
