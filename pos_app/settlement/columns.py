"""The gateway's three report files and their columns, as Antom documents them (docs.antom.com, Reconciliation).

Antom has published two generations of these columns (``acquirer``/``acquirerReferenceNo``/``paymentTime`` then
``PSP``/``ARN``/``transactionCreationTime``), and a merchant's SFTP files keep the generation they were set up
with. So a file is read by its header's names, never by position; the simulator writes the current generation in
its documented order. What the terminal needs from a row is named in ``NEEDED``; a column in neither generation
is *unknown*: kept out of the match and said as a warning, since Antom adds columns over time.

What the docs we could read do not settle, and what we chose (say so where it matters):
- signs: the amount's sign is read as written (PAYMENT positive, REFUND and CANCEL negative in the simulator);
  fees are negative and ``settlementAmountValue`` is the net (gross plus fees) in the settlement currency;
- a CANCEL row's ``transactionRequestId`` is the cancelled payment's ``paymentRequestId``;
- times are ISO 8601 with an offset (``2026-12-06T10:12:01+08:00``); a bare date is accepted too.
"""

from __future__ import annotations

TRANSACTIONS = "transactions"   # transaction details: every transaction of a day T, produced on T+1
SETTLEMENT = "settlement"       # settlement details: every transaction of one settlement batch
SUMMARY = "summary"             # settlement summary: per batch, one row per summaryType and a TOTAL row

KINDS = (TRANSACTIONS, SETTLEMENT, SUMMARY)

#: The current generation's columns, in the order the simulator writes them.
COLUMNS: dict[str, tuple[str, ...]] = {
    TRANSACTIONS: (
        "customerId", "PSP", "ARN", "referenceMerchantId", "referenceStoreId", "transactionId",
        "transactionRequestId", "referenceTransactionId", "originalTransactionRequestId", "transactionType",
        "paymentMethodType", "status", "transactionCreationTime", "transactionCompletionTime", "settlementBatchId",
        "transactionAmountValue", "transactionCurrency", "settlementAmountValue", "settlementCurrency",
        "quoteCurrencyPair", "quotePrice", "paymentMethodFeeAmountValue", "paymentMethodFeeCurrency",
        "taxFeeAmountValue", "taxFeeCurrency"),
    SETTLEMENT: (
        "settlementBatchId", "customerId", "PSP", "ARN", "referenceMerchantId", "referenceStoreId", "transactionId",
        "transactionRequestId", "referenceTransactionId", "originalTransactionRequestId", "transactionType",
        "paymentMethodType", "settlementInitiatedDate", "transactionAmountValue", "transactionCurrency",
        "settlementAmountValue", "settlementCurrency", "quoteCurrencyPair", "quotePrice",
        "paymentMethodFeeAmountValue", "paymentMethodFeeCurrency", "taxFeeAmountValue", "taxFeeCurrency"),
    SUMMARY: (
        "settlementBatchId", "customerId", "PSP", "summaryType", "settlementInitiatedDate", "count",
        "settlementAmountValue", "settlementCurrency", "paymentMethodFeeAmountValue", "paymentMethodFeeCurrency",
        "taxFeeAmountValue", "taxFeeCurrency"),
}

#: The earlier generation's names for the same things (read as the current name).
ALIASES: dict[str, str] = {
    "acquirer": "PSP",
    "acquirerReferenceNo": "ARN",
    "paymentTime": "transactionCreationTime",
    "settlementTime": "settlementInitiatedDate",
    "feeAmountValue": "paymentMethodFeeAmountValue",
    "feeCurrency": "paymentMethodFeeCurrency",
}

#: Columns either generation documents that the match does not use: known, so no warning.
OTHER_KNOWN = frozenset({
    "originalTransactionId", "orderDescription", "wallet", "transactionUpdateTime", "productCode",
    "convertedTransactionAmountValue", "convertedCurrency", "pspName", "processingFeeAmountValue",
    "processingFeeCurrency", "nonGuaranteeCouponValue", "nonGuaranteeCouponCurrency", "disputeHandlingFee",
    "disputeHandlingFeeCurrency", "disputeReverseFee", "disputeReverseFeeCurrency", "installmentsNum",
    "issuingCountry", "cardBrand", "funding", "interchangeFeeAmountValue", "interchangeFeeCurrency",
    "schemeFeeAmountValue", "schemeFeeCurrency", "acquirerMarkupAmountValue", "acquirerMarkupCurrency",
})

KNOWN = frozenset(name for columns in COLUMNS.values() for name in columns) | frozenset(ALIASES) | OTHER_KNOWN

#: What a file of each kind must carry (after aliases) for the terminal to match it; missing: the file is refused.
NEEDED: dict[str, tuple[str, ...]] = {
    TRANSACTIONS: ("customerId", "transactionId", "transactionRequestId", "transactionType",
                   "transactionAmountValue", "transactionCurrency"),
    SETTLEMENT: ("settlementBatchId", "customerId", "transactionId", "transactionRequestId", "transactionType",
                 "transactionAmountValue", "transactionCurrency", "settlementAmountValue", "settlementCurrency"),
    SUMMARY: ("settlementBatchId", "customerId", "summaryType", "count", "settlementAmountValue",
              "settlementCurrency"),
}

END = "<END>"   # the last line of every report: a file without it was cut short

#: transactionType values the in-store terminal makes (others, such as fees or disputes, are listed, not matched).
PAYMENT, REFUND, CANCEL = "PAYMENT", "REFUND", "CANCEL"
TOTAL = "TOTAL"   # the settlement summary's row over the whole batch

#: The default file names (Antom lets a merchant change them): ``<date>`` is yyyyMMdd.
FILE_NAMES = {
    TRANSACTIONS: "transactionItems_{date}_{seq:03d}",
    SETTLEMENT: "settlementItems_{currency}_{batch}_{seq:03d}",
    SUMMARY: "settlementSummary_{currency}_{batch}_{seq:03d}",
}
#: The SFTP folder of one merchant's reports of one date (transaction date, or settlement date).
FOLDER = "/v1/settlements/{customer}/{date}"


def canonical(name: str) -> str:
    """A header cell as the current generation names it (surrounding blanks dropped)."""
    name = name.strip()
    return ALIASES.get(name, name)


def kind_of(header: list[str]) -> str:
    """Which report a header belongs to, by its columns (file names can be customised, headers cannot)."""
    names = {canonical(h) for h in header}
    if "summaryType" in names:
        return SUMMARY
    if "settlementInitiatedDate" in names:
        return SETTLEMENT
    return TRANSACTIONS
