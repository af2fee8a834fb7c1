"""Closing (issue 14, defects 1 and 2): one net for the day report, the X and the Z, and a Z that closes a
session (each transaction in exactly one Z, several Zs a day, a Z with nothing new refused).

Real journals, the real simulator and the real ``pos-terminal`` processes. Every expected net is either a
literal written by hand or plain SQL over the journal's raw rows (:func:`sql_net`), never
:mod:`pos_app.takings` itself.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from flowkit import MANAGER_PIN, cli, cli_json, gateway_down, set_manager_pin, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from kit import payment_code, usd

from offline_queue import schema
from offline_queue.journal import Journal, JournalError
from pos_app import closing, takings
from pos_app.i18n import set_language
from pos_app.report import day_report
from pos_app.runtime import Runtime
from pos_app.sim import scenarios


@pytest.fixture(autouse=True)
def english():
    set_language("en")


def sql_net(data_dir: Path, ids) -> int:
    """The net of these transactions, from the raw rows: a paid sale, or one a manager's cancel reversed
    afterwards (its successful cancel row is the reversal), adds its amount; a successful refund or
    cancel takes its amount off; nothing else moved money."""
    ids = list(ids)
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(ids))
        return conn.execute(
            f"""SELECT COALESCE(SUM(CASE
                  WHEN t.kind = 'sale' AND t.status = 'SUCCESS' THEN t.amount
                  WHEN t.kind = 'sale' AND t.status = 'CANCELLED' AND EXISTS (SELECT 1 FROM transactions c
                       WHERE c.parent = t.id AND c.kind = 'cancel' AND c.status = 'SUCCESS') THEN t.amount
                  WHEN t.kind IN ('refund', 'cancel') AND t.status = 'SUCCESS' THEN -t.amount
                  ELSE 0 END), 0) FROM transactions t WHERE t.id IN ({marks})""", ids).fetchone()[0]
    finally:
        conn.close()


def raw(data_dir: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- defect 1: the repro, through the real CLI ----------------------------------------------------------------
def test_a_same_day_cancel_is_counted_once_by_report_x_and_z(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    set_manager_pin(d)
    sales = {}
    for amount in ("10.00", "5.00", "8.00"):
        rc, paid = cli_json("sale", "--amount", amount, "--code", payment_code(), config=config, data_dir=d)
        assert rc == 0 and paid["status"] == "SUCCESS", paid
        sales[amount] = paid["paymentRequestId"]
    rc, cancelled = cli_json("cancel", sales["10.00"], "--reason", "wrong goods", "--by", "ann", config=config,
                             data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and cancelled["status"] == "SUCCESS", cancelled
    rc, refund = cli_json("refund", sales["8.00"], "--amount", "3.00", "--reason", "damaged", "--by", "ann",
                          config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and refund["status"] == "SUCCESS", refund

    # 10.00 + 5.00 + 8.00 paid, the 10.00 given back by its cancel, 3.00 refunded: 10.00 taken.
    everything = [r[0] for r in raw(d, "SELECT id FROM transactions")]
    assert len(everything) == 5 and sql_net(d, everything) == 1000
    rc, day = cli_json("report", config=config, data_dir=d)
    assert rc == 0 and day["totals"]["USD"]["net"] == "1000"
    rc, x = cli_json("report", "--x", config=config, data_dir=d)
    assert rc == 0 and x["totals"]["USD"]["net"] == 1000, x["totals"]
    z = cli("report", "--z", "--json", config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert z.returncode == 0, z.stderr
    z = json.loads(z.stdout)
    assert z["number"] == 1 and z["totals"]["USD"]["net"] == 1000 and z["totals"] == x["totals"]
    assert z["totals"]["USD"]["sale"] == {"CANCELLED": {"count": 1, "value": 1000},
                                          "SUCCESS": {"count": 2, "value": 1300}}
    assert z["totals"]["USD"]["cancel"] == {"SUCCESS": {"count": 1, "value": 1000}}
    assert z["totals"]["USD"]["refund"] == {"SUCCESS": {"count": 1, "value": 300}}


# -- defect 2: a sale after a Z is in the next Z ---------------------------------------------------------------
def test_sales_after_a_z_land_in_the_next_z_and_a_z_with_nothing_new_is_refused(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    set_manager_pin(d)

    def z(*extra):
        done = cli("report", "--z", "--json", *extra, config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
        return done.returncode, json.loads(done.stdout)

    rc, first = cli_json("sale", "--amount", "10.00", "--code", payment_code(), config=config, data_dir=d)
    assert rc == 0
    rc, z1 = z()
    assert rc == 0 and z1["number"] == 1 and z1["totals"]["USD"]["net"] == 1000
    rc, second = cli_json("sale", "--amount", "5.00", "--code", payment_code(), config=config, data_dir=d)
    assert rc == 0
    rc, x = cli_json("report", "--x", config=config, data_dir=d)
    assert x["session"]["number"] == 2 and x["session"]["since"] == z1["takenAt"] and x["session"]["previousZ"] == 1
    assert x["totals"]["USD"]["net"] == 500 == sql_net(d, [second["paymentRequestId"]])
    rc, z2 = z()
    assert rc == 0 and z2["number"] == 2, "a second Z, not a reprint of the first"
    assert z2["totals"]["USD"]["sale"] == {"SUCCESS": {"count": 1, "value": 500}} and z2["totals"]["USD"]["net"] == 500
    assert z2["session"] == {"number": 2, "since": z1["takenAt"], "previousZ": 1, "count": 1}
    assert z2["day"] == z1["day"], "two Zs on one day"
    covered = dict(raw(d, "SELECT id, z_number FROM transactions"))
    assert covered == {first["paymentRequestId"]: 1, second["paymentRequestId"]: 2}

    rc, refused = z()
    assert rc == 2 and refused["error"] == "nothing to close: no transaction has settled since Z report #2"
    assert "pos-terminal report --z --number 2" in refused["hint"]
    rc, reprint = z("--number", "1")
    assert rc == 0 and reprint == {**z1, "reprint": True}
    text = cli("report", "--z", "--number", "1", config=config, data_dir=d, input=f"{MANAGER_PIN}\n").stdout
    assert text.startswith(f"Z REPORT #1  {z1['day']}") and "REPRINT" in text and f"sha256 {z1['sha256']}" in text
    assert raw(d, "SELECT number FROM z_reports ORDER BY number") == [(1,), (2,)]
    actions = [a for (a,) in raw(d, "SELECT action FROM audit WHERE action LIKE 'z_report%' ORDER BY seq")]
    assert actions == ["z_report", "z_report", "z_report_reprint", "z_report_reprint"]


# -- refunds and cancels across sessions -----------------------------------------------------------------------
def test_refunds_full_partial_and_several_and_a_cancel_in_a_later_session(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        a = t.start_sale(usd(2000), code=payment_code())
        b = t.start_sale(usd(600), code=payment_code())
        c = t.start_sale(usd(300), code=payment_code())
        e = t.start_sale(usd(900), code=payment_code())
        f = t.start_sale(usd(1200), code=payment_code())
        g = t.start_sale(usd(450), code=payment_code())
        refunds = [t.refund(a.id, usd(500), "one"), t.refund(a.id, usd(700), "two"),
                   t.refund(a.id, usd(800), "the rest"), t.refund(b.id, usd(600), "all of it")]
        cancel_g = t.cancel(g.id)              # paid and cancelled in the same session: nets to 0
        t.settle(20)
        assert {t.load(x.id).status for x in refunds} == {"SUCCESS"} and t.load(cancel_g.id).status == "SUCCESS"
        session1 = [a.id, b.id, c.id, e.id, f.id, g.id, cancel_g.id] + [x.id for x in refunds]
        # 20.00 + 6.00 + 3.00 + 9.00 + 12.00 paid; 20.00 of a and 6.00 of b refunded; g in and out
        assert sql_net(d, session1) == 2400
        x1 = closing.x_report(t.journal)
        assert x1["totals"]["USD"]["net"] == 2400 and x1["session"]["count"] == len(session1)
        z1 = closing.take_z(t.journal, by="ann")
        assert z1["totals"] == x1["totals"]

        later = [t.refund(e.id, usd(200), "late"), t.cancel(f.id)]   # about sales Z #1 already counted
        t.settle(20)
        assert sql_net(d, [x.id for x in later]) == -1400
        x2 = closing.x_report(t.journal)
        assert x2["session"]["number"] == 2 and x2["totals"]["USD"]["net"] == -1400
        assert x2["totals"]["USD"]["sale"] == {}, "the sales were counted by Z #1"
        z2 = closing.take_z(t.journal, by="ann")
        assert z2["totals"]["USD"]["net"] == -1400 and z2["totals"]["USD"]["cancel"] == {
            "SUCCESS": {"count": 1, "value": 1200}}
        assert closing.reprint_z(t.journal, 1)["totals"]["USD"]["net"] == 2400, "the first Z is as it was"
        day = t.journal.get(a.id)["day"]
        every = [r[0] for r in raw(d, "SELECT id FROM transactions WHERE day=?", (day,))]
        assert int(day_report(t.journal, day)["totals"]["USD"]["net"]) == sql_net(d, every) == 1000
        assert closing.day_totals(t.journal, day)["USD"]["net"] == 1000


def test_a_cancel_on_a_later_day_subtracts_on_that_day(sim, tmp_path):
    """The day report is per calendar day: the sale counts on its day, the cancel on the cancel's."""
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        sale = t.start_sale(usd(1000), code=payment_code())
        cancel = t.cancel(sale.id)
        t.settle(20)
        assert t.load(sale.id).status == "CANCELLED" and t.load(cancel.id).status == "SUCCESS"
        with t.journal.transaction() as c:   # as if the cancel had been made the next day
            c.execute("UPDATE transactions SET day='2031-01-02' WHERE id=?", (cancel.id,))
        sale_day = t.journal.get(sale.id)["day"]
        assert day_report(t.journal, sale_day)["totals"]["USD"]["net"] == "1000" == str(sql_net(d, [sale.id]))
        assert day_report(t.journal, "2031-01-02")["totals"]["USD"]["net"] == "-1000" == str(sql_net(d, [cancel.id]))


