"""Which hosts count as this machine for the plain-http rule (a gateway on the network must use https: it
would carry signed payment requests in the clear), decided on the name or address alone."""

from __future__ import annotations

import pytest

from pos_app.config import is_loopback_host


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
    ("", False), (None, False), ("example.com", False), ("0.0.0.0", False), ("::", False),
])
def test_is_loopback_host(host, loopback):
    assert is_loopback_host(host) is loopback
