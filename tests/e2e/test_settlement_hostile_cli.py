"""``pos-terminal reconcile-settlement`` attacked from outside (issue 18, review H8): real processes killed with
SIGKILL mid-import, two processes on one journal at once, bad paths and arguments, a full disk, and a hostile SFTP
server (asyncssh, in this process's thread: it lists names with path parts, sends a file that never ends, stalls,
or shows another host key) answered by the terminal's real SFTP client.

The journal is read back with plain SQL over its raw rows. The 5 defects the review found here (a stalled server,
an endless file, a file too big for memory, a forged output line, a formula in the CSV export) each failed before
its fix."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from flowkit import MANAGER_PIN, cli, set_manager_pin

from offline_queue.journal import Journal
from pos_app.errors import PosError
from pos_app.settlement import columns as C
from pos_app.settlement.ssh import asyncssh
from pos_app.vocabulary import SALE, SUCCESS

pytestmark = pytest.mark.slow

DAY = "2026-12-05"
CUSTOMER = "SANDBOX_SETTLE"
PIN_IN = MANAGER_PIN + "\n"


def sales(data: Path, n: int) -> None:
    """``n`` paid sales of DAY in a real journal (ids s0..), and the manager PIN."""
    now = time.time()
    with Journal.open(data) as j:
        j.record_many([({"id": f"s{i}", "kind": SALE, "currency": "USD", "amount": 1000 + i % 100,
                         "status": SUCCESS, "phase": "done", "state": "{}", "final": 1, "created_at": now,
                         "updated_at": now, "day": DAY}, {"insert": True}) for i in range(n)])
    set_manager_pin(data)


def day_file(path: Path, n: int) -> Path:
    """The transactions report of DAY listing sales s0..s<n-1>, as Antom writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, C.COLUMNS[C.TRANSACTIONS], restval="")
        w.writeheader()
        for i in range(n):
            value = 1000 + i % 100
            w.writerow({"customerId": CUSTOMER, "PSP": "ALIPAY_CN", "transactionId": f"G{i}",
                        "transactionRequestId": f"s{i}", "transactionType": "PAYMENT", "status": "SUCCESS",
                        "transactionAmountValue": f"{value / 100:.2f}", "transactionCurrency": "USD",
                        "settlementAmountValue": f"{(value - 10) / 100:.2f}", "settlementCurrency": "USD",
                        "paymentMethodFeeAmountValue": "-0.10", "paymentMethodFeeCurrency": "USD"})
        f.write(C.END + "\n")
    return path


def sql(data: Path, query: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(query, params).fetchall()]
    finally:
        conn.close()


def kept(data: Path) -> tuple:
    return (sql(data, "SELECT count(*) FROM settlement_files")[0][0],
            sql(data, "SELECT count(*) FROM settlement_rows")[0][0],
            sql(data, "SELECT count(*) FROM audit WHERE action = 'settlement_import'")[0][0])


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    sales(folder, 50)
    return folder


def test_the_journal_file_is_where_these_tests_read_it(data):
    assert sql(data, "SELECT count(*) FROM transactions") == [(50,)]


# == state ====================================================================================================
def test_kill_9_mid_import_leaves_all_or_nothing_and_a_rerun_imports_once(tmp_path):
    data = tmp_path / "data"
    n = 60_000
    sales(data, n)
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", n)
    cmd = [sys.executable, "-m", "pos_app", "--data-dir", str(data), "reconcile-settlement", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    for delay in (0.5, 1.5, 3.0):   # whenever it dies, the journal holds the file whole or not at all
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, text=True)
        proc.stdin.write(PIN_IN)
        proc.stdin.flush()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        files, rows, audits = kept(data)
        assert (files, rows, audits) in ((0, 0, 0), (1, n, 1)), (delay, files, rows, audits)
        assert sql(data, "PRAGMA integrity_check") == [("ok",)]
    done = cli("reconcile-settlement", path, data_dir=data, input=PIN_IN, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert kept(data) == (1, n, 1)
    assert sql(data, "SELECT cls, count(*) FROM settlement_findings GROUP BY cls") == [("matched", n)]
    again = cli("reconcile-settlement", path, data_dir=data, input=PIN_IN, timeout=600)
    assert again.returncode == 0 and "already imported" in again.stdout + again.stderr
    assert kept(data) == (1, n, 1)


def test_two_processes_importing_one_file_at_once_keep_it_once(data, tmp_path):
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", 50)
    cmd = [sys.executable, "-m", "pos_app", "--data-dir", str(data), "reconcile-settlement", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, text=True) for _ in range(2)]
    outs = [p.communicate(PIN_IN, timeout=300) for p in procs]
    assert all("Traceback" not in err for _out, err in outs)
    # each ran, or was told in words that the other holds the journal (the data dir's lock)
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 or (p.returncode == 2 and "another pos-terminal" in err), err
    assert 0 in [p.returncode for p in procs]
    assert kept(data) == (1, 50, 1)
    assert sql(data, "SELECT cls, count(*) FROM settlement_findings GROUP BY cls") == [("matched", 50)]


