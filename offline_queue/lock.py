"""One terminal per journal: two processes driving the same journal could both resend a pay, or one could
take the other's live sale for a crash leftover and cancel it.

The guard is an ``flock`` on the journal file itself, opened by its real path. Every name that reaches
the file (a symlinked data dir, a symlink or hard link to the file) reaches the same inode and so the
same lock, and deleting a file beside it changes nothing. The kernel drops an flock when its holder
dies, even by ``kill -9``, so a crashed terminal never leaves a stale lock. ``pos-terminal.lock`` is
locked too, first: it carries the holder's pid for the refusal, and it covers the moments when there is
no journal file to lock (its creation, setup moving a sandbox journal aside).

SQLite locks the same file with POSIX (fcntl) locks, which an flock neither takes nor blocks. But
closing *any* descriptor of a file drops all of the process's POSIX locks on it, SQLite's included. So
the journal's descriptor is closed only when no other descriptor of that file is open in this process;
otherwise it is unlocked and parked, and closed by a later release once SQLite has let go of the file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import threading
from pathlib import Path

from pos_app.errors import PosError
from pos_app.i18n import _

log = logging.getLogger(__name__)

LOCK_NAME = "pos-terminal.lock"
JOURNAL_NAME = "journal.sqlite"
PRIVATE = 0o600   # the journal holds a queued sale's full payment code: owner only, whatever the umask

_parked: dict[tuple[int, int], list[int]] = {}   # (st_dev, st_ino) -> unlocked descriptors not yet safe to close
_parked_mutex = threading.Lock()


def tighten(fd_or_path, st: os.stat_result | None = None) -> None:
    """Take group and other access away from a file we own (a journal an older release left 0644)."""
    st = st or (os.fstat(fd_or_path) if isinstance(fd_or_path, int) else os.stat(fd_or_path))
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
        mode = stat.S_IMODE(st.st_mode) & ~0o077
        os.fchmod(fd_or_path, mode) if isinstance(fd_or_path, int) else os.chmod(fd_or_path, mode)


def make_private_dir(data_dir: Path) -> None:
    """Create what is missing of ``data_dir`` as 0700 (a setgid bit inherited from a group folder stays).
    A folder that already exists keeps its mode: the package's 0750 one, say (the files are 0600)."""
    missing = []
    for folder in (data_dir, *data_dir.parents):
        if os.path.isdir(folder):
            break
        missing.append(folder)
    try:
        for folder in reversed(missing):
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                if not folder.is_dir():
                    raise
                continue
            os.chmod(folder, 0o700 | (os.stat(folder).st_mode & stat.S_ISGID))
    except OSError as exc:
        raise PosError(_("cannot create the data directory {path}: {reason}").format(path=data_dir,
                                                                                     reason=exc.strerror),
                       hint=_("check its permissions, or pass another --data-dir")) from None
    mode = os.stat(data_dir).st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        log.warning("the data directory %s is writable by every user (mode %o): anyone could move the "
                    "journal aside; chmod o-w it", data_dir, stat.S_IMODE(mode))


