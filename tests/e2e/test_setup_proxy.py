"""``pos-terminal setup`` with a store proxy and a private CA (issue 19), against real parts on 127.0.0.1: the
simulator serving TLS from its own CA, a real tinyproxy that wants a login (tests/proxykit.py), another real CA,
a proxy that is down. With a proxy or a CA bundle given, a signed round trip must come back verified before
anything is written; what was checked is read back from the parts themselves (the proxy's log of CONNECTs, the
config as load_config reads it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from flowkit import cli
from proxykit import Tinyproxy
from setupkit import answers_file, direct

from pos_app import setup_wizard
from pos_app.config import load_config
from pos_app.errors import PosError
from pos_app.sim import Simulator
from pos_app.sim.tls import ensure_tls

pytestmark = pytest.mark.slow

LOGIN = ("shop", "s3cret")


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
    """A real tinyproxy that asks for a login (407 without it)."""
    with Tinyproxy(tmp_path_factory.mktemp("proxy"), basic_auth=LOGIN) as running:
        yield running


def login_file(folder: Path) -> Path:
    path = folder / "proxy-login"
    path.write_text(f"{LOGIN[0]}:{LOGIN[1]}\n")
    path.chmod(0o600)
    return path


def gateway_answers(sim: Simulator, folder: Path, **changes) -> Path:
    """An --answers file for this simulator (its URL, client id and gateway key), with ``changes``."""
    folder.mkdir(parents=True, exist_ok=True)
    return answers_file(folder, sim.provisioned.keys_dir / "gateway_public.pem", url=sim.url,
                        client_id=sim.client_id, **changes)


def test_answers_with_a_proxy_login_and_the_ca_are_checked_through_the_proxy_then_written(tls_sim, proxy, tmp_path):
    answers = gateway_answers(tls_sim, tmp_path, proxy=proxy.url, proxy_credentials=str(login_file(tmp_path)),
                              ca_bundle=str(tls_sim.ca_file))
    before = len(proxy.connects())
    done = cli("setup", "--answers", answers, "--json", config=tmp_path / "etc" / "terminal.toml",
               data_dir=tmp_path / "data", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert proxy.connects()[before:] == [f"127.0.0.1:{tls_sim.port}"], proxy.log()[-2000:]   # the round trip
    gw = load_config(tmp_path / "etc" / "terminal.toml").gateway
    assert (gw.url, gw.proxy, gw.proxy_credentials, gw.ca_bundle) == (
        tls_sim.url, proxy.url, login_file(tmp_path), tls_sim.ca_file)
    assert json.loads(done.stdout)["gateway_path"] == {"proxy": proxy.url, "proxy_credentials": str(
        login_file(tmp_path)), "ca_bundle": str(tls_sim.ca_file)}
    assert LOGIN[1] not in (tmp_path / "etc" / "terminal.toml").read_text()


@pytest.mark.parametrize("case", ["another CA", "no login", "proxy down"])
def test_a_way_that_does_not_reach_the_gateway_is_said_and_nothing_is_written(case, tls_sim, proxy, tmp_path):
    changes = {"proxy": proxy.url, "proxy_credentials": str(login_file(tmp_path)), "ca_bundle": str(tls_sim.ca_file)}
    down = None
    if case == "another CA":
        changes["ca_bundle"] = str(ensure_tls(tmp_path / "another-ca", ["localhost"]).ca)
    elif case == "no login":
        del changes["proxy_credentials"]
    else:
        down = Tinyproxy(tmp_path / "down")   # its port held, nobody listening
        changes["proxy"] = down.url
    answers = gateway_answers(tls_sim, tmp_path / "in", **changes)
    try:
        with pytest.raises(PosError) as raised:
            setup_wizard.cmd_setup(direct(tmp_path, answers, config=tmp_path / "etc" / "terminal.toml"))
    finally:
        if down is not None:
            down.stop()
    said = raised.value.message
    assert "1 answer is not accepted, so nothing was written" in said
    assert "the gateway is not reached this way" in said
    expected = {"another CA": "[gateway] ca_bundle", "no login": "proxy_credentials",
                "proxy down": "cannot reach the proxy"}[case]
    assert expected in said, said
    assert not (tmp_path / "etc").exists() and not (tmp_path / "data").exists()


def test_the_walk_asks_again_until_the_round_trip_verifies(tls_sim, tmp_path):
    """A real ``pos-terminal setup`` fed by a pipe: a CA that did not sign the gateway is refused after its round
    trip and the three questions come again; Enter for the proxy and the right CA then pass."""
    other = ensure_tls(tmp_path / "another-ca", ["localhost"]).ca
    lines = [tls_sim.url, tls_sim.client_id, "M1", "Shop", "5411", "S1", "", "", "T1", "USD", "",
             "127.0.0.1:8099", "http://127.0.0.1:8099/notify", str(tls_sim.provisioned.keys_dir / "gateway_public.pem"),
             "direct", str(other),                # refused after the round trip
             "", str(tls_sim.ca_file),            # the environment's way (none here), the simulator's CA
             "", "", ""]                          # no [store], no PINs
    done = cli("setup", config=tmp_path / "etc" / "terminal.toml", data_dir=tmp_path / "data",
               input="\n".join(lines) + "\n", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    refused = [line.strip() for line in done.stdout.splitlines() if "not accepted" in line]
    assert len(refused) == 1 and "[gateway] ca_bundle" in refused[0] and str(other) in refused[0], refused
    assert done.stdout.count("checking the way to") == 2
    assert "an answer came back through it and verified" in done.stdout
    gw = load_config(tmp_path / "etc" / "terminal.toml").gateway
    assert (gw.proxy, gw.ca_bundle) == (None, tls_sim.ca_file)
