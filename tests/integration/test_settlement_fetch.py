"""The settlement fetch (issue 18) against OpenSSH's own sshd, the independent peer: started by the test on
127.0.0.1 with a temporary config, host key and authorized_keys, serving its internal-sftp; key login. What
arrives is compared byte for byte with the files on disk; fingerprints are OpenSSH's (ssh-keygen -l). A cut
connection is a real TCP relay that closes both sides after a set number of the server's bytes. Behind a store's
proxy (issue 19) the fetch goes through tinyproxy's CONNECT (its log shows the tunnels it opened).

Without /usr/sbin/sshd the module is skipped (saying so), except under CI, where it fails: CI installs
openssh-server."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from kit import reserve_port

from pos_app.config import GatewayConfig
from pos_app.errors import PosError
from pos_app.settlement import fetch as sftp_fetch

pytestmark = pytest.mark.slow

SSHD = Path("/usr/sbin/sshd")
DAY = "2026-12-04"


def _need_sshd() -> None:
    if SSHD.exists() and shutil.which("ssh-keygen"):
        return
    if os.environ.get("CI"):
        pytest.fail("CI needs OpenSSH's sshd and ssh-keygen (.ci/run installs openssh-server)")
    pytest.skip("no /usr/sbin/sshd here (apt-get install openssh-server): the SFTP fetch is checked against it")


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)], check=True)
    return path


def fingerprint(public: Path) -> str:
    """OpenSSH's own SHA256 fingerprint of a public key file (ssh-keygen -l)."""
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(public)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


