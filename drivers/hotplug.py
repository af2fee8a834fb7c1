"""Hotplug from inotify on ``/dev/input`` (or a serial port's folder): events, not polling.

Odoo's IoT box polls every 3 s (spec practice §1); a replug here is seen the moment udev creates the
node. udev creates the node, then fixes its group and mode, then adds the by-id links, so changes are
gathered for a short settle time and handed over as one batch. If the folder does not exist yet (no
input device since boot), its parent is watched until it appears. inotify is reached through ctypes:
it is in every Linux libc and needs no extra package.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from pos_app.i18n import _

log = logging.getLogger(__name__)

IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x4, 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED, IN_ONLYDIR = 0x400, 0x800, 0x4000, 0x8000, 0x01000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_MASK = IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
_HEADER = struct.Struct("iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


class DirectoryWatcher:
    """Calls ``on_change(names)`` from its own thread when entries of ``folder`` come, go or change.

    ``names`` is the set of entry names touched during the settle time (empty when the folder itself
    appeared). The callback must not block for long; exceptions in it are logged, never fatal.
    """

    def __init__(self, folder: Path | str, on_change: Callable[[set[str]], None], *, settle: float = 0.1) -> None:
        self.folder = Path(folder)
        self.on_change = on_change
        self.settle = settle
        self._fd = _check(_libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC), "inotify_init1")
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._watch: int | None = None      # on the folder
        self._parent: int | None = None     # on its parent, while the folder is missing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hotplug {self.folder}", daemon=True)

    def start(self) -> DirectoryWatcher:
        try:
            self._arm()
        except OSError:
            self._close_fds()
            raise
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)
        self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self._fd, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _add(self, path: Path) -> int | None:
        result = _libc.inotify_add_watch(self._fd, os.fsencode(path), _MASK | IN_ONLYDIR)
        if result < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise OSError(code, _("cannot watch {path}: {reason}").format(path=path, reason=os.strerror(code)))
        return result

    def _arm(self) -> None:
        """Watch the folder, or its parent until the folder exists."""
        self._watch = self._add(self.folder)
        if self._watch is None and self._parent is None:
            self._parent = self._add(self.folder.parent)
            self._watch = self._add(self.folder)  # it may have appeared meanwhile

    def _run(self) -> None:
        changed: set[str] | None = None
        while not self._stop.is_set():
            timeout = self.settle if changed is not None else None
            try:
                ready, _, _ = select.select([self._fd, self._wake_r], [], [], timeout)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                log.exception("hotplug watch on %s failed; retrying", self.folder)
                self._stop.wait(0.5)
                continue
            if self._stop.is_set():
                return
            if not ready:
                batch, changed = changed, None
                self._call(batch or set())
                continue
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                log.exception("hotplug watch on %s failed; retrying", self.folder)
                self._stop.wait(0.5)
                continue
            try:
                names = self._parse(data)
            except OSError:  # the folder could not be watched again: look from the parent next time
                log.exception("hotplug: re-watching %s failed", self.folder)
                names = set()
            if names is not None:
                changed = (changed or set()) | names

    def _parse(self, data: bytes) -> set[str] | None:
        names: set[str] = set()
        touched = False
        offset = 0
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            raw = data[offset + _HEADER.size: offset + _HEADER.size + length].rstrip(b"\0")
            offset += _HEADER.size + length
            name = os.fsdecode(raw)
            if mask & IN_Q_OVERFLOW:  # the kernel lost events: look at everything again
                touched = True
            elif wd == self._watch:
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                    self._watch = None
                    if self._parent is None:
                        self._parent = self._add(self.folder.parent)
                touched = True
                if name:
                    names.add(name)
            elif wd == self._parent and name == self.folder.name and mask & (IN_CREATE | IN_MOVED_TO):
                self._watch = self._add(self.folder)
                touched = True
                if self._watch is not None:  # anything created in it before the watch began
                    try:
                        names.update(os.listdir(self.folder))
                    except OSError:
                        pass
        return names if touched else None

    def _call(self, names: set[str]) -> None:
        try:
            self.on_change(names)
        except Exception:  # a bug in a callback must not stop hotplug
            log.exception("hotplug callback for %s failed", self.folder)
