"""The store artifact (issue 7): build the Debian package with the one build command, unpack it into a
clean root, and run the bundle there with an empty environment (no venv, no PYTHONPATH, no repo on the
path): ``--version``, ``selftest --level internal --json`` in sandbox mode, and a sandbox sale by CLI.

Building takes a minute or two (PyInstaller, then dpkg-deb with zstd; the release default is xz, which
is slower to pack and gives the same tree). ``POS_PACKAGE_DEB=path.deb`` tests an already built package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pos_app
from conftest import payment_code

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
                       reason="the artifact is a Debian package: needs Linux with dpkg-deb"),
]


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("POS_PACKAGE_DEB")
    if prebuilt:
        return Path(prebuilt)
    env = {**os.environ, "POS_PACKAGE_COMPRESSION": "zstd", "PYTHON": sys.executable}
    started = time.monotonic()
    done = subprocess.run(["bash", str(PACKAGING / "build.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    built = sorted((PACKAGING / "dist").glob(f"pos-terminal_{pos_app.__version__}_*.deb"),
                   key=lambda p: p.stat().st_mtime)
    assert built, done.stdout
    print(f"\nbuilt {built[-1].name}: {built[-1].stat().st_size / 1e6:.1f} MB in {time.monotonic() - started:.0f} s")
    return built[-1]


@pytest.fixture(scope="module")
def installed(deb, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean-root")
    started = time.monotonic()
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    print(f"\nunpacked into a clean root in {time.monotonic() - started:.1f} s")
    return root


def run_bundle(installed: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The bundle with nothing of this checkout reachable: empty environment, a scratch cwd and HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run([str(installed / "opt/pos-terminal/pos-terminal"), *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_package_holds_the_system_integration(deb):
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"], capture_output=True,
                          text=True, check=True).stdout
    assert "Package: pos-terminal" in info and f"Version: {pos_app.__version__}" in info
    files = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./opt/pos-terminal/pos-terminal", "./usr/bin/pos-terminal",
                 "./lib/systemd/system/pos-terminal.service", "./lib/udev/rules.d/70-pos-terminal-scanners.rules",
                 "./usr/share/applications/pos-terminal.desktop", "./usr/lib/pos-terminal/pos-terminal-kiosk",
                 "./etc/pos-terminal/environment"):
        assert f" {path}\n" in files or f" {path} -> " in files, path
    assert "libpython3" in files and "PySide6" in files          # it brings Python and Qt
    assert "pos_app/locale/zh_CN.po" in files                      # and the translations
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    assert len(control) > 0


def test_maintainer_scripts_and_launchers_are_valid_shell():
    for script in [*(PACKAGING / "debian").glob("p*"), PACKAGING / "kiosk/pos-terminal-kiosk",
                   PACKAGING / "kiosk/pos-terminal-wrapper", PACKAGING / "build.sh"]:
        done = subprocess.run(["sh" if script.name != "build.sh" else "bash", "-n", str(script)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"
    unit = (PACKAGING / "systemd/pos-terminal.service").read_text()
    assert "Restart=always" in unit and "User=pos-terminal" in unit and "--kiosk" in \
        (PACKAGING / "kiosk/pos-terminal-kiosk").read_text()


def test_installed_version(installed, tmp_path):
    done = run_bundle(installed, tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pos-terminal {pos_app.__version__}"


def test_installed_sandbox_sale_then_selftest(installed, tmp_path):
    data = str(tmp_path / "data")
    done = run_bundle(installed, tmp_path, "sale", "--amount", "12.34", "--code", payment_code(), "--json",
                      "--data-dir", data)
    assert done.returncode == 0, done.stdout + done.stderr
    sale = json.loads(done.stdout)
    assert sale["status"] == "SUCCESS" and sale["amount"] == {"currency": "USD", "value": "1234"}
    done = run_bundle(installed, tmp_path, "report", "--json", "--data-dir", data)
    assert done.returncode == 0 and "SUCCESS" in done.stdout
    # the sandbox is now set up (its config, keys and journal in the data directory): every internal check
    done = run_bundle(installed, tmp_path, "selftest", "--level", "internal", "--json", "--data-dir", data)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    checks = {c["name"]: c["status"] for c in report["checks"]}
    assert report["ok"] and all(checks[n] == "pass" for n in ("config", "keys", "journal", "disk", "clock")), checks