class Sshd:
    """OpenSSH's sshd in the foreground (-D) on 127.0.0.1, its config and keys in ``folder``."""

    def __init__(self, folder: Path, sftp_options: str = "") -> None:
        """``sftp_options``: internal-sftp's own (e.g. ``-P open``: requests it refuses as permission denied)."""
        self.folder = folder
        self.port = reserve_port()   # held until sshd binds it beside (SO_REUSEADDR): no other test takes it
        self.host_key = keygen(folder / "host_ed25519")
        self.rsa_host_key = keygen(folder / "host_rsa", "rsa")   # a second type: the key checked is known_hosts' type
        self.client_key = keygen(folder / "client_ed25519")
        (folder / "authorized_keys").write_text((folder / "client_ed25519.pub").read_text())
        self.root = folder / "sftp"
        self.root.mkdir()
        self.user = getpass.getuser()
        config = folder / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1:{self.port}\nHostKey {self.host_key}\nHostKey {self.rsa_host_key}\nPidFile none\n"
            f"AuthorizedKeysFile {folder / 'authorized_keys'}\nStrictModes no\nPermitRootLogin yes\n"
            f"PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"AllowUsers {self.user}\nSubsystem sftp internal-sftp {sftp_options}\nLogLevel VERBOSE\n")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # sshd's privilege-separation folder (the package's)
        self.log = open(folder / "sshd.log", "wb")   # noqa: SIM115 -- closed in stop()
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self.proc.returncode}: {(folder / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not listen: {(folder / 'sshd.log').read_text()}") from None
                time.sleep(0.05)
        self.known_hosts = folder / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {(folder / 'host_ed25519.pub').read_text()}")

    def url(self, path: str | None = None, port: int | None = None) -> str:
        return f"sftp://{self.user}@127.0.0.1:{port or self.port}{path or self.root}"

    def settings(self, **changes) -> SimpleNamespace:
        """A [settlement] as the config gives it (duck-typed: sftp, password_file, key_file, known_hosts)."""
        base = {"sftp": self.url(), "password_file": None, "key_file": self.folder / "client_ed25519",
                "known_hosts": self.known_hosts, "customer_id": "2188120000000000"}
        return SimpleNamespace(**{**base, **changes})

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    _need_sshd()
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


def report_tree(root: Path) -> dict[str, bytes]:
    """Three day folders as the gateway lays them out: the day's transactions file, a settlement batch on T+1,
    a T+2 re-completion; a file that is not a report, a hidden temporary file, and a day outside the range."""
    files = {
        "20261204/transactionItems_20261204_000.csv": b"customerId,transactionId\n1,2\n<END>\n",
        "20261204/transactionItems_20261204_000.xlsx": os.urandom(3000),
        "20261204/readme.txt": b"not a report",
        "20261204/.transactionItems_20261204_001.csv.tmp": b"half",
        "20261205/settlementItems_USD_20261204-USD-01_000.csv": b"settlementBatchId\nX\n<END>\n",
        "20261205/settlementSummary_USD_20261204-USD-01_000.csv": b"settlementBatchId\nY\n<END>\n",
        "20261206/transactionItems_20261204_001.csv": b"customerId\n3\n<END>\n",
        "20261207/transactionItems_20261207_000.csv": b"not this day's\n<END>\n",
    }
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return files


def test_fetch_downloads_the_days_reports_byte_for_byte(sshd, tmp_path):
    files = report_tree(sshd.root)
    dest = tmp_path / "reports"
    got = sftp_fetch.fetch(sshd.settings(), DAY, dest=dest)
    wanted = sorted(n for n in files if n.endswith((".csv", ".xlsx")) and not n.split("/")[1].startswith(".")
                    and not n.startswith("20261207"))
    assert [p.relative_to(dest).as_posix() for p in got] == wanted
    for path in got:
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(files[path.relative_to(dest)
                                                                                  .as_posix()]).digest()
    # nothing else was written: no temporary names left behind
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == wanted

    # later folders that do not exist yet are normal; the day's own missing is said in words
    assert [p.name for p in sftp_fetch.fetch(sshd.settings(), "2026-12-07", dest=tmp_path / "later")] == \
        ["transactionItems_20261207_000.csv"]
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(), "2026-11-01", dest=tmp_path / "none")
    assert "no reports for 2026-11-01 yet" in caught.value.message and "T+1" in caught.value.hint


def test_check_lists_the_folder_and_names_the_host_key(sshd):
    report_tree(sshd.root)
    words = sftp_fetch.check(sshd.settings())
    assert fingerprint(sshd.folder / "host_ed25519.pub") in words
    assert "the newest 20261207" in words


def test_a_changed_or_unknown_host_key_is_refused_with_its_fingerprint(sshd, tmp_path):
    shown = fingerprint(sshd.folder / "host_ed25519.pub")
    keygen(tmp_path / "other_host")
    changed = tmp_path / "known_changed"
    changed.write_text(f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_host.pub').read_text()}")
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(known_hosts=changed), DAY, dest=tmp_path / "a")
    assert "it changed" in caught.value.message and shown in caught.value.message
    assert [p for p in (tmp_path / "a").rglob("*") if p.is_file()] == []

    unknown = tmp_path / "known_empty"
    unknown.write_text("")
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(known_hosts=unknown))
    # nothing known: the key the server offers first (it has two) is the one shown
    assert "unknown" in caught.value.message
    assert shown in caught.value.message or fingerprint(sshd.folder / "host_rsa.pub") in caught.value.message
    assert f"[127.0.0.1]:{sshd.port}" in caught.value.hint

    # known_hosts holds an RSA key for it (the server has one too, another): the server's RSA key is the one shown
    keygen(tmp_path / "other_rsa", "rsa")
    rsa = tmp_path / "known_rsa"
    rsa.write_text(f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_rsa.pub').read_text()}")
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(known_hosts=rsa))
    assert "it changed" in caught.value.message
    assert fingerprint(sshd.folder / "host_rsa.pub") in caught.value.message and "ssh-rsa" in caught.value.message
    # and the server's RSA key, known, lets it in
    rsa.write_text(f"[127.0.0.1]:{sshd.port} {(sshd.folder / 'host_rsa.pub').read_text()}")
    assert fingerprint(sshd.folder / "host_rsa.pub") in sftp_fetch.check(sshd.settings(known_hosts=rsa))

    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(known_hosts=None))
    assert "known_hosts is not set" in caught.value.message
    garbled = tmp_path / "known_garbled"
    garbled.write_text(f"[127.0.0.1]:{sshd.port}\n")   # the host, its key not pasted
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(known_hosts=garbled))
    assert "not in known_hosts form" in caught.value.message


