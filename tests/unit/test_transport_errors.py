"""Which TLS failures mean the request certainly never left (a refused certificate: NOT_SENT) and which may
have been delivered (anything after the handshake): the gateway client's rule, on the exceptions alone."""

from __future__ import annotations

import ssl

import urllib3

from pos_app.gateway import _never_connected


def test_tls_errors_after_sending_are_maybe_delivered_but_a_refused_certificate_is_not_sent():
    after = urllib3.exceptions.SSLError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"))
    assert not _never_connected(after)
    refused = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert _never_connected(refused)
