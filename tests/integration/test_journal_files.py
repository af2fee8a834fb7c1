"""The journal's files as the system sees them (issue 13): one writer per journal file whatever its name,
nothing but a journal opened or created, private modes, a full disk named as such, and the check the
terminal makes before a request leaves. Real files and a real small tmpfs, in this process; what a
``pos-terminal`` process says about them is e2e/test_journal_cli.py's."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from disks import fill, unlink_fillers
from kit import mode

from offline_queue import schema
from offline_queue.journal import (
    FREE_PAGES,
    Journal,
    JournalCorrupt,
    JournalDiskFull,
    JournalError,
    JournalWriteFailed,
)
from offline_queue.lock import LOCK_NAME
from pos_app.errors import PosError


# -- helpers ----------------------------------------------------------------------------------------------
def posix_locks_of_this_process(path: Path) -> list[str]:
    """The POSIX (fcntl) locks this process holds on ``path``'s file: SQLite's."""
    st = os.stat(path)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino} "
    with open("/proc/locks") as f:
        return [line for line in f if " POSIX " in line and f" {os.getpid()} " in line and key in line]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# -- (6) one writer per journal file, whatever name reaches it ------------------------------------------------


def test_a_refusal_and_a_close_beside_sqlite_leave_its_locks_alone(tmp_path):
    """Closing any descriptor of a file drops the process's POSIX locks on it, SQLite's included: the
    guard's own descriptor must never do that to a connection still open in the same process."""
    d, f = tmp_path / "D", tmp_path / "F"
    writer = Journal.open(d)
    reader = Journal.open(d, readonly=True)
    try:
        reader.conn.execute("BEGIN")
        reader.conn.execute("SELECT count(*) FROM transactions").fetchone()     # a read transaction: locks held
        held = posix_locks_of_this_process(d / "journal.sqlite")
        assert held
        f.mkdir()
        os.link(d / "journal.sqlite", f / "journal.sqlite")
        with pytest.raises(PosError) as refused:
            Journal.open(f)
        assert f"another pos-terminal (pid {os.getpid()}) uses {f}" in str(refused.value)
        assert posix_locks_of_this_process(d / "journal.sqlite") == held, "the refusal dropped SQLite's locks"
        writer.close()
        assert posix_locks_of_this_process(d / "journal.sqlite"), "closing the writer dropped the reader's locks"
        reader.conn.execute("COMMIT")
    finally:
        reader.close()
        writer.close()
    Journal.open(f).close()   # free again once both are closed


# -- (7) nothing but a journal is opened, and one is created only where there is no file ----------------------


@pytest.mark.parametrize("user_version", [0, 7])
def test_someone_elses_sqlite_file_is_refused_byte_for_byte(tmp_path, user_version):
    d = tmp_path / "t"
    d.mkdir()
    path = d / "journal.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(JournalError) as info:
            Journal.open(d, readonly=readonly)
        assert str(path) in info.value.message and "customers" in info.value.message, info.value.message
        assert "not a pos-terminal journal" in info.value.message and info.value.hint
    assert path.read_bytes() == before
    assert not (d / "journal.sqlite-wal").exists()


def test_a_wal_left_without_its_journal_is_not_built_upon(tmp_path):
    """journal.sqlite moved away with its last changes still in the -wal: a new journal under that WAL
    would take its frames for its own."""
    d = tmp_path / "t"
    with Journal.open(d) as j:
        j.conn.execute("PRAGMA wal_autocheckpoint = 0")
        j.log_event(None, "kept only in the wal", {})
        wal = (d / "journal.sqlite-wal").read_bytes()
        (d / "journal.sqlite").rename(tmp_path / "moved.sqlite")
    (d / "journal.sqlite-wal").write_bytes(wal)     # the last connection deleted the WAL it knew
    with pytest.raises(JournalError) as info:
        Journal.open(d)
    assert "journal.sqlite-wal" in info.value.message and "put journal.sqlite back" in info.value.hint
    assert not (d / "journal.sqlite").exists()
    assert (d / "journal.sqlite-wal").read_bytes() == wal


