"""The terminal.toml the simulator writes for its sandbox terminal holds any value exactly: quotes,
backslashes and control characters are escaped (an f-string config broke on them); parsed back with
tomllib, independently of the writer."""

from __future__ import annotations

import tomllib

from pos_app.sim.provision import MARKER, terminal_toml


def test_the_written_config_holds_any_value_exactly():
    """Quotes, backslashes and control characters in a value are escaped (an f-string config broke on them)."""
    odd = {"url": 'http://127.0.0.1:1/a"b\\c', "client_id": 'ID\\"\n\t\x7f', "listen": "127.0.0.1:2 # no comment",
           "public_url": "http://h/n'o\"t\"ify\\"}
    text = terminal_toml(odd["url"], odd["client_id"], odd["listen"], odd["public_url"])
    doc = tomllib.loads(text)
    assert text.startswith(MARKER)
    assert (doc["gateway"]["url"], doc["gateway"]["client_id"]) == (odd["url"], odd["client_id"])
    assert doc["notifications"] == {"listen": odd["listen"], "public_url": odd["public_url"]}
