"""What replicating the journals to the store's PostgreSQL costs and how far behind it runs, in one run:

    .venv/bin/python benchmarks/bench_store.py [--quick]

A real PostgreSQL (tests/pgkit.py: a throwaway cluster, fsync on) with the store's schema migrated by an
owner role (the steps of tests/storekit.py's ``store_cluster``), terminals registered with their own logins
and row-level security, and the real code: the journal's triggers (``offline_queue.outbound``) and
``pos_app.store.replicator.Replicator`` in each terminal's process.

1. Ingest: 1, 4 and 16 terminals, each its own process and its own journal pre-filled with the same sales
   (a template journal made by real sales against the simulator, then cloned through ``Journal.record_many``
   so the triggers queue every row as a till's would, copied once per terminal). From one "go" to the moment
   each terminal's cursor reaches its last outbound row, shipped by the real Replicator thread with the
   terminal's own login. The floor: the same rows (read back from the 16-terminal run) loaded by the owner
   with one ``COPY`` per table in one transaction, for 16 fresh terminals. Goal: >= 0.5x COPY at 16.
2. Lag: 16 terminal processes, each a Runtime (its replicator on) selling against a simulator embedded in
   that process, paced at 5 sales a second each (open loop: a late sale starts at once, so the rate achieved
   is what the machine gave). Lag per event = the store's ``events.received_at`` minus the journal's ``at``.
   ``received_at`` is ``now()``, the shipping transaction's start on the server's clock (the same machine's
   clock as the journal's): the batch's own time to commit is reported beside it. Goal: p99 <= 1 s.
3. Sale p99 with replication on against off: one Runtime (reconciler on, no receiver, no printing) with and
   without ``[store]``, in alternating rounds against the same simulator (``pos-terminal sim`` in its own
   process), sales back to back (the replicator ships each sale during the next one: the worst case).
   Goal: on <= 1.05x off.

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # pgkit: the throwaway cluster
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))             # this checkout, not an installed copy

import table  # benchmarks/table.py
from pgkit import Cluster

ROOT = Path(__file__).resolve().parents[1]

STORE = "S1"
OWNER, OWNER_PW, DB = "store_owner", "owner-pw", "store"
SETTLE = 0.3               # seconds a sale round waits after the Runtime started (the store connected) in both modes
SALE_AMOUNT_MINOR = 1000    # any amount but the simulator's scenario ones (99xx) succeeds at once
FULL = {"sales": 1500, "template": 8, "terminals": (1, 4, 16), "lag_terminals": 16, "rate": 5.0, "lag_s": 30.0,
        "rounds": 10, "round_sales": 60, "paced": 20, "warmup": 5}
QUICK = {"sales": 60, "template": 3, "terminals": (1, 4), "lag_terminals": 4, "rate": 5.0, "lag_s": 4.0,
         "rounds": 2, "round_sales": 6, "paced": 3, "warmup": 2}


def say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def rank(n: int) -> int:
    """Which one from the slowest the nearest-rank p99 of ``n`` values is."""
    return n - max(0, min(n - 1, int(-(-99 * n // 100)) - 1))


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def payment_code() -> str:
    return "28" + f"{secrets.randbelow(10**16):016d}"


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- the store ------------------------------------------------------------------------------------------

class Store:
    """The cluster, the store's database migrated by its owner, and terminals' logins with passfiles."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        if os.geteuid() == 0:
            os.chmod(folder, 0o755)   # the server's account (pgkit runs it as postgres under root) walks through
        self.cluster = Cluster(folder / "pg").init().start()
        self.cluster.psql(f"CREATE ROLE {OWNER} LOGIN CREATEROLE PASSWORD '{OWNER_PW}'")
        self.cluster.psql(f"CREATE DATABASE {DB} OWNER {OWNER}")
        from pos_app.store import schema

        with self.owner() as conn:
            schema.migrate(conn)
        self.passfiles = folder / "pass"
        self.passfiles.mkdir()

    def owner(self):
        import psycopg

        return psycopg.connect(self.cluster.url(OWNER, DB, OWNER_PW), autocommit=True, connect_timeout=10)

    def register(self, terminal_ids: list[str]) -> dict[str, dict]:
        """Each terminal's login (password ``pw-<terminal>``) and its [store] table, reached by a passfile."""
        from pos_app.store import schema

        sections = {}
        with self.owner() as conn:
            for tid in terminal_ids:
                role = schema.register_terminal(conn, STORE, tid, password=f"pw-{tid}")
                passfile = self.passfiles / f"{role}.pgpass"
                passfile.write_text(f"127.0.0.1:{self.cluster.port}:{DB}:{role}:pw-{tid}\n")
                os.chmod(passfile, 0o600)
                sections[tid] = {"database": f"postgresql://{role}@127.0.0.1:{self.cluster.port}/{DB}"
                                             f"?sslmode=disable&passfile={passfile}", "store_id": STORE}
        return sections

    def cpu(self) -> float:
        """CPU seconds the server has used: the postmaster, its live processes, and (reaped by the postmaster)
        those that ended: where the server's side of a run goes, beside the terminals' own."""
        tick = os.sysconf("SC_CLK_TCK")
        pid = int((self.cluster.data / "postmaster.pid").read_text().split()[0])

        def stat(p: int) -> list[str]:
            text = Path(f"/proc/{p}/stat").read_text()
            return text[text.rindex(")") + 2:].split()   # fields from the 3rd (state) on

        own = stat(pid)
        total = sum(int(x) for x in own[11:15])   # utime, stime, cutime, cstime
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != pid:
                try:
                    fields = stat(int(entry))
                except (OSError, ValueError):
                    continue
                if int(fields[1]) == pid:
                    total += int(fields[11]) + int(fields[12])
        return total / tick

    def value(self, sql: str, params: tuple = ()):
        with self.owner() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def stop(self) -> None:
        self.cluster.stop("immediate")


