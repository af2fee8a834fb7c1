"""A cashier's abort while the pay is in flight, through the terminal's API and the window (issue 14,
defect 3); the words at each step are unit/test_abort_words.py's, a crash after the abort
e2e/test_abort_killed.py's.

The pay reaches the real simulator over HTTP and the gateway acts on it, but a man in the middle (``Gate``)
holds its answer until the test lets it go, so the abort lands, for certain, while the sale is SENDING:
no timer decides the order. The gateway's ledger (the simulator's own endpoint) and the journal (plain SQL,
read-only) are then read independently of the terminal. Before the fix the abort was ignored in SENDING:
the gateway kept the money and the sale ended PAID while the screen had said "Cancelling…".

Notifications go where nobody listens: a success notification racing the abort would make the sale PAID
before the stop arrived, which is honest but another test's subject (test_money_moves_once).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flowkit import deaf, journal_sales, ledger, write_config
from kit import payment_code
from middleman import Gate

from pos_app import payment_flow as pf
from pos_app import sale_view
from pos_app.money import Money
from pos_app.runtime import Runtime
from pos_app.sim import scenarios as sc
from pos_app.vocabulary import STOPPING_WORDS

pytestmark = pytest.mark.timeout(120)


def deaf_config(sim, gate: Gate) -> Path:
    """A config through the gate whose notifications go where nobody listens (its receiver still starts)."""
    return deaf(write_config(sim, url=gate.url, read_timeout=60))


def sale_events(data_dir: Path, sale_id: str) -> list[tuple[str, str | None]]:
    """The journal's events of a sale, (kind, the phase a state change went to), read with plain SQL."""
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT kind, detail FROM events WHERE txn=? ORDER BY seq", (sale_id,)).fetchall()
    finally:
        conn.close()
    return [(kind, (json.loads(detail or "null") or {}).get("to") if kind == "state" else None)
            for kind, detail in rows]


def sim_cancels(sim, payment_request_id: str) -> list[str]:
    """The cancels the simulator received for a payment, from its own ledger file."""
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute(
            "SELECT c.result_code FROM cancels c JOIN payments p ON p.payment_id = c.payment_id "
            "WHERE p.payment_request_id=?", (payment_request_id,))]
    finally:
        conn.close()


