"""The net rule over random sessions (issue 14, defect 1), pure: an oracle books money as it moves, and
each Z's net over the rows it covers must equal its session's money (pos_app.takings over plain rows, no
journal), and its summary's gross sales, refunds and cancels what the oracle booked as each, count and value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app import takings

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
    lines: dict[int, dict[tuple[str, str], list[int]]] = {}   # per session: (currency, line) -> [count, value]
    session = 1

    def book(currency: str, amount: int, line: str) -> None:
        per = moved.setdefault(session, {})
        per[currency] = per.get(currency, 0) + amount
        figure = lines.setdefault(session, {}).setdefault((currency, line), [0, 0])
        figure[0] += 1
        figure[1] += abs(amount)

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
                book(currency, amount, "gross")
        elif event[0] == "settle":   # a queued or reviewed sale settles: paid, or not
            waiting = [r for r in rows if r["kind"] == "sale" and not r["final"]]
            row = pick(waiting, event[1])
            if row is not None:
                row.update(status="SUCCESS" if event[2] else "FAILED", final=True)
                if event[2]:
                    book(row["currency"], row["amount"], "gross")
        elif event[0] == "refund":
            sale = pick([s for s in paid_sales() if left(rows, s) > 0], event[1])
            if sale is not None:
                amount = 1 + (event[2] * left(rows, sale) - 1) // 100
                ok = event[3]
                rows.append({"id": len(rows), "kind": "refund", "currency": sale["currency"], "amount": amount,
                             "status": "SUCCESS" if ok else "FAILED", "final": True, "reversed": False, "z": None,
                             "parent": sale["id"]})
                if ok:
                    book(sale["currency"], -amount, "refunds")
        elif event[0] == "cancel":
            sale = pick([s for s in paid_sales() if left(rows, s) == s["amount"]], event[1])
            if sale is not None:
                ok = event[2]
                rows.append({"id": len(rows), "kind": "cancel", "currency": sale["currency"], "amount": sale["amount"],
                             "status": "SUCCESS" if ok else "FAILED", "final": True, "reversed": False, "z": None,
                             "parent": sale["id"]})
                if ok:   # the sale's row is rewritten in the same commit, whichever Z counted it
                    sale.update(status="CANCELLED", reversed=True)
                    book(sale["currency"], -sale["amount"], "cancels")
        else:
            covered = [r for r in rows if r["z"] is None and r["final"]]
            if covered:
                for r in covered:
                    r["z"] = session
                assert nonzero(takings.net(covered)) == nonzero(moved.get(session, {}))
                assert takings.totals(groups(covered)) == takings.totals(covered), "summed as SQLite sums them"
                summary = takings.summary(groups(covered))
                assert summary == takings.summary(covered)
                assert said(summary) == {k: v for k, v in lines.get(session, {}).items() if v[1]}
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


def said(summary: dict[str, takings.Summary]) -> dict[tuple[str, str], list[int]]:
    """A summary's nonzero lines as the oracle books them: (currency, line) -> [count, value]."""
    out = {}
    for currency, s in summary.items():
        for line, count, value in (("gross", s.sales, s.gross), ("refunds", s.refund_count, s.refunds),
                                   ("cancels", s.cancel_count, s.cancels)):
            if value:
                out[(currency, line)] = [count, value]
        assert s.net == s.gross - s.refunds - s.cancels
        # the average to the nearest minor unit, a half up: |average - gross/sales| <= 1/2, and not -1/2
        assert -s.sales < 2 * (s.average * s.sales - s.gross) <= s.sales if s.sales else s.average == 0, s
    return out


def nonzero(per_currency: dict[str, int]) -> dict[str, int]:
    return {c: v for c, v in per_currency.items() if v}


def left(rows: list[dict], sale: dict) -> int:
    return sale["amount"] - sum(r["amount"] for r in rows if r["parent"] == sale["id"] and r["kind"] == "refund"
                                and r["status"] != "FAILED")
