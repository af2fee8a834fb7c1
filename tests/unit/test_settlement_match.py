"""pos_app.settlement.match against expectations the test builds itself.

A journal day is generated, and the gateway's report of it is written here by a plain writer that knows
nothing of the matcher. Unperturbed, every key is matched; one perturbation (the gateway omits a row, lists
a phantom, changes an amount or currency, lists a row twice, leaves FX pending; the journal fails a row) must
give exactly that key exactly that class, every other key matched. Amounts are minor units of JPY (0), USD (2)
and KWD (3) and are compared as the writer wrote them, never scaled.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app import vocabulary as V
from pos_app.settlement import columns as C
from pos_app.settlement.match import FileRef, Totals, live_rows, reconcile, summary_check, totals
from pos_app.settlement.rows import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    DUPLICATE,
    MATCHED,
    MISSING_AT_GATEWAY,
    MISSING_IN_JOURNAL,
    PENDING,
    LedgerRow,
    ReportRow,
    SummaryRow,
)

DAY, NEXT = "2026-12-06", "2026-12-07"
CURRENCIES = {"JPY": 0, "USD": 2, "KWD": 3}   # ISO 4217 exponents, written out here on purpose
TX_A, TX_B, ST_FILE = "a" * 64, "b" * 64, "c" * 64


@dataclasses.dataclass
class Case:
    kind: str          # "plain" | "refunded" | "cancelled" | "entry_code"
    currency: str
    amount: int
    refund: int


case = st.builds(Case, st.sampled_from(["plain", "refunded", "cancelled", "entry_code"]),
                 st.sampled_from(sorted(CURRENCIES)), st.integers(1, 10**9), st.integers(1, 10**9))


def journal(cases: list[Case]) -> list[LedgerRow]:
    rows = []
    for i, c in enumerate(cases):
        status = V.CANCELLED if c.kind == "cancelled" else V.SUCCESS
        rows.append(LedgerRow(f"S{i}", V.SALE, status, c.currency, c.amount, DAY, f"P{i}", None, "T1"))
        if c.kind == "refunded":
            rows.append(LedgerRow(f"R{i}", V.REFUND, V.SUCCESS, c.currency, min(c.refund, c.amount), DAY, None,
                                  f"S{i}", "T1"))
    return rows


def fee_of(amount: int) -> int:
    return -(amount // 50)


def report(cases: list[Case], *, file: str = TX_A, kind: str = C.TRANSACTIONS, date: str | None = DAY,
           pending: frozenset = frozenset()) -> tuple[list[ReportRow], dict[tuple[str, str], str]]:
    """The gateway's rows for the journal of ``cases``, and every key they make (all expected matched)."""
    rows, keys = [], {}

    def row(request_id, type_, amount, currency, transaction_id):
        signed = amount if type_ == C.PAYMENT else -amount
        fee = fee_of(signed)
        late = (request_id, type_) in pending
        rows.append(ReportRow(kind, file, len(rows) + 2, date if kind == C.TRANSACTIONS else None,
                              f"{DAY}-{currency}", "CUST", request_id, transaction_id, None, type_, currency, signed,
                              None if late else currency, None if late else signed + fee,
                              None if late else currency, None if late else fee, "store", None))
        keys[(request_id, type_)] = MATCHED

    for i, c in enumerate(cases):
        request_id = f"page-{i}" if c.kind == "entry_code" else f"S{i}"
        row(request_id, C.PAYMENT, c.amount, c.currency, f"P{i}")
        if c.kind == "refunded":
            row(f"R{i}", C.REFUND, min(c.refund, c.amount), c.currency, f"P{i}")
        if c.kind == "cancelled":
            row(request_id, C.CANCEL, c.amount, c.currency, f"P{i}")
    return rows, keys


def classes(findings) -> dict[tuple[str, str], str]:
    got = {}
    for f in findings:
        assert (f.request_id, f.type) not in got, f"two findings for {(f.request_id, f.type)}"
        got[(f.request_id, f.type)] = f.cls
    return got


@settings(max_examples=60, deadline=None)
@given(st.lists(case, min_size=1, max_size=12), st.booleans())
def test_an_unperturbed_day_is_all_matched(cases, with_settlement):
    ledger = journal(cases)
    rows, expected = report(cases)
    if with_settlement:
        rows += report(cases, file=ST_FILE, kind=C.SETTLEMENT)[0]
    findings = reconcile(ledger, rows, DAY)
    assert classes(findings) == expected
    assert all(f.ours is not None and f.theirs for f in findings)