def test_a_key_the_server_does_not_know_is_refused(sshd, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(key_file=stranger))
    assert "refused the login" in caught.value.message and sshd.user in caught.value.message
    locked = keygen(tmp_path / "locked", passphrase="secret phrase")
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(key_file=locked))
    assert "not a private key this terminal can use" in caught.value.message and "passphrase" in caught.value.hint
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(key_file=tmp_path / "absent"))
    assert "cannot be read" in caught.value.message


def test_a_missing_folder_is_said_in_words(sshd, tmp_path):
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(), DAY, dest=tmp_path / "d", url=sshd.url(f"{sshd.root}/v1/nope"))
    assert f"no folder {sshd.root}/v1/nope" in caught.value.message
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(sftp=sshd.url(f"{sshd.root}/v1/nope")))
    assert "no folder" in caught.value.message


def test_refused_and_silent_servers_and_bad_urls_are_said_in_words(sshd, tmp_path):
    closed = reserve_port()   # held, never listening: a connection to it is refused
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(sshd.settings(sftp=sshd.url(port=closed)))
    assert "refused the connection" in caught.value.message

    silent = socket.create_server(("127.0.0.1", 0))   # accepts (the kernel's backlog) and never says a word
    try:
        with pytest.raises(PosError) as caught:
            sftp_fetch.check(sshd.settings(sftp=sshd.url(port=silent.getsockname()[1])), timeout=1)
        assert "did not answer within 1 s" in caught.value.message
    finally:
        silent.close()

    for bad in ("http://h/p", "sftp://host/p", "sftp://u:secret@host/p", "sftp://u@host:port/p", "sftp://u@h/a/../b"):
        with pytest.raises(PosError) as caught:
            sftp_fetch.check(sshd.settings(sftp=bad))
        assert "secret" not in caught.value.message and caught.value.hint


class CuttingRelay:
    """A TCP relay to the server that closes both sides once ``limit`` bytes came from the server."""

    def __init__(self, port: int, limit: int) -> None:
        self.upstream, self.limit = port, limit
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.relayed = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _addr = self.server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.upstream))

        def pump(src, dst, counted):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if counted:
                        data = data[:max(0, self.limit - self.relayed)]
                        self.relayed += len(data)
                    dst.sendall(data)
                    if counted and self.relayed >= self.limit:
                        break
            except OSError:
                pass
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
        pump(upstream, client, True)

    def close(self) -> None:
        self.server.close()


