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
from kit import ROOT, payment_code

import pos_app
from pos_app.i18n import mo_name

PACKAGING = ROOT / "packaging"

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
                       reason="the artifact is a Debian package: needs Linux with dpkg-deb"),
]


CHROOT_WANTED = os.environ.get("POS_PACKAGING_CHROOT") == "1"
CHROOT_POSSIBLE = CHROOT_WANTED and os.geteuid() == 0 and shutil.which("debootstrap") is not None


@pytest.fixture(scope="module")
def debootstrap(tmp_path_factory):
    """When the chroot test will run: debootstrap started now, in the background, so its download overlaps
    the build (CI's two cores); the ``chroot`` fixture waits for it."""
    if not CHROOT_POSSIBLE or os.environ.get("POS_PACKAGING_CHROOT_DIR"):
        yield None
        return
    root = tmp_path_factory.mktemp("debian") / "root"
    log = (root.parent / "debootstrap.log").open("w")
    process = subprocess.Popen(["debootstrap", "--variant=minbase", "bookworm", str(root),
                                "http://deb.debian.org/debian"], stdout=log, stderr=subprocess.STDOUT)
    yield process, root
    if process.poll() is None:   # the chroot test was not selected: do not leave it running
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="module")
def deb(tmp_path_factory, debootstrap) -> Path:
    prebuilt = os.environ.get("POS_PACKAGE_DEB")
    if prebuilt:
        return Path(prebuilt)
    env = {**os.environ, "POS_PACKAGE_COMPRESSION": "zstd", "PYTHON": sys.executable}
    started = time.monotonic()
    done = subprocess.run(["bash", str(PACKAGING / "build.sh")], env=env, check=False, capture_output=True, text=True)
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
                          capture_output=True, text=True, timeout=120, check=False)


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
    assert "pos_app/locale/zh_CN.po" in files                      # and the translations, compiled from it
    assert "pos_app/locale/" + mo_name("zh_CN", (ROOT / "pos_app/locale/zh_CN.po").read_bytes()) in files
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    assert len(control) > 0


def test_maintainer_scripts_and_launchers_are_valid_shell():
    for script in [*(PACKAGING / "debian").glob("p*"), PACKAGING / "kiosk/pos-terminal-kiosk",
                   PACKAGING / "kiosk/pos-terminal-wrapper", PACKAGING / "build.sh"]:
        done = subprocess.run(["sh" if script.name != "build.sh" else "bash", "-n", str(script)],
                              capture_output=True, text=True, check=False)
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


# -- the real installer, in a clean Debian (opt-in: root, debootstrap and a network mirror) ------------------


@pytest.fixture(scope="module")
def chroot(tmp_path_factory, debootstrap):
    """A minimal Debian 12 made with debootstrap (or ``POS_PACKAGING_CHROOT_DIR``, an existing one, copied),
    with /proc mounted and the host's resolver, so apt can fetch the package's dependencies."""
    cached = os.environ.get("POS_PACKAGING_CHROOT_DIR")
    if cached:
        root = tmp_path_factory.mktemp("debian") / "root"
        subprocess.run(["cp", "-a", cached, str(root)], check=True)
    else:
        process, root = debootstrap
        assert process.wait(timeout=600) == 0, (root.parent / "debootstrap.log").read_text()[-2000:]
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    (root / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")   # no service starts in a chroot
    (root / "usr/sbin/policy-rc.d").chmod(0o755)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


def in_chroot(root: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["chroot", str(root), *command], check=False, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                               "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"})
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


@pytest.mark.skipif(not CHROOT_POSSIBLE,
                    reason="opt-in (POS_PACKAGING_CHROOT=1): needs root, debootstrap and a Debian mirror")
