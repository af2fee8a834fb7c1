"""The store artifact (issue 7): its size and its install time, beside the peer a developer uses today,
the README's ``pip install`` of this checkout into a fresh venv, in the same run:

    .venv/bin/python benchmarks/bench_package.py [--deb FILE] [--dpkg]

- Build: ``bash packaging/build.sh`` (xz, the release default) unless ``--deb`` names a built package.
- Size: the .deb on disk, and what it installs; peer: the fresh venv's size after ``pip install .``
  (which still needs the system's Python, and Qt's X11 libraries, which the bundle carries).
- Install: ``dpkg-deb -x`` into an empty root (the files alone), and with ``--dpkg`` (root only; it
  installs the package on this machine and leaves it installed) a real ``dpkg -i`` with its maintainer
  scripts; peer: ``python3 -m venv`` + ``pip install .`` from pip's warm cache (no download in either).

Medians of 3 runs for the unpacking and the venv; one ``dpkg -i``. Progress on stderr, the table on stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from table import print_table  # benchmarks/table.py: the script's folder is first on sys.path

ROOT = Path(__file__).resolve().parent.parent


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, help="a built package (default: build one now)")
    parser.add_argument("--dpkg", action="store_true", help="also time a real dpkg -i (root; installs it here)")
    args = parser.parse_args()
    deb = args.deb
    build_seconds = None
    if deb is None:
        print("building (packaging/build.sh) …", file=sys.stderr)
        build_seconds = timed(lambda: subprocess.run(["bash", str(ROOT / "packaging/build.sh")], check=True,
                                                     stdout=sys.stderr))
        deb = max((ROOT / "packaging/dist").glob("pos-terminal_*.deb"), key=lambda p: p.stat().st_mtime)
    unpack, venv_install, installed_size, venv_size = [], [], 0, 0
    for run in range(3):
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch) / "root"
            print(f"run {run + 1}: dpkg-deb -x …", file=sys.stderr)
            unpack.append(timed(lambda root=root: subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)))
            installed_size = du(root)
            venv = Path(scratch) / "venv"
            print(f"run {run + 1}: venv + pip install . …", file=sys.stderr)

            def pip_install(venv: Path = venv) -> None:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
                subprocess.run([str(venv / "bin/pip"), "install", "-q", str(ROOT)], check=True,
                               env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
            venv_install.append(timed(pip_install))
            venv_size = du(venv)
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    rows = [
        ("artifact size (.deb)", f"{deb.stat().st_size / 1e6:.1f} MB", "—", "—"),
        ("installed size", f"{installed_size / 1e6:.0f} MB", f"{venv_size / 1e6:.0f} MB venv",
         f"{installed_size / venv_size:.2f}×"),
        ("install: unpack the files", f"{statistics.median(unpack):.1f} s",
         f"{statistics.median(venv_install):.1f} s venv + pip",
         f"{statistics.median(unpack) / statistics.median(venv_install):.2f}×"),
    ]
    if args.dpkg:
        if os.geteuid() != 0:
            print("--dpkg needs root", file=sys.stderr)
            return 2
        seconds = timed(lambda: subprocess.run(["dpkg", "-i", str(deb)], check=True, stdout=sys.stderr))
        rows.append(("install: dpkg -i (with scripts)", f"{seconds:.1f} s",
                     f"{statistics.median(venv_install):.1f} s venv + pip",
                     f"{seconds / statistics.median(venv_install):.2f}×"))
    if build_seconds is not None:
        rows.append(("build (make package)", f"{build_seconds:.0f} s", "—", "—"))
    print(f"\n{deb.name}\n")
    print_table(rows, ("measure", "pos-terminal .deb", "peer: pip install into a venv", "ratio"),
                (False, True, True, True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