def test_a_connection_cut_mid_download_leaves_no_partial_file(sshd, tmp_path):
    big = os.urandom(4 * 1024 * 1024)
    folder = sshd.root / "cut" / "20261204"
    folder.mkdir(parents=True)
    (folder / "transactionItems_20261204_000.csv").write_bytes(big)
    relay = CuttingRelay(sshd.port, limit=1024 * 1024)   # the login and listing are a few kB: cut in the file
    known = tmp_path / "known"
    known.write_text(f"[127.0.0.1]:{relay.port} {(sshd.folder / 'host_ed25519.pub').read_text()}")
    dest = tmp_path / "dest"
    try:
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(sshd.settings(known_hosts=known), DAY, dest=dest,
                             url=sshd.url(f"{sshd.root}/cut", port=relay.port))
    finally:
        relay.close()
    assert relay.relayed == 1024 * 1024
    assert "nothing of it was kept" in caught.value.message or "dropped the connection" in caught.value.message
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_the_selftest_checks_the_configured_sftp_fetch(sshd, sim, tmp_path, no_devices):
    """``pos-terminal selftest --level external`` with a terminal.toml whose [settlement] names the sshd: the
    ``settlement`` check lists the folder, names OpenSSH's fingerprint of the host key; a changed key fails it
    with what to do; without [settlement] it is skipped."""
    import tomllib

    import tomli_w
    from flowkit import write_config

    from pos_app import selftest

    report_tree(sshd.root)
    config = write_config(sim, "settlement.toml")
    doc = tomllib.loads(config.read_text())
    doc["settlement"] = {"sftp": sshd.url(), "key": str(sshd.folder / "client_ed25519"),
                         "known_hosts": str(sshd.known_hosts)}
    config.write_text(tomli_w.dumps(doc))
    kw = {"input_dir": no_devices[0], "sys_dir": no_devices[1]}
    check = {c.name: c for c in selftest.run("external", config, tmp_path / "data", **kw).checks}["settlement"]
    assert check.status == selftest.PASS, check
    assert fingerprint(sshd.folder / "host_ed25519.pub") in check.detail and "20261207" in check.detail

    keygen(tmp_path / "other_host")
    changed = tmp_path / "known_changed"
    changed.write_text(f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_host.pub').read_text()}")
    doc["settlement"]["known_hosts"] = str(changed)
    config.write_text(tomli_w.dumps(doc))
    check = {c.name: c for c in selftest.run("external", config, tmp_path / "data", **kw).checks}["settlement"]
    assert check.status == selftest.FAIL and "it changed" in check.detail and "gateway confirms" in check.hint

    del doc["settlement"]
    config.write_text(tomli_w.dumps(doc))
    check = {c.name: c for c in selftest.run("external", config, tmp_path / "data", **kw).checks}["settlement"]
    assert check.status == selftest.SKIP and "[settlement] sftp" in check.detail


def test_fetch_from_the_simulators_sftp_server_with_its_password(make_sim, tmp_path):
    """The simulator's own SFTP server (asyncssh, password login, its known_hosts): a real sale made by a till
    arrives in the day's transactions file, read back with the csv module by its documented column names."""
    import csv

    from flowkit import write_config
    from kit import payment_code, usd

    from pos_app.runtime import Runtime
    from pos_app.vocabulary import SUCCESS

    sim = make_sim(sftp_port=0)
    with Runtime(write_config(sim), tmp_path / "till") as rt:
        sale = rt.terminal.start_sale(usd(1234), code=payment_code())
        assert sale.status == SUCCESS
        day = rt.terminal.journal.get(sale.id)["day"]
    settings = SimpleNamespace(sftp=sim.sftp_url, password_file=sim.sftp.password_file, key_file=None,
                               known_hosts=sim.sftp.known_hosts, customer_id=sim.client_id)
    assert "logged in" in sftp_fetch.check(settings)
    got = sftp_fetch.fetch(settings, day, dest=tmp_path / "reports")
    folder = day.replace("-", "")
    items = [p for p in got if p.name == f"transactionItems_{folder}_000.csv"]
    assert len(items) == 1 and items[0].parent.name == folder
    rows = list(csv.DictReader(items[0].read_text(encoding="utf-8-sig").splitlines()[:-1]))   # the last: <END>
    assert [(r["transactionRequestId"], r["transactionType"]) for r in rows] == [(sale.id, "PAYMENT")]
    assert items[0].read_text(encoding="utf-8-sig").splitlines()[-1] == "<END>"

    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    with pytest.raises(PosError) as caught:
        sftp_fetch.check(SimpleNamespace(**{**vars(settings), "password_file": wrong}))
    assert "refused the login of sandbox" in caught.value.message


def test_a_server_that_refuses_to_read_is_said_in_words(tmp_path):
    """OpenSSH's internal-sftp told to refuse file reads (``-P open``: permission denied, as a server gives a
    login that may list the folder but not read the files): said in words, nothing left in the folder."""
    _need_sshd()
    (tmp_path / "server").mkdir()
    server = Sshd(tmp_path / "server", sftp_options="-P open")
    try:
        report_tree(server.root)
        dest = tmp_path / "dest"
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(server.settings(), DAY, dest=dest)
        assert f"does not let {server.user} read {server.root}/20261204/" in caught.value.message
        assert "read access" in caught.value.hint
        assert [p for p in dest.rglob("*") if p.is_file()] == []
    finally:
        server.stop()


def test_a_full_disk_here_is_said_as_ours_and_leaves_nothing(sshd, small_disk, tmp_path):
    """A report bigger than the room left on this machine (a real 512 kB tmpfs): the words say this side's disk,
    not the server, and no partial file stays."""
    folder = sshd.root / "big" / "20261204"
    folder.mkdir(parents=True)
    (folder / "transactionItems_20261204_000.csv").write_bytes(os.urandom(1024 * 1024))
    disk = small_disk("512k")
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(), DAY, dest=disk / "reports", url=sshd.url(f"{sshd.root}/big"))
    assert caught.value.message.startswith(f"cannot write {disk / 'reports'}") and "free some space" in \
        caught.value.hint
    assert [p for p in (disk / "reports").rglob("*") if p.is_file()] == []


