"""The data directory: the journal's integrity, the disk's free space, and whether a terminal holds it.

Read-only: the journal is opened ``mode=ro`` (beside a running terminal too, under WAL) and the instance
lock is only probed, so the self-test can run while the terminal takes payments.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from pathlib import Path

from ..i18n import _
from .results import Check, failed, one_line, passed, skipped

MIN_FREE_BYTES = 100 * 1024 * 1024

#: Where the journal keeps this machine's wall-clock times (the tables a version has, where it has them).
_STAMPED = (("transactions", "updated_at"), ("events", "at"), ("audit", "at"), ("z_reports", "taken_at"))


def check_disk(folder: Path, min_free: int = MIN_FREE_BYTES) -> Check:
    """Free space on the data directory's file system (its nearest existing parent before the first start)."""
    where = Path(folder)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return failed("disk", _("cannot read the free space of {path}: {reason}").format(path=where,
                                                                                         reason=exc.strerror),
                      _("check that the data directory is mounted and readable"))
    mb = f"{free / 1e6:,.0f}"
    if free >= min_free:
        return passed("disk", _("{mb} MB free on {path}'s file system").format(mb=mb, path=where))
    return failed("disk", _("only {mb} MB free on {path}'s file system (at least {wanted} MB wanted)").format(
                      mb=mb, path=where, wanted=f"{min_free / 1e6:,.0f}"),
                  _("free some space (old logs, downloads) or move the data directory to a larger disk"))


def inspect_journal(data_dir: Path) -> tuple[Check, float | None]:
    """``PRAGMA integrity_check`` on ``<data_dir>/journal.sqlite``, read-only (beside a running terminal
    too: WAL), and the time of its newest record for the clock check."""
    from offline_queue import schema
    from offline_queue.journal import FILE_NAME, _corrupt

    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return skipped("journal", _("no journal yet in {folder}: first start").format(folder=data_dir),
                       _("it is created by the terminal's first start")), None
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        error = _corrupt(path, exc)
        return failed("journal", error.message, error.hint or ""), None
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        if rows != ["ok"]:
            error = _corrupt(path, sqlite3.DatabaseError(_("integrity check: {problems}").format(
                problems="; ".join(map(str, rows)))))
            return failed("journal", one_line(error.message), error.hint or ""), None
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stamps = [conn.execute(f"SELECT MAX({column}) FROM {table}").fetchone()[0]
                  for table, column in _STAMPED if table in tables]
        newest = max((v for v in stamps if isinstance(v, (int, float))), default=None)
        count = conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] if "transactions" in tables else 0
    except sqlite3.Error as exc:
        error = _corrupt(path, exc)
        return failed("journal", one_line(error.message), error.hint or ""), None
    finally:
        conn.close()
    if version > schema.VERSION:
        return failed("journal", _("{path}: schema version {version} is newer than this pos-terminal's ({ours})")
                      .format(path=path, version=version, ours=schema.VERSION),
                      _("install the pos-terminal version that wrote it")), newest
    words = _("{path}: integrity ok, {count} transactions").format(path=path, count=count)
    if version != schema.VERSION:
        words += _("; schema version {version}: the terminal upgrades it to {ours} at its next start").format(
            version=version, ours=schema.VERSION)
    return passed("journal", words), newest


def terminal_running(data_dir: Path) -> bool:
    """Whether a terminal holds the data directory's instance lock (probed without taking it)."""
    path = Path(data_dir) / "pos-terminal.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # drops the probe's lock, if it got one
    return False