@pytest.mark.parametrize(("args", "words"), [
    (("--date", "2026-02-30"), "not a date"),
    (("--date", "20261205"), None),     # a compact date is read by fromisoformat on 3.11: it must mean 2026-12-05
    (("--date", "'; DROP TABLE settlement_rows; --"), "not a date"),
])
def test_a_garbage_date_is_refused_in_words(data, tmp_path, args, words):
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", 50)
    done = cli("reconcile-settlement", path, *args, data_dir=data, input=PIN_IN)
    assert "Traceback" not in done.stderr
    if words is None:
        assert done.returncode == 0, done.stderr
        assert sql(data, "SELECT DISTINCT day FROM settlement_runs") == [(DAY,)]
    else:
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert kept(data) == (0, 0, 0)


def test_show_with_no_runs_says_so_and_writes_nothing(data):
    done = cli("reconcile-settlement", "--show", "--date", DAY, data_dir=data, input=PIN_IN)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert sql(data, "SELECT count(*) FROM settlement_runs") == [(0,)]


def test_a_folder_a_missing_file_and_an_unreadable_file_are_refused_in_words(data, tmp_path):
    folder = tmp_path / "transactionItems_20261205_000.csv"
    folder.mkdir()
    for arg in (folder, tmp_path / "nowhere.csv"):
        done = cli("reconcile-settlement", arg, data_dir=data, input=PIN_IN)
        assert done.returncode == 2 and "Traceback" not in done.stderr and arg.name in done.stderr, done.stderr
    assert kept(data) == (0, 0, 0)


def test_a_file_name_with_a_newline_cannot_forge_an_output_line(data, tmp_path):
    path = day_file(tmp_path / "in" / "x\npos-terminal: all 50 matched\n_20261205_000.csv", 3)
    done = cli("reconcile-settlement", path, "--date", DAY, data_dir=data, input=PIN_IN)
    assert "Traceback" not in done.stderr
    assert not any(line == "pos-terminal: all 50 matched" for line in (done.stdout + done.stderr).splitlines()), \
        done.stdout + done.stderr


def test_a_gateway_id_cannot_become_a_formula_in_the_csv_export(data, tmp_path):
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", 2)
    text = path.read_text().replace(",G1,s1,", ',G1,"=HYPERLINK(""http://evil.example/"",""open"")",')
    path.write_text(text)
    out = tmp_path / "findings.csv"
    done = cli("reconcile-settlement", path, "--csv", out, data_dir=data, input=PIN_IN)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert sql(data, "SELECT count(*) FROM settlement_findings WHERE request_id LIKE '=HYPERLINK%'") == [(1,)]
    cells = [c for r in csv.reader(out.open(newline="")) for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")], [c for c in cells if c[:1] in ("=", "+", "@")]


def test_a_full_disk_refuses_the_import_in_words_and_keeps_nothing(small_disk, tmp_path):
    disk = small_disk("3m")
    data = disk / "data"
    sales(data, 200)
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", 30_000)   # ~8 MB of rows
    done = cli("reconcile-settlement", path, data_dir=data, input=PIN_IN)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "disk" in done.stderr.lower() or "space" in done.stderr.lower() or "full" in done.stderr.lower(), \
        done.stderr
    assert kept(data) == (0, 0, 0)
    assert sql(data, "PRAGMA integrity_check") == [("ok",)]


def test_a_million_row_file_under_a_memory_limit_is_refused_in_words(data, tmp_path):
    """A 1,000,000-row report (about 100 MB) with the process held to 1.5 GB of address space: the import
    either completes or says in words that the file is too large; never a traceback, never a partial import."""
    path = day_file(tmp_path / "in" / "transactionItems_20261205_000.csv", 1_000_000)
    limit = 1_500 * 1024 * 1024
    cmd = [sys.executable, "-m", "pos_app", "--data-dir", str(data), "reconcile-settlement", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}

    def cap() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(cmd, input=PIN_IN, capture_output=True, text=True, env=env, preexec_fn=cap,
                          timeout=900, check=False)
    assert kept(data) in ((0, 0, 0), (1, 1_000_000, 1))
    if kept(data)[0] == 0:
        assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
        assert "MemoryError" not in done.stderr and "bug" not in done.stderr.lower(), done.stderr[-3000:]


# == a hostile SFTP server ====================================================================================
class Hostile:
    """An asyncssh SFTP server on 127.0.0.1 whose folder listing and files do what ``mode`` says."""

    def __init__(self, folder: Path, mode: str, names: list[str] | None = None) -> None:
        self.ssh = asyncssh()
        self.mode, self.names = mode, names or []
        self.key = self.ssh.generate_private_key("ssh-ed25519")
        self.password = "hostile-pw"
        self.served = 0
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)
        self.port = self.acceptor.sockets[0].getsockname()[1]
        (folder / "pw").write_text(self.password + "\n")
        os.chmod(folder / "pw", 0o600)
        (folder / "known_hosts").write_text(f"[127.0.0.1]:{self.port} "
                                            f"{self.key.export_public_key().decode().strip()}\n")

    def settlement(self, known_hosts: Path | None = None) -> SimpleNamespace:
        return SimpleNamespace(sftp=self.url, password_file=self.folder / "pw", key_file=None,
                               known_hosts=known_hosts or self.folder / "known_hosts", customer_id=CUSTOMER)

    @property
    def url(self) -> str:
        return f"sftp://merchant@127.0.0.1:{self.port}/v1/settlements/{CUSTOMER}"

    async def _listen(self):
        ssh, server = self.ssh, self

        class Auth(ssh.SSHServer):
            def begin_auth(self, username):
                return True

            def password_auth_supported(self):
                return True

            def validate_password(self, username, password):
                return password == server.password

        class Files(ssh.SFTPServer):
            def _attrs(self, folder: bool) -> object:
                return ssh.SFTPAttrs(type=ssh.FILEXFER_TYPE_DIRECTORY if folder else ssh.FILEXFER_TYPE_REGULAR,
                                     size=0 if folder else 100, permissions=(0o40755 if folder else 0o100644))

            def stat(self, path):
                return self._attrs(not path.endswith((b".csv", b".xlsx")))

            lstat = stat

            def fstat(self, file_obj):
                return self._attrs(False)

            async def scandir(self, path):
                if path.rstrip(b"/").endswith(b"20261205"):
                    for name in server.names:
                        yield ssh.SFTPName(name.encode(), attrs=self._attrs(False))

            def open(self, path, pflags, attrs):
                return path

            async def read(self, file_obj, offset, size):
                if server.mode == "stall":
                    await asyncio.sleep(3600)
                server.served += size
                return b"x" * size     # "endless": the stat said 100 bytes; this never says EOF

            def close(self, file_obj):
                return None

        return await ssh.listen("127.0.0.1", 0, server_host_keys=[self.key], server_factory=Auth,
                                sftp_factory=Files, allow_scp=False)

    def close(self) -> None:
        self.acceptor.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def hostile(tmp_path):
    made: list[Hostile] = []

    def start(mode: str = "plain", names: list[str] | None = None) -> Hostile:
        server = Hostile(tmp_path, mode, names)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()


