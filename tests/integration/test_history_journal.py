"""A transaction's history in words over a real journal (issue 15 §3.4): sales that were paid, declined, shown as
an order code and stopped, settled by inquiry, refunded and cancelled through the manager's use cases, through
the terminal's API and the real simulator. Every event the journal holds for them (read with plain SQL) is a
line of the timeline, in words: none falls back to the plain line, none reads as JSON."""

from __future__ import annotations

import re

import pytest
from flowkit import MANAGER_PIN, journal_query, write_config
from kit import payment_code, usd

from pos_app import services
from pos_app.history import of_transaction, plain
from pos_app.i18n import set_language
from pos_app.roles import MANAGER
from pos_app.runtime import Runtime
from pos_app.sim import scenarios


@pytest.fixture(autouse=True)
def english():
    set_language("en")


def test_every_event_of_a_day_is_a_line_in_words(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        services.technician.pin_set(services.counter("setup"), t.journal, MANAGER, MANAGER_PIN)
        manager = services.unlock(t.journal, MANAGER, MANAGER_PIN, asked_by="ann")
        paid = t.start_sale(usd(1000), code=payment_code())
        t.start_sale(usd(scenarios.BALANCE_NOT_ENOUGH), code=payment_code())
        order = t.start_sale(usd(880), order_code=True)
        t.abort(order.id, "customer left")
        t.start_sale(usd(scenarios.FLAKY_INQUIRY), code=payment_code(), alongside=True)
        stuck = t.start_sale(usd(scenarios.STUCK), code=payment_code(), alongside=True)
        services.manager.cancel(services.counter("bob"), t, stuck.id, None)   # an open sale closed: audited
        other = t.start_sale(usd(500), code=payment_code(), alongside=True)
        t.settle(20)
        services.manager.refund(manager, t, paid.id, usd(200), "damaged")
        services.manager.cancel(manager, t, other.id, "wrong goods")
        t.settle(20)
        sales = [i for (i,) in journal_query(d, "SELECT id FROM transactions WHERE kind='sale'")]
        stories = {i: of_transaction(t.journal, i) for i in sales}
        refund = journal_query(d, "SELECT id FROM transactions WHERE kind='refund'")[0][0]
        refund_story = of_transaction(t.journal, refund)

    for sale, story in stories.items():
        ids = [sale] + [c for (c,) in journal_query(d, "SELECT id FROM transactions WHERE parent=?", (sale,))]
        marks = ",".join("?" * len(ids))
        [(events,)] = journal_query(d, f"SELECT COUNT(*) FROM events WHERE txn IN ({marks})", ids)
        [(audited,)] = journal_query(d, "SELECT COUNT(*) FROM audit WHERE txn=?", (sale,))
        merged = sum(1 for e in story if e.kind == "created" and e.txn != sale and "requested by" in e.words)
        lines = sum(int(m.group(1)) if (m := re.search(r"\((\d+) times\)$", e.words)) else 1 for e in story)
        assert lines == events + audited - merged, (sale, [str(e) for e in story])
        for entry in story:
            assert not re.search(r'[{}"\[\]]', entry.words), entry
            fallback = plain(entry.kind, {})
            assert entry.words != fallback and not entry.words.startswith(fallback + ":"), entry
    words = {e.words.split(" — ")[0] for story in stories.values() for e in story}
    for expected in ("Pay sent to the gateway", "Gateway: paid", "Result: Paid", "Gateway: declined",
                     "Result: Not paid", "Gateway: order code made",
                     "Order code shown: waiting for the customer to scan it and pay",
                     "Stop asked at the counter", "Cancelling the payment", "Gateway: cancelled",
                     "Checking the result with the gateway", "Gateway notification: paid",
                     "Refund of 2.00 USD requested by ann (manager)", "Refund sent to the gateway", "Gateway: refunded",
                     "Cancel requested by bob", "Cancel of the sale (5.00 USD) requested by ann (manager)",
                     "Cancel sent to the gateway", "Result of the cancel: Done", "Result: Cancelled"):
        assert expected in words, (expected, sorted(words))
    assert [e.words for e in refund_story][:2] == ["Refund of 2.00 USD requested by ann (manager) — damaged",
                                                    "Refund sent to the gateway"]
