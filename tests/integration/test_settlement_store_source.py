"""The store's side of a settlement reconciliation (issue 18) from a real PostgreSQL (tests/storekit.py): every
counter's rows of the day, plus those the report names by id (ours: any day; the gateway's paymentId: within a few
days of it), each with its terminal; never another store's. The rows are written by the superuser with psql and
the expected answer is spelled out by hand, row by row, not computed by the code under test."""

from __future__ import annotations

import pytest

from pos_app.config import parse_store
from pos_app.errors import PosError
from pos_app.settlement.rows import LedgerRow
from pos_app.store.schema import StoreError
from pos_app.store.settlement import ledger_rows
from pos_app.vocabulary import CANCELLED, FAILED, REFUND, SALE, SUCCESS

pytestmark = pytest.mark.slow

DAY, BEFORE, AFTER, LONG_AGO = "2026-12-04", "2026-12-03", "2026-12-05", "2026-11-20"

#: (store, terminal, id, kind, status, currency, amount, day, payment_id, parent)
ROWS = [
    ("S1", "T-1", "sale-1", SALE, SUCCESS, "USD", 1000, DAY, "pay-1", None),
    ("S1", "T-1", "refund-1", REFUND, SUCCESS, "USD", 300, DAY, None, "sale-1"),
    ("S1", "T-1", "sale-0", SALE, SUCCESS, "USD", 500, BEFORE, "pay-0", None),       # another day, not named
    ("S1", "T-1", "refund-2", REFUND, SUCCESS, "USD", 100, AFTER, None, "sale-1"),   # named by our id
    ("S1", "T-2", "sale-2", SALE, CANCELLED, "JPY", 1200, DAY, "pay-2", None),
    ("S1", "T-2", "sale-3", SALE, SUCCESS, "USD", 700, BEFORE, "pay-3", None),       # named by its paymentId
    ("S1", "T-2", "sale-4", SALE, FAILED, "USD", 50, DAY, None, None),
    ("S1", "T-1", "sale-old", SALE, SUCCESS, "USD", 400, LONG_AGO, "pay-old", None),  # named by our id: found
    ("S1", "T-2", "sale-older", SALE, SUCCESS, "USD", 450, LONG_AGO, "pay-older", None),  # by paymentId, too far
    ("S2", "T-9", "sale-9", SALE, SUCCESS, "USD", 999, DAY, "pay-9", None),          # another store's day
    ("S2", "T-9", "sale-8", SALE, SUCCESS, "USD", 888, BEFORE, "pay-8", None),       # named, but another store's
]


def sql_text(value) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


@pytest.fixture(scope="module")
def filled(store):
    for store_id, terminal in {(r[0], r[1]) for r in ROWS}:
        store.register(store_id, terminal)
    values = ", ".join(
        f"({sql_text(s)}, {sql_text(t)}, {sql_text(i)}, {sql_text(k)}, {sql_text(st)}, {sql_text(c)}, {a}, "
        f"{sql_text(d)}, {sql_text(p)}, {sql_text(parent)}, now(), now(), true)"
        for s, t, i, k, st, c, a, d, p, parent in ROWS)
    store.cluster.psql("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, status, currency, "
                       "amount, day, payment_id, parent, created_at, updated_at, final) VALUES " + values,
                       dbname="store")
    return store


def office(store, folder, store_id: str, manager: str):
    """[store] of a back-office machine that reads as ``manager`` (a store manager of ``store_id``)."""
    store.manager(store_id, manager)
    return parse_store(folder / "terminal.toml", {"database": store.reader(folder, manager), "store_id": store_id,
                                                  "role": "office"}, store_id)


def test_the_days_rows_of_every_counter_and_the_named_ones(filled, tmp_path):
    config = office(filled, tmp_path, "S1", "boss_s1")
    got = ledger_rows(config, DAY, ["refund-2", "pay-3", "sale-8", "no-such-id", "sale-old", "pay-older",
                                    "sale-1", "pay-1"])   # named and of the day: once
    assert got == [
        LedgerRow("refund-1", REFUND, SUCCESS, "USD", 300, DAY, None, "sale-1", "T-1"),
        LedgerRow("refund-2", REFUND, SUCCESS, "USD", 100, AFTER, None, "sale-1", "T-1"),
        LedgerRow("sale-1", SALE, SUCCESS, "USD", 1000, DAY, "pay-1", None, "T-1"),
        LedgerRow("sale-old", SALE, SUCCESS, "USD", 400, LONG_AGO, "pay-old", None, "T-1"),
        LedgerRow("sale-2", SALE, CANCELLED, "JPY", 1200, DAY, "pay-2", None, "T-2"),
        LedgerRow("sale-3", SALE, SUCCESS, "USD", 700, BEFORE, "pay-3", None, "T-2"),
        LedgerRow("sale-4", SALE, FAILED, "USD", 50, DAY, None, None, "T-2"),
    ]
    # no ids named: the day alone; a day with nothing: nothing
    assert [r.id for r in ledger_rows(config, DAY)] == ["refund-1", "sale-1", "sale-2", "sale-4"]
    assert ledger_rows(config, "2026-01-01") == []


def test_head_office_reads_one_store_at_a_time(filled, tmp_path):
    """Head office sees every store's rows (row-level security lets it): the store_id still keeps S2 out."""
    from pos_app.store import schema

    with filled.owner() as conn:
        conn.execute(f"CREATE ROLE hq_reader LOGIN PASSWORD 'pw-hq_reader' IN ROLE {schema.HEAD_OFFICE}")
    config = parse_store(tmp_path / "terminal.toml", {"database": filled.reader(tmp_path, "hq_reader"),
                                                      "store_id": "S2", "role": "office"}, "S2")
    assert [(r.terminal, r.id) for r in ledger_rows(config, DAY, ["sale-0"])] == [("T-9", "sale-9")]


def test_a_tills_own_login_and_bad_days_are_refused_in_words(filled, tmp_path):
    config = parse_store(tmp_path / "terminal.toml", filled.section(tmp_path, "S1", "T-1"), "S1")
    with pytest.raises(StoreError) as caught:
        ledger_rows(config, DAY)
    assert "terminal's own login" in caught.value.message and "[store] reader" in caught.value.hint
    with pytest.raises(PosError) as caught:
        ledger_rows(office(filled, tmp_path, "S1", "boss_s1b"), "04/12/2026")
    assert "is not a date" in caught.value.message