# -- what is not taken: failed, voided, closed by the flow, queued, accepted at risk --------------------------------
def test_failed_voided_aborted_queued_and_accepted_at_risk_sales_are_not_taken(make_sim, tmp_path):
    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 300},
                          offline={"merchant_risk": True, "max_per_payment": {"USD": "20.00"},
                                   "max_total": {"USD": "20.00"}})
    d = tmp_path / "t"
    with Runtime(config, d, receiver=False, background=False) as rt:     # the gateway is down
        t = rt.terminal
        at_risk = t.start_sale(usd(1500), code=payment_code())
        queued = t.start_sale(usd(800), code=payment_code())                     # over the total: the customer waits
        voided = t.start_sale(usd(250), code=payment_code(), alongside=True)
        assert t.abort(voided.id).phase.value == "VOIDED"
        assert (t.load(at_risk.id).status, t.load(at_risk.id).accepted_at_risk) == ("QUEUED", True)
        assert (t.load(queued.id).status, t.load(queued.id).accepted_at_risk) == ("QUEUED", False)
        z1 = closing.take_z(t.journal, by="ann")
    assert z1["totals"] == {"USD": {"sale": {"FAILED": {"count": 1, "value": 250}}, "refund": {}, "cancel": {},
                                    "net": 0}}
    assert sql_net(d, [at_risk.id, queued.id, voided.id]) == 0
    assert [(i["id"], i["status"], i["acceptedAtRisk"]) for i in z1["differences"]["stillOpen"]] == [
        (at_risk.id, "QUEUED", True), (queued.id, "QUEUED", False)]
    assert "accepted at the merchant's risk" in "\n".join(closing.lines(z1))

    sim = back()
    with Runtime(config, d, receiver=False, background=False) as rt:     # the link is back
        t = rt.terminal
        assert t.settle(30)["still_open"] == 0
        declined = t.start_sale(usd(scenarios.BALANCE_NOT_ENOUGH), code=payment_code())
        order = t.start_sale(usd(700), order_code=True)
        assert t.load(order.id).phase.value == "WAITING"
        t.abort(order.id)                                                # closed by the flow: no cancel row
        stuck = t.start_sale(usd(scenarios.STUCK), code=payment_code(), alongside=True)
        t.settle(30)
        assert {i: t.load(i).status for i in (declined.id, order.id, stuck.id)} == dict.fromkeys(
            (order.id, stuck.id), "CANCELLED") | {declined.id: "FAILED"}
        assert not raw(d, "SELECT id FROM transactions WHERE kind='cancel'")
        x = closing.x_report(t.journal)
        z2 = closing.take_z(t.journal, by="ann")
    session2 = [at_risk.id, queued.id, declined.id, order.id, stuck.id]
    assert sql_net(d, session2) == 2300                                  # the two queued ones, paid at last
    assert z2["totals"] == x["totals"] and z2["totals"]["USD"]["net"] == 2300
    assert z2["totals"]["USD"]["sale"] == {"CANCELLED": {"count": 2, "value": 700 + scenarios.STUCK},
                                           "FAILED": {"count": 1, "value": scenarios.BALANCE_NOT_ENOUGH},
                                           "SUCCESS": {"count": 2, "value": 2300}}
    assert z2["differences"]["stillOpen"] == [] and [i["id"] for i in z2["differences"][
        "settledByReconciliation"]] == [stuck.id]
    assert dict(raw(d, "SELECT id, z_number FROM transactions")) == {voided.id: 1} | dict.fromkeys(session2, 2)


