"""The reconcile_settlement and settlement_result use cases on a real journal file, with report files written
by hand with the csv module in Antom's documented columns (the simulator's own files are the e2e test's).

Figures are checked with plain SQL over the journal's raw rows (settlement_rows, settlement_findings), never by
calling the code's own totals."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from flowkit import journal_query

from offline_queue.journal import Journal
from pos_app import services
from pos_app.errors import PosError
from pos_app.roles import MANAGER, PinBook
from pos_app.settlement import columns as C
from pos_app.vocabulary import REFUND, SALE, SUCCESS

DAY, NEXT = "2026-12-05", "2026-12-06"
CUSTOMER = "SANDBOX_SETTLE"
PIN = "246810"


class Cfg:
    """The parts of a Config the use case reads: the merchant's ids (no [settlement], no [store])."""

    class gateway:
        client_id = CUSTOMER

    class merchant:
        terminal_id, store_id = "T001", "S001"

    settlement = None
    store = None


def transactions_file(folder: Path, day: str, rows: list[dict], *, customer: str = CUSTOMER, seq: int = 0,
                      end: bool = True) -> Path:
    """A transaction details report as Antom writes it: the header, one row a transaction, then <END>."""
    path = folder / day.replace("-", "") / f"transactionItems_{day.replace('-', '')}_{seq:03d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, C.COLUMNS[C.TRANSACTIONS], restval="")
        w.writeheader()
        for r in rows:
            w.writerow({"customerId": customer, "PSP": "ALIPAY_CN", "transactionType": "PAYMENT", "status": "SUCCESS",
                        "transactionCurrency": "USD", "settlementCurrency": "USD", "paymentMethodFeeCurrency": "USD",
                        "transactionCreationTime": f"{day}T10:00:00+08:00",
                        "transactionId": "G" + r["transactionRequestId"], **r})
        if end:
            f.write(C.END + "\n")
    return path


def paid(request_id: str, value: str, *, settle: str | None = None, fee: str = "-0.10", **more) -> dict:
    net = settle if settle is not None else f"{float(value) + float(fee):.2f}"
    return {"transactionRequestId": request_id, "transactionAmountValue": value, "settlementAmountValue": net,
            "paymentMethodFeeAmountValue": fee, **more}


def txn(j: Journal, id: str, amount: int, *, kind: str = SALE, day: str = DAY, status: str = SUCCESS,
        parent: str | None = None, currency: str = "USD") -> None:
    now = time.time()
    j.record({"id": id, "kind": kind, "currency": currency, "amount": amount, "status": status, "phase": "done",
              "state": "{}", "final": 1, "created_at": now, "updated_at": now, "day": day, "parent": parent},
             insert=True)


@pytest.fixture
def journal(tmp_path):
    with Journal.open(tmp_path / "data") as j:
        PinBook(j).set(MANAGER, PIN)
        yield j


def grant(j):
    return services.unlock(j, MANAGER, PIN, asked_by="boss")


def raw(j: Journal, sql: str, *params) -> list[tuple]:
    """The journal's raw rows by plain SQL (flowkit's read-only oracle)."""
    return journal_query(j.path.parent, sql, params)