def test_what_a_creation_cut_short_left_is_swept_and_a_whole_journal_made(tmp_path):
    """A crash while the first journal is built leaves only its temporary file, never a journal.sqlite
    that the next start would have to refuse."""
    d = tmp_path / "t"
    d.mkdir()
    left = d / ".journal.sqlite.new-999999-deadbeef"
    conn = sqlite3.connect(left)                # half a schema, as a kill -9 at that moment leaves it
    conn.execute("CREATE TABLE transactions (id TEXT)")
    conn.commit()
    conn.close()
    with Journal.open(d) as j:
        assert j.conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
    assert sorted(p.name for p in d.iterdir()) == ["journal.sqlite", LOCK_NAME]


def test_a_first_start_on_a_full_disk_leaves_nothing_behind(small_disk):
    disk = small_disk("512k")
    d = disk / "t"
    fill(disk)
    with pytest.raises(JournalDiskFull) as info:
        Journal.open(d)
    assert info.value.kind == "disk_full" and "full" in info.value.message and "df -h" in info.value.hint
    assert "recover" not in info.value.hint
    assert not (d / "journal.sqlite").exists() and not [p for p in d.iterdir() if "journal" in p.name]
    unlink_fillers(disk)
    with Journal.open(d) as j:                   # the next start, with room, makes a whole journal
        assert j.conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION


# -- (8) private files, whatever the umask ------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_what_the_journal_creates_is_private_whatever_the_umask(tmp_path, umask):
    d = tmp_path / "new" / "data"
    old = os.umask(umask)
    try:
        with Journal.open(d) as j:
            j.log_event(None, "x", {})
            names = sorted(p.name for p in d.iterdir())
            assert names == ["journal.sqlite", "journal.sqlite-shm", "journal.sqlite-wal", LOCK_NAME]
            assert {name: mode(d / name) for name in names} == dict.fromkeys(names, 0o600)
        assert mode(d) == 0o700 and mode(d.parent) == 0o700
    finally:
        os.umask(old)


def test_an_older_releases_files_are_tightened_and_an_existing_folder_is_left_alone(tmp_path):
    """What the release before left (0644 journal, lock and WAL), in a folder set up 2750 for a group:
    the files become 0600, the folder keeps its mode and setgid bit."""
    d = tmp_path / "t"
    d.mkdir()
    os.chmod(d, 0o2750)
    with Journal.open(d):
        pass
    conn = sqlite3.connect(d / "journal.sqlite")   # an older release's open journal: its WAL exists too
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("INSERT INTO events (txn, seq, at, kind) VALUES ('', 1, 1.0, 'old')")
    conn.commit()
    try:
        for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", LOCK_NAME):
            os.chmod(d / name, 0o644)
        with Journal.open(d):
            modes = {name: mode(d / name) for name in ("journal.sqlite", "journal.sqlite-wal",
                                                       "journal.sqlite-shm", LOCK_NAME)}
        assert modes == dict.fromkeys(modes, 0o600)
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o2750
    finally:
        conn.close()


# -- (12) a full disk is named as such --------------------------------------------------------------------------


def _v1_journal_with_a_queued_pay(d: Path) -> None:
    import sqlite_utils
    d.mkdir()
    conn = sqlite3.connect(d / "journal.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    schema.MIGRATIONS[0](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO transactions (id, kind, currency, amount, status, phase, state, final, created_at, "
                 "updated_at, day) "
                 "VALUES ('PR1', 'sale', 'USD', 100, 'QUEUED', 'NEW', '{}', 0, 1.0, 1.0, '2026-11-22')")
    conn.execute("INSERT INTO outbox VALUES ('PR1', 'pay', x'7b7d', 'USD', 100, 1.0)")
    conn.execute("COMMIT")
    conn.close()