def _other_descriptors(key: tuple[int, int], skip: set[int]) -> bool:
    """Whether this process has a descriptor of the file ``key`` open besides those in ``skip``."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return True   # cannot tell: keeping a descriptor open is the harmless mistake
    for name in names:
        fd = int(name)
        if fd in skip:
            continue
        try:
            st = os.fstat(fd)
        except OSError:
            continue   # the listing's own descriptor, or one closed meanwhile
        if (st.st_dev, st.st_ino) == key:
            return True
    return False


def _close_when_safe(fd: int | None = None) -> None:
    """Close ``fd`` (unlocked) and any parked descriptor whose file no other descriptor here still has open."""
    with _parked_mutex:
        if fd is not None:
            st = os.fstat(fd)
            _parked.setdefault((st.st_dev, st.st_ino), []).append(fd)
        for key, fds in list(_parked.items()):
            if not _other_descriptors(key, set(fds)):
                for parked in fds:
                    os.close(parked)
                del _parked[key]


def flock_holder(st: os.stat_result) -> str | None:
    """The pid holding an flock on the file ``st`` describes, from /proc/locks (Linux); None if unknown."""
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:   # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146599 0 EOF"
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK" or parts[3] != "WRITE":
            continue
        try:
            major, minor, ino = parts[5].split(":")
            if (int(major, 16), int(minor, 16), int(ino)) == want and int(parts[4]) > 0:
                return parts[4]
        except ValueError:
            continue
    return None


class InstanceLock:
    """``acquire()`` takes pos-terminal.lock, then the journal if it exists yet; a journal created later
    is handed over locked with :meth:`adopt` (or taken with :meth:`guard_journal`)."""

    def __init__(self, data_dir: Path, journal_name: str = JOURNAL_NAME) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.journal = Path(data_dir) / journal_name
        self._fd: int | None = None
        self._journal_fd: int | None = None

    # -- the pid file ---------------------------------------------------------------------------------
    def acquire(self) -> InstanceLock:
        try:
            make_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE)
        except OSError as exc:
            raise PosError(_("cannot open {path}: {reason}").format(path=self.path, reason=exc.strerror),
                           hint=_("check the data directory's permissions, or pass another --data-dir")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if not isinstance(exc, BlockingIOError):
                os.close(fd)
                raise PosError(_("cannot lock {path}: {reason}").format(path=self.path, reason=exc.strerror),
                               hint=_("the data directory must be on a local disk")) from None
            try:
                pid = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise self._refusal(pid) from None
        self._fd = fd
        try:
            tighten(fd)
            self.guard_journal()
        except BaseException:
            self.release()
            raise
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError:
            pass   # a full disk: the lock holds all the same, a refusal then names the pid from /proc/locks
        return self

    def _refusal(self, pid: str, real: Path | None = None) -> PosError:
        where = "" if real is None or real == self.journal.absolute() else \
            _(" (its journal is {path})").format(path=real)
        return PosError(_("another pos-terminal (pid {pid}) uses {folder}").format(pid=pid, folder=self.path.parent)
                        + where,
                        hint=_("close it first, or give this one its own --data-dir (a folder whose journal.sqlite "
                               "links to another's is the same journal)"))

    # -- the journal itself ---------------------------------------------------------------------------
    def holds(self, path: Path) -> bool:
        """Whether the guard is on the file ``path`` names now."""
        if self._journal_fd is None:
            return False
        try:
            st, held = os.stat(path), os.fstat(self._journal_fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)

    def guard_journal(self) -> bool:
        """Lock the journal file; False when there is none yet. Refuses when another process holds it."""
        if self.holds(self.journal):
            return True
        for _attempt in range(5):   # the file may be replaced between open and lock: then lock the new one
            if not os.path.lexists(self.journal):
                return False
            real = Path(os.path.realpath(self.journal))
            try:
                fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
            except FileNotFoundError:
                if os.path.islink(self.journal):
                    raise PosError(_("{path} is a link to {target}, which does not exist").format(path=self.journal,
                                                                                                 target=real),
                                   hint=_("restore the journal it points at, or remove the dangling link")) from None
                continue
            except OSError as exc:
                raise PosError(_("cannot open the journal {path}: {reason}").format(path=real, reason=exc.strerror),
                               hint=_("run as the user the terminal runs as, or check the data directory's "
                                      "permissions")) from None
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                raise PosError(_("{path} is not a file, so it cannot be the journal").format(path=real),
                               hint=_("move it aside, or pass another --data-dir"))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _close_when_safe(fd)
                pid = flock_holder(st) or self._pid_in_file() or "?"
                raise self._refusal(pid, real) from None
            except OSError as exc:
                _close_when_safe(fd)
                raise PosError(_("cannot lock the journal {path}: {reason}").format(path=real, reason=exc.strerror),
                               hint=_("the data directory must be on a local disk")) from None
            try:
                now = os.stat(self.journal)
            except OSError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                self.adopt(fd)
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            _close_when_safe(fd)
        raise PosError(_("the journal {path} keeps being replaced while this terminal starts").format(
                           path=self.journal),
                       hint=_("something else is moving files in the data directory: stop it, then start again"))

    def adopt(self, fd: int) -> None:
        """Keep ``fd``, already flocked, as the guard of the journal (a journal just created under it)."""
        self._drop_journal()
        self._journal_fd = fd
        tighten(fd)

    def _pid_in_file(self) -> str | None:
        try:
            return self.path.read_text(encoding="ascii", errors="replace").strip() or None
        except OSError:
            return None

    def _drop_journal(self) -> None:
        if self._journal_fd is not None:
            fd, self._journal_fd = self._journal_fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            _close_when_safe(fd)   # never closed under SQLite's feet (see the module's docstring)

    def release(self) -> None:
        self._drop_journal()
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