def test_each_class_from_hand_made_files_kept_and_audited(journal, tmp_path):
    j = journal
    txn(j, "p-ok", 1234)
    txn(j, "p-omit", 500)                     # the gateway lists nothing: missing at the gateway
    txn(j, "p-wrong", 700)                    # listed as 8.00: amount differs
    txn(j, "p-cur", 900)                      # listed in EUR: currency differs
    txn(j, "p-fx", 300)                       # no settlement amount yet: pending
    txn(j, "p-dup", 400)                      # listed twice: duplicate
    txn(j, "r-late", 200, kind=REFUND, parent="p-ok")   # reported the next day
    first = transactions_file(tmp_path / "in", DAY, [
        paid("p-ok", "12.34"), paid("p-wrong", "8.00"), paid("p-cur", "9.00", transactionCurrency="EUR"),
        paid("p-fx", "3.00", settle="", fee=""), paid("p-dup", "4.00"), paid("p-dup", "4.00"),
        paid("p-phantom", "99.00")])
    result = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[first])
    assert result.days == [DAY]
    got = dict(raw(j, "SELECT request_id, cls FROM settlement_findings"))
    assert got == {"p-ok": "matched", "p-omit": "missing_at_gateway", "p-wrong": "amount_mismatch",
                   "p-cur": "currency_mismatch", "p-fx": "pending", "p-dup": "duplicate",
                   "p-phantom": "missing_in_journal", "r-late": "missing_at_gateway"}
    # counts as the journal's raw rows have them, and differences first with their history commands
    by_class = dict(raw(j, "SELECT cls, count(*) FROM settlement_findings WHERE day = ? GROUP BY cls", DAY))
    assert {k: v for k, v in result.counts.items() if v} == by_class
    classes = [f["class"] for f in result.findings]
    assert classes.index("matched") > max(classes.index(c) for c in ("duplicate", "amount_mismatch"))
    wrong = next(f for f in result.findings if f["requestId"] == "p-wrong")
    assert wrong["history"] == "pos-terminal report --txn p-wrong" and wrong["theirAmount"] == 800
    assert next(f for f in result.findings if f["requestId"] == "p-phantom")["history"] is None
    # the totals per currency against plain SQL over the rows kept (the file's transactions rows, all live)
    [(count, net, fee)] = raw(j, "SELECT count(*), sum(settle_amount), sum(fee) FROM settlement_rows "
                                 "WHERE report_date = ? AND settle_currency = 'USD' AND settle_amount IS NOT NULL", DAY)
    usd = result.data["totals"]["USD"]
    assert (usd["count"], usd["net"], usd["fee"], usd["gross"]) == (count, net, fee, net - fee)
    assert raw(j, "SELECT action, asked_by, approved_by FROM audit WHERE action LIKE 'settlement%' ORDER BY seq") == [
        ("settlement_import", "boss", MANAGER), ("settlement_reconcile", "boss", MANAGER)]

    # the next day's file lists the late refund and completes the FX row: a later run resolves both
    second = transactions_file(tmp_path / "in", NEXT, [paid("r-late", "-2.00", transactionType="REFUND", fee="0.00")])
    again = transactions_file(tmp_path / "in2", DAY, [
        paid("p-ok", "12.34"), paid("p-wrong", "8.00"), paid("p-cur", "9.00", transactionCurrency="EUR"),
        paid("p-fx", "3.00"), paid("p-dup", "4.00"), paid("p-dup", "4.00"), paid("p-phantom", "99.00")])
    later = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[second, again], day=DAY)
    assert [f["name"] for f in later.data["imported"]] == [second.name, again.name]
    got = dict(raw(j, "SELECT request_id, cls FROM settlement_findings"))
    assert got["r-late"] == "matched" and got["p-fx"] == "matched"
    kept = services.settlement.settlement_result(grant(j), j, DAY)
    assert kept.counts == later.counts and [r["id"] for r in kept.data["runs"]] == [
        r for (r,) in raw(j, "SELECT id FROM settlement_runs WHERE day = ? ORDER BY id DESC", DAY)]


def test_a_file_twice_a_refused_merchant_and_a_cut_file_import_nothing_of_them(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    good = transactions_file(tmp_path / "a", DAY, [paid("p1", "10.00")])
    stranger = transactions_file(tmp_path / "b", DAY, [paid("p1", "10.00")], customer="SOMEONE_ELSE", seq=1)
    cut = transactions_file(tmp_path / "c", DAY, [paid("p1", "10.00")], seq=2, end=False)
    result = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[stranger, good, cut])
    assert [f["name"] for f in result.data["imported"]] == [good.name]
    refused = {f["name"]: f["why"] for f in result.refused}
    assert set(refused) == {stranger.name, cut.name}
    assert "SOMEONE_ELSE" in refused[stranger.name] and "another merchant" in refused[stranger.name]
    assert raw(j, "SELECT count(*) FROM settlement_files") == [(1,)]
    assert raw(j, "SELECT count(*) FROM settlement_rows") == [(1,)]
    again = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[good])
    assert again.data["imported"] == [] and "already imported on" in again.data["skipped"][0]["why"]
    assert raw(j, "SELECT count(*) FROM settlement_rows") == [(1,)]
    assert raw(j, "SELECT count(*) FROM audit WHERE action = 'settlement_import'") == [(1,)]


def _renamed(path: Path, name: str) -> Path:
    """The same report saved under a name with no date in it (Antom lets a merchant customise the name)."""
    return path.rename(path.with_name(name))


def test_an_undated_file_takes_its_rows_one_day_else_it_is_refused_asking_for_date(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    spread = _renamed(transactions_file(tmp_path / "a", DAY, [
        paid("p1", "10.00"), paid("p2", "5.00", transactionCreationTime=f"{NEXT}T12:00:00+00:00")]), "two-days.csv")
    result = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[spread])
    [refused] = result.refused
    assert refused["name"] == "two-days.csv" and DAY in refused["why"] and NEXT in refused["why"]
    assert "--date" in refused["hint"]
    assert raw(j, "SELECT count(*) FROM settlement_files") == [(0,)]
    # every row at noon UTC of DAY: the same local day on any machine from UTC-11 to UTC+11
    one_day = _renamed(transactions_file(tmp_path / "b", DAY, [
        paid("p1", "10.00", transactionCreationTime=f"{DAY}T12:00:00+00:00")]), "daily.csv")
    services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[one_day])
    assert raw(j, "SELECT name, report_date FROM settlement_files") == [("daily.csv", DAY)]
    assert raw(j, "SELECT report_date FROM settlement_rows") == [(DAY,)]
    assert raw(j, "SELECT request_id, day, cls FROM settlement_findings") == [("p1", DAY, "matched")]


