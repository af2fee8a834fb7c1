"""One terminal per data directory: two processes driving the same journal could both resend a pay.

An ``flock`` on ``<dir>/pos-terminal.lock`` is released by the kernel when its holder dies, even by
``kill -9``, so a crashed terminal never leaves a stale lock behind. The holder's pid is written into
the file so the refusal can name it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pos_app.errors import PosError


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "pos-terminal.lock"
        self._fd: int | None = None

    def acquire(self) -> "InstanceLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PosError(f"cannot open {self.path}: {exc.strerror}",
                           hint="check the data directory's permissions, or pass another --data-dir") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if not isinstance(exc, BlockingIOError):
                os.close(fd)
                raise PosError(f"cannot lock {self.path}: {exc.strerror}",
                               hint="the data directory must be on a local disk") from None
            try:
                pid = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise PosError(f"another pos-terminal (pid {pid}) uses {self.path.parent}",
                           hint="close it first, or give this one its own --data-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
