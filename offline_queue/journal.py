"""The durable journal: one SQLite file with the transactions, the outbox and an append-only event log.

Every change is one transaction committed with ``synchronous=FULL`` in WAL mode, so once a method
returns, the change survives a power cut; the flows commit *before* a request leaves (write-ahead).
The outbox holds the exact bytes of each request that may still be (re)sent. A pay's body carries the
full payment code, so its row is deleted the moment the pay can no longer be resent, with
``secure_delete`` on so the freed page is zeroed rather than left readable, and the WAL (which still
holds the old page) is truncated by :meth:`Journal.checkpoint` soon after, off the payment's path.
For the same reason the journal and its -wal/-shm are 0600 and a data directory we create is 0700.

A journal is created only where there is no file: under a temporary name, schema and all, then linked
into place, so a crash never leaves a half-made journal that the next start would have to refuse. Any
file already there that is not a journal (empty, someone else's tables, unreadable) is refused with
its path and left byte for byte as it was.

The journal knows rows, not payment rules: :mod:`pos_app.terminal` decides what to write.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pos_app.errors import PosError
from pos_app.i18n import _
from pos_app.vocabulary import FAILED, SalePhase

from . import schema
from .lock import PRIVATE, InstanceLock, tighten

FILE_NAME = "journal.sqlite"
SIDE_FILES = ("-wal", "-shm")
CORE_TABLES = {"transactions", "outbox", "events"}

#: :meth:`Journal.preflight` wants this many pages free (times the page size plus the WAL's frame
#: header: about 1 MiB at 4 KiB pages). A payment's commits (write-ahead, sent, answer, outbox drop)
#: rewrite some 15 pages each, up to ~64 with B-tree splits; 256 covers a payment and its follow-ups
#: with room for the log files that share the disk, while a small dedicated partition still works.
FREE_PAGES = 256

_TEMP_PREFIX = f".{FILE_NAME}.new-"

TRANSACTION_COLUMNS = ("id", "kind", "tender", "parent", "payment_id", "currency", "amount", "status", "phase",
                       "result_code", "message", "description", "code_masked", "state", "next_at", "final",
                       "created_at", "updated_at", "day")


class JournalError(PosError):
    """A journal failure in plain words. ``kind`` tells a front end what to tell a person:

    - ``"disk_full"`` (:class:`JournalDiskFull`): free space on the journal's disk, then retry;
    - ``"corrupt"`` (:class:`JournalCorrupt`): pages cannot be read; keep the file, call support;
    - ``"write_failed"`` (:class:`JournalWriteFailed`): no write for another reason (permissions, a
      read-only or failing disk);
    - ``"other"``: refused (not a journal, a newer schema, a rule of the journal), or closed.

    ``saved`` is about the change a write was making: False when it is certainly not in the journal,
    None when the failure hit the commit itself, so it may be there. It is never there in part.
    """

    kind = "other"

    def __init__(self, message: str, *, hint: str | None = None, saved: bool | None = False) -> None:
        super().__init__(message, hint=hint)
        self.saved = saved


class JournalDiskFull(JournalError):
    kind = "disk_full"


class JournalCorrupt(JournalError):
    kind = "corrupt"


class JournalWriteFailed(JournalError):
    kind = "write_failed"


def _corrupt(path: Path, exc: BaseException, saved: bool | None = False, tail: str = "") -> JournalCorrupt:
    return JournalCorrupt(
        _("the journal {path} cannot be read ({reason})").format(path=path, reason=exc) + tail,
        hint=_("do not delete it: it may hold payments not yet settled. Stop the terminal, copy {path} "
               "(and its -wal file) for support, then try: sqlite3 {path} '.recover' > recovered.sql").format(
            path=path),
        saved=saved)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return _("{n} bytes").format(n=n)


def _usable(st: os.statvfs_result) -> int:
    """Free space the terminal's user may use on a filesystem (root may use the reserve)."""
    return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * st.f_frsize


def _free_bytes(folder: Path) -> int | None:
    try:
        return _usable(os.statvfs(folder))
    except OSError:
        return None


def _margin(page_size: int = 4096) -> int:
    return FREE_PAGES * (page_size + 24)


