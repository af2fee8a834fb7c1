"""Real small filesystems to fill (tmpfs; mounting needs root, as CI has): what a full disk does to the
journal and to a sale is tested on a disk that is really full, not on a mocked write."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


class SmallDisks:
    """Mounts tmpfs filesystems under ``root`` (the conftest fixture ``small_disk`` is one; each is
    unmounted when its test ends). A test that cannot mount one is skipped, with the reason."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mounted: list[Path] = []

    def __call__(self, size: str = "512k") -> Path:
        point = self.root / f"disk{len(self.mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}); "
                        "these tests need root to fill a real filesystem")
        self.mounted.append(point)
        return point

    def unmount_all(self) -> None:
        for point in self.mounted:
            subprocess.run(["umount", "-l", str(point)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Write a filler file until the filesystem has at most ``leave`` bytes free (or says ENOSPC); its path,
    to free the space again."""
    filler = disk / f"filler{len(list(disk.glob('filler*')))}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            fs = os.statvfs(disk)
            room = fs.f_bavail * fs.f_frsize - leave
            if room <= 0:
                break
            os.write(fd, b"\0" * min(room, 64 * 1024))
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def unlink_fillers(disk: Path) -> None:
    for filler in disk.glob("filler*"):
        filler.unlink()