@contextlib.contextmanager
def lying_server(tmp_path: Path, lie: bytes | None, *, trickle: float | None = None):
    """A hostile SFTP server (asyncssh's, chrooted to ``tmp_path/root``) whose listing of 20261204 adds the name
    ``lie``, and whose reads (``trickle``) give one byte after that many seconds; yields the [settlement] that
    logs in to it."""
    import asyncio

    from pos_app.settlement.ssh import asyncssh

    ssh = asyncssh()
    root = tmp_path / "root"
    (root / "20261204").mkdir(parents=True)
    host_key = ssh.generate_private_key("ssh-ed25519")
    password = "pw-hostile"
    started = threading.Event()
    loop = asyncio.new_event_loop()
    port: list[int] = []

    class Server(ssh.SSHServer):
        def begin_auth(self, username):
            return True

        def password_auth_supported(self):
            return True

        def validate_password(self, username, given):
            return given == password

    class Lying(ssh.SFTPServer):
        def __init__(self, chan):
            super().__init__(chan, chroot=str(root).encode())

        async def scandir(self, path):
            async for entry in super().scandir(path):
                yield entry
            if lie is not None and path.rstrip(b"/").endswith(b"20261204"):
                attrs = ssh.SFTPAttrs(type=ssh.FILEXFER_TYPE_REGULAR, size=8)
                yield ssh.SFTPName(lie, b"", attrs)

        async def read(self, file_obj, offset, size):
            if trickle is None:
                return super().read(file_obj, offset, size)
            await asyncio.sleep(trickle)
            return super().read(file_obj, offset, 1)

    async def serve():
        acceptor = await ssh.listen("127.0.0.1", 0, server_host_keys=[host_key], server_factory=Server,
                                    sftp_factory=Lying)
        port.append(acceptor.get_port())
        started.set()
        return acceptor

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        (tmp_path / "pw").write_text(password + "\n")
        known = tmp_path / "known"
        known.write_text(f"[127.0.0.1]:{port[0]} {host_key.export_public_key().decode()}")
        yield SimpleNamespace(sftp=f"sftp://u@127.0.0.1:{port[0]}/", password_file=tmp_path / "pw",
                              key_file=None, known_hosts=known)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_listed_name_that_is_a_path_is_refused(tmp_path):
    """The server names ``x/../../../../escape.csv``: refused before a byte is written outside the reports folder
    (without the check it lands beside them: checked)."""
    with lying_server(tmp_path, b"x/../../../../escape.csv") as settings:
        (tmp_path / "root" / "escape.csv").write_text("x\n<END>\n")
        dest = tmp_path / "dest" / "reports"
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(settings, DAY, dest=dest)
        assert "'x/../../../../escape.csv'" in caught.value.message and "not a plain file name" in caught.value.message
        assert [p for p in (tmp_path / "dest").rglob("*") if p.is_file()] == []
        assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("escape.csv")) == ["root/escape.csv"]