def store_config(section: dict):
    from pos_app.config import parse_store

    return parse_store(Path("bench_store"), section, STORE)


# -- the template journal -------------------------------------------------------------------------------

def make_template(folder: Path, real_sales: int, sales: int) -> dict:
    """A journal of ``sales`` sales: ``real_sales`` real ones against the simulator (in process), then clones
    of them written through ``Journal.record_many`` (the insert with its first events, then the final row
    with the rest), 50 sales a commit. The triggers queue each as a till's would."""
    from offline_queue.journal import TRANSACTION_COLUMNS, Journal
    from pos_app.money import Money
    from pos_app.runtime import Runtime
    from pos_app.sim import Simulator
    from pos_app.sim.provision import terminal_toml

    sim = Simulator(folder / "sim", "127.0.0.1", 0, notify_time_scale=0.001).start()
    try:
        config = folder / "sim" / "template.toml"
        config.write_text(terminal_toml(sim.url, sim.client_id, "127.0.0.1:9", "http://127.0.0.1:9/notify"))
        data = folder / "template"
        with Runtime(config, data, receiver=False, background=False, printing=False) as rt:
            for _ in range(real_sales):
                sale = rt.terminal.start_sale(Money(SALE_AMOUNT_MINOR, "USD"), code=payment_code())
                if sale.status != "SUCCESS":
                    raise SystemExit(f"template sale {sale.id}: {sale.status}")
    finally:
        sim.stop()
    journal = Journal.open(data)
    try:
        shapes = []
        for row in journal.query("SELECT * FROM transactions ORDER BY created_at"):
            events = journal.query("SELECT kind, detail FROM events WHERE txn = ? ORDER BY seq", (row["id"],))
            shapes.append((dict(row), [(e["kind"], json.loads(e["detail"])) for e in events]))
        cols = [c for c in (*TRANSACTION_COLUMNS, "unmatched") if c in shapes[0][0]]
        changes = []
        for i in range(sales - real_sales):
            row, events = shapes[i % len(shapes)]
            new_id = f"{row['id'][:-8]}{i:08d}"
            now = time.time()
            text = json.dumps(events).replace(row["id"], new_id)
            events = [tuple(e) for e in json.loads(text)]
            full = {c: row[c] for c in cols}
            full.update(id=new_id, created_at=now, updated_at=now,
                        state=(row["state"] or "").replace(row["id"], new_id) or None)
            first = dict(full, status="UNKNOWN", phase="SENDING", final=0)
            changes.append((first, {"insert": True, "events": events[:2]}))
            changes.append(({c: full[c] for c in cols}, {"events": events[2:]}))
            if len(changes) >= 100:
                journal.record_many(changes)
                changes = []
        if changes:
            journal.record_many(changes)
        counts = {"sales": journal.query("SELECT count(*) FROM transactions")[0][0],
                  "events": journal.query("SELECT count(*) FROM events")[0][0],
                  "outbound": journal.query("SELECT count(*) FROM outbound")[0][0],
                  "per_sale": len(shapes[0][1])}
    finally:
        journal.close()
    return counts