def _outcome(saved: bool | None) -> str:
    """What became of the change a failed write was making, said only as far as it is known."""
    if saved is False:
        return _(": this change was not saved (the journal is as it was before it)")
    return _(": this change may or may not have been saved (never part of it; the next start reads the "
             "journal as it is)")


def _disk_full_hint(path: Path, exists: bool = True) -> str:
    return (_("free space on that disk (`df -h {folder}` shows it; old log files can go), then try again").format(
        folder=path.parent) + (_(". The journal is intact: do not delete or move it") if exists else ""))


def _disk_full(path: Path, saved: bool | None = False, tail: str = "", *, exists: bool = True) -> JournalDiskFull:
    free = _free_bytes(path.parent)
    left = "" if free is None else _(" ({size} left)").format(size=_size(free))
    return JournalDiskFull(_("the disk holding the journal {path} is full").format(path=path) + left + tail,
                           hint=_disk_full_hint(path, exists), saved=saved)


def _write_failed(path: Path, why: str, saved: bool | None = False, tail: str = "") -> JournalWriteFailed:
    return JournalWriteFailed(
        _("cannot write the journal {path} ({reason})").format(path=path, reason=why) + tail,
        hint=_("check that this user may write the data directory and its files, and that the disk is not "
               "read-only or failing (`dmesg` shows disk errors); then try again"),
        saved=saved)


_FULL, _IOERR = sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR
_WRITE_FAILURES = {_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM,
                   sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_IOERR_READS = {getattr(sqlite3, name, -1) for name in ("SQLITE_IOERR_READ", "SQLITE_IOERR_SHORT_READ")}


def _failure(path: Path, exc: BaseException, *, saved: bool | None = False, tail: str = "",
             write: bool = True, opening: bool = False) -> JournalError:
    """Name an SQLite failure by what a person can do about it: a full disk is not a corrupt file, nor is
    a read-only one. Whatever else goes wrong reading it is taken as damage, as before."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _FULL or (primary == _IOERR and code not in _IOERR_READS and _low_on_space(path)):
        return _disk_full(path, saved, _(": it cannot be opened") if opening else tail)
    if write and primary in _WRITE_FAILURES and code not in _IOERR_READS:
        return _write_failed(path, str(exc), saved, _(": it cannot be opened") if opening else tail)
    return _corrupt(path, exc, saved, tail)


def _low_on_space(path: Path) -> bool:
    free = _free_bytes(path.parent)
    return free is not None and free < _margin()


def _os_failure(path: Path, exc: OSError, tail: str) -> JournalError:
    """A failure creating the journal (there is none yet)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(path, tail=tail, exists=False)
    return _write_failed(path, exc.strerror or str(exc), tail=tail)


def _not_a_journal(path: Path, tables: list[str], size: int) -> JournalError:
    if size == 0 or not tables:
        what = (_("{path} is empty (0 bytes)") if size == 0 else _("{path} is an SQLite file with no tables")).format(
            path=path)
        return JournalError(
            what + _(": it is not a pos-terminal journal, and it is left as it is"),
            hint=_("if this terminal never took a payment (its first start was cut short), delete this file and "
                   "start again; otherwise the journal was lost: restore journal.sqlite (with its -wal) from a "
                   "backup. The terminal creates a journal only where there is no file"))
    shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
    return JournalError(
        _("{path} is not a pos-terminal journal (it holds the tables {tables}), and it is left as it is").format(
            path=path, tables=shown),
        hint=_("point --data-dir at the terminal's own folder, or move this file elsewhere; the terminal "
               "creates a journal only where there is no file"))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path | str) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def _create(path: Path) -> int | None:
    """Make a new journal at ``path``: built and synced under a temporary name, then hard-linked into
    place, which never replaces a file. Returns its descriptor, flocked (the instance lock's guard), or
    None if a journal appeared there meanwhile. A crash before the link leaves only the temporary file
    (swept at the next start); after it, the journal is whole."""
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise JournalError(
            _("{wal} is there but {path} is not: the journal was moved or deleted, and its last changes are "
              "in that file").format(wal=wal, path=path),
            hint=_("put journal.sqlite back beside it (from where it went, or a backup); a new journal is "
                   "never started over an old one's changes"))
    doing = _(": it could not be created (nothing was left behind)")
    tmp = path.parent / f"{_TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE)
    except OSError as exc:
        raise _os_failure(path, exc, doing) from None
    linked = False
    try:
        os.fchmod(fd, PRIVATE)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise sqlite3.OperationalError(_("cannot switch to WAL mode"))
            conn.execute("PRAGMA synchronous = FULL")
            schema.migrate(conn)
        finally:
            conn.close()   # the last connection: folds the WAL into the file and deletes it
        if os.path.exists(f"{tmp}-wal"):
            raise sqlite3.OperationalError(_("the new journal's WAL was not folded into it"))
        os.fsync(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise
            if os.path.lexists(path):   # no hard links here (vfat, some FUSE): a checked rename instead
                return None
            os.rename(tmp, path)
        linked = True
        _remove(tmp)
        try:
            _fsync_dir(path.parent)   # the name must outlive a power cut before anything is recorded under it
        except OSError:
            linked = False
            if os.path.samestat(os.stat(path), os.fstat(fd)):
                _remove(path)
            raise
        return fd
    except sqlite3.Error as exc:
        error = _failure(path, exc, tail=doing)
        if isinstance(error, JournalDiskFull):
            raise _disk_full(path, tail=doing, exists=False) from None
        raise _write_failed(path, str(exc), tail=doing) from None
    except OSError as exc:
        raise _os_failure(path, exc, doing) from None
    finally:
        _remove(tmp, f"{tmp}-wal", f"{tmp}-shm")
        if not linked:
            os.close(fd)   # a file no SQLite connection here still has open


def _sweep_temporaries(path: Path) -> None:
    """Remove what an interrupted creation left (only files nobody holds). Call holding the lock."""
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(_TEMP_PREFIX)]
        journal = os.stat(path)
    except OSError:
        return
    for name in names:
        if name.endswith(SIDE_FILES):
            if name[:-4] not in names:
                _remove(path.parent / name)
            continue
        temp = path.parent / name
        try:
            st = os.stat(temp)
            if (st.st_dev, st.st_ino) != (journal.st_dev, journal.st_ino):   # a second name of ours: just unlink it
                fd = os.open(temp, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # being created right now: leave it
                finally:
                    os.close(fd)
            _remove(temp, f"{temp}-wal", f"{temp}-shm")
        except OSError:
            continue


def business_day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(at))


