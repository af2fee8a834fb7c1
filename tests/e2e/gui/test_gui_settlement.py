"""The manager's Settlement tab as a manager uses it (issue 18): on a real X server, in kiosk mode (no window
manager), driven only by X key events and clicks, at the kiosk's small screen (1024x768).

A real sandbox day: sales taken at the till as a cashier takes them (typed amount, F1, a scanner's burst) at the
embedded simulator, two of them the report knobs 9921 (the gateway's reports leave the payment out) and 9923
(its report row says one major unit more). Then F9 and the PIN, Ctrl+Tab to the Settlement tab, and "Fetch the
gateway's reports": the terminal fetches the simulator's report files over its real SFTP server (the sandbox's
[settlement] table) and matches them. What it kept is read back through ``pos-terminal reconcile-settlement --show
--json`` beside the running terminal and held against plain SQL over the journal file: which sales the journal
has paid that day, and the class each must come to by the knobs' own definition (not the matcher's code). Enter
on a difference shows that transaction's history on the Day tab. A screenshot of each state is saved for review.
"""

from __future__ import annotations

import csv
import sqlite3
import tomllib
from contextlib import closing
from datetime import date, timedelta

import pytest
import tomli_w
import xkit
from flowkit import MANAGER_PIN, set_manager_pin, write_config
from kit import payment_code, reserve_port

from pos_app.sim import Simulator

pytestmark = pytest.mark.slow

TILL = {"size": (1024, 768), "language": "en"}
PIN = "246810"   # sandbox mode: the first F9 chooses it (typed twice)
SETTLEMENT_TAB = 4   # Day, Review, Reports, Entry code, Settlement (the Store tab, with [store], comes last)
#: The sales of the day, as typed at the till, and the class each must come to by the simulator's report knobs
#: (pos_app/sim/scenarios.py REPORT_TABLE, by the amount's minor value); any other amount is reported as paid.
SALES = {"12.00": "matched",
         "99.21": "missing_at_gateway",   # REPORT_OMITS: no row for it
         "99.22": "matched",              # REPORT_PHANTOM: reported as paid, and a PAYMENT never made beside it
         "99.23": "amount_mismatch",      # REPORT_WRONG_AMOUNT: one major unit more
         "99.24": "currency_mismatch",    # REPORT_OTHER_CURRENCY: EUR for a USD payment
         "99.26": "pending",              # FX_PENDING: post-quoted, no settlement amount nor fee until T+2
         "99.27": "duplicate",            # REPORT_DUPLICATE: its row twice
         "7.50": "matched"}
PHANTOM = 9922   # the amount of the payment the reports list and nobody made: missing in the journal
#: Each class as the window says it (English).
WORDS = {"matched": "matched", "missing_in_journal": "missing in the journal",
         "missing_at_gateway": "missing at the gateway", "amount_mismatch": "amount differs",
         "currency_mismatch": "currency differs", "pending": "pending FX or fees", "duplicate": "duplicate"}
DIFFERENCES = {"missing_in_journal", "missing_at_gateway", "amount_mismatch", "currency_mismatch", "duplicate"}
EXPECTED_COUNTS = {cls: list(SALES.values()).count(cls) + (cls == "missing_in_journal") for cls in WORDS}


def _window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def _widget(probe: dict, name: str, cls: str = "ManagerWindow") -> dict | None:
    window = _window(probe, cls)
    return next((w for w in window["widgets"] if w["objectName"] == name), None) if window else None


def _text(probe: dict, name: str, cls: str = "ManagerWindow") -> str:
    return ((_widget(probe, name, cls) or {}).get("text") or "").replace("\u00a0", " ")


def _tab(probe: dict) -> int | None:
    window = _window(probe, "ManagerWindow")
    bars = [w for w in (window or {"widgets": []})["widgets"] if w["class"] == "QTabBar"]
    return bars[0]["currentTab"] if bars else None


def sell(till, amount: str) -> None:
    """A sale as the cashier takes it: the amount typed, F1, a scanner's burst, then Return for the next one."""
    till.type(amount)
    till.key("F1")
    till.type(payment_code(), delay_ms=4)   # a scanner's burst; its Return as a key (see test_manager_window)
    till.key("Return")
    value = str(round(float(amount) * 100))

    def paid(_probe) -> bool:
        return any(t["kind"] == "sale" and t["status"] == "SUCCESS" and t["amount"]["value"] == value
                   for t in till.cli("report")["transactions"])
    till.wait_for(paid, what=f"the sale of {amount} paid (pos-terminal report)", timeout=30)
    till.key("Return")