def start_in_background(t, amount: int) -> tuple[threading.Thread, list]:
    """``start_sale`` on a worker, as the window's core runs it; the sale id is known once it is journaled."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(t.start_sale(Money(amount, "USD"), code=payment_code())))
    worker.start()
    return worker, out


def abort_in_flight(t, gate: Gate) -> pf.Sale:
    assert gate.held.wait(30), "the pay reached the gateway"
    sale_id = t.last_sale_id
    assert t.load(sale_id).phase is pf.Phase.SENDING, "the pay's answer is held: the sale is in flight"
    return t.abort(sale_id)


# -- the terminal's API, as the window calls it -------------------------------------------------------------
def test_an_abort_while_the_pay_is_in_flight_cancels_a_payment_the_gateway_took(sim, gate, tmp_path):
    d = tmp_path / "t"
    with Runtime(deaf_config(sim, gate), d) as rt:
        t = rt.terminal
        worker, _ = start_in_background(t, 1200)
        stopped = abort_in_flight(t, gate)
        assert ledger(sim)[stopped.id]["status"] == "SUCCESS", "the gateway took the money before the stop"
        gate.deliver()                                  # the answer: paid
        worker.join(30)
        sale = t.wait(stopped.id, lambda s: s.final, 30)
    assert ledger(sim)[sale.id]["status"] == "CANCELLED", "the money went back"
    assert journal_sales(d)[sale.id]["status"] == "CANCELLED" and sale.phase is pf.Phase.CANCELLED
    phases = [to for kind, to in sale_events(d, sale.id) if kind == "state"]
    assert phases == ["SENDING", "CANCELLING", "CANCELLED"], phases
    kinds = [kind for kind, _ in sale_events(d, sale.id)]
    assert kinds.index("abort") < kinds.index("answer"), "the abort was journaled before the pay's answer came"
    # What the screen said meanwhile: the truth, not "cancelled".
    assert stopped.aborted and stopped.phase is pf.Phase.SENDING
    view = sale_view.cashier_view(stopped)
    assert view.headline == STOPPING_WORDS[pf.Phase.SENDING] and not view.can_abort and not view.final


def test_an_abort_while_the_pay_is_in_flight_and_its_answer_is_lost_checks_then_cancels(sim, gate, tmp_path):
    d = tmp_path / "t"
    with Runtime(deaf_config(sim, gate), d) as rt:
        t = rt.terminal
        worker, _ = start_in_background(t, 1300)
        stopped = abort_in_flight(t, gate)
        gate.drop()                                     # no answer: the outcome is unknown
        worker.join(30)
        sale = t.wait(stopped.id, lambda s: s.final, 30)
    assert ledger(sim)[sale.id]["status"] == "CANCELLED"
    assert journal_sales(d)[sale.id]["status"] == "CANCELLED"
    phases = [to for kind, to in sale_events(d, sale.id) if kind == "state"]
    assert phases == ["SENDING", "INQUIRING", "CANCELLING", "CANCELLED"], "inquire, then cancel"


def test_an_abort_while_a_declined_pay_is_in_flight_ends_not_paid_without_a_cancel(sim, gate, tmp_path):
    d = tmp_path / "t"
    with Runtime(deaf_config(sim, gate), d) as rt:
        t = rt.terminal
        worker, _ = start_in_background(t, sc.BALANCE_NOT_ENOUGH)
        stopped = abort_in_flight(t, gate)
        gate.deliver()                                  # the answer: declined
        worker.join(30)
        sale = t.wait(stopped.id, lambda s: s.final, 30)
    assert sale.phase is pf.Phase.FAILED and journal_sales(d)[sale.id]["status"] == "FAILED"
    assert ledger(sim)[sale.id]["status"] == "FAIL" and sim_cancels(sim, sale.id) == [], "final: nothing to cancel"
    assert sale_view.cashier_view(sale).headline == "DECLINED"


# -- the window: Esc while the pay is in flight --------------------------------------------------------------
def test_esc_while_the_pay_is_in_flight_says_what_happens_and_the_money_goes_back(qtbot, sim, gate, tmp_path):
    from PySide6.QtCore import Qt

    from drivers import model
    from pos_app.i18n import set_language
    from ui.app import build

    set_language("en")
    d = tmp_path / "t"
    core, window, customer = build(deaf_config(sim, gate), d, scanners=False)
    qtbot.addWidget(window)
    qtbot.addWidget(customer)
    window.show()
    customer.show()
    core.start()
    try:
        qtbot.waitUntil(lambda: window.ready, timeout=15000)
        for key in "15.00":
            qtbot.keyClick(window, key)
        qtbot.keyClick(window, Qt.Key_F1)
        code = payment_code()
        core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, "]Q1", "test-scanner", time.time(), code.encode(),
                                                "enter"))
        qtbot.waitUntil(gate.held.is_set, timeout=30000)   # the pay reached the gateway; its answer is held
        qtbot.waitUntil(lambda: window.view is not None and window.view.can_abort, timeout=10000)
        qtbot.keyClick(window, Qt.Key_Escape)
        qtbot.waitUntil(lambda: window.headline.text() == STOPPING_WORDS[pf.Phase.SENDING], timeout=10000)
        assert customer.mode == "result", "the customer is not asked to pay any more"
        sale_id = window.counter.sale_id
        gate.deliver()                                  # the answer: paid
        qtbot.waitUntil(lambda: window.headline.text() == "CANCELLED", timeout=30000)
    finally:
        core.stop()
    assert ledger(sim)[sale_id]["status"] == "CANCELLED", "the money went back"
    assert journal_sales(d)[sale_id]["status"] == "CANCELLED"