#: What :meth:`Journal.preflight` reads of each transaction it is told of (and of its parent, which a
#: cancel's answer rewrites too): its row, its newest event and its outbox row.
_PREFLIGHT_TXN_READS = (
    "SELECT t.*, (SELECT max(seq) FROM events e WHERE e.txn = t.id) FROM transactions t WHERE t.id = ?",
    "SELECT txn, api, body FROM outbox WHERE txn = ?",
)
#: ... and always: the schema and the newest end of each table and index, where new rows land. Bounded
#: work whatever the backlog (the reconciler asks before every resend of a drain).
_PREFLIGHT_READS = (
    "SELECT count(*) FROM sqlite_master",
    "SELECT max(seq) FROM events WHERE txn = ''",
    "SELECT txn, api FROM outbox ORDER BY txn DESC LIMIT 1",
    "SELECT id FROM transactions ORDER BY id DESC LIMIT 1",
    "SELECT day, created_at FROM transactions ORDER BY day DESC, created_at DESC LIMIT 1",
    "SELECT payment_id FROM transactions WHERE payment_id IS NOT NULL ORDER BY payment_id DESC LIMIT 1",
    ("SELECT parent, created_at FROM transactions WHERE parent IS NOT NULL ORDER BY parent DESC, created_at DESC "
     "LIMIT 1"),
    "SELECT next_at FROM transactions WHERE final = 0 ORDER BY next_at DESC LIMIT 1",
    "SELECT created_at FROM transactions WHERE z_number IS NULL ORDER BY created_at DESC LIMIT 1",
    "SELECT txn, seq FROM events ORDER BY txn DESC, seq DESC LIMIT 1",
)


