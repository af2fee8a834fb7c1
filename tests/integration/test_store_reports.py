"""The store's day for the manager and the fleet for the technician (issue 17, parts 4 and 5), from the CLI:
real tills (Runtime in-process) sell, refund and cancel against the real simulator and replicate to a real
PostgreSQL; ``pos-terminal store ...`` runs as a process on a back-office config whose [store] logs in as the
store's manager. The figures are checked against plain SQL over the raw rows, run by psql as the superuser, and
against each counter's own ``pos-terminal report`` (a counter and the store never disagree)."""

from __future__ import annotations

import pytest
from flowkit import MANAGER_PIN, cli, cli_json, set_manager_pin, write_config
from kit import payment_code, usd
from storekit import shipped_all, wait_for, with_store, with_terminal_id

from pos_app.runtime import Runtime
from pos_app.vocabulary import CANCEL, CANCELLED, REFUND, SALE, SUCCESS

pytestmark = pytest.mark.slow

PIN = MANAGER_PIN + "\n"


def till(sim, store, folder, store_id: str, terminal_id: str):
    """A till of ``store_id`` registered as ``terminal_id``: its config (heartbeat every 5 s) and data dir (its
    manager PIN set)."""
    store.register(store_id, terminal_id)
    section = store.section(folder, store_id, terminal_id, heartbeat_interval=5)
    config = with_store(with_terminal_id(write_config(sim, f"{terminal_id}.toml"), terminal_id), section)
    set_manager_pin(folder / terminal_id)
    return config, folder / terminal_id


def office(sim, store, folder, store_id: str, manager: str):
    """The back office's config: [store] logs in as the store's manager; its own data dir holds the PIN."""
    store.manager(store_id, manager)
    config = with_store(write_config(sim, f"office-{store_id}.toml"),
                        {"database": store.reader(folder, manager), "store_id": store_id, "role": "office",
                         "heartbeat_interval": 600})
    data = folder / f"office-{store_id}"
    set_manager_pin(data)
    return config, data


def ship(config, d, store, terminal_id: str) -> None:
    """Run the till until the store holds all of its journal and a heartbeat sent after that says so."""
    started = float(store.value("SELECT extract(epoch FROM now())"))
    with Runtime(config, d):
        wait_for(lambda: shipped_all(d))
        wait_for(lambda: store.value(
            f"SELECT count(*) FROM pos_store.heartbeats WHERE terminal_id = '{terminal_id}' AND backlog = 0 "
            f"AND extract(epoch FROM at) > {started}") == "1")


def raw_nets(store, where: str) -> dict[tuple[str, str], int]:
    """The net per (terminal, currency) of the rows ``where`` selects, in plain SQL over the raw rows (not
    pos_app.takings): a paid sale, or one its own successful cancel reversed later, adds its amount; a
    successful refund or cancel takes its amount off; nothing else moved money."""
    rows = store.rows(
        f"SELECT t.terminal_id, t.currency, sum(CASE "
        f"WHEN t.kind = '{SALE}' AND (t.status = '{SUCCESS}' OR (t.status = '{CANCELLED}' AND EXISTS ("
        f"SELECT 1 FROM pos_store.transactions c WHERE c.terminal_id = t.terminal_id AND c.parent = t.id "
        f"AND c.kind = '{CANCEL}' AND c.status = '{SUCCESS}'))) THEN t.amount "
        f"WHEN t.kind IN ('{REFUND}', '{CANCEL}') AND t.status = '{SUCCESS}' THEN -t.amount ELSE 0 END) "
        f"FROM pos_store.transactions t WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2")
    return {(r[0], r[1]): int(r[2]) for r in rows}


def net_of(summary: dict) -> dict[str, int]:
    return {currency: figures["net"]["value"] for currency, figures in summary.items()}