def test_apt_installs_upgrades_and_purges_it_in_a_clean_debian(deb, chroot):
    shutil.copy(deb, chroot / "tmp/pos-terminal.deb")
    in_chroot(chroot, "apt-get", "update", "-q")
    # systemd (for `systemctl enable` to act on) but not the X server the package only recommends
    in_chroot(chroot, "apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd", "/tmp/pos-terminal.deb")
    assert in_chroot(chroot, "id", "-nG", "pos-terminal").stdout.split() == ["pos-terminal"]  # no other group
    assert in_chroot(chroot, "stat", "-c", "%U:%G %a", "/etc/pos-terminal").stdout.strip() == "root:pos-terminal 1770"
    assert (chroot / "etc/systemd/system/graphical.target.wants/pos-terminal.service").is_symlink()
    # the three runs, through /usr/bin/pos-terminal as root: it switches to the pos-terminal user
    assert in_chroot(chroot, "pos-terminal", "--version").stdout.strip() == f"pos-terminal {pos_app.__version__}"
    sale = json.loads(in_chroot(chroot, "pos-terminal", "sale", "--amount", "12.34", "--code", payment_code(),
                                "--json").stdout)
    assert sale["status"] == "SUCCESS"
    report = json.loads(in_chroot(chroot, "pos-terminal", "selftest", "--level", "internal", "--json").stdout)
    assert report["ok"], report
    owner = in_chroot(chroot, "stat", "-c", "%U", "/var/lib/pos-terminal/journal.sqlite").stdout.strip()
    assert owner == "pos-terminal"
    # an upgrade (the same version again runs preinst upgrade): the journal stays, and a copy is made first
    in_chroot(chroot, "apt-get", "install", "-y", "-q", "--reinstall", "/tmp/pos-terminal.deb")
    assert list((chroot / "var/lib/pos-terminal/backups").glob("journal-before-*/journal.sqlite"))
    day = json.loads(in_chroot(chroot, "pos-terminal", "report", "--json").stdout)
    assert sale["paymentRequestId"] in json.dumps(day)
    # going live: `sudo pos-terminal setup` writes /etc/pos-terminal as the terminal's user, and moves the
    # sandbox's journal aside
    (chroot / "tmp/answers.toml").write_text("\n".join(f'{k} = "{v}"' for k, v in {
        "url": "http://127.0.0.1:9", "client_id": "LIVE_CLIENT_0001", "reference_merchant_id": "M-1",
        "name": "Corner Shop", "mcc": "5411", "store_id": "S1", "store_name": "Corner Shop 1", "store_mcc": "5411",
        "terminal_id": "T1", "currency": "USD", "settlement_currency": "USD", "listen": "127.0.0.1:8081",
        "public_url": "https://shop.example/notify", "manager_pin": "4711", "technician_pin": "8080",
        "gateway_public_key": "/var/lib/pos-terminal/sandbox-gateway/keys/gateway_public.pem"}.items()) + "\n")
    (chroot / "tmp/answers.toml").chmod(0o644)
    setup = json.loads(in_chroot(chroot, "pos-terminal", "setup", "--answers", "/tmp/answers.toml", "--json").stdout)
    assert setup["config"] == "/etc/pos-terminal/terminal.toml" and setup["sandbox_journal_archived"], setup
    assert in_chroot(chroot, "stat", "-c", "%U %a", "/etc/pos-terminal/keys/merchant_private.pem").stdout.strip() \
        == "pos-terminal 600"
    live = json.loads(in_chroot(chroot, "pos-terminal", "selftest", "--level", "internal", "--json").stdout)
    checks = {c["name"]: c["status"] for c in live["checks"]}
    assert checks["config"] == checks["keys"] == checks["journal"] == "pass", live
    # purge: the program goes, the payment records and credentials stay
    in_chroot(chroot, "apt-get", "purge", "-y", "-q", "pos-terminal")
    assert not (chroot / "opt/pos-terminal").exists()
    assert (chroot / "var/lib/pos-terminal/journal.sqlite").exists()
    assert (chroot / "etc/pos-terminal/terminal.toml").exists() and (chroot / "etc/pos-terminal/keys").is_dir()
