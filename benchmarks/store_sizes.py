"""What a sale costs the store's PostgreSQL: rows, bytes and commits per sale, the figures README's chain
arithmetic starts from. One till with ``[store]`` sells N sales against the embedded simulator on a throwaway
cluster (tests/pgkit.py) and ships them; the sizes are the server's own (``pg_total_relation_size``).

    .venv/bin/python benchmarks/store_sizes.py [N]      (N sales, default 300)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # storekit, flowkit: the test cluster
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))             # this checkout, not an installed copy

from flowkit import journal_query, write_config
from kit import payment_code
from storekit import store_cluster, with_store, with_terminal_id
from table import print_table

from pos_app.money import Money
from pos_app.runtime import Runtime
from pos_app.sim import Simulator


def shipped(d: Path) -> bool:
    last = journal_query(d, "SELECT coalesce(max(seq), 0) FROM outbound")[0][0]
    cursor = journal_query(d, "SELECT shipped FROM replication WHERE name = 'store'")
    return bool(cursor) and cursor[0][0] == last


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="store-sizes-"))
    with store_cluster() as store:
        store.register("S1", "T1")
        sim = Simulator(tmp / "sim", "127.0.0.1", 0, notify_time_scale=0.001).start()
        try:
            config = with_store(with_terminal_id(write_config(sim), "T1"), store.section(tmp, "S1", "T1"))
            d = tmp / "till"
            commits_before = int(store.value("SELECT xact_commit FROM pg_stat_database WHERE datname = 'store'"))
            with Runtime(config, d) as rt:
                for i in range(n):
                    rt.terminal.start_sale(Money(1000 + i, "USD"), code=payment_code())
                while not shipped(d):
                    time.sleep(0.1)
            time.sleep(0.6)   # the statistics collector's flush
            commits = int(store.value("SELECT xact_commit FROM pg_stat_database WHERE datname = 'store'")) \
                - commits_before
        finally:
            sim.stop()
        rows = [("journal events a sale", f"{journal_query(d, 'SELECT count(*) FROM events')[0][0] / n:.1f}"),
                ("queued changes a sale", f"{journal_query(d, 'SELECT count(*) FROM outbound')[0][0] / n:.1f}"),
                ("store commits a sale (all sessions)", f"{commits / n:.1f}")]
        for table in ("events", "transactions"):
            count, size = store.rows(f"SELECT count(*), pg_total_relation_size('pos_store.{table}') "
                                     f"FROM pos_store.{table}")[0]
            rows.append((f"{table}: bytes a row with its indexes", f"{int(size) / int(count):.0f}"))
        lag = store.rows("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)), "
                         "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)) "
                         "FROM pos_store.events")[0]
        rows.append(("lag p50 / p99 (s), one till selling flat out", f"{float(lag[0]):.3f} / {float(lag[1]):.3f}"))
    print(f"{n} sales on one till, shipped to a local PostgreSQL")
    print_table(rows, ("what", "figure"), (False, True))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