def test_the_store_day_x_and_closing_agree_with_the_raw_rows_and_each_counter(sim, store, tmp_path):
    (c1, d1), (c2, d2) = till(sim, store, tmp_path, "S7", "T-1"), till(sim, store, tmp_path, "S7", "T-2")
    oc, od = office(sim, store, tmp_path, "S7", "boss7")
    with Runtime(c1, d1) as rt:
        t = rt.terminal
        paid = t.start_sale(usd(1000), code=payment_code())
        other = t.start_sale(usd(250), code=payment_code())
        assert (paid.status, other.status) == (SUCCESS, SUCCESS)
        t.refund(paid.id, usd(300), "damaged")
        t.cancel(other.id)                       # a paid sale reversed by a manager's cancel
        t.start_sale(usd(9905), code=payment_code())   # declined by the simulator
        t.settle(10)
        day = t.journal.get(paid.id)["day"]
        wait_for(lambda: shipped_all(d1))
    with Runtime(c2, d2) as rt:
        t = rt.terminal
        assert t.start_sale(usd(700), code=payment_code()).status == SUCCESS
        assert t.start_sale(usd(120), code=payment_code()).status == SUCCESS
        t.settle(10)
        wait_for(lambda: shipped_all(d2))

    # the day: every row with its terminal; figures == plain SQL; each line == that counter's own report
    code, data = cli_json("store", "day", "--date", day, config=oc, data_dir=od, input=PIN)
    assert code == 0, data
    raw = raw_nets(store, f"t.store_id = 'S7' AND t.day = '{day}'")
    assert {(t, c): v for t, fig in data["terminals"].items() for c, v in net_of(fig["summary"]).items()} == raw
    assert net_of(data["summary"]) == {"USD": sum(raw.values())}
    assert sum(raw.values()) == 1000 - 300 + 700 + 120     # the 2.50 sale and its cancel net to 0
    counts = store.rows(f"SELECT terminal_id, count(*) FROM pos_store.transactions WHERE store_id = 'S7' "
                        f"AND day = '{day}' GROUP BY 1 ORDER BY 1")
    assert [[t, str(fig["count"])] for t, fig in sorted(data["terminals"].items())] == counts
    assert sorted({x["terminalId"] for x in data["transactions"]}) == ["T-1", "T-2"]
    assert len(data["transactions"]) == data["count"] == sum(int(n) for _t, n in counts)
    for terminal, (config, d) in {"T-1": (c1, d1), "T-2": (c2, d2)}.items():
        code, own = cli_json("report", "--date", day, config=config, data_dir=d)
        assert code == 0, own
        line = data["terminals"][terminal]
        assert (line["count"], line["totals"], line["summary"]) == (own["count"], own["totals"], own["summary"])
    done = cli("store", "day", "--date", day, "--csv", tmp_path / "day.csv", "--pdf", tmp_path / "day.pdf",
               config=oc, data_dir=od, input=PIN)
    assert done.returncode == 0, done.stderr
    assert "T-1" in done.stdout and "T-2" in done.stdout
    csv_lines = (tmp_path / "day.csv").read_text().splitlines()
    assert csv_lines[0].startswith("terminalId,") and len(csv_lines) == 1 + data["count"]
    assert (tmp_path / "day.pdf").read_bytes().startswith(b"%PDF")

    # the store's X: each counter's line is its own X; the store's is their sum
    code, sx = cli_json("store", "x", config=oc, data_dir=od, input=PIN)
    assert code == 0, sx
    nets: dict[str, int] = {}
    for terminal, (config, d) in {"T-1": (c1, d1), "T-2": (c2, d2)}.items():
        code, own = cli_json("report", "--x", config=config, data_dir=d)
        assert code == 0, own
        line = sx["terminals"][terminal]
        assert (line["count"], line["totals"], line["summary"]) == (own["session"]["count"], own["totals"],
                                                                    own["summary"])
        for currency, value in net_of(own["summary"]).items():
            nets[currency] = nets.get(currency, 0) + value
    assert net_of(sx["summary"]) == nets
    assert sx["count"] == sum(line["count"] for line in sx["terminals"].values())

    # the closing: refused while a counter has no Z (both listed), nothing written
    done = cli("store", "z", "--date", day, "--json", config=oc, data_dir=od, input=PIN)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    import json
    refused = json.loads(done.stdout)
    assert refused["closed"] is False
    assert sorted(b["terminal"] for b in refused["blockers"]) == ["T-1", "T-2"]
    assert all("Z" in b["why"] for b in refused["blockers"])
    assert store.value("SELECT count(*) FROM pos_store.store_closings") == "0"

    zs = {}
    code, zs["T-1"] = cli_json("report", "--z", config=c1, data_dir=d1, input=PIN)
    assert code == 0, zs["T-1"]
    ship(c1, d1, store, "T-1")
    code, refused = cli_json("store", "z", "--date", day, config=oc, data_dir=od, input=PIN)
    assert code == 1 and [b["terminal"] for b in refused["blockers"]] == ["T-2"], refused
    assert store.value("SELECT count(*) FROM pos_store.store_closings") == "0"

    code, zs["T-2"] = cli_json("report", "--z", config=c2, data_dir=d2, input=PIN)
    assert code == 0, zs["T-2"]
    ship(c2, d2, store, "T-2")
    code, closed = cli_json("store", "z", "--date", day, "--by", "Mia", config=oc, data_dir=od, input=PIN)
    assert code == 0, closed
    assert closed["closed"] is True and closed["blockers"] == []
    body = closed["report"]
    assert body["closedBy"] == "Mia" and body["anyway"] is False and body["disagreements"] == []
    for terminal, own in zs.items():
        assert net_of(body["terminals"][terminal]["summary"]) == net_of(own["summary"])
        assert [z["number"] for z in body["terminals"][terminal]["z"]] == [own["number"]]
    covered = raw_nets(store, "t.store_id = 'S7' AND (t.terminal_id, t.z_number) IN (SELECT terminal_id, number "
                              f"FROM pos_store.z_reports WHERE store_id = 'S7' AND day = '{day}')")
    assert net_of(body["summary"]) == {"USD": sum(covered.values())}
    assert store.rows("SELECT store_id, day, sha256, body->>'closedBy' FROM pos_store.store_closings") == [
        ["S7", day, body["sha256"], "Mia"]]

    # a second close of that day is refused in words; the first stays the only one
    again = cli("store", "z", "--date", day, config=oc, data_dir=od, input=PIN)
    assert again.returncode == 1 and "closed already" in again.stderr, again.stderr
    assert store.value("SELECT count(*) FROM pos_store.store_closings") == "1"

    # another store: its till took no Z; --anyway closes past it and the closing keeps it
    c3, d3 = till(sim, store, tmp_path, "S8", "T-3")
    with Runtime(c3, d3) as rt:
        assert rt.terminal.start_sale(usd(500), code=payment_code()).status == SUCCESS
        wait_for(lambda: shipped_all(d3))
    store.manager("S8", "boss8")
    other = ["--store", "S8", "--database", store.reader(tmp_path, "boss8")]
    code, refused = cli_json("store", "z", "--date", day, *other, config=oc, data_dir=od, input=PIN)
    assert code == 1 and [b["terminal"] for b in refused["blockers"]] == ["T-3"], refused
    code, closed = cli_json("store", "z", "--date", day, "--anyway", *other, config=oc, data_dir=od, input=PIN)
    assert code == 0 and closed["closed"] is True, closed
    assert store.rows("SELECT body->>'anyway', body->'blockers'->0->>'terminal' FROM pos_store.store_closings "
                      "WHERE store_id = 'S8'") == [["true", "T-3"]]

    # words, never a traceback: the S7 manager asks for S8; a password in --database; a till's own login
    denied = cli("store", "day", "--store", "S8", config=oc, data_dir=od, input=PIN)
    assert denied.returncode == 2 and "no terminal of store S8" in denied.stderr, denied.stderr
    url = store.reader(tmp_path, "boss7").replace("boss7@", "boss7:pw-boss7@")
    denied = cli("store", "day", "--database", url, config=oc, data_dir=od, input=PIN)
    assert denied.returncode == 2 and "password" in denied.stderr and "pw-boss7" not in denied.stderr
    own_login = store.section(tmp_path, "S7", "T-1")["database"]
    denied = cli("store", "x", "--database", own_login, config=oc, data_dir=od, input=PIN)
    assert denied.returncode == 2 and "terminal's own login" in denied.stderr, denied.stderr
    for done in (denied,):
        assert "Traceback" not in done.stderr