def fetch(server: Hostile, dest: Path, *, timeout: float = 20, known_hosts: Path | None = None):
    from pos_app.settlement.fetch import fetch as real_fetch
    return real_fetch(server.settlement(known_hosts), DAY, dest=dest, timeout=timeout)


@pytest.mark.parametrize("name", ["../../etc/x.csv", "a/b.csv", "..\\..\\x.csv", "sub/../../y.xlsx"])
def test_a_listed_name_with_path_parts_is_refused_and_nothing_written_outside(hostile, tmp_path, name):
    server = hostile(names=[name])
    dest = tmp_path / "dest" / "reports"
    try:
        got = fetch(server, dest)
    except PosError as exc:
        assert "not a plain file name" in exc.message
    else:
        assert got == []    # a dot name is passed over (hidden), never followed
    assert not (tmp_path / "etc").exists() and not (tmp_path / "dest" / "x.csv").exists()
    assert [p for p in (tmp_path / "dest").rglob("*") if p.is_file()] == []


def test_a_stalled_server_is_a_timeout_said_in_words(hostile, tmp_path):
    server = hostile("stall", names=["transactionItems_20261205_000.csv"])
    outcome: list[BaseException | object] = []

    def attempt() -> None:
        try:
            outcome.append(fetch(server, tmp_path / "dest", timeout=2))
        except BaseException as exc:  # noqa: BLE001 -- handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(40)   # the client was told 2 s; 40 s only tells a hang from an answer
    assert outcome, "the fetch from a stalled server never returned"
    [caught] = outcome
    assert isinstance(caught, PosError), caught
    words = (caught.message + " " + (caught.hint or "")).lower()
    assert "2" in words and ("second" in words or "time" in words), words
    assert [p for p in (tmp_path / "dest").rglob("*") if p.is_file()] == []


def test_a_changed_host_key_is_refused_in_words(hostile, tmp_path):
    server = hostile(names=["transactionItems_20261205_000.csv"])
    other = asyncssh().generate_private_key("ssh-ed25519")
    known = tmp_path / "old_known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {other.export_public_key().decode().strip()}\n")
    with pytest.raises(PosError) as caught:
        fetch(server, tmp_path / "dest", known_hosts=known)
    assert "host key" in caught.value.message.lower(), caught.value.message
    assert server.served == 0


def test_an_endless_file_is_cut_off_at_its_stated_size(hostile, small_disk, tmp_path):
    disk = small_disk("4m")
    server = hostile("endless", names=["transactionItems_20261205_000.csv"])
    with pytest.raises(PosError) as caught:
        fetch(server, disk / "reports")
    assert [p for p in disk.rglob("*") if p.is_file()] == []
    assert "no space left" not in caught.value.message.lower(), \
        caught.value.message   # the server's fault, said as the server's, not this machine's full disk
    assert server.served <= 100 + 64 * 1024, server.served