def journal_sales(till) -> dict[int, tuple[str, str]]:
    """Plain SQL over the journal file: the paid sales, amount (minor) -> (id, business day)."""
    uri = f"file:{till.data_dir / 'journal.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute("SELECT amount, id, day FROM transactions WHERE kind = 'sale' AND status = 'SUCCESS'"
                          ).fetchall()
    return {amount: (txn, day) for amount, txn, day in rows}


def kept_findings(till, day: str) -> dict[tuple[str, str], tuple]:
    """Plain SQL over the journal file: what the reconciliation kept for the day, (request id, type) -> row."""
    uri = f"file:{till.data_dir / 'journal.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute("SELECT request_id, type, cls, amount, their_amount FROM settlement_findings WHERE day = ?",
                          (day,)).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def fetched_names(till) -> str:
    """The CSV reports of transactions the fetch downloaded, as the tab lists them (the XLSX twins are the same
    reports, read once; a settlement summary holds totals, no transaction's row)."""
    return ", ".join(sorted(p.name for p in (till.data_dir / "settlement-reports").rglob("*.csv")
                            if not p.name.startswith("settlementSummary_")))


def open_manager(till, *, first: bool = True, pin: str = PIN) -> dict:
    """F9, then the PIN as a person types it (in sandbox mode the first time twice: the window chooses it)."""
    till.key("F9")
    till.wait_for(lambda p: _widget(p, "pin_ok", "PinDialog") is not None and _window(p, "PinDialog")["active"],
                  what="the PIN dialog, with the keyboard", timeout=10)
    till.wait_for(lambda p: bool(_text(p, "pin_prompt", "PinDialog")) and "…" not in _text(p, "pin_prompt",
                                                                                          "PinDialog"),
                  what="the PIN dialog to know what it asks", timeout=10)
    till.type(pin)
    if first:
        till.key("Tab")
        till.type(pin)
    till.key("Return")
    return till.wait_for(lambda p: _window(p, "ManagerWindow") is not None and _window(p, "ManagerWindow")["active"],
                         what="the manager's window, with the keyboard", timeout=20)


def go_to_settlement(till) -> dict:
    """Ctrl+Tab, a person's way through the tabs, to the Settlement tab."""
    probe = till.probe()
    while _tab(probe) != SETTLEMENT_TAB:
        current = _tab(probe)
        assert current is not None and current < SETTLEMENT_TAB, current
        till.key("ctrl+Tab")
        probe = till.wait_for(lambda p, c=current: _tab(p) != c, what="the next tab", timeout=10)
    return till.wait_for(lambda p: bool(_text(p, "settlement_caption")) and _widget(p, "settlement_fetch") is not None,
                         what="the Settlement tab")


def assert_nothing_cut_off(probe: dict, shot) -> None:
    window = _window(probe, "ManagerWindow")
    clipped = [(w["class"], w["objectName"], (w.get("text") or "")[:40]) for w in window["widgets"] if w["clipped"]]
    assert clipped == [], f"cut off at 1024x768: {clipped} ({shot})"


