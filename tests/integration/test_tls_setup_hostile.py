"""``pos-terminal setup`` and the way out to the gateway, as a hostile (or hurried) technician runs it: a re-run
with --force must not drop the store's proxy, its login or its CA; a proxy that takes the connection and never
answers is waited for a bound the walk says; a missing file's words never name setup's scratch folder. Against
real parts: the TLS simulator, a real tinyproxy that wants a login (its log shows the round trip's CONNECT)."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
from flowkit import cli
from proxykit import Tinyproxy
from setupkit import answers_file, direct

from pos_app import setup_wizard
from pos_app.config import load_config
from pos_app.errors import PosError
from pos_app.sim import Simulator

pytestmark = pytest.mark.slow

LOGIN = ("shop", "s3cret-Pw")


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch):
    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("tls-gateway"), "127.0.0.1", 0, tls=True).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    with Tinyproxy(tmp_path_factory.mktemp("proxy"), basic_auth=LOGIN) as running:
        yield running


def first_setup(sim: Simulator, proxy: Tinyproxy, folder: Path) -> tuple[Path, Path]:
    """A terminal set up with the store's proxy, its login and the simulator's CA (checked, written)."""
    login = folder / "proxy-login"
    login.write_text(f"{LOGIN[0]}:{LOGIN[1]}\n")
    login.chmod(0o600)
    answers = answers_file(folder, sim.provisioned.keys_dir / "gateway_public.pem", url=sim.url,
                           client_id=sim.client_id, proxy=proxy.url, proxy_credentials=str(login),
                           ca_bundle=str(sim.ca_file))
    target = folder / "etc" / "terminal.toml"
    assert setup_wizard.cmd_setup(direct(folder, answers, config=target)) == 0
    return target, login


def test_force_with_answers_keeps_the_old_proxy_login_and_ca_checked_again(tls_sim, proxy, tmp_path, capsys):
    target, login = first_setup(tls_sim, proxy, tmp_path)
    (tmp_path / "again").mkdir()
    again = answers_file(tmp_path / "again", tls_sim.provisioned.keys_dir / "gateway_public.pem", url=tls_sim.url,
                         client_id=tls_sim.client_id, name="Corner Shop II")
    before = len(proxy.connects())
    assert setup_wizard.cmd_setup(direct(tmp_path, again, config=target, force=True)) == 0
    config = load_config(target)
    assert config.merchant.name == "Corner Shop II"
    gw = config.gateway
    assert (gw.proxy, gw.proxy_credentials, gw.ca_bundle) == (proxy.url, login, tls_sim.ca_file)
    assert proxy.connects()[before:] == [f"127.0.0.1:{tls_sim.port}"]   # checked again before it was written
    assert LOGIN[1] not in capsys.readouterr().out + target.read_text()


def test_the_walk_under_force_offers_the_old_way_out_and_enter_keeps_it(tls_sim, proxy, tmp_path):
    target, login = first_setup(tls_sim, proxy, tmp_path)
    before = len(proxy.connects())
    done = cli("setup", "--force", config=target, data_dir=tmp_path / "data", input="\n" * 40, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"[{proxy.url}" in done.stdout and f"[{login}" in done.stdout and f"[{tls_sim.ca_file}" in done.stdout
    gw = load_config(target).gateway
    assert (gw.proxy, gw.proxy_credentials, gw.ca_bundle) == (proxy.url, login, tls_sim.ca_file)
    assert proxy.connects()[before:] == [f"127.0.0.1:{tls_sim.port}"]
    assert LOGIN[1] not in done.stdout + done.stderr


@pytest.fixture
def silent_proxy():
    """A proxy that takes every connection and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def take():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return
    threading.Thread(target=take, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def test_a_proxy_that_never_answers_is_waited_for_a_bound_the_walk_says(tls_sim, silent_proxy, tmp_path):
    lines = [tls_sim.url, tls_sim.client_id, "M1", "Shop", "5411", "S1", "", "", "T1", "USD", "",
             "127.0.0.1:8099", "http://127.0.0.1:8099/notify", str(tls_sim.provisioned.keys_dir / "gateway_public.pem"),
             silent_proxy, "", str(tls_sim.ca_file)]   # then standard input ends: setup stops, nothing written
    done = cli("setup", config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data",
               input="\n".join(lines) + "\n", timeout=90)
    assert "Traceback" not in done.stderr, done.stderr
    waited = next(line for line in done.stdout.splitlines() if "checking the way to" in line)
    assert "at most 10 s" in waited, waited
    refused = next(line for line in done.stdout.splitlines() if "not accepted" in line)
    assert "connect_timeout" in refused and silent_proxy in refused, refused
    assert not (tmp_path / "etc" / "terminal.toml").exists()


def test_a_missing_file_is_said_without_setups_scratch_folder(tmp_path):
    judge = setup_wizard.Judge(tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    with pytest.raises(setup_wizard._Bad) as raised:
        judge.network_answer({}, "ca_bundle", "no-such-ca.pem", tmp_path)
    assert str(tmp_path / "no-such-ca.pem") in str(raised.value) and "scratch" not in str(raised.value)


def test_the_walk_under_force_says_how_to_leave_a_dead_old_proxy_out(tls_sim, proxy, tmp_path):
    target, _login = first_setup(tls_sim, proxy, tmp_path)
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))   # bound, never listening: the old proxy is gone
    gone = f"http://127.0.0.1:{dead.getsockname()[1]}"
    target.write_text(target.read_text().replace(proxy.url, gone))
    lines = [""] * 14 + ["", "", ""] + ["none", ""] + [""] * 3   # Enter keeps all; then none for the proxy
    try:
        done = cli("setup", "--force", config=target, data_dir=tmp_path / "data", input="\n".join(lines) + "\n",
                   timeout=90)
    finally:
        dead.close()
    assert done.returncode == 0, done.stdout + done.stderr
    again = next(line for line in done.stdout.splitlines() if "once more" in line)
    assert "none" in again, again
    gw = load_config(target).gateway
    assert (gw.proxy, gw.proxy_credentials, gw.ca_bundle) == (None, None, tls_sim.ca_file)


def test_an_answer_that_came_back_unverified_is_not_blamed_on_the_way(tls_sim, tmp_path):
    answers = answers_file(tmp_path, tls_sim.provisioned.keys_dir / "gateway_public.pem", url=tls_sim.url,
                           client_id="SANDBOX_SOMEONEELSE0001", ca_bundle=str(tls_sim.ca_file))
    with pytest.raises(PosError) as raised:
        setup_wizard.cmd_setup(direct(tmp_path, answers, config=tmp_path / "etc" / "terminal.toml"))
    said = str(raised.value)
    assert "nothing was written" in said and "not reached this way" not in said, said
    assert "client_id" in said and "gateway_public_key" in said, said
    assert not (tmp_path / "etc").exists()