def test_a_full_disk_during_an_upgrade_says_so_and_keeps_every_step_whole(small_disk):
    disk = small_disk("512k")
    d = disk / "t"
    _v1_journal_with_a_queued_pay(d)
    fill(disk, leave=48 * 1024)                 # room for the shared memory file, not for the migration
    with pytest.raises(JournalDiskFull) as info:
        Journal.open(d)
    assert "is full" in info.value.message and "recover" not in info.value.hint
    conn = sqlite3.connect(f"file:{d / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        assert 1 <= conn.execute("PRAGMA user_version").fetchone()[0] < schema.VERSION
        assert conn.execute("SELECT txn, api FROM outbox").fetchall() == [("PR1", "pay")]
    finally:
        conn.close()
    unlink_fillers(disk)
    with Journal.open(d) as j:
        assert j.conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        assert j.outbox_body("PR1", "pay") == b"{}"


def test_a_write_on_a_full_disk_says_the_change_was_not_saved(small_disk):
    disk = small_disk("512k")
    d = disk / "t"
    with Journal.open(d) as j:
        fill(disk)
        with pytest.raises(JournalDiskFull) as info:
            j.log_event(None, "too big for the disk", {"pad": "x" * 64 * 1024})
        assert info.value.kind == "disk_full" and info.value.saved is False
        assert "this change was not saved" in info.value.message and "half" not in str(info.value)
        unlink_fillers(disk)
        assert not j.query("SELECT 1 FROM events WHERE kind = 'too big for the disk'")
        j.log_event(None, "fits now", {})


# -- (3) preflight: can the journal take the answer's commit? ----------------------------------------------------
def test_preflight_refuses_a_nearly_full_or_read_only_disk(small_disk):
    disk = small_disk("4m")
    d = disk / "t"
    with Journal.open(d) as j:
        j.preflight()                                       # room: nothing to say
        margin = FREE_PAGES * (j.conn.execute("PRAGMA page_size").fetchone()[0] + 24)
        fill(disk, leave=margin // 2)
        with pytest.raises(JournalDiskFull) as info:
            j.preflight()
        assert info.value.kind == "disk_full" and str(j.path) in info.value.message
        assert "df -h" in info.value.hint and "recover" not in info.value.hint
        unlink_fillers(disk)
        j.preflight()
    with Journal.open(d) as j:    # the folder turns read-only under the running terminal (a read-only view of it)
        subprocess.run(["mount", "--bind", str(d), str(d)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(d)], check=True)
            with pytest.raises(JournalWriteFailed) as info:
                j.preflight()
            assert info.value.kind == "write_failed" and "read-only" in info.value.message
        finally:
            subprocess.run(["umount", str(d)], check=True)
        j.preflight()


def test_preflight_finds_an_unreadable_page_that_a_commit_would_rewrite(tmp_path):
    d = tmp_path / "t"
    marker = "open-sale-marker"
    with Journal.open(d) as j:
        rows = []
        for i in range(400):                               # several leaf pages: the open sale is on one of them
            rows.append(({"id": f"PR{i:06d}", "kind": "sale", "currency": "USD", "amount": 100, "status": "SUCCESS",
                          "phase": "DONE", "state": "{}" + " " * 200, "final": 1, "created_at": i, "updated_at": i,
                          "day": "2026-01-01"}, {"insert": True}))
        rows.append(({"id": "PR999999", "kind": "sale", "currency": "USD", "amount": 100, "status": "UNKNOWN",
                      "phase": "INQUIRING", "state": "{}", "final": 0, "next_at": 5.0, "created_at": 500,
                      "updated_at": 500, "day": "2026-01-01", "description": marker}, {"insert": True}))
        j.record_many(rows)
        j.preflight(["PR999999"])                          # healthy: nothing to say
    path = d / "journal.sqlite"
    raw = bytearray(path.read_bytes())
    page_size = 4096
    at = raw.find(marker.encode())
    assert at > page_size, "the open sale's row is not on the schema page"
    page = at // page_size
    raw[page * page_size:(page + 1) * page_size] = os.urandom(page_size)
    path.write_bytes(bytes(raw))
    with Journal.open(d) as j:                             # opening reads only the schema
        with pytest.raises(JournalCorrupt) as info:
            j.preflight(["PR999999"])                      # before a resend about the open sale
        assert info.value.kind == "corrupt" and str(j.path) in info.value.message
        assert ".recover" in info.value.hint
        with pytest.raises(JournalError) as commit:         # what preflight foresaw: the answer's commit fails
            j.record({"id": "PR999999", "status": "SUCCESS", "final": 1, "next_at": None})
        assert commit.value.kind == "corrupt" and commit.value.saved is False


