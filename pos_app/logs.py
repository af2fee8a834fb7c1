"""The terminal's logs: rotating files under the data directory, the journal under systemd, and
``pos-terminal logs [--export FILE]`` for support.

A log is read by people who must not see a customer's payment code or any key, and it leaves the
store in support tickets. So every line passes through :func:`mask_text` on its way to any handler
(ours and third-party loggers' alike), and an export masks each file again, since an older version
may have written a code in clear.
"""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import ClassVar

from . import __version__
from .errors import PosError, cannot_write
from .i18n import _
from .scan import mask as _mask_code

FILE_NAME = "pos-terminal.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)

# -- masking ----------------------------------------------------------------------------------------

# A PEM block (any key or certificate), bounded so one stray "BEGIN" cannot swallow a whole file.
_PEM = re.compile(r"-----BEGIN[^\r\n]{0,80}?-----.{0,20000}?-----END[^\r\n]{0,80}?-----", re.DOTALL)
# What is left of a block cut short (a truncated repr, a key pasted without its END line): the header,
# the base64 lines after it (real or escaped newlines), and the rest of that line.
_PEM_OPEN = re.compile(r"-----BEGIN(?:[^\r\n]{0,80}?-----)?(?:(?:\\n|\s)*[A-Za-z0-9+/=]{16,})*[^\r\n]*")
# A bare base64 RSA key (a DER SEQUENCE with a two-byte length always encodes as "MII..."); signatures
# and nonces are random, so they almost never start so.
_DER_KEY = re.compile(r"MII[A-Za-z0-9+/]{60,}(?:(?:\\n|\s)*[A-Za-z0-9+/]{16,})*={0,2}")
# A payment code: 16 to 32 digits on their own (the reserved Alipay+ lengths reach 32). A run followed by
# a letter, or preceded by one, is part of one of our request ids (PAY20240101120000 + hex, whose hex part
# may come out all digits), which support needs in clear; so is a run labelled as the gateway's
# paymentId/refundId (32 digits too); longer runs are ids.
_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]{16,32}(?![0-9A-Za-z])")
_GATEWAY_ID = re.compile(r"(?:payment|refund|capture)_?id[\"']?\s*[:=]?\s*[\"']?\s*$", re.IGNORECASE)
KEY_REMOVED = "[key removed]"


def mask_text(text: str) -> str:
    """``text`` with keys removed and payment codes masked as the screens show them (scan.mask)."""
    if "-----BEGIN" in text:
        text = _PEM_OPEN.sub(KEY_REMOVED, _PEM.sub(KEY_REMOVED, text))
    if "MII" in text:
        text = _DER_KEY.sub(KEY_REMOVED, text)
    def masked(m: re.Match) -> str:
        if _GATEWAY_ID.search(text, max(0, m.start() - 16), m.start()):
            return m.group()
        return _mask_code(m.group())
    return _CODE.sub(masked, text)


class MaskFilter(logging.Filter):
    """Masks the fully formatted message, the exception text and the stack of every record.

    It rewrites the record itself (message with its arguments applied, ``exc_text``), so whatever
    handler formats it next, ours or another, sees only the masked text.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pos_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a bad format string: keep what there is, masked
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        record._pos_masked = True
        return True


# -- handlers ---------------------------------------------------------------------------------------

class _Stderr(logging.StreamHandler):
    """stderr as it is when a record comes, not when logging was set up (tests swap sys.stderr)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _JournalFormatter(logging.Formatter):
    """journald's stream protocol: a ``<priority>`` prefix on every line, so `journalctl -p` filters."""

    PRIORITIES: ClassVar[dict[int, int]] = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4,
                                            logging.INFO: 6, logging.DEBUG: 7}

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        level = next((p for lv, p in sorted(self.PRIORITIES.items(), reverse=True) if record.levelno >= lv), 7)
        return "\n".join(f"<{level}>{line}" for line in super().format(record).splitlines() or [""])