def test_the_fleet_lists_stale_and_failing_terminals_first_with_their_reasons(sim, store, tmp_path):
    (c4, d4), (c7, d7) = till(sim, store, tmp_path, "S9", "T-4"), till(sim, store, tmp_path, "S9", "T-7")
    store.register("S9", "T-5")                   # registered, never started: no heartbeat
    c6, d6 = till(sim, store, tmp_path, "S9", "T-6")
    oc, od = office(sim, store, tmp_path, "S9", "boss9")
    for config, d, terminal in ((c4, d4, "T-4"), (c6, d6, "T-6"), (c7, d7, "T-7")):
        ship(config, d, store, terminal)
    # as the superuser: T-6 last heard of an hour ago, T-7's clock two minutes off the store's
    store.value("UPDATE pos_store.heartbeats SET at = now() - interval '1 hour' WHERE terminal_id = 'T-6'")
    store.value("UPDATE pos_store.heartbeats SET clock_offset_s = 120 WHERE terminal_id = 'T-7'")

    code, fleet = cli_json("store", "terminals", config=oc, data_dir=od)
    assert code == 0, fleet
    rows = fleet["terminals"]
    assert [r["terminal"] for r in rows] == ["T-5", "T-6", "T-7", "T-4"]
    by = {r["terminal"]: r for r in rows}
    assert by["T-5"]["stale"] and "never sent a heartbeat" in by["T-5"]["problems"][0]
    assert by["T-6"]["stale"] and "silent" in by["T-6"]["problems"][0] and by["T-6"]["ageSeconds"] >= 3600
    assert not by["T-7"]["stale"] and any("clock" in p for p in by["T-7"]["problems"])
    assert by["T-4"]["ok"] and by["T-4"]["backlog"] == 0 and by["T-4"]["version"]
    assert by["T-4"]["queueDepth"] == 0 and by["T-4"]["needsReview"] == 0
    text = cli("store", "terminals", config=oc, data_dir=od)
    assert text.returncode == 0 and text.stdout.index("T-5") < text.stdout.index("T-4"), text.stdout
    assert "never sent a heartbeat" in text.stdout