# -- children -------------------------------------------------------------------------------------------

def child_ship(data_dir: str, terminal_id: str, section: str) -> int:
    """One terminal shipping its pre-filled journal: ready, wait for "go", then the real Replicator thread;
    reports when the cursor reached the journal's last outbound row."""
    import psycopg  # noqa: F401  (imported before "go": a running till has it loaded; the connect itself is timed)

    from offline_queue import outbound
    from offline_queue.journal import Journal
    from pos_app.store import replicator

    journal = Journal.open(Path(data_dir))
    last = journal.query("SELECT max(seq) FROM outbound")[0][0]
    done = threading.Event()
    stamps: dict = {"ship": []}
    real_advance, real_ship = outbound.advance, replicator.ship

    def advance(j, upto, at, name=outbound.CURSOR):
        real_advance(j, upto, at, name)
        if upto >= last:
            stamps["done_at"] = time.time()
            done.set()

    def ship(*args, **kw):
        stamps.setdefault("first_at", time.time())   # connected, login and identity checked
        started = time.perf_counter()
        real_ship(*args, **kw)
        stamps["ship"].append(time.perf_counter() - started)
    outbound.advance, replicator.ship = advance, ship
    rep = replicator.Replicator(journal, store_config(json.loads(section)), terminal_id)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    stamps["go_at"] = time.time()
    cpu = time.process_time()
    rep.start()
    ok = done.wait(600)
    cpu = time.process_time() - cpu
    rep.stop()
    journal.close()
    print(json.dumps({"done_at": stamps.get("done_at"), "ok": ok, "batches": len(stamps["ship"]), "cpu": cpu,
                      "connect": stamps.get("first_at", stamps["go_at"]) - stamps["go_at"],
                      "ship_p50": pct(stamps["ship"], 50) if stamps["ship"] else None,
                      "error": rep.progress.error}), flush=True)
    return 0 if ok else 1


def child_sell(folder: str, terminal_id: str, section: str, rate: float, seconds: float, replicate: bool) -> int:
    """One terminal selling at ``rate`` a second for ``seconds`` against a simulator in this process, its
    replicator on; then waits until the store has everything and reports its sales' times."""
    import tomli_w

    from offline_queue import outbound
    from pos_app.money import Money
    from pos_app.runtime import Runtime
    from pos_app.sim import Simulator
    from pos_app.sim.provision import terminal_doc
    from pos_app.store import replicator

    ships: list[float] = []
    real_ship = replicator.ship

    def ship(*args, **kw):
        started = time.perf_counter()
        real_ship(*args, **kw)
        ships.append(time.perf_counter() - started)
    replicator.ship = ship
    folder_path = Path(folder)
    sim = Simulator(folder_path / "sim", "127.0.0.1", 0, notify_time_scale=0.001).start()
    try:
        doc = terminal_doc(sim.url, sim.client_id, "127.0.0.1:9", "http://127.0.0.1:9/notify")
        doc["merchant"]["terminal_id"] = terminal_id
        if replicate:
            doc["store"] = json.loads(section)
        config = folder_path / "sim" / "terminal.toml"
        config.write_text(tomli_w.dumps(doc))
        with Runtime(config, folder_path / "data", receiver=False, background=True, printing=False) as rt:
            t = rt.terminal
            t.start_sale(Money(SALE_AMOUNT_MINOR, "USD"), code=payment_code())   # warm: first connections
            print("ready", flush=True)
            if sys.stdin.readline().strip() != "go":
                return 1
            start = time.time()
            latencies, errors, n = [], [], 0
            while True:
                due = start + n / rate
                now = time.time()
                if due >= start + seconds:
                    break
                if due > now:
                    time.sleep(due - now)
                began = time.perf_counter()
                sale = t.start_sale(Money(SALE_AMOUNT_MINOR, "USD"), code=payment_code())
                latencies.append(time.perf_counter() - began)
                if sale.status != "SUCCESS":
                    errors.append(sale.status)
                n += 1
            ended = time.time()
            deadline = time.monotonic() + 120
            while replicate and time.monotonic() < deadline:
                b = outbound.backlog(t.journal)
                if b["count"] == 0:
                    break
                time.sleep(0.05)
            backlog = outbound.backlog(t.journal)["count"] if replicate else 0
    finally:
        sim.stop()
    print(json.dumps({"sales": n, "seconds": ended - start, "latencies": latencies, "errors": errors[:5],
                      "backlog": backlog, "ships": ships}), flush=True)
    return 0


def spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)


def ready(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        line = p.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a child did not start (said {line!r}); exit {p.wait(30)}")


def go(procs: list[subprocess.Popen]) -> float:
    started = time.time()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    return started


def results(procs: list[subprocess.Popen]) -> list[dict]:
    out = []
    for p in procs:
        line = p.stdout.readline()
        p.wait(60)
        if not line:
            raise SystemExit(f"a child ended without a result (exit {p.returncode})")
        out.append(json.loads(line))
    return out


# -- the three parts ------------------------------------------------------------------------------------

def ingest(store: Store, tmp: Path, template: Path, k: int, counts: dict) -> dict:
    ids = [f"I{k:02d}-{i:02d}" for i in range(k)]
    sections = store.register(ids)
    procs = []
    for tid in ids:
        d = tmp / "ingest" / tid
        shutil.copytree(template, d, ignore=shutil.ignore_patterns("*.lock", "instance.lock"))
        procs.append(spawn(["--child-ship", str(d), tid, json.dumps(sections[tid])]))
    ready(procs)
    server = store.cpu()
    started = go(procs)
    out = results(procs)
    server = store.cpu() - server
    bad = [r for r in out if not r["ok"]]
    if bad:
        raise SystemExit(f"ingest with {k} terminals did not finish: {bad[:2]}")
    elapsed = max(r["done_at"] for r in out) - started
    events = store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = ANY(%s)", (ids,))
    txns = store.value("SELECT count(*) FROM pos_store.transactions WHERE terminal_id = ANY(%s)", (ids,))
    if events != k * counts["events"] or txns != k * counts["sales"]:
        raise SystemExit(f"ingest {k}: the store holds {events} events / {txns} transactions, "
                         f"not {k * counts['events']} / {k * counts['sales']}")
    return {"k": k, "ids": ids, "seconds": elapsed, "events": events, "rows": events + txns,
            "batches": sum(r["batches"] for r in out),
            "ship_p50": pct([r["ship_p50"] for r in out], 50),
            "cpu_terminals": sum(r["cpu"] for r in out), "cpu_server": server,
            "connect": pct([r["connect"] for r in out], 50), "connect_max": max(r["connect"] for r in out)}


def columns(conn, table_name: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'pos_store' AND table_name = %s "
        "AND column_name <> 'received_at' ORDER BY ordinal_position", (table_name,))]