def under_journal(stream=None) -> bool:
    """True when ``stream`` (stderr) is the journal stream systemd gave us: JOURNAL_STREAM is "dev:ino"."""
    value = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in value.split(":"))
        st = os.fstat((stream or sys.stderr).fileno())
    except (ValueError, OSError, AttributeError):  # unset, malformed, or a stream with no file
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file, opened only when a record comes and the data directory exists.

    Until the data directory exists its records wait in memory (a command that only reads must not
    create it; one that writes creates it and the waiting records follow). ``create`` (the window, which
    makes the data directory anyway) makes it with the first record instead: otherwise a first start,
    which logs nothing after its opening line, would leave no log at all. A folder that cannot be
    made or written costs one warning on stderr, never the command. Another process (the window and a
    CLI command share the file) may rotate it: the file is reopened when its name points elsewhere.
    """

    def __init__(self, folder: Path, max_bytes: int, backups: int, warn, *, create: bool = False) -> None:
        self.folder = Path(folder)
        self.create = create
        self.pending: collections.deque[logging.LogRecord] = collections.deque(maxlen=1000)
        self._warn = warn
        self._warned = self._shut = False
        super().__init__(self.folder / FILE_NAME, maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                         delay=True)

    def _open(self):
        self.folder.mkdir(mode=0o700, exist_ok=True)
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
                    opener=lambda path, flags: os.open(path, flags, 0o600))

    def _ready(self) -> bool:
        """Open the file if it can be; False while the data directory does not exist, or on an error."""
        if self.stream is not None:
            try:
                name, held = os.stat(self.baseFilename), os.fstat(self.stream.fileno())
                if (name.st_dev, name.st_ino) == (held.st_dev, held.st_ino):
                    return True
            except OSError:
                pass  # rotated away or removed: open the name again
            self._drop_stream()
        try:
            if self.create and not self.folder.parent.is_dir():
                from offline_queue.lock import make_private_dir
                make_private_dir(self.folder.parent)
            if not self.folder.parent.is_dir():
                return False
            self.stream = self._open()
        except PosError as exc:
            self._fail(exc.message)
            return False
        except OSError as exc:
            self._fail(exc)
            return False
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self._shut:  # a thread's late record after setup replaced this handler: never reopen
            return
        if not self._ready():
            if not self.folder.parent.is_dir():
                self.pending.append(record)
            return
        while self.pending:
            super().emit(self.pending.popleft())
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """A write or rotation failed (disk full, permissions): warn once, try again with the next record."""
        self._drop_stream()
        self._fail(sys.exc_info()[1])

    def _drop_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass

    def _fail(self, exc) -> None:
        if not self._warned:
            self._warned = True
            reason = getattr(exc, "strerror", None) or exc
            self._warn(f"cannot write the log file {self.baseFilename} ({reason}); going on without it")

    def close(self) -> None:
        """Closing (a new setup, or the process exit) is the last chance for records still waiting."""
        self.acquire()
        try:
            if self.pending and self._ready():
                while self.pending:
                    super().emit(self.pending.popleft())
            self.pending.clear()
            self._shut = True
        finally:
            self.release()
        super().close()


_handlers: list[logging.Handler] = []


def setup(data_dir: Path | str | None, verbose: bool, *, command: str | None = None,
          max_bytes: int = MAX_BYTES, backups: int = BACKUPS, create: bool = False) -> Path | None:
    """Log to ``<data_dir>/logs/pos-terminal.log`` and to stderr (the journal's levels under systemd).

    Called by every command; calling it again replaces (and closes) what an earlier call set up,
    so in-process runs do not stack handlers. ``create``: make the data directory now if it is missing
    (the window's set-up: its log starts with its first start). Returns the log file's path, or None
    without one.
    """
    shutdown()
    root = logging.getLogger()
    masking = MaskFilter()

    stderr = _Stderr()
    if under_journal():
        stderr.setFormatter(_JournalFormatter())
        stderr.setLevel(logging.DEBUG if verbose else logging.INFO)
    else:
        stderr.setFormatter(logging.Formatter(STDERR_FORMAT))
        stderr.setLevel(logging.DEBUG if verbose else logging.WARNING)
    stderr.addFilter(masking)
    _handlers.append(stderr)

    def warn(text: str) -> None:
        record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, text, None, None)
        stderr.handle(record)

    path = None
    if data_dir is not None:
        logfile = _LogFile(Path(data_dir) / "logs", max_bytes, backups, warn, create=create)
        logfile.setFormatter(logging.Formatter(FILE_FORMAT))
        logfile.setLevel(logging.DEBUG if verbose else logging.INFO)
        logfile.addFilter(masking)
        _handlers.append(logfile)
        path = Path(logfile.baseFilename)
    for handler in _handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.info("pos-terminal %s: %s", __version__, command or "start")
    return path


def current_file() -> Path | None:
    """The log file this process writes (set up by :func:`setup`), or None: what the technician's Logs tab
    shows, rather than whichever file in the folder changed last."""
    for handler in _handlers:
        if isinstance(handler, _LogFile):
            return Path(handler.baseFilename)
    return None


def to_file(level: int, message: str, *args) -> None:
    """A line for the log file only: e.g. where a crash report went, which stderr has already said."""
    record = logging.LogRecord(__name__, level, __file__, 0, message, args, None)
    for handler in _handlers:
        if isinstance(handler, _LogFile) and level >= handler.level:
            handler.handle(record)


def shutdown() -> None:
    """Detach and close what :func:`setup` attached (tests; a caller done with logging)."""
    root = logging.getLogger()
    for handler in _handlers:
        root.removeHandler(handler)
        handler.close()
    _handlers.clear()


# -- pos-terminal logs ------------------------------------------------------------------------------

# Never packed, whatever lands in the logs folder: keys, the journal (it holds every sale), and
# compressed files (a logrotate'd .gz could hold codes that cannot be masked inside it).
_NEVER = re.compile(r"(?i)\.(pem|key|p12|pfx|der|crt|sqlite\S*|db|gz|tgz|xz|bz2|zst|zip)$|journal|private")


def _log_files(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """The regular files of ``folder`` (not links: one could point at a key), newest first. A file the
    running terminal rotates away meanwhile is left out, not an error."""
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PosError(_("cannot read {path}: {reason}").format(path=folder, reason=exc.strerror),
                       hint=_("check its permissions")) from None
    found = []
    for path in entries:
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((path, st))
    return sorted(found, key=lambda item: item[1].st_mtime, reverse=True)


def _when(seconds: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def listing(folder: Path) -> list[dict]:
    """The log files, newest first: name, size in bytes, and when each was last written (local time)."""
    return [{"name": p.name, "size": st.st_size, "modified": _when(st.st_mtime)} for p, st in _log_files(folder)]


def export(folder: Path, target: Path, *, config: str | None = None) -> dict:
    """Pack the logs (masked again) and system.txt into a .tar.gz, written whole or not at all."""
    import io
    import tarfile
    import tempfile

    shown = target
    target = Path(target).expanduser().absolute()
    if not target.name.endswith(".tar.gz"):
        raise PosError(_("--export {path}: the export is a .tar.gz archive").format(path=shown),
                       hint=_("name it so, e.g. --export {path}").format(
                           path=target.with_name("pos-terminal-logs.tar.gz")))
    found = _log_files(folder)
    files = [p for p, _st in found if not _NEVER.search(p.name)]
    skipped = [p.name for p, _st in found if _NEVER.search(p.name)]
    prefix = target.name[: -len(".tar.gz")] or "pos-terminal-logs"
    names = []

    def add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
        info = tarfile.TarInfo(f"{prefix}/{name}")
        info.size, info.mtime, info.mode = len(data), int(mtime), 0o600
        tar.addfile(info, io.BytesIO(data))
        names.append(name)

    temp = None
    try:
        handle, temp = tempfile.mkstemp(prefix=".pos-terminal-logs-", suffix=".tmp", dir=target.parent)
        with os.fdopen(handle, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for path in reversed(files):  # oldest first, as they were written
                try:
                    text = path.read_bytes().decode("utf-8", "surrogateescape")
                    mtime = path.stat().st_mtime
                except OSError as exc:
                    skipped.append(f"{path.name} ({exc.strerror})")
                    continue
                add(tar, f"logs/{path.name}", mask_text(text).encode("utf-8", "surrogateescape"), mtime)
            add(tar, "system.txt", mask_text(system_summary(config, folder, names, skipped)).encode(), time.time())
        os.replace(temp, target)
        temp = None
    except OSError as exc:
        raise cannot_write(target, exc) from None
    finally:
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass
    return {"path": str(target), "files": len(names), "logFiles": len(names) - 1, "names": names,
            "skipped": skipped}


def system_summary(config_arg: str | None, folder: Path, names: list[str], skipped: list[str]) -> str:
    """What support asks first: versions, where things are, the journal's state, free disk."""
    import platform
    import shutil

    from .config import find_config_file, load_config

    data_dir = folder.parent
    lines = [f"pos-terminal {__version__}",
             f"generated:   {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
             f"python:      {sys.version.split()[0]} ({sys.executable})",
             f"platform:    {platform.platform()} ({platform.machine()})",
             f"systemd:     {'yes (journal stream)' if os.environ.get('JOURNAL_STREAM') else 'no'}"]
    problem: str | None = None
    try:
        config = find_config_file(config_arg)
    except PosError as exc:
        config, problem = None, exc.message
    else:
        if config is not None:
            try:
                load_config(config)
                problem = "loads without errors"
            except PosError as exc:
                problem = exc.message
            except Exception as exc:  # noqa: BLE001 -- the summary must come out even when the config is very wrong
                problem = f"{type(exc).__name__}: {exc}"
    lines.append(f"config:      {config if config is not None else 'sandbox (no config file)'}")
    if problem:
        lines.append(f"             {problem}")
    lines.append(f"data dir:    {data_dir}{'' if data_dir.is_dir() else ' (does not exist)'}")
    lines.append(f"journal:     {_journal_state(data_dir)}")
    where = data_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        usage = shutil.disk_usage(where)
        lines.append(f"free disk:   {usage.free / 1e6:,.0f} MB of {usage.total / 1e6:,.0f} MB ({where})")
    except OSError as exc:
        lines.append(f"free disk:   unknown ({exc.strerror})")
    lines.append(f"logs:        {folder}")
    lines += [f"  {name}" for name in names if name.startswith("logs/")]
    if skipped:
        lines.append("not included: " + ", ".join(skipped))
    return "\n".join(lines) + "\n"


def _journal_state(data_dir: Path) -> str:
    """The journal's size and schema version, read-only: the export never packs the journal itself."""
    import sqlite3

    path = data_dir / "journal.sqlite"
    if not path.exists():
        return "none yet"
    size = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"{path}, {size:,} bytes, schema unreadable ({exc})"
    try:
        from offline_queue.schema import VERSION
        expected = f" (this version expects {VERSION})"
    except ImportError:
        expected = ""
    return f"{path}, {size:,} bytes, schema version {version}{expected}"