# -- the upgrade from one Z per day ---------------------------------------------------------------------------
def _row(id_, day, created, status="SUCCESS", final=1, amount=100):
    return {"id": id_, "kind": "sale", "currency": "USD", "amount": amount, "status": status, "phase": "PAID",
            "state": "{}", "final": final, "created_at": created, "updated_at": created, "day": day}


def test_the_upgrade_marks_what_the_old_per_day_zs_closed(tmp_path):
    conn = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    db = sqlite_utils.Database(conn)
    for migration in schema.MIGRATIONS[:4]:
        migration(db)
    conn.execute("PRAGMA user_version = 4")
    rows = [_row("A", "2030-01-01", 100.0), _row("OPEN", "2030-01-01", 110.0, status="UNKNOWN", final=0),
            _row("LATE", "2030-01-01", 300.0), _row("B", "2030-01-02", 400.0)]
    db["transactions"].insert_all(rows)
    body = json.dumps({"type": "Z", "day": "2030-01-01", "differences": {
        "stillOpen": [{"id": "OPEN"}], "needsReview": [], "settledByReconciliation": []}})
    conn.execute("INSERT INTO z_reports VALUES (1, '2030-01-01', 200.0, 'ann', ?, 'x', NULL)", (body,))
    conn.execute("UPDATE transactions SET status='SUCCESS', final=1 WHERE id='OPEN'")   # settled since
    conn.close()

    with Journal.open(tmp_path) as journal:
        covered = {r["id"]: r["z_number"] for r in journal.query("SELECT id, z_number FROM transactions")}
        # Z #1 closed A; it listed OPEN as open, and LATE came after it: the next Z counts them.
        assert covered == {"A": 1, "OPEN": None, "LATE": None, "B": None}
        z = closing.take_z(journal, by="bob", now=500.0)
        assert z["number"] == 2 and z["session"]["count"] == 3 and z["totals"]["USD"]["net"] == 300
        with journal.transaction() as c:   # several Zs a day now
            c.execute("INSERT INTO transactions (id, kind, currency, amount, status, phase, state, final, "
                      "created_at, updated_at, day) VALUES ('C', 'sale', 'USD', 5, 'SUCCESS', 'PAID', '{}', 1, "
                      "600, 600, ?)", (z["day"],))
        assert closing.take_z(journal, by="bob", now=700.0)["number"] == 3
        for sql in ("UPDATE z_reports SET body='{}'", "DELETE FROM z_reports"):   # still append-only
            with pytest.raises(JournalError, match="cannot be altered"), journal.transaction() as c:
                c.execute(sql)


