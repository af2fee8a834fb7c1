"""``pos-terminal status`` (a real process) and the self-test's round trip give one verdict on the same config,
whatever is broken in it."""

from __future__ import annotations

import json

import pytest
from flowkit import cli, write_config
from kit import stranger_keys

from pos_app import selftest
from pos_app.selftest import PASS


@pytest.mark.parametrize("broken", ["nothing", "gateway key", "merchant key", "client id"])
def test_status_and_the_round_trip_give_one_verdict(broken, sim, tmp_path, no_devices):
    """`pos-terminal status` (a real process) and the self-test's round trip judge one gateway alike,
    each set up with one thing broken on purpose, so the expected verdict is known beforehand."""
    toml = write_config(sim)
    text = toml.read_text()
    if broken == "gateway key":
        text = text.replace("keys/gateway_public.pem", str(stranger_keys(tmp_path / "other")[1]))
    elif broken == "merchant key":
        text = text.replace("keys/merchant_private.pem", str(stranger_keys(tmp_path / "other")[0]))
    elif broken == "client id":
        text = text.replace('client_id = "SANDBOX_POSTERMINAL0001"', 'client_id = "SANDBOX_NOBODY0001"')
    toml.write_text(text)
    status = cli("status", "--json", config=toml, data_dir=tmp_path / "data", timeout=60)
    assert status.returncode in (0, 1), status.stderr
    said = json.loads(status.stdout)["gatewayCheck"]
    report = selftest.run("external", toml, tmp_path / "data", input_dir=no_devices.input_dir,
                          sys_dir=no_devices.sys_dir)
    [round_trip] = [c for c in report.checks if c.name == "round-trip"]
    assert said["ok"] is (round_trip.status == PASS) is (broken == "nothing"), (said, round_trip)
    assert status.returncode == (0 if broken == "nothing" else 1)
    # An unknown client id: the simulator answers signed for its own client id, which the client does not
    # trust (UNVERIFIED), so both only agree that it failed; the words name the other three causes.
    words = {"nothing": ("OK: a signed inquiry was answered", "answered (ORDER_NOT_EXIST)"),
             "gateway key": ("answer does not verify", "answer did not verify"),
             "merchant key": ("rejects our signature", "rejects our signature"),
             "client id": ("FAILED: ", "")}[broken]
    assert words[0] in said["message"] and words[1] in round_trip.detail, (said["message"], round_trip.detail)


def test_selftest_beside_a_running_sandbox_terminal_leaves_it_working(tmp_path):
    """Issue 15 (3.6): `pos-terminal selftest --level external` (a real process) beside a running sandbox
    terminal checks that terminal's simulator, and leaves its terminal.toml naming it: the command used to
    start a simulator of its own, which rewrote the file to its port and then stopped."""
    import tomllib

    from flowkit import sim_call

    from pos_app.runtime import Runtime

    data_dir = tmp_path / "data"
    toml = data_dir / "sandbox-gateway" / "terminal.toml"
    with Runtime(None, data_dir, background=False) as rt:
        live = rt.sim.url
        done = cli("selftest", "--level", "external", "--json", data_dir=data_dir, timeout=60)
        report = json.loads(done.stdout)
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["gateway"]["status"] == PASS and live.removeprefix("http://") in checks["gateway"]["detail"], \
            report
        assert checks["round-trip"]["status"] == PASS, report
        assert tomllib.loads(toml.read_text())["gateway"]["url"] == live
        assert sim_call(rt.sim, "/sim/ledger")[0] == 200


@pytest.mark.slow
def test_status_shows_the_proxy_from_https_proxy_and_the_tls_it_got(make_sim, tmp_path, monkeypatch):
    """Issue 19: `pos-terminal status` (a real process, HTTPS_PROXY in its environment) goes through the real
    tinyproxy to the TLS simulator, and says so: the proxy and where it came from, the TLS version and issuer
    (the CA file's subject, read by cryptography); the proxy's own log has the CONNECT. With a CA that did not
    sign the gateway the check fails, certainly not sent, in words naming [gateway] ca_bundle."""
    import os
    import tomllib

    import tomli_w
    from cryptography import x509
    from proxykit import Tinyproxy

    from pos_app.sim.tls import ensure_tls

    sim = make_sim(tls=True)
    toml = write_config(sim)
    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:   # the processes inherit the environment
        monkeypatch.delenv(name)
    with Tinyproxy(tmp_path / "proxy") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        done = cli("status", "--json", config=toml, data_dir=tmp_path / "data", timeout=60)
        text = cli("status", config=toml, data_dir=tmp_path / "data", timeout=60)
        monkeypatch.delenv("HTTPS_PROXY")
        assert done.returncode == 0, done.stdout + done.stderr
        said = json.loads(done.stdout)
        assert said["proxy"] == {"url": proxy.url, "source": "HTTPS_PROXY",
                                 "words": f"through {proxy.url} (from HTTPS_PROXY)"}, said["proxy"]
        issuer = x509.load_pem_x509_certificate(sim.ca_file.read_bytes()).subject.rfc4514_string()
        assert said["tls"]["version"] in ("TLSv1.2", "TLSv1.3") and said["tls"]["issuer"] == issuer, said["tls"]
        assert f"  proxy:     through {proxy.url} (from HTTPS_PROXY)" in text.stdout.splitlines()
        assert any(line.startswith("  tls:       TLSv1.") and issuer in line for line in text.stdout.splitlines())
        assert proxy.connects() == [f"127.0.0.1:{sim.port}"] * 2, proxy.log()[-2000:]

    doc = tomllib.loads(toml.read_text())
    doc["gateway"]["ca_bundle"] = str(ensure_tls(tmp_path / "another-ca", ["localhost"]).ca)
    toml.write_text(tomli_w.dumps(doc))
    done = cli("status", "--json", config=toml, data_dir=tmp_path / "data", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    said = json.loads(done.stdout)
    assert said["proxy"]["source"] == "none" and said["tls"] is None
    assert said["gatewayCheck"]["outcome"]["delivery"] == "certainly not sent"
    assert "[gateway] ca_bundle" in said["gatewayCheck"]["message"], said["gatewayCheck"]
