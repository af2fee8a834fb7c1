"""The store in the windows (issue 17, parts 4 and 5): a kiosk on a real X server, driven only by X events
(tests/xkit.py), against a real PostgreSQL (tests/storekit.py) and the real simulator.

Two tills, T-A and T-B, sell (T-B also refunds part of a sale) and replicate to the store before the window
starts; the window is T-A's, its [store] with a ``reader``: a store manager's login. In manager mode (F9 and
the PIN), the Store tab shows every counter's day with a terminal column: its rows and its nets per terminal and
for the store are checked against plain SQL over the store's raw rows (psql as the superuser), and against
``pos-terminal store day --json`` beside the running till. The store X names both counters. Closing the store's
day asks first, then lists both counters (neither took its Z) and asks again: No closes nothing (read back in
SQL); Yes closes it anyway, and the closing row says so. In technician mode (F10), the Fleet tab lists both
terminals and this terminal's replication. Screenshots of each state are saved (POS_E2E_ARTIFACTS when set).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # the screenshots' walk below; the kiosks set their own

from pathlib import Path

import pytest
import xkit
from flowkit import MANAGER_PIN, cli_json, journal_query, set_manager_pin, write_config
from kit import payment_code
from storekit import shipped_all, wait_for, with_store, with_terminal_id

from offline_queue.journal import Journal
from pos_app import services
from pos_app.money import Money
from pos_app.runtime import Runtime

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TECHNICIAN_PIN = "135791"
STORE, MANAGER_ROLE = "S1", "store_manager_s1"
SALES = {"T-A": [1234, 500], "T-B": [2000, 750, 99]}
REFUND = ("T-B", 0, 300)   # T-B refunds 3.00 of its first sale


def sell(config, data_dir, terminal: str) -> None:
    """The till's sales (and T-B's refund) through its Runtime in this process, shipped to the store."""
    with Runtime(config, data_dir) as rt:
        t = rt.terminal
        paid = [t.start_sale(Money(minor, "USD"), code=payment_code()) for minor in SALES[terminal]]
        assert all(s.status == "SUCCESS" for s in paid), paid
        if terminal == REFUND[0]:
            services.technician.pin_set(services.counter("setup"), t.journal, "manager", MANAGER_PIN)
            grant = services.unlock(t.journal, "manager", MANAGER_PIN, asked_by="test")
            refund = services.manager.refund(grant, t, paid[REFUND[1]].id, Money(REFUND[2], "USD"), "test")
            wait_for(lambda: (t.load(refund.id) or refund).final)
            assert t.load(refund.id).status == "SUCCESS"
        wait_for(lambda: shipped_all(data_dir))


# -- reading the screen ----------------------------------------------------------------------------------
def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def widget(probe: dict, cls: str, name: str) -> dict | None:
    found = window(probe, cls)
    return next((w for w in found["widgets"] if w["objectName"] == name), None) if found else None


def text(probe: dict, cls: str, name: str) -> str:
    return (widget(probe, cls, name) or {}).get("text") or ""


def tab_of(probe: dict, cls: str) -> int | None:
    found = window(probe, cls)
    bars = [w for w in (found or {"widgets": []})["widgets"] if w["class"] == "QTabBar"]
    return bars[0]["currentTab"] if bars else None


def box_text(probe: dict) -> str:
    return text(probe, "QMessageBox", "qt_msgbox_label")


def go_to_tab(till, cls: str, index: int) -> dict:
    """Ctrl+Tab until tab ``index`` of the window is shown (a person's way through the tabs)."""
    probe = till.probe()
    for _step in range(10):
        if tab_of(probe, cls) == index:
            return probe
        current = tab_of(probe, cls)
        till.key("ctrl+Tab")
        probe = till.wait_for(lambda p, c=current: tab_of(p, cls) != c, what=f"{cls}: the next tab", timeout=10)
    raise AssertionError(f"{cls}: tab {index} not reached")


def assert_nothing_cut_off(probe: dict, cls: str, shot) -> None:
    """Every visible widget of the window whole on its screen (the kiosk's smaller one, 1024x768)."""
    clipped = [(w["class"], w["objectName"], (w.get("text") or "")[:40]) for w in window(probe, cls)["widgets"]
               if w["clipped"]]
    assert clipped == [], f"{cls}: cut off at 1024x768: {clipped} ({shot})"


def idle_status(cls: str):
    """The window's status line no longer says it is waiting (the store's calls end their words with …)."""
    def check(p):
        return window(p, cls) is not None and not text(p, cls, "status").endswith("…")
    return check


# -- the independent figures -----------------------------------------------------------------------------
def sql_day(store, day: str) -> dict[str, dict]:
    """Per terminal: the ids of the day and the net and paid-sale count, in plain SQL over the store's rows
    (no cancels in this day: a paid sale counts in full, a done refund takes its amount back)."""
    rows = store.rows(f"SELECT terminal_id, id, kind, status, amount FROM pos_store.transactions "
                      f"WHERE store_id = '{STORE}' AND day = '{day}' ORDER BY terminal_id, id")
    out: dict[str, dict] = {}
    for terminal, txn, kind, status, amount in rows:
        mine = out.setdefault(terminal, {"ids": set(), "net": 0, "sales": 0})
        mine["ids"].add(txn)
        if status == "SUCCESS":
            mine["net"] += int(amount) if kind == "sale" else -int(amount) if kind == "refund" else 0
            mine["sales"] += kind == "sale"
    return out


def major(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def test_the_managers_store_tab_and_the_technicians_fleet(store, sim, tmp_path):
    for terminal in SALES:
        store.register(STORE, terminal)
    store.manager(STORE, MANAGER_ROLE)
    reader = store.reader(tmp_path, MANAGER_ROLE)
    configs = {t: with_store(with_terminal_id(write_config(sim, f"{t}.toml"), t),
                             store.section(tmp_path, STORE, t, reader=reader, heartbeat_interval=5))
               for t in SALES}
    till = xkit.Till(tmp_path / "till", config=configs["T-A"], size=(1024, 768))   # the smaller of the store's screens
    dirs = {"T-A": till.data_dir, "T-B": tmp_path / "T-B"}
    for terminal in SALES:
        sell(configs[terminal], dirs[terminal], terminal)
    if not journal_query(dirs["T-A"], "SELECT 1 FROM pins WHERE role = 'manager'"):
        set_manager_pin(dirs["T-A"])
    with Journal.open(dirs["T-A"]) as journal:
        services.technician.pin_set(services.counter("setup"), journal, "technician", TECHNICIAN_PIN)
    day = journal_query(dirs["T-A"], "SELECT day FROM transactions LIMIT 1")[0][0]
    expected = sql_day(store, day)
    assert set(expected) == {"T-A", "T-B"} and sum(len(e["ids"]) for e in expected.values()) == 6

    till.start(timeout=60)
    try:
        # -- manager mode: F9, the PIN --------------------------------------------------------------------
        till.key("F9")
        till.wait_for(lambda p: window(p, "PinDialog") is not None and window(p, "PinDialog")["active"],
                      what="the manager's PIN dialog")
        till.type(MANAGER_PIN)
        till.key("Return")
        probe = till.wait_for(lambda p: (w := window(p, "ManagerWindow")) is not None and w["active"],
                              what="the manager's window")
        bar = next(w for w in window(probe, "ManagerWindow")["widgets"] if w["class"] == "QTabBar")
        assert bar["tabs"][-1] == "Store", bar["tabs"]

        # -- the Store tab: every counter's day, read from the store --------------------------------------
        go_to_tab(till, "ManagerWindow", len(bar["tabs"]) - 1)
        probe = till.wait_for(lambda p: (widget(p, "ManagerWindow", "store_day_table") or {}).get("row_count") == 6
                              and idle_status("ManagerWindow")(p), what="the store's day: 6 rows", timeout=30)
        assert_nothing_cut_off(probe, "ManagerWindow", till.screenshot("store-01-day"))
        table = widget(probe, "ManagerWindow", "store_day_table")
        headers = table["headers"]
        shown = {(row[headers.index("Terminal")], row[headers.index("ID")]) for row in table["rows"]}
        assert shown == {(t, i) for t, e in expected.items() for i in e["ids"]}
        totals = widget(probe, "ManagerWindow", "store_totals")
        th = totals["headers"]
        by_terminal = {row[th.index("Terminal")]: row for row in totals["rows"]}
        assert set(by_terminal) == {"T-A", "T-B", "Whole store"}, totals["rows"]
        for terminal, e in expected.items():
            assert by_terminal[terminal][th.index("Net")] == major(e["net"]), (terminal, by_terminal[terminal])
            assert by_terminal[terminal][th.index("Sales")] == str(e["sales"])
        whole = sum(e["net"] for e in expected.values())
        assert by_terminal["Whole store"][th.index("Net")] == major(whole)
        assert f"{day}: 6 transactions at 2 terminals" in text(probe, "ManagerWindow", "store_rows")

        # the same day through the CLI, at the other counter (the running till holds its own journal)
        def store_cli(*args: str):
            return cli_json("store", *args, config=configs["T-B"], data_dir=dirs["T-B"], input=MANAGER_PIN + "\n")
        code, cli_day = store_cli("day", "--date", day)
        assert code == 0, cli_day
        assert {(t["terminalId"], t.get("refundRequestId") or t["paymentRequestId"])
                for t in cli_day["transactions"]} == shown
        assert cli_day["summary"]["USD"]["net"]["amount"] == major(whole)
        assert {t: f["summary"]["USD"]["net"]["amount"] for t, f in cli_day["terminals"].items()} == \
            {t: major(e["net"]) for t, e in expected.items()}

        # -- the store X ---------------------------------------------------------------------------------
        till.click_on("store_x")
        probe = till.wait_for(lambda p: text(p, "ManagerWindow", "store_report_view").startswith("STORE X REPORT")
                              and idle_status("ManagerWindow")(p), what="the store X report", timeout=30)
        report = text(probe, "ManagerWindow", "store_report_view")
        assert "terminal T-A: 2 transactions" in report and "terminal T-B: 4 transactions" in report, report
        assert "nothing was closed" in text(probe, "ManagerWindow", "status")
        till.screenshot("store-02-x-report")

        # -- closing the store's day: asked, the blockers listed, asked again; No closes nothing ---------------
        till.click_on("store_close")
        probe = till.wait_for(lambda p: "Close the store's day" in box_text(p), what="the closing's question")
        till.click_on("yes")
        probe = till.wait_for(lambda p: "These counters are not ready" in box_text(p),
                              what="the counters not ready, asked again", timeout=30)
        question = box_text(probe)
        assert "T-A" in question and "T-B" in question and "no Z covers yet" in question, question
        till.screenshot("store-03-blockers")
        till.click_on("no")
        probe = till.wait_for(lambda p: window(p, "QMessageBox") is None and "is not closed" in
                              text(p, "ManagerWindow", "status"), what="not closed, said")
        assert "Not ready to close the store's day" in text(probe, "ManagerWindow", "store_report_view")
        assert store.value("SELECT count(*) FROM pos_store.store_closings") == "0"
        code, refused = store_cli("z", "--date", day)
        assert code == 1 and refused["closed"] is False
        assert {b["terminal"] for b in refused["blockers"]} == {"T-A", "T-B"}

        # -- and Yes closes it anyway, kept in the closing --------------------------------------------------
        till.click_on("store_close")
        till.wait_for(lambda p: "Close the store's day" in box_text(p), what="the closing's question")
        till.click_on("yes")
        till.wait_for(lambda p: "These counters are not ready" in box_text(p), what="asked again", timeout=30)
        till.click_on("yes")
        probe = till.wait_for(lambda p: window(p, "QMessageBox") is None and f"The store's day {day} is closed."
                              in text(p, "ManagerWindow", "status"), what="closed, said", timeout=30)
        closing = text(probe, "ManagerWindow", "store_report_view")
        assert closing.startswith(f"STORE CLOSING  {day}  store {STORE}") and "closed anyway by cashier" in closing
        assert_nothing_cut_off(probe, "ManagerWindow", till.screenshot("store-04-closed-anyway"))
        assert store.rows(f"SELECT day, body->>'anyway', body->>'closedBy' FROM pos_store.store_closings "
                          f"WHERE store_id = '{STORE}'") == [[day, "true", "cashier"]]
        code, again = store_cli("z", "--date", day)
        assert code == 1 and again["alreadyClosed"] is True

        # -- technician mode: the fleet, T-B (stopped before the window started) stale and first ------------
        wait_for(lambda: store.value("SELECT extract(epoch FROM now() - at) > 10.5 FROM pos_store.heartbeats "
                                     "WHERE terminal_id = 'T-B'") == "t", timeout=30)
        assert store.value("SELECT extract(epoch FROM now() - at) < 10 FROM pos_store.heartbeats "
                           "WHERE terminal_id = 'T-A'") == "t", "the running till's heartbeats keep coming"
        till.key("Escape")
        till.wait_for(lambda p: window(p, "ManagerWindow") is None and window(p, "CashierWindow")["active"],
                      what="back at the till")
        till.key("F10")
        till.wait_for(lambda p: window(p, "PinDialog") is not None and window(p, "PinDialog")["active"],
                      what="the technician's PIN dialog")
        till.type(TECHNICIAN_PIN)
        till.key("Return")
        probe = till.wait_for(lambda p: (w := window(p, "TechnicianWindow")) is not None and w["active"],
                              what="the technician's window")
        tabs = widget(probe, "TechnicianWindow", "technician_tabs")["tabs"]
        assert tabs[-1] == "Fleet", tabs
        go_to_tab(till, "TechnicianWindow", len(tabs) - 1)
        probe = till.wait_for(lambda p: (widget(p, "TechnicianWindow", "fleet_table") or {}).get("row_count") == 2
                              and idle_status("TechnicianWindow")(p), what="the fleet: 2 terminals", timeout=30)
        fleet = widget(probe, "TechnicianWindow", "fleet_table")
        fh = fleet["headers"]
        names = [row[0] for row in fleet["rows"]]
        assert names == ["T-B", "T-A"], fleet["rows"]
        stale, fresh = fleet["rows"]
        assert stale[fh.index("State")] == "stale" and "silent for" in stale[fh.index("Why")], stale
        # (not "OK" for certain: a heartbeat taken between a journal write and its shipping says backlog 1)
        assert fresh[fh.index("State")] != "stale" and "silent" not in fresh[fh.index("Why")], fresh
        replication = text(probe, "TechnicianWindow", "replication")
        assert replication.startswith("This terminal → the store:") and "changes waiting" in replication
        assert_nothing_cut_off(probe, "TechnicianWindow", till.screenshot("store-05-fleet"))
        code, cli_fleet = store_cli("terminals")
        assert code == 0, cli_fleet
        assert [r["terminal"] for r in cli_fleet["terminals"]] == names, "the window keeps the use case's order"
    finally:
        till.stop()


def test_restore_from_the_store_in_the_technicians_window_and_failures_in_words(store, sim, tmp_path):
    """A disk swap: T-C sold and replicated, then a till with T-C's config starts on a new, empty disk. Its
    [store] has no reader (a till's own login): the Fleet tab says so in words, with what to do. "Restore from
    the store", confirmed, brings T-C's transactions back (the journal's rows equal the store's, both read in
    plain SQL); a second restore is refused in words, nothing changed; a store that stops answering is said so."""
    store.register("S2", "T-C")
    config = with_store(with_terminal_id(write_config(sim, "T-C.toml"), "T-C"),
                        store.section(tmp_path, "S2", "T-C"))
    old_disk = tmp_path / "old-disk"
    with Runtime(config, old_disk) as rt:
        t = rt.terminal
        for minor in (1100, 2200, 3300):
            assert t.start_sale(Money(minor, "USD"), code=payment_code()).status == "SUCCESS"
        wait_for(lambda: shipped_all(old_disk))
    in_store = store.rows("SELECT id, kind, status, amount, final FROM pos_store.transactions "
                          "WHERE terminal_id = 'T-C' ORDER BY id")
    assert len(in_store) == 3

    till = xkit.Till(tmp_path / "new-disk", config=config)
    with Journal.open(till.data_dir) as journal:   # the new disk: only its PIN, as pos-terminal setup leaves it
        services.technician.pin_set(services.counter("setup"), journal, "technician", TECHNICIAN_PIN)
    till.start(timeout=60)
    try:
        till.key("F10")
        till.wait_for(lambda p: window(p, "PinDialog") is not None and window(p, "PinDialog")["active"],
                      what="the technician's PIN dialog")
        till.type(TECHNICIAN_PIN)
        till.key("Return")
        probe = till.wait_for(lambda p: (w := window(p, "TechnicianWindow")) is not None and w["active"],
                              what="the technician's window")
        tabs = widget(probe, "TechnicianWindow", "technician_tabs")["tabs"]
        go_to_tab(till, "TechnicianWindow", len(tabs) - 1)
        probe = till.wait_for(lambda p: "terminal's own login" in text(p, "TechnicianWindow", "status"),
                              what="the fleet refused to a till's own login, in words", timeout=30)
        status = text(probe, "TechnicianWindow", "status")
        assert "→ set [store] reader to a store manager's login" in status, status
        assert text(probe, "TechnicianWindow", "replication").startswith("This terminal → the store:")
        till.screenshot("restore-01-fleet-refused")

        till.click_on("store_restore")
        till.wait_for(lambda p: "Restore this terminal's history from the store?" in box_text(p),
                      what="the restore's question")
        till.click_on("yes")
        probe = till.wait_for(lambda p: "restored from the store: 3 transactions" in text(p, "TechnicianWindow",
                                                                                           "status"),
                              what="restored, said", timeout=30)
        till.screenshot("restore-02-restored")
        mine = journal_query(till.data_dir, "SELECT id, kind, status, amount, final FROM transactions ORDER BY id")
        assert [[i, k, s, str(a), "t" if f else "f"] for i, k, s, a, f in mine] == in_store

        till.click_on("store_restore")
        till.wait_for(lambda p: "Restore this terminal's history from the store?" in box_text(p),
                      what="the restore's question again")
        till.click_on("yes")
        probe = till.wait_for(lambda p: "history of its own" in text(p, "TechnicianWindow", "status"),
                              what="a second restore refused, in words", timeout=30)
        assert "nothing was changed" in text(probe, "TechnicianWindow", "status")
        assert len(journal_query(till.data_dir, "SELECT id FROM transactions")) == 3

        store.cluster.stop("immediate")
        till.click_on("fleet_refresh")
        probe = till.wait_for(lambda p: "the store's database does not answer" in text(p, "TechnicianWindow",
                                                                                       "status"),
                              what="the store away, said in words", timeout=60)
        assert "→ check that the store's PostgreSQL runs" in text(probe, "TechnicianWindow", "status")
        assert text(probe, "TechnicianWindow", "fleet_summary") == \
            "The store's terminals could not be read: see the message below."
        till.screenshot("restore-03-store-away")
    finally:
        till.stop()
        if not store.cluster.running():
            store.cluster.start()


def test_the_screenshots_walk_shoots_the_store_tab_and_the_fleet(store, sim, tmp_path, qtbot):
    """``pos-terminal screenshots``' states for a terminal with [store] (ui.screenshots.store_screens): each
    shot only while its state holds, in the order the walk takes them."""
    from pos_app.i18n import set_language
    from ui.bridge import Core
    from ui.screenshots import store_screens

    store.register("S3", "T-D")
    store.manager("S3", "store_manager_s3")
    config = with_store(with_terminal_id(write_config(sim, "T-D.toml"), "T-D"),
                        store.section(tmp_path, "S3", "T-D", reader=store.reader(tmp_path, "store_manager_s3")))
    data_dir = tmp_path / "T-D"
    with Runtime(config, data_dir) as rt:
        assert rt.terminal.start_sale(Money(4200, "USD"), code=payment_code()).status == "SUCCESS"
        wait_for(lambda: shipped_all(data_dir))
    set_language("en")
    core = Core(config, data_dir, scanners=False)
    core.start()
    out = Path(os.environ.get("POS_E2E_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shots: list[str] = []

    def wait(predicate, timeout: float = 30.0) -> bool:
        qtbot.waitUntil(predicate, timeout=int(timeout * 1000))
        return True

    def shoot(widget, name: str, state=None, sized: bool = True) -> None:
        widget.resize(1280, 800)   # as the walk's first size
        qtbot.wait(300)
        assert state is None or state(), f"{name}: not the state its name says"
        assert widget.grab().save(str(out / f"{name}.png"))
        shots.append(name)
    try:
        qtbot.waitUntil(lambda: core.terminal is not None, timeout=30000)
        store_screens(core, "en", wait, shoot)
        assert shots == ["en-manager-07-store-day", "en-manager-08-store-x", "en-technician-07-fleet"]

        # the store away: the manager's Refresh says so in words, with what to do, and the buttons come back
        from PySide6.QtCore import Qt

        from ui.manager import ManagerWindow
        from ui.screenshots import _grant

        window = ManagerWindow(core, _grant(core, "manager"))
        qtbot.addWidget(window)
        window.show()
        window.tabs.setCurrentIndex(window.tabs.count() - 1)
        qtbot.waitUntil(lambda: window.busy == 0 and window.store_day is not None, timeout=30000)
        store.cluster.stop("immediate")
        qtbot.mouseClick(window.store_panel.refresh_button, Qt.MouseButton.LeftButton)
        assert window.status.text() == f"Reading the store's day {window.day} from the store's database…"
        assert not window.store_panel.refresh_button.isEnabled()
        qtbot.waitUntil(lambda: window.busy == 0, timeout=30000)
        words = window.status.text()
        assert words.startswith("the store's database does not answer:") and \
            "→ check that the store's PostgreSQL runs and this machine reaches it" in words, words
        assert window.store_panel.refresh_button.isEnabled() and window.store_panel.close_button.isEnabled()
        assert window.store_panel.day_table.rowCount() == 0 and window.store_panel.totals.rowCount() == 0, \
            "the day read before the store went away is not left standing as if current"
        assert window.store_panel.rows_label.text() == \
            f"The store's day {window.day} could not be read: see the message above."
    finally:
        core.stop()
        if not store.cluster.running():
            store.cluster.start()