def test_a_failed_attempt_is_kept_listed_and_never_matched(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    path = transactions_file(tmp_path / "in", DAY, [paid("p1", "10.00", status="FAIL", settle="", fee=""),
                                                    paid("p1", "10.00"), paid("p9", "7.00", status="FAIL")])
    services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[path])
    assert raw(j, "SELECT line, request_id, status, moved FROM settlement_rows ORDER BY line") == [
        (2, "p1", "FAIL", 0), (3, "p1", "SUCCESS", 1), (4, "p9", "FAIL", 0)]
    assert raw(j, "SELECT request_id, cls FROM settlement_findings") == [("p1", "matched")]
    from offline_queue import settlement as kept
    assert [(r.line, r.status) for r in kept.theirs(j, [[kept.files(j)[0]["sha256"], 2]])] == [(2, "FAIL")]


def test_csv_cells_that_start_like_a_formula_are_quoted_numbers_are_not(journal, tmp_path):
    j = journal
    txn(j, "r1", 200, kind=REFUND, parent="p0")
    path = transactions_file(tmp_path / "in", DAY, [
        paid("r1", "-3.00", transactionType="REFUND", fee="0.00"), paid("@SUM(A1)", "1.00"), paid("-2+3", "1.00"),
        paid("+1", "1.00"), paid("=1+1", "1.00")])
    out = tmp_path / "f.csv"
    services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[path]).write_csv(out)
    table = list(csv.DictReader(out.open(newline="")))
    assert sorted(r["requestId"] for r in table) == sorted(["r1", "'@SUM(A1)", "'-2+3", "'+1", "'=1+1"])
    r1 = next(r for r in table if r["requestId"] == "r1")
    assert (r1["theirAmount"], r1["ourAmount"]) == ("-300", "200")     # our numbers as written, negative too


def test_a_name_with_control_characters_is_shown_escaped(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    path = transactions_file(tmp_path / "in", DAY, [paid("p1", "10.00"), paid("x\x1b[2J\nforged", "1.00")])
    path = path.rename(path.with_name("a\rb_20261205_000.csv"))
    result = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[path])
    text = "\n".join(result.lines)
    assert "\x1b" not in text and "\r" not in text and "forged" not in text.splitlines()[0]
    assert "a\\rb_20261205_000.csv" in text and "x\\x1b[2J\\nforged" in text
    check = services.settlement.gateway_check(j, DAY)
    assert all("\r" not in line for line in services.settlement.gateway_lines(check))


def test_a_days_run_replaces_the_days_findings_whole(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[transactions_file(
        tmp_path / "a", DAY, [paid("p1", "10.00"), paid("PHANTOM", "9.00")])])
    assert dict(raw(j, "SELECT request_id, cls FROM settlement_findings")) == {
        "p1": "matched", "PHANTOM": "missing_in_journal"}
    later = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[transactions_file(
        tmp_path / "b", DAY, [paid("p1", "10.00")])])
    assert raw(j, "SELECT request_id, cls FROM settlement_findings") == [("p1", "matched")]
    assert later.differences == 0
    check = services.settlement.gateway_check(j, DAY)
    assert (check["differences"], check["counts"]) == (0, dict(raw(
        j, "SELECT cls, count(*) FROM settlement_findings WHERE day = ? GROUP BY cls", DAY)))


def test_nothing_to_read_is_said_and_the_pin_is_needed(journal):
    with pytest.raises(PosError, match="nothing to reconcile"):
        services.settlement.reconcile_settlement(grant(journal), journal, Cfg())
    with pytest.raises(PosError, match="manager"):
        services.settlement.settlement_result(services.counter("ann"), journal, DAY)


# -- against the store's PostgreSQL ([store]): every counter's rows, each finding with its terminal -------------
def _psql_text(value) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