def test_fetch_reconciles_the_sandbox_day_and_enter_on_a_difference_shows_its_history(till):
    till.wait_for(lambda p: _window(p, "CashierWindow") is not None, what="the till")
    for amount in SALES:
        sell(till, amount)
    paid = journal_sales(till)
    ids = {amount: paid[round(float(amount) * 100)][0] for amount in SALES}
    days = {day for _txn, day in paid.values()}
    assert len(paid) == len(set(ids.values())) == len(SALES) and len(days) == 1, paid
    day = days.pop()

    open_manager(till)
    go_to_settlement(till)
    probe = till.wait_for(lambda p: _tab(p) == SETTLEMENT_TAB and "not reconciled" in _text(p, "settlement_caption"),
                          what="the Settlement tab: the day not reconciled yet")
    shot = till.screenshot("settlement-01-not-reconciled-yet")
    assert_nothing_cut_off(probe, shot)
    fetch = _widget(probe, "settlement_fetch")
    assert fetch["enabled"] and fetch["text"] == "Fetch the gateway's reports", (fetch, shot)

    till.click_on("settlement_fetch")
    probe = till.wait_for(lambda p: _text(p, "status").startswith(f"Reconciled {day}"),
                          what="the reconciliation done, said on the status line", timeout=60)
    shot = till.screenshot("settlement-02-fetched-and-matched")
    assert_nothing_cut_off(probe, shot)
    said = _text(probe, "status")
    n_differences = sum(n for cls, n in EXPECTED_COUNTS.items() if cls in DIFFERENCES)
    assert said.startswith(f"Reconciled {day}: {n_differences} differences need a look"), said

    # what was kept, in the journal file (plain SQL), against the journal's own rows and the knobs' definition
    kept = kept_findings(till, day)
    for amount, expected in SALES.items():
        cls, ours, theirs = kept[(ids[amount], "PAYMENT")]
        minor = round(float(amount) * 100)
        assert cls == expected and ours == minor, (amount, kept[(ids[amount], "PAYMENT")])
        if expected == "amount_mismatch":
            assert theirs == minor + 100   # one major unit more: USD's exponent is 2
        elif expected == "matched":
            assert theirs == minor
    phantoms = [(key, row) for key, row in kept.items() if key[0] not in ids.values()]
    assert [(key[1], row) for key, row in phantoms] == [("PAYMENT", ("missing_in_journal", None, PHANTOM))], phantoms
    assert {cls: [row[0] for row in kept.values()].count(cls) for cls in WORDS} == EXPECTED_COUNTS

    # the window shows what was kept: a row a finding, the differences first, each in words
    table = _widget(probe, "settlement_table")
    rows = [dict(zip(table["headers"], (c.replace("\u00a0", " ") for c in row), strict=True)) for row in table["rows"]]
    on_screen = {row["Transaction"]: row["Class"] for row in rows}
    assert {amount: on_screen.get(ids[amount]) for amount in SALES} == \
        {amount: WORDS[cls] for amount, cls in SALES.items()}, rows
    phantom_id = phantoms[0][0][0]
    assert on_screen[phantom_id] == "missing in the journal", rows
    assert {row["Class"] for row in rows[:n_differences]} == {WORDS[cls] for cls in DIFFERENCES}, rows   # first
    assert len(rows) == len(kept), rows
    wrong = next(row for row in rows if row["Transaction"] == ids["99.23"])
    assert wrong["Ours"] == "USD 99.23" and wrong["The gateway's"] == "USD 100.23", wrong
    other = next(row for row in rows if row["Transaction"] == ids["99.24"])
    assert other["Ours"] == "USD 99.24" and other["The gateway's"].startswith("EUR"), other
    phantom = next(row for row in rows if row["Transaction"] == phantom_id)
    assert phantom["Ours"] == "—" and phantom["The gateway's"] == "USD 99.22", phantom
    counts = _text(probe, "settlement_counts")
    assert all(f"{WORDS[cls]}: {n}" in counts for cls, n in EXPECTED_COUNTS.items()), counts
    how = _text(probe, "settlement_how")
    assert f"The gateway's rows come from: {fetched_names(till)}" in how, how
    totals = _widget(probe, "settlement_totals")
    assert "USD" in [row[0] for row in totals["rows"]], totals

    # the same report again, as a manager imports a file downloaded from the dashboard: picked in Qt's own file
    # dialog (its name typed), read, and said to be in already; nothing changes
    fetched = sorted((till.data_dir / "settlement-reports").rglob("transactionItems_*.csv"))
    assert fetched, f"no transactions report fetched under {till.data_dir / 'settlement-reports'}"
    till.click_on("settlement_import")
    till.wait_for(lambda p: (_window(p, "QFileDialog") or {}).get("active"), what="Qt's file dialog, with the keyboard")
    till.click_on("fileNameEdit")
    till.type(str(fetched[0]), delay_ms=20)
    till.screenshot("settlement-03-import-dialog")
    till.key("Return")
    probe = till.wait_for(lambda p: _window(p, "QFileDialog") is None and "Nothing new: already imported on"
                          in _text(p, "status"), what="the same report said to be in already", timeout=30)
    shot = till.screenshot("settlement-04-the-same-report-again")
    assert_nothing_cut_off(probe, shot)
    assert f"Reconciled {day}: {n_differences} differences need a look" in _text(probe, "status")
    assert f"Skipped {fetched[0].name}: already imported on" in _text(probe, "settlement_how")
    assert kept_findings(till, day) == kept

    # a file cut short (its last line, <END>, lost in a download): refused in words with what to do, nothing of it kept
    cut = till.folder / "cut" / fetched[0].name.replace("_000.csv", "_001.csv")
    cut.parent.mkdir()
    text = fetched[0].read_text(encoding="utf-8")
    assert text.rstrip().endswith("<END>"), text[-200:]
    cut.write_text(text.rstrip()[: -len("<END>")], encoding="utf-8")
    till.click_on("settlement_import")
    till.wait_for(lambda p: (_window(p, "QFileDialog") or {}).get("active"), what="Qt's file dialog, with the keyboard")
    till.click_on("fileNameEdit")
    till.key("ctrl+a")
    till.type(str(cut), delay_ms=20)
    till.key("Return")
    probe = till.wait_for(lambda p: _text(p, "status").startswith(f"{cut.name} is cut short"),
                          what="the cut file refused", timeout=30)
    shot = till.screenshot("settlement-05-a-file-cut-short")
    assert_nothing_cut_off(probe, shot)
    said = _text(probe, "status")
    assert "<END>" in said and "\n→ " in said and said.count("\n") == 1, said   # what is wrong; what to do
    assert f"REFUSED {cut.name}" in _text(probe, "settlement_how")
    assert kept_findings(till, day) == kept

    # exported as the Reports tab exports: the path typed in the save dialog; one CSV row a finding, as kept
    target = till.folder / "exports" / f"settlement-{day}.csv"
    target.parent.mkdir()
    till.click_on("settlement_csv")
    till.wait_for(lambda p: (_window(p, "QFileDialog") or {}).get("active"), what="the save dialog, with the keyboard")
    till.click_on("fileNameEdit")
    till.key("ctrl+a")
    till.type(str(target), delay_ms=20)
    till.key("Return")
    till.wait_for(lambda p: _text(p, "status") == f"written to {target}", what="the CSV written, said", timeout=30)
    with target.open(newline="", encoding="utf-8") as f:
        exported = {(row["requestId"], row["type"]): row["class"] for row in csv.DictReader(f)}
    assert exported == {key: row[0] for key, row in kept.items()}, exported

    # a double click on a row only the gateway has: said so, nothing else opens
    x, y, w, h = till.click_cell(phantom_id)
    till._x("xdotool", "mousemove", "--sync", str(x + w // 2), str(y + h // 2), "click", "--repeat", "2",
            "--delay", "80", "1")
    probe = till.wait_for(lambda p: f"{phantom_id} is not in this terminal's journal" in _text(p, "status"),
                          what="the phantom said to be only the gateway's")
    assert _tab(probe) == SETTLEMENT_TAB

    # Enter on a difference: its history, the way the Day tab shows a selected transaction
    till.click_cell(ids["99.23"])
    till.key("Return")
    probe = till.wait_for(lambda p: _tab(p) == 0 and ids["99.23"] in _text(p, "detail"),
                          what="the amount difference's history on the Day tab")
    till.screenshot("settlement-06-history-of-the-difference")
    assert "History" in _text(probe, "detail")

    # the business day moved (the day before, by the date box's Down key): the tab shows that day's own result,
    # none, and the day's again when moved back
    go_to_settlement(till)
    box = next(w for w in _window(till.probe(), "ManagerWindow")["widgets"] if w["class"] == "QDateEdit")
    x, y, _w, h = box["geometry"]
    till.click_at(x + 62, y + h // 2)   # on the day's digits ("2026-12-06": the last two)
    till.key("Down")
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    probe = till.wait_for(lambda p: _text(p, "settlement_caption").startswith(f"{before}: not reconciled"),
                          what="the day before: not reconciled", timeout=20)
    assert _widget(probe, "settlement_table")["rows"] == [] and _widget(probe, "settlement_totals")["rows"] == []
    shot = till.screenshot("settlement-07-the-day-before")
    assert_nothing_cut_off(probe, shot)
    till.key("Up")
    probe = till.wait_for(lambda p: _text(p, "settlement_caption").startswith(f"{day} held against")
                          and len(_widget(p, "settlement_table")["rows"]) == len(rows), what="the day again")
    again = [dict(zip(table["headers"], (c.replace("\u00a0", " ") for c in row), strict=True))
             for row in _widget(probe, "settlement_table")["rows"]]
    assert again == rows
    till.key("Escape")

    # kept, not only shown: with the till closed (the CLI refuses a journal a running till holds, and the manager's
    # PIN check writes), `reconcile-settlement --show` reads the same result back; exit 1 is its "differences found"
    till.stop()
    shown = till.cli("reconcile-settlement", "--show", "--date", day, input=PIN + "\n", check=False)
    assert isinstance(shown, dict) and "findings" in shown, shown
    by_request = {f["requestId"]: f for f in shown["findings"]}
    for amount, expected in SALES.items():
        finding = by_request.get(ids[amount])
        assert finding is not None, f"the sale of {amount} ({ids[amount]}) is not in the result: {shown}"
        assert (finding["type"], finding["class"]) == ("PAYMENT", expected), (amount, finding)
        assert finding["class"] == kept[(ids[amount], "PAYMENT")][0]
    assert shown["counts"] == EXPECTED_COUNTS, shown["counts"]
    assert by_request[phantom_id]["class"] == "missing_in_journal" and by_request[phantom_id]["ours"] is None
    assert [row["Transaction"] for row in rows] == [f["requestId"] for f in shown["findings"]]   # the same order


def test_without_sftp_fetch_is_off_with_words_and_a_dead_sftp_server_is_said_with_what_to_do(tmp_path):
    """A live terminal (a config of its own, the PIN set at the prompt): with no [settlement] sftp the Fetch
    button is off and the tab says why and what to do instead; with one that leads nowhere (a held port nothing
    listens on), Fetch fails on the window's status line, in words, with the next step, and nothing is kept."""
    sim = Simulator(tmp_path / "gateway", "127.0.0.1", reserve_port()).start()
    config = write_config(sim)
    till = xkit.Till(tmp_path / "till", config=config)
    try:
        set_manager_pin(till.data_dir)
        till.start()
        open_manager(till, first=False, pin=MANAGER_PIN)
        probe = go_to_settlement(till)
        shot = till.screenshot("settlement-live-01-no-sftp")
        assert_nothing_cut_off(probe, shot)
        assert not _widget(probe, "settlement_fetch")["enabled"], shot
        note = _text(probe, "settlement_fetch_note")
        assert "[settlement] sftp" in note and "import them" in note, note
        assert _widget(probe, "settlement_import")["enabled"]
        till.stop()

        secrets = tmp_path / "sftp"
        secrets.mkdir()
        (secrets / "password").write_text("not-used\n")
        (secrets / "password").chmod(0o600)
        (secrets / "known_hosts").write_text("[127.0.0.1]:22 ssh-ed25519 "
                                             "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
        dead = reserve_port()   # held, never listening: a connect is refused, as by a server that is down
        doc = tomllib.loads(config.read_text())
        doc["settlement"] = {"sftp": f"sftp://merchant@127.0.0.1:{dead}/v1/settlements/{sim.client_id}",
                             "password_file": str(secrets / "password"), "known_hosts": str(secrets / "known_hosts")}
        config.write_text(tomli_w.dumps(doc))
        till.start()
        open_manager(till, first=False, pin=MANAGER_PIN)
        go_to_settlement(till)
        till.click_on("settlement_fetch")
        probe = till.wait_for(lambda p: "refused the connection" in _text(p, "status"),
                              what="the failed fetch said on the status line", timeout=60)
        shot = till.screenshot("settlement-live-02-sftp-down")
        assert_nothing_cut_off(probe, shot)
        said = _text(probe, "status")
        assert f"127.0.0.1:{dead}" in said and "\n→ " in said, said   # the next step on its own line
        assert "not reconciled" in _text(probe, "settlement_caption")
        assert _widget(probe, "settlement_fetch")["enabled"]   # free to try again
        uri = f"file:{till.data_dir / 'journal.sqlite'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:   # nothing fetched, nothing run, nothing kept
            kept = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("settlement_files", "settlement_runs", "settlement_findings")]
        assert kept == [0, 0, 0], kept
    finally:
        till.stop()
        sim.stop()
