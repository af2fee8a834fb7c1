"""The simulator's SFTP server, met by independent clients: OpenSSH's own sftp (key auth, host key checked with
the known_hosts the simulator wrote) and asyncssh's client (password auth). Read-only, refused logins, the host
key, and a day's reports written when its folder is looked at."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rawsim import Raw, pay_body

from pos_app.settlement.ssh import asyncssh
from pos_app.sim.sftp import SftpServer

pytestmark = pytest.mark.slow

SFTP, SSH_KEYGEN, SSH_KEYSCAN = "/usr/bin/sftp", "/usr/bin/ssh-keygen", "/usr/bin/ssh-keyscan"


@pytest.fixture
def gw(make_sim):
    sim = make_sim(sftp_port=0)
    sim.raw = Raw(sim)
    return sim


def pay(sim, minor: int) -> str:
    body = pay_body(minor)
    status, answer, _ = sim.raw.post("pay", body)
    assert status == 200 and answer["result"]["resultStatus"] == "S", answer
    return body["paymentRequestId"]


def today_folder(sim) -> str:
    return f"/v1/settlements/{sim.client_id}/{date.today():%Y%m%d}"


def rows(data: bytes) -> list[list[str]]:
    lines = data.decode("utf-8").splitlines()
    assert lines[-1] == "<END>"
    return list(csv.reader(io.StringIO("\n".join(lines[:-1]))))


def password(sim) -> str:
    return (sim.data_dir / "sftp" / "password").read_text().strip()


def run(coro):
    return asyncio.run(coro)


async def session(sim, *, user="sandbox", secret=None):
    ssh = asyncssh()
    return await ssh.connect("127.0.0.1", sim.sftp.port, username=user,
                             password=password(sim) if secret is None else secret,
                             known_hosts=str(sim.data_dir / "sftp" / "known_hosts"), client_keys=None,
                             agent_path=None, config=None)


# -- asyncssh's client, with the password --------------------------------------------------------------------

def test_a_listing_writes_the_day_and_the_files_come_down(gw):
    first = pay(gw, 1234)
    folder = today_folder(gw)
    name = f"transactionItems_{date.today():%Y%m%d}_000.csv"

    async def fetch():
        async with await session(gw) as conn, conn.start_sftp_client() as sftp:
            listed = sorted(await sftp.listdir(folder))
            async with sftp.open(f"{folder}/{name}", "rb") as f:
                return listed, await f.read()

    listed, data = run(fetch())
    assert name in listed and name.replace(".csv", ".xlsx") in listed
    assert first in {r[6] for r in rows(data)[1:]}
    assert data == (gw.reports_dir / folder.lstrip("/") / name).read_bytes()
    second = pay(gw, 4321)                                    # paid after the first listing
    _, again = run(fetch())
    assert {first, second} <= {r[6] for r in rows(again)[1:]}


def test_listing_the_merchants_folder_shows_today_and_where_todays_batch_settles(gw):
    pay(gw, 1234)
    merchant = f"/v1/settlements/{gw.client_id}"
    today = date.today()

    async def listing():
        async with await session(gw) as conn, conn.start_sftp_client() as sftp:
            days = sorted(set(await sftp.listdir(merchant)) - {".", ".."})
            settled = sorted(await sftp.listdir(f"{merchant}/{today + timedelta(days=1):%Y%m%d}"))
            return days, settled

    days, settled = run(listing())
    # yesterday's folder is there too, with a transactions file of no rows (a day with nothing still has its file)
    assert days == [f"{today + timedelta(days=n):%Y%m%d}" for n in (-1, 0, 1)]
    assert f"settlementItems_USD_{today:%Y%m%d}-USD-01_000.csv" in settled
    assert f"settlementSummary_USD_{today:%Y%m%d}-USD-01_000.xlsx" in settled


def test_a_late_refund_stays_out_of_a_fetch_of_its_day_until_the_next_day_has_begun(gw, tmp_path):
    """Knob 9925 over the wire: a server on the same ledger whose clock the test holds. While day T lasts, what a
    fetch of T takes (the folders T, T+1, T+2, after listing the merchant's folder) never names the refund; once
    T+1 has begun, T+1's transactions file and T+1's batch (on T+2) do."""
    body = pay_body(9925)
    status, paid, _ = gw.raw.post("pay", body)
    assert status == 200 and paid["result"]["resultStatus"] == "S", paid
    refund_id = f"late-{body['paymentRequestId']}"
    status, answer, _ = gw.raw.post("refund", {"refundRequestId": refund_id, "paymentId": paid["paymentId"],
                                               "refundAmount": {"currency": "USD", "value": "25"}})
    assert status == 200 and answer["result"]["resultStatus"] == "S", answer
    db = sqlite3.connect(f"file:{gw.ledger_file}?mode=ro", uri=True)
    (refunded_at,) = db.execute("SELECT created_at FROM refunds WHERE refund_request_id = ?", (refund_id,)).fetchone()
    db.close()
    t = datetime.fromtimestamp(refunded_at).date()
    clock = [refunded_at]
    server = SftpServer(tmp_path / "gw2", tmp_path / "tree", gw.ledger_file, gw.client_id,
                        clock=lambda: clock[0]).start()
    merchant = f"/v1/settlements/{gw.client_id}"

    async def fetch_day() -> dict[str, bytes]:
        async with await asyncssh().connect(
                "127.0.0.1", server.port, username="sandbox", password=server.password_file.read_text().strip(),
                known_hosts=str(server.known_hosts), client_keys=None, agent_path=None, config=None) as conn, \
                conn.start_sftp_client() as sftp:
            await sftp.listdir(merchant)
            got = {}
            for n in range(3):
                where = f"{merchant}/{t + timedelta(days=n):%Y%m%d}"
                try:
                    names = await sftp.listdir(where)
                except asyncssh().SFTPNoSuchFile:
                    continue
                for name in sorted(set(names) - {".", ".."}):
                    if name.endswith(".csv"):
                        async with sftp.open(f"{where}/{name}", "rb") as f:
                            got[name] = await f.read()
            return got

    try:
        during = run(fetch_day())
        assert f"transactionItems_{t:%Y%m%d}_000.csv" in during
        assert [name for name, data in during.items() if refund_id.encode() in data] == []
        clock[0] = datetime.combine(t + timedelta(days=1), datetime.min.time()).timestamp()   # T+1 00:00 local
        after = run(fetch_day())
    finally:
        server.stop()
    t1 = t + timedelta(days=1)
    assert sorted(name for name, data in after.items() if refund_id.encode() in data) == [
        f"settlementItems_USD_{t1:%Y%m%d}-USD-01_000.csv", f"transactionItems_{t1:%Y%m%d}_000.csv"]


def test_the_tree_is_read_only(gw):
    pay(gw, 1234)
    folder = today_folder(gw)
    name = f"{folder}/transactionItems_{date.today():%Y%m%d}_000.csv"
    ssh = asyncssh()

    async def attempts():
        refused = []
        async with await session(gw) as conn, conn.start_sftp_client() as sftp:
            await sftp.listdir(folder)
            before = await (await sftp.open(name, "rb")).read()
            for what, attempt in [("write", lambda: sftp.open(name, "wb")),
                                  ("append", lambda: sftp.open(name, "ab")),
                                  ("create", lambda: sftp.open(f"{folder}/new.csv", "wb")),
                                  ("remove", lambda: sftp.remove(name)),
                                  ("rename", lambda: sftp.rename(name, f"{folder}/moved.csv")),
                                  ("mkdir", lambda: sftp.mkdir(f"{folder}/sub")),
                                  ("rmdir", lambda: sftp.rmdir(folder)),
                                  ("chmod", lambda: sftp.chmod(name, 0o777))]:
                try:
                    await attempt()
                except ssh.SFTPPermissionDenied:
                    refused.append(what)
            after = await (await sftp.open(name, "rb")).read()
        return refused, before, after

    refused, before, after = run(attempts())
    assert refused == ["write", "append", "create", "remove", "rename", "mkdir", "rmdir", "chmod"]
    assert before == after
    local = gw.reports_dir / folder.lstrip("/")
    assert sorted(p.name for p in local.iterdir()) == sorted(
        [Path(name).name, Path(name).with_suffix(".xlsx").name])


def test_a_wrong_password_or_user_is_refused(gw):
    ssh = asyncssh()
    for user, secret in [("sandbox", "not-the-password"), ("root", None), ("sandbox", "")]:
        with pytest.raises(ssh.PermissionDenied):
            run(session(gw, user=user, secret=secret))


def test_the_password_file_is_private(gw):
    for name in ("password", "host_key"):
        assert os.stat(gw.data_dir / "sftp" / name).st_mode & 0o077 == 0, name


# -- the host key ---------------------------------------------------------------------------------------------

def test_known_hosts_holds_the_servers_own_host_key(gw):
    line = (gw.data_dir / "sftp" / "known_hosts").read_text().split()
    assert line[0] == f"[127.0.0.1]:{gw.sftp.port}"
    private = subprocess.run([SSH_KEYGEN, "-y", "-f", gw.data_dir / "sftp" / "host_key"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert line[1:3] == private[:2]
    scanned = subprocess.run([SSH_KEYSCAN, "-p", str(gw.sftp.port), "-t", "ed25519", "127.0.0.1"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.split()
    assert scanned[1:3] == line[1:3]


def test_the_simulators_config_points_at_its_sftp_server(gw):
    from pos_app.config import load_config
    settlement = load_config(gw.provisioned.config_file).settlement
    assert settlement.sftp == gw.sftp_url == \
        f"sftp://sandbox@127.0.0.1:{gw.sftp.port}/v1/settlements/{gw.client_id}"
    assert settlement.password_file == gw.data_dir / "sftp" / "password"
    assert settlement.known_hosts == gw.data_dir / "sftp" / "known_hosts"
    assert settlement.customer_id == gw.client_id


# -- OpenSSH's sftp, with a key -------------------------------------------------------------------------------

def openssh(sim, tmp_path: Path, commands: str, *, key: Path, known_hosts: Path | None = None):
    batch = tmp_path / "batch"
    batch.write_text(commands)
    return subprocess.run(
        [SFTP, "-F", "/dev/null", "-b", str(batch), "-i", str(key), "-P", str(sim.sftp.port),
         "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null",
         "-o", f"UserKnownHostsFile={known_hosts or sim.data_dir / 'sftp' / 'known_hosts'}",
         "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "sandbox@127.0.0.1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)


def keypair(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def test_openssh_fetches_the_day_with_a_key(gw, tmp_path):
    request_id = pay(gw, 1234)
    key = keypair(tmp_path, "id")
    (gw.data_dir / "sftp" / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    down = tmp_path / "down"
    down.mkdir()
    stamp = f"{date.today():%Y%m%d}"
    done = openssh(gw, tmp_path, f"cd {today_folder(gw)}\nls -1\nlcd {down}\nget transactionItems_{stamp}_000.csv\n"
                                 f"get transactionItems_{stamp}_000.xlsx\n", key=key)
    assert done.returncode == 0, done.stderr
    assert f"transactionItems_{stamp}_000.csv" in done.stdout
    assert request_id in {r[6] for r in rows((down / f"transactionItems_{stamp}_000.csv").read_bytes())[1:]}
    import openpyxl
    sheet = openpyxl.load_workbook(down / f"transactionItems_{stamp}_000.xlsx", read_only=True).active
    assert request_id in {row[6] for row in sheet.iter_rows(values_only=True)}

    tree = tmp_path / "tree"
    done = openssh(gw, tmp_path, f"get -R /v1/settlements/{gw.client_id} {tree}\n", key=key)
    assert done.returncode == 0, done.stderr
    served = gw.reports_dir / "v1" / "settlements" / gw.client_id
    fetched = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    assert fetched == {p.relative_to(served).as_posix(): p.read_bytes() for p in served.rglob("*") if p.is_file()}
    assert f"{stamp}/transactionItems_{stamp}_000.csv" in fetched

    (tmp_path / "mine.csv").write_text("x\n")
    put = openssh(gw, tmp_path, f"cd {today_folder(gw)}\nput mine.csv\n", key=key)
    assert put.returncode != 0 and "denied" in put.stderr.lower(), put.stderr
    assert not (gw.reports_dir / today_folder(gw).lstrip("/") / "mine.csv").exists()


def test_openssh_refuses_a_server_whose_key_is_not_the_known_one_and_the_server_refuses_an_unknown_key(
        gw, tmp_path):
    key = keypair(tmp_path, "id")
    (gw.data_dir / "sftp" / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    other = keypair(tmp_path, "other_host")
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{gw.sftp.port} " + " ".join(other.with_suffix(".pub").read_text().split()[:2])
                     + "\n")
    done = openssh(gw, tmp_path, "ls\n", key=key, known_hosts=wrong)
    assert done.returncode != 0 and "host key" in done.stderr.lower(), done.stderr
    stranger = keypair(tmp_path, "stranger")
    done = openssh(gw, tmp_path, "ls\n", key=stranger)
    assert done.returncode != 0 and "permission denied" in done.stderr.lower(), done.stderr


# -- the sandbox ----------------------------------------------------------------------------------------------

def test_the_sandbox_serves_its_reports_and_its_config_follows_the_port(tmp_path):
    from pos_app.sandbox import FOLDER, RECORD, start_sandbox
    sim, config = start_sandbox(tmp_path / "data")
    try:
        assert sim is not None and sim.sftp is not None
        assert config.settlement is not None and config.settlement.sftp == sim.sftp_url
        assert f":{sim.sftp.port}/" in sim.sftp_url
        record = (tmp_path / "data" / FOLDER / RECORD).read_text().splitlines()
        assert record == [sim.url, sim.sftp_url]
    finally:
        sim.stop()
    assert (tmp_path / "data" / FOLDER / RECORD).read_text() == ""


def test_a_restart_on_another_port_keeps_the_login_and_host_key_and_follows_the_port(make_sim, tmp_path):
    from pos_app.config import load_config
    first = make_sim(tmp_path / "gw", sftp_port=0)
    secret, key = password(first), (first.data_dir / "sftp" / "host_key").read_bytes()
    first.stop()
    again = make_sim(tmp_path / "gw", sftp_port=0)
    assert password(again) == secret and (again.data_dir / "sftp" / "host_key").read_bytes() == key
    assert load_config(again.provisioned.config_file).settlement.sftp == again.sftp_url
    assert (again.data_dir / "sftp" / "known_hosts").read_text().startswith(f"[127.0.0.1]:{again.sftp.port} ")

    async def login():   # the client checks the host key against the rewritten known_hosts
        async with await session(again) as conn:
            return conn.get_extra_info("username")

    assert run(login()) == "sandbox"


def test_an_sftp_port_in_use_is_a_clear_error(make_sim, tmp_path):
    from pos_app.errors import PosError
    taken = make_sim(tmp_path / "a", sftp_port=0)
    with pytest.raises(PosError, match="already in use"):
        make_sim(tmp_path / "b", sftp_port=taken.sftp.port)


def test_a_broken_sftp_host_key_is_said_in_words_and_the_sandbox_is_left_free(tmp_path):
    """The sandbox's SFTP host key overwritten with garbage: the start says which file and what to do (it was
    asyncssh's KeyImportError, hidden behind 'cannot join thread' from stopping a notifier never started), and
    the sandbox's record is free for the next start."""
    from pos_app.errors import PosError
    from pos_app.sandbox import FOLDER, RECORD, start_sandbox
    sim, _config = start_sandbox(tmp_path / "data")
    sim.stop()
    key = tmp_path / "data" / FOLDER / "sftp" / "host_key"
    key.write_bytes(b"not a key\n")
    with pytest.raises(PosError, match="host key or password") as refused:
        start_sandbox(tmp_path / "data")
    assert str(key) in refused.value.hint
    assert (tmp_path / "data" / FOLDER / RECORD).read_text() == ""