def copy_floor(store: Store, source_ids: list[str]) -> dict:
    """The same rows as the terminals shipped (read back from the store), loaded by the owner with one COPY
    per table in one transaction, under fresh terminal ids (registered, so the foreign keys hold)."""
    prefix = source_ids[0].split("-")[0]
    fresh = [f"F{prefix[1:]}-{i:02d}" for i in range(len(source_ids))]
    store.register(fresh)
    data = {}
    with store.owner() as conn:
        for name in ("events", "transactions"):
            cols = columns(conn, name)
            select = ", ".join("'F' || substr(terminal_id, 2)" if c == "terminal_id" else c for c in cols)
            chunks = []
            with conn.cursor() as cur, cur.copy(f"COPY (SELECT {select} FROM pos_store.{name} "
                                                f"WHERE terminal_id LIKE '{prefix}-%%') TO STDOUT") as copy:
                for chunk in copy:
                    chunks.append(bytes(chunk))
            data[name] = (cols, b"".join(chunks))
        conn.autocommit = False
        server, client = store.cpu(), time.process_time()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for name, (cols, payload) in data.items():
                with cur.copy(f"COPY pos_store.{name} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write(payload)
        conn.commit()
        elapsed = time.perf_counter() - started
        server, client = store.cpu() - server, time.process_time() - client
    events = store.value("SELECT count(*) FROM pos_store.events WHERE terminal_id = ANY(%s)", (fresh,))
    txns = store.value("SELECT count(*) FROM pos_store.transactions WHERE terminal_id = ANY(%s)", (fresh,))
    return {"seconds": elapsed, "events": events, "rows": events + txns, "cpu_server": server, "cpu_client": client,
            "mb": sum(len(p) for _, p in data.values()) / 1e6}


def lag(store: Store, tmp: Path, k: int, rate: float, seconds: float) -> dict:
    ids = [f"L-{i:02d}" for i in range(k)]
    sections = store.register(ids)
    procs = [spawn(["--child-sell", str(tmp / "lag" / tid), tid, json.dumps(sections[tid]), str(rate),
                    str(seconds), "1"]) for tid in ids]
    ready(procs)
    go(procs)
    out = results(procs)
    with store.owner() as conn:
        lags = [r[0] for r in conn.execute(
            "SELECT extract(epoch FROM received_at - at)::float8 FROM pos_store.events "
            "WHERE terminal_id = ANY(%s)", (ids,))]
    sales = sum(r["sales"] for r in out)
    wall = max(r["seconds"] for r in out)
    return {"k": k, "lags": lags, "sales": sales, "rate": sales / wall, "per_terminal": sales / wall / k,
            "latencies": [x for r in out for x in r["latencies"]], "errors": [e for r in out for e in r["errors"]],
            "backlog": sum(r["backlog"] for r in out), "ships": [x for r in out for x in r["ships"]]}


def sale_on_off(store: Store, tmp: Path, sizes: dict) -> dict:
    """Alternating rounds, one Runtime with [store] and one without (each its own data directory, so the
    replicator ships only its own sales), against the same simulator (its own process): back to back, then
    at a counter's pace (``rate`` sales a second, open loop)."""
    import tomli_w
    from simproc import SimProcess

    from pos_app.money import Money
    from pos_app.runtime import Runtime
    from pos_app.sim.provision import terminal_doc

    section = store.register(["P-00"])["P-00"]
    sim = SimProcess(tmp / "sim-onoff")
    try:
        doc = terminal_doc(sim.url, sim.client_id, "127.0.0.1:9", "http://127.0.0.1:9/notify")
        doc["merchant"]["terminal_id"] = "P-00"
        off = sim.data_dir / "off.toml"
        off.write_text(tomli_w.dumps(doc))
        on = sim.data_dir / "on.toml"
        on.write_text(tomli_w.dumps({**doc, "store": section}))
        res: dict = {(m, r): [] for m in ("busy", "paced") for r in (True, False)}
        res["errors"] = []

        def one_round(replicate: bool, n: int, paced: bool, keep: bool) -> None:
            data = tmp / ("onoff-on" if replicate else "onoff-off")
            with Runtime(on if replicate else off, data, receiver=False, background=True, printing=False) as rt:
                if replicate and rt.replicator is None:
                    raise SystemExit(f"replication did not start: {rt.warnings}")
                # A till connects once when it starts, not every round: both modes settle before the sales.
                deadline = time.monotonic() + 10
                while replicate and not rt.replicator.progress.connected and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(SETTLE)
                start = time.perf_counter()
                for i in range(n):
                    if paced:
                        time.sleep(max(0.0, start + i / sizes["rate"] - time.perf_counter()))
                    began = time.perf_counter()
                    sale = rt.terminal.start_sale(Money(SALE_AMOUNT_MINOR, "USD"), code=payment_code())
                    took = time.perf_counter() - began
                    if sale.status != "SUCCESS":
                        res["errors"].append(f"{sale.id}: {sale.status}")
                    elif keep:
                        res["paced" if paced else "busy", replicate].append(took)

        for replicate in (True, False):
            one_round(replicate, sizes["warmup"], False, False)
        for r in range(sizes["rounds"]):
            say(f"sale on/off round {r + 1}/{sizes['rounds']}: {sizes['round_sales']} sales back to back and "
                f"{sizes['paced']} at {sizes['rate']:g}/s, each way")
            for paced in (False, True):
                for replicate in ((True, False) if r % 2 == 0 else (False, True)):
                    one_round(replicate, sizes["paced"] if paced else sizes["round_sales"], paced, True)
    finally:
        sim.stop()
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer terminals (a smoke test)")
    parser.add_argument("--child-ship", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-sell", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ship:
        return child_ship(*args.child_ship)
    if args.child_sell:
        folder, tid, section, rate, seconds, replicate = args.child_sell
        return child_sell(folder, tid, section, float(rate), float(seconds), replicate == "1")
    sizes = QUICK if args.quick else FULL
    wall = time.perf_counter()
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    store = None
    try:
        say("starting PostgreSQL and migrating the store's schema")
        store = Store(tmp)
        say(f"template journal: {sizes['template']} real sales, cloned to {sizes['sales']}")
        counts = make_template(tmp, sizes["template"], sizes["sales"])
        runs = []
        for k in sizes["terminals"]:
            say(f"ingest: {k} terminal(s) x {counts['events']} events")
            runs.append(ingest(store, tmp, tmp / "template", k, counts))
        say(f"COPY floor: the {runs[-1]['k']}-terminal run's rows in one COPY per table")
        floor = copy_floor(store, runs[-1]["ids"])
        onoff = sale_on_off(store, tmp, sizes)
        say(f"lag: {sizes['lag_terminals']} terminals selling {sizes['rate']:g}/s each for {sizes['lag_s']:g} s")
        lagged = lag(store, tmp, sizes["lag_terminals"], sizes["rate"], sizes["lag_s"])
        pg_version = store.value("SHOW server_version")
    finally:
        if store is not None:
            store.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    floor_eps = floor["events"] / floor["seconds"]
    rows = []
    for r in runs:
        eps = r["events"] / r["seconds"]
        what = (f"{r['k']} terminal(s): {r['events']:,} events ({r['rows']:,} rows) in {r['seconds']:.2f} s, "
                f"{r['batches']} batches; of it connecting {ms(r['connect'])} (max {ms(r['connect_max'])})")
        verdict = met(eps / floor_eps >= 0.5) if r["k"] == 16 else ""
        if r is runs[-1] and r["k"] != 16:
            verdict = "(16: full run only)"
        rows.append(("ingest", what, f"{eps:,.0f} ev/s", f"{eps / floor_eps:.2f}x",
                     ">= 0.5x COPY" if r["k"] == 16 else "", verdict))
    what = (f"floor: one COPY per table, {floor['events']:,} events ({floor['rows']:,} rows, {floor['mb']:.1f} MB) "
            f"in {floor['seconds']:.2f} s")
    rows.append(("ingest", what, f"{floor_eps:,.0f} ev/s", "1.00x", "", ""))
    for r in runs:
        rows.append(("ingest", f"{r['k']} terminal(s): CPU per event, terminals + server",
                     f"{us(r['cpu_terminals'] / r['events'])} + {us(r['cpu_server'] / r['events'])}", "", "", ""))
    rows.append(("ingest", "floor: CPU per event, COPY's client + server",
                 f"{us(floor['cpu_client'] / floor['events'])} + {us(floor['cpu_server'] / floor['events'])}",
                 "", "", ""))
    lags = lagged["lags"]
    asked = lagged["k"] * sizes["rate"]
    what = (f"{lagged['k']} terminals asked {sizes['rate']:g} sales/s each: achieved {lagged['per_terminal']:.2f}/s "
            f"each ({lagged['sales']} sales)")
    rows.append(("lag", what, f"{lagged['rate']:.1f} sales/s", f"{lagged['rate'] / asked:.2f}x",
                 f"{asked:g}/s asked", met(lagged["rate"] >= 0.95 * asked)))
    rows.append(("lag", f"received_at - at over {len(lags):,} events: p50 / max",
                 f"{ms(pct(lags, 50))} / {ms(max(lags))}", "", "", ""))
    rows.append(("lag", "received_at - at, p99", ms(pct(lags, 99)), f"{pct(lags, 99) / 1.0:.2f}x", "<= 1 s",
                 met(pct(lags, 99) <= 1.0)))
    rows.append(("lag", "a batch's ship (COPY + merge + commit), p50 / p99",
                 f"{ms(pct(lagged['ships'], 50))} / {ms(pct(lagged['ships'], 99))}", "", "", ""))
    rows.append(("lag", "a sale under that load, p50 / p99",
                 f"{ms(pct(lagged['latencies'], 50))} / {ms(pct(lagged['latencies'], 99))}", "", "", ""))
    batch_size = store_config({"database": "postgresql://x@127.0.0.1/x?sslmode=disable"}).batch_size
    for mode, words in (("busy", "back to back"), ("paced", f"{sizes['rate']:g}/s")):
        on, off = onoff[mode, True], onoff[mode, False]
        ratio = pct(on, 99) / pct(off, 99)
        rows.append(("sale", f"{words}: p50, replication off / on ({len(off)} / {len(on)} sales)",
                     f"{ms(pct(off, 50))} / {ms(pct(on, 50))}", "", "", ""))
        rows.append(("sale", f"{words}: p99, replication off / on", f"{ms(pct(off, 99))} / {ms(pct(on, 99))}",
                     f"{ratio:.3f}x", "<= 1.05x", met(ratio <= 1.05)))
    print(f"Store benchmark{' (--quick)' if args.quick else ''}: PostgreSQL {pg_version} (throwaway cluster, "
          f"fsync on) and {len(sizes['terminals'])} ingest runs of {counts['sales']} sales each "
          f"({counts['events']} events, {counts['outbound']} outbound rows, {counts['per_sale']} events a sale) "
          f"per terminal; {os.cpu_count()} cores, load average {load[0]:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end.\n")
    table.print_table(rows, ("part", "measure", "value", "ratio", "goal", "verdict"),
                      (False, False, True, True, False, False))
    print(f"\nIngest: every terminal its own process, its own login (row-level security on) and its own copy of "
          f"the template journal; from one 'go' to the last terminal's cursor at its last outbound row, with the "
          f"real Replicator thread (batches of {batch_size} outbound rows, COPY into temporary tables + "
          f"INSERT ... ON CONFLICT, one commit a batch). Ratios against the floor, which commits once. Lag: "
          f"received_at is now() of the shipping transaction (its start on the server's clock); the ship's "
          f"own time, to its commit, is the batch row beside it. Sale: Runtime.terminal.start_sale (reconciler "
          f"on, no receiver, no printing; with replication its own data directory, so it ships its own sales; "
          f"each round a fresh Runtime, timed from {SETTLE:g} s after the store is connected, both modes alike) "
          f"against `pos-terminal sim` in its own process, {sizes['rounds']} alternating rounds, back to back "
          f"(the replicator ships during the next sales: the worst case) and at {sizes['rate']:g}/s (open loop); "
          f"a p99 of {len(onoff['busy', True])} sales is the one ranked {rank(len(onoff['busy', True]))} from the "
          f"slowest, of {len(onoff['paced', True])} the one ranked {rank(len(onoff['paced', True]))}.")
    last = runs[-1]
    copy_cpu = (floor["cpu_client"] + floor["cpu_server"]) / floor["events"]
    path_cpu = (last["cpu_terminals"] + last["cpu_server"]) / last["events"]
    server_cpu = last["cpu_server"] / last["events"]
    cores = os.cpu_count() or 1
    print(f"CPU: the replicating path costs {us(path_cpu)} per event at {last['k']} terminals, COPY {us(copy_cpu)}; "
          f"here the terminals and the server share {cores} cores. Were the terminals on their own machines, as in "
          f"a store, the server's CPU alone ({us(server_cpu)} per event) would allow at most "
          f"{cores / server_cpu:,.0f} ev/s on these cores ({cores / server_cpu / floor_eps:.2f}x COPY): an "
          f"estimate from the CPU figures, not a measurement.")
    errors = onoff["errors"] + lagged["errors"]
    if lagged["backlog"]:
        errors.append(f"{lagged['backlog']} outbound row(s) still unshipped after the lag run")
    if errors:
        print(f"\n{len(errors)} error(s): " + "; ".join(map(str, errors[:5])))
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