def test_a_z_the_stored_rows_do_not_add_up_to_holds_the_closing_back(sim, store, tmp_path):
    c8, d8 = till(sim, store, tmp_path, "S10", "T-8")
    oc, od = office(sim, store, tmp_path, "S10", "boss10")
    with Runtime(c8, d8) as rt:
        sale = rt.terminal.start_sale(usd(800), code=payment_code())
        assert sale.status == SUCCESS
        day = rt.terminal.journal.get(sale.id)["day"]
    code, own = cli_json("report", "--z", config=c8, data_dir=d8, input=PIN)
    assert code == 0, own
    ship(c8, d8, store, "T-8")
    # as the superuser: the store's copy of the sale no longer says what the Z covered
    store.value("UPDATE pos_store.transactions SET amount = amount + 1 WHERE terminal_id = 'T-8'")
    code, refused = cli_json("store", "z", "--date", day, config=oc, data_dir=od, input=PIN)
    assert code == 1 and refused["closed"] is False, refused
    assert [b["terminal"] for b in refused["blockers"]] == ["T-8"]
    assert "8.00" in refused["blockers"][0]["why"] and "8.01" in refused["blockers"][0]["why"]
    done = cli("store", "z", "--date", day, "--anyway", config=oc, data_dir=od, input=PIN)
    assert done.returncode == 0 and "DISAGREEMENT" in done.stderr and "T-8" in done.stderr, done.stderr
    assert store.value("SELECT jsonb_array_length(body->'disagreements') FROM pos_store.store_closings "
                       "WHERE store_id = 'S10'") == "1"


def test_a_store_that_does_not_answer_or_refuses_the_login_is_said_in_words(sim, store, tmp_path):
    oc, od = office(sim, store, tmp_path, "S11", "boss11")
    store.register("S11", "T-9")
    nobody = f"postgresql://nobody@127.0.0.1:{store.cluster.port}/store?sslmode=disable"
    down = "postgresql://boss11@127.0.0.1:1/store?sslmode=disable"
    store.value("CREATE DATABASE not_the_store")     # boss11 logs in there, but there is no pos_store
    passfile = tmp_path / "elsewhere.pgpass"
    passfile.write_text(f"127.0.0.1:{store.cluster.port}:not_the_store:boss11:pw-boss11\n")
    passfile.chmod(0o600)
    elsewhere = (f"postgresql://boss11@127.0.0.1:{store.cluster.port}/not_the_store?sslmode=disable"
                 f"&passfile={passfile}")
    for database, words in ((nobody, "refused the login"), (down, "does not answer"),
                            (elsewhere, "refused the report")):
        done = cli("store", "terminals", "--database", database, config=oc, data_dir=od)
        assert done.returncode == 2 and words in done.stderr, (database, done.stderr)
        assert "Traceback" not in done.stderr