@pytest.mark.parametrize("lie", ["x\npos-terminal: all 50 matched\n_20261204_000.csv", "a\x1b[2Jb.csv",
                                 "report\u202egsv.csv", "tab\there.csv"])
def test_a_listed_name_with_control_characters_is_refused_and_never_shown_raw(tmp_path, lie):
    """A name that would forge a line, clear the screen or reverse the text when printed: refused, the name
    shown escaped (never a raw control character), nothing written."""
    with lying_server(tmp_path, lie.encode()) as settings:
        dest = tmp_path / "dest" / "reports"
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(settings, DAY, dest=dest)
    words = caught.value.message
    assert "not a plain file name" in words and words.isprintable(), words
    assert [p for p in (tmp_path / "dest").rglob("*") if p.is_file()] == []


def test_stale_part_files_of_a_killed_fetch_are_removed(sshd, tmp_path):
    """A fetch killed mid-download leaves its ``.<name>.<random>.part``: the next fetch removes it, and leaves
    every other file in the folder alone."""
    files = report_tree(sshd.root)
    dest = tmp_path / "dest"
    (dest / "20261204").mkdir(parents=True)
    stale = dest / "20261204" / ".transactionItems_20261204_000.csv.k2j4l8.part"
    stale.write_bytes(b"customerId,transactionId\n1,")
    mine = dest / "20261204" / "notes.txt"
    mine.write_text("the manager's")
    got = sftp_fetch.fetch(sshd.settings(), DAY, dest=dest)
    assert not stale.exists() and mine.read_text() == "the manager's"
    assert (dest / "20261204" / "transactionItems_20261204_000.csv").read_bytes() == \
        files["20261204/transactionItems_20261204_000.csv"]
    assert len(got) == 5


def test_a_file_larger_than_the_parser_reads_is_not_downloaded(sshd, tmp_path, monkeypatch):
    """The limit is the parser's (monkeypatched small here, 64 MB in use): a file the import would refuse is not
    fetched either, said in words; nothing kept."""
    from pos_app.settlement import parse

    folder = sshd.root / "large" / "20261204"
    folder.mkdir(parents=True)
    (folder / "transactionItems_20261204_000.csv").write_bytes(b"x" * 4096)
    monkeypatch.setattr(parse, "MAX_BYTES", 1024)
    dest = tmp_path / "dest"
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(), DAY, dest=dest, url=sshd.url(f"{sshd.root}/large"))
    assert "a report file may have" in caught.value.message and "ask the gateway" in caught.value.hint
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_a_server_that_trickles_bytes_is_stopped_by_the_session_bound(tmp_path, monkeypatch):
    """Each read answered within the timeout, one byte at a time: the whole session's bound (15 minutes in use,
    made short here) stops it, said in words; nothing kept."""
    monkeypatch.setattr(sftp_fetch, "SESSION", 3.0)
    outcome: list[object] = []
    with lying_server(tmp_path, None, trickle=0.2) as settings:
        (tmp_path / "root" / "20261204" / "transactionItems_20261204_000.csv").write_bytes(b"x" * 10_000)
        dest = tmp_path / "dest"

        def attempt() -> None:
            try:
                outcome.append(sftp_fetch.fetch(settings, DAY, dest=dest, timeout=5))
            except BaseException as exc:  # noqa: BLE001 -- handed to the test's thread
                outcome.append(exc)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(60)   # 10,000 reads of 0.2 s would be over half an hour: this only tells a stop from none
    assert outcome, "the trickling fetch was never stopped"
    [caught] = outcome
    assert isinstance(caught, PosError), caught
    assert "3 seconds in all" in caught.message and "timed out" in caught.message, caught.message
    assert [p for p in dest.rglob("*") if p.is_file()] == []