class Journal:
    """Open with :meth:`open`; every write method commits before it returns."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: InstanceLock | None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock
        if lock is not None and not lock.holds(path):   # a caller that opened it itself (setup): guard it now
            try:
                lock.guard_journal()
            except BaseException:
                conn.close()
                raise
        # One connection, many threads (the flows, the receiver, the reconciler): one at a time, so a
        # read never lands inside another thread's open write transaction.
        self._mutex = threading.RLock()
        self._seq = 0  # the last event number this process gave (see _event)

    # -- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: Path | str, *, readonly: bool = False) -> Journal:
        """Open ``<data_dir>/journal.sqlite``, creating it only where there is no file.

        A writer takes the instance lock first (see :mod:`offline_queue.lock`); a reader (reports, queue
        status) does not, since WAL lets it read while the terminal writes.
        """
        data_dir = Path(data_dir)
        path = data_dir / FILE_NAME
        if readonly:
            if not path.exists():
                raise JournalError(_("there is no journal in {folder} yet").format(folder=data_dir),
                                   hint=_("it is created by the first sale; check --data-dir"))
            return cls(path, cls._connect(path, True), None)
        lock = InstanceLock(data_dir, FILE_NAME).acquire()
        try:
            while not lock.guard_journal():
                fd = _create(path)
                if fd is not None:
                    lock.adopt(fd)
            _sweep_temporaries(path)
            real = Path(os.path.realpath(path))
            for side in SIDE_FILES:   # SQLite gives new ones the journal's mode; an older release's stay 0644
                try:
                    tighten(f"{real}{side}")
                except OSError:
                    pass
            conn = cls._connect(path, readonly=False)
        except BaseException:
            lock.release()
            raise
        return cls(path, conn, lock)

    @staticmethod
    def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
        """Connect and check it is a journal before anything is written to it; a writer then switches
        it to WAL and migrates it. A writer creates the file if there is none (setup, once it has moved
        a sandbox journal aside, holding the instance lock)."""
        if not readonly and not os.path.lexists(path):
            fd = _create(path)
            if fd is not None:
                os.close(fd)   # no SQLite connection here has this brand-new file open yet
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise JournalError(_("cannot open the journal {path}: {reason}").format(path=path, reason=exc.strerror),
                               hint=_("check the data directory's permissions, or pass another --data-dir")) from None
        if size == 0:
            raise _not_a_journal(path, [], 0)
        if not os.access(path, os.R_OK if readonly else os.R_OK | os.W_OK):
            raise JournalError((_("this user may not read the journal {path}: it is private to the user the terminal "
                                  "runs as") if readonly else
                                _("this user may not write the journal {path}: it is private to the user the "
                                  "terminal runs as")).format(path=path),
                               hint=_("run the command as that user (on an installed terminal, `sudo pos-terminal "
                                      "…` switches to it)"))
        try:
            if readonly:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            else:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _failure(path, exc, write=not readonly, opening=True) from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                                       "AND name NOT LIKE 'sqlite%'"))
            if version < 1 or not CORE_TABLES & set(tables):   # nothing written to it yet, and nothing will be
                raise _not_a_journal(path, tables, size)
            if version > schema.VERSION:
                raise JournalError(
                    _("the journal {path} was written by a newer pos-terminal (schema {version}; this one knows "
                      "{known}), so this one leaves it untouched").format(path=path, version=version,
                                                                          known=schema.VERSION),
                    hint=_("install that pos-terminal version (or a newer one) again"))
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.DatabaseError(_("cannot switch to WAL mode (got {mode})").format(mode=mode))
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA foreign_keys = ON")
                schema.migrate(conn)
            elif version < schema.VERSION:   # an upgrade not yet started: not corrupt, just older
                raise JournalError(
                    _("the journal {path} is from an older pos-terminal (schema {version}; this one uses "
                      "{known}) and is upgraded when the terminal next opens it for writing").format(
                        path=path, version=version, known=schema.VERSION),
                    hint=_("start the terminal once, or run `pos-terminal queue --drain`: the upgrade keeps "
                           "every payment and everything waiting in the queue"))
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = CORE_TABLES - names
            if missing:
                raise sqlite3.DatabaseError(_("table {name} is missing").format(name=sorted(missing)[0]))
        except JournalError:
            conn.close()
            raise
        except (sqlite3.Error, ValueError) as exc:
            conn.close()
            raise _failure(path, exc, write=not readonly, opening=True) from None
        return conn

    def close(self) -> None:
        """Closes under the mutex: a receiver or worker thread still in a query finishes first (closing a
        connection another thread is using crashes SQLite's C code), and later calls get a JournalError."""
        try:
            with self._mutex:
                self._closed = True
                self.conn.close()
        finally:
            if self._lock:
                self._lock.release()

    def _check_open(self) -> None:
        if getattr(self, "_closed", False):
            raise JournalError(_("the journal {path} is closed (the terminal is stopping)").format(path=self.path),
                               hint=_("this request is answered after a restart"))

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- before a request leaves ----------------------------------------------------------------------
    def preflight(self, txns: tuple[str, ...] | list[str] = ()) -> None:
        """Raise a JournalError now if the journal could not take the commit of an answer about ``txns``
        (none: a new transaction), so that a pay, refund or cancel is never sent whose outcome could not
        be recorded:

        - :class:`JournalDiskFull` when the journal's disk has less than :data:`FREE_PAGES` pages free;
        - :class:`JournalWriteFailed` when its filesystem is read-only, or this user cannot write the
          journal or its folder;
        - :class:`JournalCorrupt` when a page a commit rewrites cannot be read: the rows of ``txns`` and
          their parents, their newest events and outbox rows, the newest end of each table and index,
          and the schema. Not a full integrity check (``quick_check`` takes ~0.1 s warm and ~2 s cold
          on a 100k-transaction, 112 MB journal); this reads a few dozen pages, ~1 ms cold and ~0.05 ms
          warm on that journal, and the same with thousands of requests queued.

        The pages are read through the journal's own connection, as the commit will read them: a page
        it holds in memory is written back whole by the commit, whatever the disk has.
        """
        with self._mutex:
            self._check_open()
            real = Path(os.path.realpath(self.path))
            try:
                fs = os.statvfs(real.parent)
            except OSError as exc:
                raise _write_failed(self.path, exc.strerror or str(exc)) from None
            if fs.f_flag & os.ST_RDONLY:
                raise _write_failed(self.path, _("its filesystem is mounted read-only"))
            free = _usable(fs)
            try:
                page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
            except sqlite3.Error as exc:
                raise _failure(self.path, exc, write=False) from None
            if free < _margin(page_size):
                raise JournalDiskFull(
                    _("the disk holding the journal {path} is full: {free} left, less than the "
                      "{margin} kept free for a payment's records").format(path=self.path, free=_size(free),
                                                                             margin=_size(_margin(page_size))),
                    hint=_disk_full_hint(self.path))
            if not os.access(real.parent, os.W_OK | os.X_OK) or not os.access(real, os.R_OK | os.W_OK):
                raise _write_failed(self.path, _("this user may not write it or its folder"))
            try:
                self.conn.execute("BEGIN")
                try:
                    for sql in _PREFLIGHT_READS:
                        for _row in self.conn.execute(sql):
                            pass
                    seen: set[str] = set()
                    todo = list(txns)
                    while todo:
                        txn = todo.pop()
                        if txn in seen:
                            continue
                        seen.add(txn)
                        for sql in _PREFLIGHT_TXN_READS:
                            for row in self.conn.execute(sql, (txn,)):
                                # a sqlite3.Row: `in row` would look among its values, not its column names
                                if "parent" in row.keys() and row["parent"]:  # noqa: SIM118
                                    todo.append(row["parent"])
                finally:
                    self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _failure(self.path, exc, write=False) from None

    # -- writing --------------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self._check_open()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _failure(self.path, exc, tail=_outcome(False)) from None
            try:
                yield self.conn
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.IntegrityError):  # a constraint or trigger said no: the file is fine
                    raise JournalError(_("the journal refused the change: {reason}").format(reason=exc),
                                       hint=_("the audit log and Z reports are append-only by design")) from None
                if isinstance(exc, sqlite3.Error):
                    raise _failure(self.path, exc, tail=_outcome(False)) from None
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                # A full disk fails a frame's write, so the commit frame is not there; busy or locked leaves
                # the transaction open, rolled back here. Any other I/O error may come after it was written.
                code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                saved = False if code in (_FULL, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) else None
                raise _failure(self.path, exc, saved=saved, tail=_outcome(saved)) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def transaction(self):
        """One commit for a module that keeps its own tables here (roles, closing): BEGIN IMMEDIATE, and
        the same error handling as the journal's own writes."""
        return self._write()

    @contextmanager
    def relaxed_transaction(self) -> Iterator[sqlite3.Connection]:
        """A commit whose loss in a power cut costs nothing but a repeat (the store's cursor: a resend is a
        no-op there): written without its own fsync (``synchronous=NORMAL``; WAL order still holds, and the
        next durable commit syncs it too), so it holds the journal's lock for a fraction of a durable commit
        and a sale waiting behind it is not slowed. Everything else stays ``FULL``."""
        with self._mutex:
            self._check_open()
            self.conn.execute("PRAGMA synchronous = NORMAL")
            try:
                with self._write() as c:
                    yield c
            finally:
                if not getattr(self, "_closed", False):
                    self.conn.execute("PRAGMA synchronous = FULL")

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self._query(sql, params)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one state of the journal (a read transaction, ended without writing),
        for a report whose parts must agree: nothing settles between its totals and its open items."""
        with self._mutex:
            self._check_open()
            try:
                self.conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise _failure(self.path, exc, write=False) from None
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise _failure(self.path, exc, write=False) from None
            finally:
                self._rollback()

    def record(self, row: dict[str, Any], *, insert: bool = False, events: Sequence[tuple[str, dict]] = (),
               outbox_put: tuple[str, bytes] | None = None, outbox_drop: str | None = None) -> None:
        """Insert or update one transaction, its outbox row and its events, in one commit."""
        self.record_many([(row, {"insert": insert, "events": events, "outbox_put": outbox_put,
                                 "outbox_drop": outbox_drop})])

    def record_many(self, changes: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Several :meth:`record` calls as one commit: what must never be half done (a cancel's answer
        and the reversal of its sale)."""
        with self._write() as c:
            for row, options in changes:
                self._apply(c, row, **options)

    def _apply(self, c: sqlite3.Connection, row: dict[str, Any], *, insert: bool = False,
               events: Sequence[tuple[str, dict]] = (), outbox_put: tuple[str, bytes] | None = None,
               outbox_drop: str | None = None) -> None:
        now = row.get("updated_at") or time.time()
        if insert:
            cols = [k for k in (*TRANSACTION_COLUMNS, "unmatched") if k in row]   # unmatched: v6, entry codes
            c.execute(f"INSERT INTO transactions ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                      [row[k] for k in cols])
        else:
            cols = [k for k in row if k != "id"]
            c.execute(f"UPDATE transactions SET {','.join(f'{k}=?' for k in cols)} WHERE id=?",
                      [row[k] for k in cols] + [row["id"]])
        if outbox_put is not None:
            api, body = outbox_put
            c.execute("INSERT OR REPLACE INTO outbox (txn, api, body, currency, amount, created_at) "
                      "VALUES (?,?,?,?,?,?)", (row["id"], api, body, row.get("currency"), row.get("amount"), now))
        if outbox_drop is not None:
            c.execute("DELETE FROM outbox WHERE txn=? AND api=?", (row["id"], outbox_drop))
        for kind, detail in events:
            self._event(c, row["id"], now, kind, detail)

    def _event(self, c: sqlite3.Connection, txn: str, at: float, kind: str, detail: dict) -> None:
        """Events are numbered by the microsecond, and always above the transaction's last one: in time
        order, unique per transaction even if the clock went back between runs, and found without a
        scan of the whole log (the key is (txn, seq))."""
        last = c.execute("SELECT MAX(seq) FROM events WHERE txn=?", (txn,)).fetchone()[0] or 0
        self._seq = max(self._seq + 1, int(at * 1_000_000), last + 1)
        c.execute("INSERT INTO events (txn, seq, at, kind, detail) VALUES (?,?,?,?,?)",
                  (txn, self._seq, at, kind, json.dumps(detail, ensure_ascii=False, default=str)))

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it: the WAL still holds the pages a deleted pay
        body was on (``secure_delete`` only zeroes the page's new version). True when it succeeded.
        It never waits for a reader: busy now means "try again later"."""
        with self._mutex:
            if getattr(self, "_closed", False):
                return False
            try:
                self.conn.execute("PRAGMA busy_timeout = 0")
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:
                return False
            finally:
                self.conn.execute("PRAGMA busy_timeout = 5000")
        return busy == 0

    def log_event(self, txn: str | None, kind: str, detail: dict) -> None:
        """An event outside a state change; about no transaction of ours (txn None, stored as '') when
        e.g. a notification names an unknown payment."""
        with self._write() as c:
            self._event(c, txn or "", time.time(), kind, detail)

    # -- reading --------------------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            with self._mutex:
                self._check_open()
                return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _failure(self.path, exc, write=False) from None

    def get(self, id: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM transactions WHERE id=?", (id,))
        return rows[0] if rows else None

    def find(self, ref: str, kind: str | None = None) -> sqlite3.Row | None:
        """A transaction by our request id or by the gateway's paymentId."""
        row = self.get(ref)
        if row is None:
            rows = self._query("SELECT * FROM transactions WHERE payment_id=? AND payment_id IS NOT NULL "
                               "AND kind='sale'", (ref,)) \
                if kind in (None, "sale") else []
            row = rows[0] if rows else None
        return row if row is None or kind is None or row["kind"] == kind else None

    def children(self, parent: str) -> list[sqlite3.Row]:
        return self._query("SELECT * FROM transactions WHERE parent=? AND parent IS NOT NULL ORDER BY created_at",
                           (parent,))

    def open_transactions(self) -> list[sqlite3.Row]:
        return self._query("SELECT * FROM transactions WHERE final=0 ORDER BY created_at")

    def waiting_entry_sales(self, currency: str, amount: int) -> list[sqlite3.Row]:
        """Entry-code sales still waiting for a payment of this money, oldest first (the matching rule picks)."""
        return self._query("SELECT * FROM transactions WHERE final=0 AND kind='sale' AND tender='entry_code' "
                           "AND phase='WAITING' AND currency=? AND amount=? ORDER BY created_at, id",
                           (currency, amount))

    def unmatched_payments(self) -> list[sqlite3.Row]:
        """Entry-code payments that came with no waiting amount and nobody has assigned yet, oldest first; one
        a manager cancelled or refunded (or is refunding) is no longer there to assign: its money went back."""
        return self._query("SELECT t.* FROM transactions t WHERE t.unmatched=1 AND t.phase=? AND NOT EXISTS "
                           "(SELECT 1 FROM transactions c WHERE c.parent=t.id AND c.status!=?) "
                           "ORDER BY t.created_at, t.id", (SalePhase.PAID.value, FAILED))

    def due(self, now: float) -> list[sqlite3.Row]:
        """Open transactions whose next action has come (in-flight ones have no next_at)."""
        return self._query("SELECT * FROM transactions WHERE final=0 AND next_at<=? ORDER BY next_at", (now,))

    def next_due_at(self) -> float | None:
        rows = self._query("SELECT MIN(next_at) FROM transactions WHERE final=0")
        return rows[0][0]

    def outbox_body(self, txn: str, api: str) -> bytes | None:
        rows = self._query("SELECT body FROM outbox WHERE txn=? AND api=?", (txn, api))
        return bytes(rows[0][0]) if rows else None

    def outbox(self) -> list[sqlite3.Row]:
        return self._query(
            "SELECT o.txn, o.api, o.currency, o.amount, o.created_at, t.kind, t.status, t.parent "
            "FROM outbox o JOIN transactions t ON t.id=o.txn ORDER BY o.created_at")

    def events(self, txn: str) -> list[dict]:
        return [{"seq": r["seq"], "at": r["at"], "kind": r["kind"], "detail": json.loads(r["detail"] or "null")}
                for r in self._query("SELECT * FROM events WHERE txn=? ORDER BY seq", (txn,))]

    def day(self, day: str) -> list[sqlite3.Row]:
        return self._query("SELECT id, kind, tender, parent, payment_id, currency, amount, status, result_code, "
                           "message, description, code_masked, created_at, updated_at FROM transactions "
                           "WHERE day=? ORDER BY created_at", (day,))