@pytest.mark.slow
def test_with_a_store_the_match_reads_every_counter_from_postgresql(store, journal, tmp_path):
    from pos_app.config import parse_store
    rows = [("S9", "T-1", "s-a", SALE, SUCCESS, "USD", 1000, DAY), ("S9", "T-2", "s-b", SALE, SUCCESS, "USD", 250, DAY),
            ("S9", "T-2", "s-c", SALE, SUCCESS, "USD", 400, DAY)]
    for store_id, terminal in {(r[0], r[1]) for r in rows}:
        store.register(store_id, terminal)
    store.cluster.psql("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, status, currency, amount, "
                       "day, created_at, updated_at, final) VALUES " + ", ".join(
                           "(" + ", ".join(_psql_text(v) if not isinstance(v, int) else str(v) for v in r)
                           + ", now(), now(), true)" for r in rows), dbname="store")
    store.manager("S9", "boss_s9")
    (tmp_path / "terminal.toml").write_text("")

    class StoreCfg(Cfg):
        pass
    StoreCfg.store = parse_store(tmp_path / "terminal.toml", {"database": store.reader(tmp_path, "boss_s9"),
                                                               "store_id": "S9", "role": "office"}, "S9")
    report = transactions_file(tmp_path / "in", DAY, [paid("s-a", "10.00"), paid("s-b", "3.50")])
    result = services.settlement.reconcile_settlement(grant(journal), journal, StoreCfg(), files=[report])
    assert result.data["source"] == "store"
    assert {(f["requestId"], f["class"], f["terminal"]) for f in result.findings} == {
        ("s-a", "matched", "T-1"), ("s-b", "amount_mismatch", "T-2"), ("s-c", "missing_at_gateway", "T-2")}
    assert raw(journal, "SELECT source FROM settlement_runs") == [("store",)]


@pytest.mark.slow
def test_with_a_store_the_next_days_run_keeps_a_late_refunds_sale_matched(store, journal, tmp_path):
    from pos_app.config import parse_store
    rows = [("S8", "T-81", "s-a", SALE, SUCCESS, "USD", 1000, DAY, None),
            ("S8", "T-82", "r-a", REFUND, SUCCESS, "USD", 200, NEXT, "s-a")]     # refunded at another counter
    for store_id, terminal in {(r[0], r[1]) for r in rows}:
        store.register(store_id, terminal)
    store.cluster.psql("INSERT INTO pos_store.transactions (store_id, terminal_id, id, kind, status, currency, amount, "
                       "day, parent, created_at, updated_at, final) VALUES " + ", ".join(
                           "(" + ", ".join(_psql_text(v) if not isinstance(v, int) else str(v) for v in r)
                           + ", now(), now(), true)" for r in rows), dbname="store")
    store.manager("S8", "boss_s8")
    (tmp_path / "terminal.toml").write_text("")

    class StoreCfg(Cfg):
        pass
    StoreCfg.store = parse_store(tmp_path / "terminal.toml", {"database": store.reader(tmp_path, "boss_s8"),
                                                               "store_id": "S8", "role": "office"}, "S8")
    first = transactions_file(tmp_path / "in", DAY, [paid("s-a", "10.00")])
    services.settlement.reconcile_settlement(grant(journal), journal, StoreCfg(), files=[first])
    second = transactions_file(tmp_path / "in", NEXT, [paid("r-a", "-2.00", transactionType="REFUND", fee="0.00")])
    services.settlement.reconcile_settlement(grant(journal), journal, StoreCfg(), files=[second])
    assert raw(journal, "SELECT request_id, day, cls FROM settlement_findings ORDER BY request_id") == [
        ("r-a", NEXT, "matched"), ("s-a", DAY, "matched")]


def test_two_numbered_parts_with_the_same_bytes_are_both_read_a_renamed_copy_is_not(journal, tmp_path):
    j = journal
    txn(j, "p1", 1000)
    first = transactions_file(tmp_path / "in", DAY, [paid("p1", "10.00")], seq=0)
    second = transactions_file(tmp_path / "in", DAY, [paid("p1", "10.00")], seq=1)
    assert first.read_bytes() == second.read_bytes()
    services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[first, second])
    assert raw(j, "SELECT name FROM settlement_files ORDER BY seq") == [(first.name,), (second.name,)]
    assert raw(j, "SELECT count(DISTINCT file), count(*) FROM settlement_rows") == [(2, 2)]
    assert raw(j, "SELECT request_id, cls FROM settlement_findings") == [("p1", "duplicate")]
    copy = tmp_path / "copy" / "p1-only.csv"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    again = services.settlement.reconcile_settlement(grant(j), j, Cfg(), files=[second, first, copy], day=DAY)
    assert [s["name"] for s in again.data["skipped"]] == [second.name, first.name, copy.name]
    assert all("already imported" in s["why"] for s in again.data["skipped"])
    assert raw(j, "SELECT count(*) FROM settlement_rows") == [(2,)]