# -- the net rule over random sessions (pure) ------------------------------------------------------------------
_OUTCOMES = ("paid", "failed", "voided", "aborted", "queued", "at_risk", "review")


@st.composite
def days_of_trading(draw):
    """A random sequence of counter events: sales with any outcome, queued ones settling later, refunds,
    managers' cancels, and Z reports between them."""
    return draw(st.lists(st.one_of(
        st.tuples(st.just("sale"), st.integers(1, 5000), st.sampled_from(_OUTCOMES), st.sampled_from(("USD", "EUR"))),
        st.tuples(st.just("refund"), st.integers(0, 100), st.integers(1, 100), st.booleans()),
        st.tuples(st.just("cancel"), st.integers(0, 100), st.booleans()),
        st.tuples(st.just("settle"), st.integers(0, 100), st.booleans()),
        st.tuples(st.just("z"))), max_size=60))


@settings(max_examples=300, deadline=None)
@given(days_of_trading())
def test_each_z_nets_exactly_the_money_that_moved_in_its_session(events):
    """An oracle books money as it moves (a payment, a refund, a cancel's return) in the session it moves
    in; a Z's net over the rows it covers must equal that session's money, and the net of every row at
    the end (the sales' rows rewritten by later cancels) must equal all the money."""
    rows: list[dict] = []
    moved: dict[int, dict[str, int]] = {}
    session = 1

    def book(currency: str, amount: int) -> None:
        per = moved.setdefault(session, {})
        per[currency] = per.get(currency, 0) + amount

    def paid_sales():
        return [r for r in rows if r["kind"] == "sale" and r["status"] == "SUCCESS"]

    def pick(items, index):
        return items[index % len(items)] if items else None

    for event in events:
        if event[0] == "sale":
            _, amount, outcome, currency = event
            status, final = {"paid": ("SUCCESS", True), "failed": ("FAILED", True), "voided": ("FAILED", True),
                             "aborted": ("CANCELLED", True), "queued": ("QUEUED", False),
                             "at_risk": ("QUEUED", False), "review": ("NEEDS_REVIEW", False)}[outcome]
            rows.append({"id": len(rows), "kind": "sale", "currency": currency, "amount": amount, "status": status,
                         "final": final, "reversed": False, "z": None, "parent": None})
            if status == "SUCCESS":
                book(currency, amount)
        elif event[0] == "settle":   # a queued or reviewed sale settles: paid, or not
            waiting = [r for r in rows if r["kind"] == "sale" and not r["final"]]
            row = pick(waiting, event[1])
            if row is not None:
                row.update(status="SUCCESS" if event[2] else "FAILED", final=True)
                if event[2]:
                    book(row["currency"], row["amount"])
        elif event[0] == "refund":
            sale = pick([s for s in paid_sales() if left(rows, s) > 0], event[1])
            if sale is not None:
                amount = 1 + (event[2] * left(rows, sale) - 1) // 100
                ok = event[3]
                rows.append({"id": len(rows), "kind": "refund", "currency": sale["currency"], "amount": amount,
                             "status": "SUCCESS" if ok else "FAILED", "final": True, "reversed": False, "z": None,
                             "parent": sale["id"]})
                if ok:
                    book(sale["currency"], -amount)
        elif event[0] == "cancel":
            sale = pick([s for s in paid_sales() if left(rows, s) == s["amount"]], event[1])
            if sale is not None:
                ok = event[2]
                rows.append({"id": len(rows), "kind": "cancel", "currency": sale["currency"], "amount": sale["amount"],
                             "status": "SUCCESS" if ok else "FAILED", "final": True, "reversed": False, "z": None,
                             "parent": sale["id"]})
                if ok:   # the sale's row is rewritten in the same commit, whichever Z counted it
                    sale.update(status="CANCELLED", reversed=True)
                    book(sale["currency"], -sale["amount"])
        else:
            covered = [r for r in rows if r["z"] is None and r["final"]]
            if covered:
                for r in covered:
                    r["z"] = session
                assert nonzero(takings.net(covered)) == nonzero(moved.get(session, {}))
                assert takings.totals(groups(covered)) == takings.totals(covered), "summed as SQLite sums them"
                session += 1
    everything: dict[str, int] = {}
    for per in moved.values():
        for currency, value in per.items():
            everything[currency] = everything.get(currency, 0) + value
    assert nonzero(takings.net(rows)) == nonzero(everything)


def groups(rows: list[dict]) -> list[dict]:
    """The rows summed per kind, currency, status and reversal, with their count (a Z reads them so)."""
    out: dict[tuple, dict] = {}
    for r in rows:
        key = (r["kind"], r["currency"], r["status"], r["reversed"])
        group = out.setdefault(key, dict(zip(("kind", "currency", "status", "reversed"), key, strict=True),
                                         count=0, amount=0))
        group["count"] += 1
        group["amount"] += r["amount"]
    return list(out.values())


def nonzero(per_currency: dict[str, int]) -> dict[str, int]:
    return {c: v for c, v in per_currency.items() if v}


def left(rows: list[dict], sale: dict) -> int:
    return sale["amount"] - sum(r["amount"] for r in rows if r["parent"] == sale["id"] and r["kind"] == "refund"
                                and r["status"] != "FAILED")