# -- through a store's proxy (issue 19): tinyproxy, a real CONNECT proxy, between the fetch and sshd ------------------
def gateway_via(proxy: str | None) -> GatewayConfig:
    """A [gateway] whose proxy setting is ``proxy``: the fetch asks it the way to the SFTP host."""
    return GatewayConfig(url="https://open-sea-global.alipay.com", client_id="SANDBOX_5Y3A2N2YEB3002022",
                         merchant_private_key=Path("unused.pem"), gateway_public_key=Path("unused.pem"), proxy=proxy)


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory):
    from proxykit import Tinyproxy

    proxy = Tinyproxy(tmp_path_factory.mktemp("tinyproxy")).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def test_the_fetch_and_the_check_go_through_the_proxys_connect(sshd, tinyproxy, tmp_path):
    files = report_tree(sshd.root)
    gateway = gateway_via(tinyproxy.url)
    got = sftp_fetch.fetch(sshd.settings(), DAY, dest=tmp_path, gateway=gateway)
    assert got and all(p.read_bytes() == files[p.relative_to(tmp_path).as_posix()] for p in got)
    assert "logged in" in sftp_fetch.check(sshd.settings(), gateway=gateway)
    # the proxy's own log: both sessions asked it for a tunnel to the SFTP server
    assert tinyproxy.log().count(f"CONNECT 127.0.0.1:{sshd.port} ") == 2


def test_through_the_proxy_a_changed_host_key_is_still_refused_with_the_servers_fingerprint(sshd, tinyproxy,
                                                                                            tmp_path):
    """The proxy cannot stand in for the server: the key is checked for the SFTP host, and the one it showed is
    asked for again through the proxy (a second tunnel)."""
    keygen(tmp_path / "other_host")
    changed = tmp_path / "known_changed"
    changed.write_text(f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_host.pub').read_text()}")
    before = tinyproxy.connects().count(f"127.0.0.1:{sshd.port}")
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(known_hosts=changed), DAY, dest=tmp_path / "a",
                         gateway=gateway_via(tinyproxy.url))
    assert "it changed" in caught.value.message
    assert fingerprint(sshd.folder / "host_ed25519.pub") in caught.value.message
    assert tinyproxy.connects().count(f"127.0.0.1:{sshd.port}") == before + 2
    assert [p for p in (tmp_path / "a").rglob("*") if p.is_file()] == []


def test_a_proxy_that_is_down_is_said_and_nothing_is_fetched(sshd, tmp_path):
    down = f"http://127.0.0.1:{reserve_port()}"   # reserved, nothing listens: the connect is refused
    with pytest.raises(PosError) as caught:
        sftp_fetch.fetch(sshd.settings(), DAY, dest=tmp_path / "r", gateway=gateway_via(down))
    words = f"{caught.value.message} {caught.value.hint}"
    assert "proxy" in caught.value.message and down.removeprefix("http://") in words and "[gateway] proxy" in words
    assert not [p for p in (tmp_path / "r").rglob("*") if p.is_file()]


def test_a_connect_the_proxy_refuses_is_said_and_nothing_is_fetched(sshd, tmp_path):
    from proxykit import Tinyproxy

    strict = Tinyproxy(tmp_path / "strict", connect_ports=[443]).start()   # tunnels to 443 only: 403 for sshd's
    try:
        with pytest.raises(PosError) as caught:
            sftp_fetch.fetch(sshd.settings(), DAY, dest=tmp_path / "r", gateway=gateway_via(strict.url))
        log = strict.log()
    finally:
        strict.stop()
    assert "403" in caught.value.message and f"127.0.0.1:{sshd.port}" in caught.value.message
    assert f"CONNECT 127.0.0.1:{sshd.port} " in log
    assert not [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