PERTURBATIONS = ["omit", "phantom", "wrong_amount", "other_currency", "duplicate", "pending", "journal_failed"]


@settings(max_examples=200, deadline=None)
@given(st.lists(case, min_size=1, max_size=10), st.sampled_from(PERTURBATIONS), st.integers(0, 10**6),
       st.booleans(), st.randoms(use_true_random=False))
def test_one_perturbation_gives_exactly_that_key_that_class(cases, what, pick, with_settlement, rnd):
    ledger = journal(cases)
    rows, expected = report(cases)
    if with_settlement:
        rows += report(cases, file=ST_FILE, kind=C.SETTLEMENT)[0]
    tx = [r for r in rows if r.kind == C.TRANSACTIONS]
    target = tx[pick % len(tx)]
    key = (target.request_id, target.type)
    others = [r for r in rows if (r.request_id, r.type) != key]

    if what == "omit":
        rows = others
        # the journal's id for that key: an entry-code payment's row names the merchant page's request id
        sale = ledger[[t.payment_id for t in ledger].index(target.transaction_id)] \
            if target.type != C.REFUND else next(t for t in ledger if t.id == target.request_id)
        del expected[key]
        expected[(sale.id, target.type)] = MISSING_AT_GATEWAY
    elif what == "phantom":
        rows = [*rows, dataclasses.replace(target, request_id="phantom", transaction_id="P-phantom", line=999)]
        expected[("phantom", target.type)] = MISSING_IN_JOURNAL
    elif what == "wrong_amount":
        one_major = 10 ** CURRENCIES[target.currency]
        changed = dataclasses.replace(target, amount=target.amount + (one_major if target.amount > 0 else -one_major))
        rows = [changed if r is target else r for r in rows]
        expected[key] = AMOUNT_MISMATCH
    elif what == "other_currency":
        other = rnd.choice(sorted(set(CURRENCIES) - {target.currency}))
        rows = [dataclasses.replace(target, currency=other) if r is target else r for r in rows]
        expected[key] = CURRENCY_MISMATCH
    elif what == "duplicate":
        rows = [*rows, dataclasses.replace(target, line=999)]
        expected[key] = DUPLICATE
    elif what == "pending":
        rows = [*others, dataclasses.replace(target, settle_currency=None, settle_amount=None, fee_currency=None,
                                             fee=None)]
        expected[key] = PENDING
    elif what == "journal_failed":
        if target.type == C.REFUND:
            ledger = [dataclasses.replace(t, status=V.FAILED) if t.id == target.request_id else t for t in ledger]
            expected[key] = MISSING_IN_JOURNAL
        elif target.type == C.PAYMENT and (key[0], C.CANCEL) not in expected:
            ledger = [dataclasses.replace(t, status=V.FAILED) if t.payment_id == target.transaction_id else t
                      for t in ledger]
            expected[key] = MISSING_IN_JOURNAL
        else:   # a cancelled sale's row: failing it is no longer one perturbation; leave the day as it is
            pass
    rnd.shuffle(rows)
    assert classes(reconcile(ledger, rows, DAY)) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(case, min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_the_order_of_the_inputs_does_not_matter(cases, rnd):
    ledger = journal(cases)
    rows = report(cases)[0] + report(cases, file=ST_FILE, kind=C.SETTLEMENT)[0]
    rows.append(dataclasses.replace(rows[0], line=500))            # a duplicate, so the class is not trivial
    rows.append(dataclasses.replace(rows[1 % len(rows)], request_id="phantom", line=501))
    first = reconcile(ledger, rows, DAY)
    for _ in range(3):
        rnd.shuffle(rows)
        rnd.shuffle(ledger)
        assert reconcile(ledger, rows, DAY) == first


@settings(max_examples=60, deadline=None)
@given(st.lists(case, min_size=1, max_size=10), st.data())
def test_a_later_transactions_file_of_the_same_date_supersedes(cases, data):
    ledger = journal(cases)
    complete, expected = report(cases, file=TX_B)
    late = frozenset(data.draw(st.sets(st.sampled_from(sorted(expected)), min_size=1)))
    early, _keys = report(cases, file=TX_A, pending=late)
    early_expected = {k: PENDING if k in late else MATCHED for k in expected}
    if data.draw(st.booleans()):                                  # the early file may even lack a row
        dropped = sorted(expected)[0]
        early = [r for r in early if (r.request_id, r.type) != dropped]
        del early_expected[dropped]
        ledger_id = "S" + dropped[0].removeprefix("page-") if dropped[0].startswith("page-") else dropped[0]
        early_expected[(ledger_id, dropped[1])] = MISSING_AT_GATEWAY
    a = FileRef(TX_A, C.TRANSACTIONS, DAY)
    b = FileRef(TX_B, C.TRANSACTIONS, DAY)
    # T+1 then T+2: the later file alone counts, everything matches
    assert classes(reconcile(ledger, live_rows(early + complete, [a, b]), DAY)) == expected
    # imported the other way round (the T+1 file downloaded again after the T+2 one): its unfinished rows say it
    # is the older one, so the complete file stays live; an early file with nothing unfinished is not provably
    # older, and the later import is taken
    live = live_rows(early + complete, [b, a])
    unfinished = any(r.settle_amount is None for r in early)
    assert live == (complete if unfinished else early)
    assert classes(reconcile(ledger, live, DAY)) == (expected if unfinished else early_expected)
    # without a file list, the order the rows come in is the import order
    assert {r.file for r in live_rows(early + complete)} == {TX_B}
    assert {r.file for r in live_rows(complete + early)} == ({TX_A} if early and not unfinished else {TX_B})


def test_a_latest_file_without_rows_still_supersedes_and_other_dates_and_settlement_stay():
    rows, _ = report([Case("plain", "USD", 100, 1)], file=TX_A)
    other_day = [dataclasses.replace(r, file="d" * 64, report_date=NEXT, request_id="Z") for r in rows]
    settled = report([Case("plain", "USD", 100, 1)], file=ST_FILE, kind=C.SETTLEMENT)[0]
    undated = [dataclasses.replace(r, file="e" * 64, report_date=None, request_id="U") for r in rows]
    files = [FileRef(TX_A, C.TRANSACTIONS, DAY), FileRef("d" * 64, C.TRANSACTIONS, NEXT),
             FileRef(ST_FILE, C.SETTLEMENT, None), FileRef("e" * 64, C.TRANSACTIONS, None),
             FileRef(TX_B, C.TRANSACTIONS, DAY)]
    live = live_rows(rows + other_day + settled + undated, files)
    assert live == other_day + settled + undated


def test_a_refund_reported_on_a_later_day_is_not_expected_on_the_sale_day_and_matches_when_it_comes():
    sale = LedgerRow("S0", V.SALE, V.SUCCESS, "JPY", 1500, DAY, "P0")
    refund = LedgerRow("R0", V.REFUND, V.SUCCESS, "JPY", 500, NEXT, None, "S0")
    pay_row = ReportRow(C.TRANSACTIONS, TX_A, 2, DAY, None, "CUST", "S0", "P0", None, C.PAYMENT, "JPY", 1500,
                        "JPY", 1470, "JPY", -30)
    assert classes(reconcile([sale, refund], [pay_row], DAY)) == {("S0", C.PAYMENT): MATCHED}
    assert classes(reconcile([sale, refund], [pay_row], NEXT)) == {("S0", C.PAYMENT): MATCHED,
                                                                   ("R0", C.REFUND): MISSING_AT_GATEWAY}
    refund_row = ReportRow(C.TRANSACTIONS, TX_B, 2, NEXT, None, "CUST", "R0", "P0", "S0", C.REFUND, "JPY", -500,
                           "JPY", -490, "JPY", 10)
    got = reconcile([sale, refund], [pay_row, refund_row], NEXT)
    assert classes(got) == {("S0", C.PAYMENT): MATCHED, ("R0", C.REFUND): MATCHED}
    assert {f.request_id: f.day for f in got} == {"S0": DAY, "R0": NEXT}


def test_a_cancelled_sale_is_matched_by_both_rows_or_none_and_one_half_is_missing():
    sale = LedgerRow("S0", V.SALE, V.CANCELLED, "USD", 1234, DAY, "P0")
    rows, _ = report([Case("cancelled", "USD", 1234, 1)])
    pay, cancel = rows
    assert classes(reconcile([sale], [], DAY)) == {}
    assert classes(reconcile([sale], rows, DAY)) == {("S0", C.PAYMENT): MATCHED, ("S0", C.CANCEL): MATCHED}
    assert classes(reconcile([sale], [pay], DAY)) == {("S0", C.PAYMENT): MATCHED, ("S0", C.CANCEL): MISSING_AT_GATEWAY}
    assert classes(reconcile([sale], [cancel], DAY)) == {("S0", C.PAYMENT): MISSING_AT_GATEWAY,
                                                         ("S0", C.CANCEL): MATCHED}
    # the journal's own cancel row says the same as a CANCELLED status
    paid = dataclasses.replace(sale, status=V.SUCCESS)
    its_cancel = LedgerRow("C0", V.CANCEL, V.SUCCESS, "USD", 1234, DAY, None, "S0")
    assert classes(reconcile([paid, its_cancel], rows, DAY)) == {("S0", C.PAYMENT): MATCHED,
                                                                 ("S0", C.CANCEL): MATCHED}
    # a cancel the journal does not know of
    got = reconcile([paid], rows, DAY)
    assert classes(got) == {("S0", C.PAYMENT): MATCHED, ("S0", C.CANCEL): MISSING_IN_JOURNAL}
    assert "not cancelled" in next(f.detail for f in got if f.type == C.CANCEL)


def test_a_payment_the_journal_failed_says_its_status():
    sale = LedgerRow("S0", V.SALE, V.NEEDS_REVIEW, "KWD", 1005, DAY, "P0")
    rows, _ = report([Case("plain", "KWD", 1005, 1)])
    (f,) = reconcile([sale], rows, DAY)
    assert f.cls == MISSING_IN_JOURNAL and V.NEEDS_REVIEW in f.detail and "1.005 KWD" in f.detail


def test_a_settlement_row_in_two_batches_is_a_duplicate_but_one_per_kind_is_not():
    sale = LedgerRow("S0", V.SALE, V.SUCCESS, "USD", 1000, DAY, "P0")
    tx, _ = report([Case("plain", "USD", 1000, 1)])
    st1, _ = report([Case("plain", "USD", 1000, 1)], file=ST_FILE, kind=C.SETTLEMENT)
    st2 = [dataclasses.replace(r, file="f" * 64, batch="other") for r in st1]
    assert classes(reconcile([sale], tx + st1, DAY)) == {("S0", C.PAYMENT): MATCHED}
    assert classes(reconcile([sale], tx + st1 + st2, DAY)) == {("S0", C.PAYMENT): DUPLICATE}


def test_a_pending_transactions_row_is_resolved_by_its_settlement_row():
    sale = LedgerRow("S0", V.SALE, V.SUCCESS, "USD", 1000, DAY, "P0")
    tx, _keys = report([Case("plain", "USD", 1000, 1)], pending=frozenset({("S0", C.PAYMENT)}))
    st_rows, _ = report([Case("plain", "USD", 1000, 1)], file=ST_FILE, kind=C.SETTLEMENT)
    assert classes(reconcile([sale], tx, DAY)) == {("S0", C.PAYMENT): PENDING}
    assert classes(reconcile([sale], tx + st_rows, DAY)) == {("S0", C.PAYMENT): MATCHED}
    # a transactions row is final with both its settlement amount and its fee; a settlement row with its amount
    (done,) = report([Case("plain", "USD", 1000, 1)])[0]
    assert classes(reconcile([sale], [dataclasses.replace(done, fee=None)], DAY)) == {("S0", C.PAYMENT): PENDING}
    assert classes(reconcile([sale], [dataclasses.replace(done, settle_amount=None)], DAY)) == {
        ("S0", C.PAYMENT): PENDING}
    (paid_out,) = st_rows
    assert classes(reconcile([sale], [dataclasses.replace(paid_out, fee=None)], DAY)) == {("S0", C.PAYMENT): MATCHED}


@settings(max_examples=60, deadline=None)
@given(st.lists(case, min_size=1, max_size=12), st.sets(st.integers(0, 40)))
def test_totals_per_currency_from_what_the_writer_wrote(cases, late_picks):
    rows, keys = report(cases)
    late = frozenset(k for i, k in enumerate(sorted(keys)) if i in late_picks)
    rows, _ = report(cases, pending=late)
    want: dict[str, list[int]] = {}
    for r in rows:   # the writer's own numbers: amount signed, fee = -(amount // 50), net = amount + fee
        if (r.request_id, r.type) in late:
            want.setdefault(r.currency, [0, 0, 0, 0, 0])[4] += 1
            continue
        w = want.setdefault(r.currency, [0, 0, 0, 0, 0])
        w[0] += 1
        w[1] += r.amount
        w[2] += fee_of(r.amount)
        w[3] += r.amount + fee_of(r.amount)
    assert totals(rows) == {cur: Totals(*w) for cur, w in want.items()}
    # settlement rows, when there are any, are what was paid out: the transactions rows then do not count
    settled = [dataclasses.replace(r, kind=C.SETTLEMENT, report_date=None, settle_currency=r.currency, settle_amount=7,
                                   fee=-1) for r in rows[:1]]
    assert totals(rows + settled) == {rows[0].currency: Totals(1, 8, -1, 7)}


def test_summary_check_against_the_details_of_its_batch():
    rows, _ = report([Case("plain", "USD", 1000, 1), Case("refunded", "USD", 500, 200)], file=ST_FILE,
                     kind=C.SETTLEMENT)
    batch = rows[0].batch
    net = sum(r.settle_amount for r in rows)
    good = [SummaryRow(batch, "CUST", C.TOTAL, 3, "USD", net, "USD", -16),
            SummaryRow(batch, "CUST", C.REFUND, 1, "USD", -200 + 4, "USD", 4)]
    assert summary_check(good, rows) == []
    said = summary_check([SummaryRow(batch, "CUST", C.TOTAL, 4, "USD", net + 1),
                          SummaryRow("lost", "CUST", C.TOTAL, 1, "USD", 5)], rows)
    assert len(said) == 3 and any("4" in s and "3" in s for s in said) and any("lost" in s for s in said)
    assert any(str(Decimal(net + 1).scaleb(-2)) in s for s in said)


def test_findings_carry_both_sides():
    sale = LedgerRow("S0", V.SALE, V.SUCCESS, "JPY", 1500, DAY, "P0")
    rows, _ = report([Case("plain", "JPY", 1500, 1)])
    wrong = [dataclasses.replace(rows[0], amount=1501)]
    (f,) = reconcile([sale], wrong, DAY)
    assert f.cls == AMOUNT_MISMATCH and f.ours == sale and f.theirs == tuple(wrong) and f.day == DAY
    assert "1501 JPY" in f.detail and "1500 JPY" in f.detail


def test_other_types_are_not_matched():
    rows, _ = report([Case("plain", "USD", 100, 1)])
    fee_row = dataclasses.replace(rows[0], type="SETTLEMENT_FEE", request_id="", line=9)
    sale = LedgerRow("S0", V.SALE, V.SUCCESS, "USD", 100, DAY, "P0")
    assert classes(reconcile([sale], [*rows, fee_row], DAY)) == {("S0", C.PAYMENT): MATCHED}


# == the hostile review's defects (issue 18): signs, ids, stores, fees, parts ==================================
def _sale(id_="S0", amount=1000, *, payment_id="P0", status=V.SUCCESS, currency="USD") -> LedgerRow:
    return LedgerRow(id_, V.SALE, status, currency, amount, DAY, payment_id)


def _row(request_id="S0", type_=C.PAYMENT, amount=1000, *, transaction_id="P0", original_id=None, fee=-20,
         currency="USD", settle_currency=None, settle=None, fee_currency=None, store=None, file=TX_A, line=2,
         kind=C.TRANSACTIONS) -> ReportRow:
    """A row as the gateway writes it: the net is gross + fee unless ``settle`` says otherwise."""
    settle_currency = settle_currency or currency
    return ReportRow(kind, file, line, DAY if kind == C.TRANSACTIONS else None, None, "CUST", request_id,
                     transaction_id, original_id, type_, currency, amount, settle_currency,
                     amount + fee if settle is None else settle, fee_currency or settle_currency, fee, store)


@settings(max_examples=200, deadline=None)
@given(st.lists(case, min_size=1, max_size=10), st.integers(0, 10**6), st.booleans(),
       st.sampled_from(["sign", "short_settle"]), st.randoms(use_true_random=False))
def test_a_wrong_sign_or_a_settlement_that_is_not_amount_plus_fee_is_an_amount_mismatch(cases, pick, with_settlement,
                                                                                      what, rnd):
    """The writer's rows, one changed: its amount's sign turned (a refund that pays the merchant, a payment taken
    back, a cancel that charges again; the net kept as gross + fee) or its net one minor unit short."""
    ledger = journal(cases)
    rows, expected = report(cases)
    if with_settlement:
        rows += report(cases, file=ST_FILE, kind=C.SETTLEMENT)[0]
    tx = [r for r in rows if r.kind == C.TRANSACTIONS]
    target = tx[pick % len(tx)]
    if what == "sign":
        changed = dataclasses.replace(target, amount=-target.amount, settle_amount=-target.amount + target.fee)
    else:
        changed = dataclasses.replace(target, settle_amount=target.settle_amount - 1)
    rows = [changed if r is target else r for r in rows]
    expected[(target.request_id, target.type)] = AMOUNT_MISMATCH
    rnd.shuffle(rows)
    findings = reconcile(ledger, rows, DAY)
    assert classes(findings) == expected
    (f,) = [f for f in findings if f.cls != MATCHED]
    assert ("sign is wrong" in f.detail) == (what == "sign")


def test_the_settlement_is_not_checked_across_currencies_nor_without_a_fee():
    sale = _sale()
    fx = _row(settle_currency="EUR", settle=917, fee=-5)      # post-quoted: the net is in another currency
    assert classes(reconcile([sale], [fx], DAY)) == {("S0", C.PAYMENT): MATCHED}
    eur_fee = _row(settle=1000, fee=-50, fee_currency="EUR")   # a fee in another currency: not on this gross
    assert classes(reconcile([sale], [eur_fee], DAY)) == {("S0", C.PAYMENT): MATCHED}
    paid_out = _row(kind=C.SETTLEMENT, file=ST_FILE, settle=990, fee=None)
    assert classes(reconcile([sale], [paid_out], DAY)) == {("S0", C.PAYMENT): MATCHED}


def test_a_payment_or_cancel_row_under_another_payment_id_is_not_ours():
    sale = _sale()
    got = reconcile([sale], [_row(transaction_id="P-SOMEONE-ELSE")], DAY)
    assert classes(got) == {("S0", C.PAYMENT): MISSING_IN_JOURNAL}
    assert "P-SOMEONE-ELSE" in got[0].detail and "P0" in got[0].detail
    cancelled = _sale(status=V.CANCELLED)
    rows = [_row(), _row(type_=C.CANCEL, amount=-1000, transaction_id="P9", line=3)]
    assert classes(reconcile([cancelled], rows, DAY)) == {("S0", C.PAYMENT): MATCHED,
                                                          ("S0", C.CANCEL): MISSING_IN_JOURNAL}
    # the journal without a paymentId (a sale it never heard back about) cannot hold it
    assert classes(reconcile([_sale(payment_id=None)], [_row(transaction_id="P9")], DAY)) == {
        ("S0", C.PAYMENT): MATCHED}


@given(st.permutations(range(3)))
def test_the_payment_id_fallback_claims_only_a_sale_no_row_claimed(order):
    """One sale, its own row and a second under the merchant page's request id with the same paymentId: the
    second is a duplicate (the gateway settles the sale twice), whatever the order of the rows."""
    sale = _sale()
    rows = [_row(), _row("PAGE-9", line=3), _row("PAGE-8", line=4)]
    got = reconcile([sale], [rows[i] for i in order], DAY)
    assert classes(got) == {("S0", C.PAYMENT): MATCHED, ("PAGE-9", C.PAYMENT): DUPLICATE,
                            ("PAGE-8", C.PAYMENT): DUPLICATE}
    assert all(f.ours == sale for f in got)
    # two page rows and no row by request id: the first claims the sale, the second is the duplicate
    got = classes(reconcile([sale], [rows[i] for i in order if i], DAY))
    assert got == {("PAGE-8", C.PAYMENT): MATCHED, ("PAGE-9", C.PAYMENT): DUPLICATE}


def test_a_refund_is_held_against_its_sale_in_either_generation():
    p1, p2 = _sale("S1", payment_id="P1"), _sale("S2", 3000, payment_id="P2")
    refund = LedgerRow("R1", V.REFUND, V.SUCCESS, "USD", 200, DAY, None, "S1")
    ledger = [p1, p2, refund]
    pays = [_row("S1", transaction_id="P1"), _row("S2", amount=3000, transaction_id="P2", line=3)]

    def refund_class(**ids):
        row = _row("R1", C.REFUND, -200, fee=0, line=9, **ids)
        return classes(reconcile(ledger, [*pays, row], DAY))[("R1", C.REFUND)]

    # the current generation: transactionId is the paymentId, originalTransactionRequestId the sale's request id
    assert refund_class(transaction_id="P1", original_id="S1") == MATCHED
    assert refund_class(transaction_id="P1", original_id="PAGE-1") == MATCHED     # an entry-code payment's page
    assert refund_class(transaction_id="P1") == MATCHED
    # the old generation: transactionId is the refundId, originalTransactionId the paymentId
    assert refund_class(transaction_id="REFUND-77", original_id="P1") == MATCHED
    # booked against the other payment, either way
    assert refund_class(transaction_id="P2", original_id="S2") == MISSING_IN_JOURNAL
    assert refund_class(transaction_id="REFUND-77", original_id="P2") == MISSING_IN_JOURNAL
    assert refund_class(transaction_id="P1", original_id="S2") == MISSING_IN_JOURNAL
    assert refund_class(transaction_id="P-UNKNOWN") == MISSING_IN_JOURNAL
    # the journal knows no paymentIds: only an id naming another of its sales is held
    bare = [dataclasses.replace(t, payment_id=None) for t in ledger]
    row = _row("R1", C.REFUND, -200, fee=0, transaction_id="G-R1", original_id="S2", line=9)
    got = {f.request_id: f for f in reconcile(bare, [*pays, row], DAY)}
    assert got["R1"].cls == MISSING_IN_JOURNAL and "S2" in got["R1"].detail and "S1" in got["R1"].detail
    row = dataclasses.replace(row, original_id="S1")
    assert classes(reconcile(bare, [*pays, row], DAY))[("R1", C.REFUND)] == MATCHED


def test_another_stores_rows_are_set_aside_but_our_key_booked_there_is_a_difference():
    sale = _sale()
    ours = _row(store="S001")
    theirs = _row("OTHER-1", transaction_id="PX", store="S999", line=3)
    unmarked = _row("PHANTOM", transaction_id="PY", line=4)
    got = reconcile([sale], [ours, theirs, unmarked], DAY, store_id="S001")
    assert classes(got) == {("S0", C.PAYMENT): MATCHED, ("PHANTOM", C.PAYMENT): MISSING_IN_JOURNAL}
    assert got.set_aside == (theirs,)
    assert len(got.warnings) == 1 and "S999" in got.warnings[0] and "S001" in got.warnings[0]
    # without a store id nothing is set aside: the other store's row is a row the journal lacks
    got = reconcile([sale], [ours, theirs, unmarked], DAY)
    assert classes(got)[("OTHER-1", C.PAYMENT)] == MISSING_IN_JOURNAL and got.warnings == []
    # our own sale booked to another store: said, not set aside
    got = reconcile([sale], [_row(store="S999")], DAY, store_id="S001")
    assert classes(got) == {("S0", C.PAYMENT): MISSING_IN_JOURNAL}
    assert "S999" in got[0].detail and got.set_aside == ()


def test_a_fee_in_another_currency_is_kept_under_its_own():
    rows = [_row(settle=1000, fee=-50, fee_currency="EUR"), _row("S1", amount=500, fee=-5, line=3)]
    assert totals(rows) == {"EUR": Totals(0, 0, -50, 0), "USD": Totals(2, 1500, -5, 1495)}


# -- parts and generations of a day's transactions report ----------------------------------------------------
def _name(seq: int, suffix: str = "") -> str:
    return f"transactionItems_{DAY.replace('-', '')}_{seq:03d}{suffix}.csv"


@settings(max_examples=100, deadline=None)
@given(st.lists(case, min_size=1, max_size=12), st.data())
def test_every_part_of_a_day_is_live_and_the_newest_generation_of_each(cases, data):
    """The day's rows dealt into parts (_000, _001, ...); some parts come also as an older generation (T+1: some
    rows not final yet), imported before or after the newer one; every part's newest generation is live, and a
    row dealt into two parts is a duplicate."""
    ledger = journal(cases)
    rows, expected = report(cases)
    n_parts = data.draw(st.integers(1, 4))
    deal = data.draw(st.lists(st.integers(0, n_parts - 1), min_size=len(rows), max_size=len(rows)))
    twice = data.draw(st.sampled_from([None, *range(len(rows))])) if n_parts > 1 else None
    files: list[FileRef] = []
    all_rows: list[ReportRow] = []
    live: list[ReportRow] = []
    for part in range(n_parts):
        mine = [r for r, p in zip(rows, deal, strict=True) if p == part]
        if twice is not None and part == (deal[twice] + 1) % n_parts:
            mine.append(rows[twice])
        new_sha, old_sha = f"new{part}".ljust(64, "0"), f"old{part}".ljust(64, "0")
        new = [dataclasses.replace(r, file=new_sha, line=i + 2) for i, r in enumerate(mine)]
        generations = [(FileRef(new_sha, C.TRANSACTIONS, DAY, _name(part)), new)]
        if mine and data.draw(st.booleans()):    # an older generation: its first row not final yet
            old = [dataclasses.replace(r, file=old_sha, line=i + 2) for i, r in enumerate(mine)]
            old[0] = dataclasses.replace(old[0], settle_amount=None, fee=None)
            if data.draw(st.booleans()):         # and maybe without its last row (not listed yet)
                old = old[:max(1, len(old) - 1)]
            older = (FileRef(old_sha, C.TRANSACTIONS, DAY, _name(part, data.draw(st.sampled_from(["", " (1)"])))),
                     old)
            generations = [older, *generations] if data.draw(st.booleans()) else [*generations, older]
        for ref, its in generations:
            files.append(ref)
            all_rows += its
        live += new
    order = data.draw(st.permutations(range(len(all_rows))))
    shuffled = [all_rows[i] for i in order]
    got = live_rows(shuffled, files)
    assert sorted(got, key=_row_key) == sorted(live, key=_row_key)
    if twice is not None:
        expected[(rows[twice].request_id, rows[twice].type)] = DUPLICATE
    assert classes(reconcile(ledger, got, DAY)) == expected


def _row_key(r: ReportRow) -> tuple:
    return r.file, r.line


def test_a_customised_name_is_its_own_part_and_a_file_without_a_name_replaces_as_before():
    a, b = report([Case("plain", "USD", 100, 1)], file=TX_A)[0], report([Case("plain", "USD", 200, 1)], file=TX_B)[0]
    b = [dataclasses.replace(r, request_id="S1", transaction_id="P1") for r in b]
    both = a + b
    # two parts: a default name and a customised one, both live
    assert live_rows(both, [FileRef(TX_A, C.TRANSACTIONS, DAY, _name(0)),
                            FileRef(TX_B, C.TRANSACTIONS, DAY, "store-S001-daily.csv")]) == both
    # the customised name twice: two generations of it, the later import live (neither is less final)
    assert live_rows(both, [FileRef(TX_A, C.TRANSACTIONS, DAY, "daily.csv"),
                            FileRef(TX_B, C.TRANSACTIONS, DAY, "daily.xlsx")]) == b
    # names unknown (None): one report a date, the latest import live, as before names were passed
    assert live_rows(both, [FileRef(TX_A, C.TRANSACTIONS, DAY), FileRef(TX_B, C.TRANSACTIONS, DAY)]) == b


def test_a_later_generation_that_drops_a_phantom_row_is_live():
    sale = _sale()
    first = [_row(), _row("PHANTOM", transaction_id="PX", line=3)]
    second = [_row(file=TX_B)]
    files = [FileRef(TX_A, C.TRANSACTIONS, DAY, _name(0)), FileRef(TX_B, C.TRANSACTIONS, DAY, _name(0))]
    assert live_rows(first + second, files) == second
    assert classes(reconcile([sale], live_rows(first + second, files), DAY)) == {("S0", C.PAYMENT): MATCHED}
