"""The cashier's window when the store's proxy refuses the way to the gateway (issue 19), as a person uses it.

Real parts: the kiosk till on Xvfb (tests/xkit.py), driven only by X events (the amount typed, F1, the code typed
by a scanner); its config reaches the TLS simulator (its CA in ca_bundle) through Debian's tinyproxy, which
allows CONNECT to another port only, so it answers 403 to every tunnel the terminal asks for. What the cashier
sees is read through the probe and screenshots; the outcome through ``pos-terminal report --json`` beside the
till; the witnesses are the proxy's own log (it was asked, it refused) and the simulator's ledger (nothing came).
"""

from __future__ import annotations

import json
import re
import ssl
import tomllib
import urllib.request

import pytest
import tomli_w
import xkit
from flowkit import write_config
from kit import payment_code
from proxykit import Tinyproxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

VALIDITY = 12   # [payments] code_validity: the queued pay is voided within the test


def cashier(probe: dict) -> dict:
    return next(w for w in probe["windows"] if w["class"] == "CashierWindow")


def named(probe: dict, name: str) -> str:
    widget = next((w for w in cashier(probe)["widgets"] if w["objectName"] == name), None)
    return xkit._plain(widget.get("text")) or "" if widget else ""


def left(line: str) -> int | None:
    found = re.search(r"voided in (\d+) s", line)
    return int(found.group(1)) if found else None


def test_a_proxy_refusing_the_way_is_said_as_the_proxy_with_a_countdown_then_not_paid(make_sim, tmp_path):
    sim = make_sim(tls=True)
    port = int(sim.url.rsplit(":", 1)[1])
    with Tinyproxy(tmp_path / "proxy", connect_ports=[port + 1 if port < 65535 else port - 1]) as proxy:
        config = write_config(sim, "behind-proxy.toml", payments={"code_validity": VALIDITY})
        doc = tomllib.loads(config.read_text())
        assert doc["gateway"]["url"].startswith("https://") and doc["gateway"]["ca_bundle"]
        doc["gateway"]["proxy"] = proxy.url
        config.write_text(tomli_w.dumps(doc))
        with xkit.Till(tmp_path / "till", config=config) as till:
            till.type("4.20")
            till.wait_for(lambda p: "4.20" in named(p, "amount"), what="the amount typed", timeout=5)
            till.key("F1")
            till.wait_for(lambda p: named(p, "headline") == "Scan the customer's payment code",
                          what="the till waiting for a code", timeout=5)
            till.scan(payment_code())
            probe = till.wait_for(lambda p: "proxy" in named(p, "headline") and left(named(p, "waiting")) is not None
                                  and "proxy" in named(p, "offline"),
                                  what="the queued pay said as the proxy's, with its countdown and the bar", timeout=15)
            queued = till.screenshot("proxy-refuses-queued")
            words = till.text(probe, cls="CashierWindow")
            headline, detail, bar = named(probe, "headline"), named(probe, "detail"), named(probe, "offline")
            assert "refuses" in headline and "link" not in headline.lower(), words
            assert "technician" in detail and "[gateway] proxy" in detail and "nothing is charged" in detail, words
            assert "technician" in named(probe, "next") or "Esc" in named(probe, "next"), words
            first = left(named(probe, "waiting"))
            assert 0 < first <= VALIDITY and "way to the gateway opens" in named(probe, "waiting"), words
            assert bar.startswith("OFFLINE") and "refuses" in bar and "[gateway] proxy" in bar, bar
            assert "no link to the gateway" not in bar and "link is down" not in words, words
            probe = till.wait_for(lambda p: (n := left(named(p, "waiting"))) is not None and n < first,
                                  what="the countdown going down", timeout=5)
            probe = till.wait_for(lambda p: named(p, "headline") == "NOT PAID", what="the pay voided",
                                  timeout=VALIDITY + 10)
            voided = till.screenshot("proxy-refuses-not-paid")
            words = till.text(probe, cls="CashierWindow")
            assert "proxy" in named(probe, "detail") and "nothing was charged" in named(probe, "detail"), words
            assert "technician" in named(probe, "next") and "link" not in named(probe, "next"), words
            assert "stayed down" not in words and "link is down" not in words, words
            sales = [t for t in till.cli("report")["transactions"] if t["kind"] == "sale"]
            assert [(s["status"], s["resultCode"]) for s in sales] == [("FAILED", "NOT_SENT")], sales
        assert proxy.connects() and set(proxy.connects()) == {f"127.0.0.1:{port}"}, proxy.log()
        assert "Refused CONNECT" in proxy.log(), proxy.log()   # its 403
    assert queued.is_file() and voided.is_file()
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with urllib.request.urlopen(f"{sim.url}/sim/ledger", timeout=10, context=context) as answer:
        payments = json.load(answer)["payments"]
    assert payments == [], "the gateway never saw the payment: nothing was charged"


# -- the same words without a window: the bar's data (the link) and the screen's sentences in Chinese -----------
def test_the_link_keeps_the_hop_through_a_probe_that_does_not_test_it_and_drops_it_at_an_answer():
    """A TCP probe reaches the proxy (it listens) yet says nothing of its CONNECT: the bar keeps naming the proxy
    until a call is answered. A proxy that was down is cleared by that probe (it tests that very hop)."""
    import socket

    from pos_app.link import Link
    from pos_app.netpath import Proxy
    from pos_app.outcome import Delivery, Outcome, Status
    from pos_app.vocabulary import PROXY_DOWN, PROXY_REFUSED, path_trouble

    with socket.create_server(("127.0.0.1", 0)) as listening:
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        link = Link("https://gateway.example", probe_interval=0, proxy=Proxy(url, "config", None))
        assert link.offline_words() is None
        refused = Outcome(Status.UNKNOWN, "", "", {"trouble": path_trouble(PROXY_REFUSED, "[gateway] proxy")},
                          Delivery.NOT_SENT)
        link.note(refused)
        assert link.up()   # the proxy answers a TCP connect
        head, when = link.offline_words()
        assert "proxy" in head and "[gateway] proxy" in head and "link" not in head and "way" in when
        link.note(Outcome(Status.FAILURE, "X", "", {}, Delivery.DELIVERED, 200))
        assert link.offline_words() is None
        link.note(Outcome(Status.UNKNOWN, "", "", {"trouble": path_trouble(PROXY_DOWN, "HTTPS_PROXY")},
                          Delivery.NOT_SENT))
        assert link.up() and link.offline_words() is None
        link.note(Outcome(Status.UNKNOWN, "", "", {}, Delivery.NOT_SENT))   # the link itself
        assert "no link" in link.offline_words()[0]


def test_a_queued_pay_s_chinese_sentences_have_no_gap_after_a_full_stop():
    from dataclasses import replace

    from pos_app import payment_flow as pf
    from pos_app import sale_view
    from pos_app.i18n import set_language
    from pos_app.vocabulary import PROXY_REFUSED, path_trouble

    sale = replace(pf.new_sale("PR1", pf.PAYMENT_CODE, "USD", 420, 0.0),
                   trouble=path_trouble(PROXY_REFUSED, "[gateway] proxy"))
    set_language("zh_CN")
    try:
        detail = sale_view.cashier_view(sale).detail
    finally:
        set_language("en")
    assert "。" in detail and "。 " not in detail, detail
