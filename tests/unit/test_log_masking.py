"""Masking, on text alone: a payment code keeps its first 2 and last 4 digits wherever it appears, and a
private key is removed whole."""

from __future__ import annotations

import pytest
from logtext import CODE, MASKED, PEM

from pos_app import logs


@pytest.mark.parametrize("text, expected", [
    (f"code {CODE} scanned", f"code {MASKED} scanned"),
    (f'{{"paymentCode": "{CODE}"}}', f'{{"paymentCode": "{MASKED}"}}'),
    ("24 digits 123456021234567890123456.", "24 digits 12******************3456."),
    ("id PAY202401011200001234abcdef0123 stays", "id PAY202401011200001234abcdef0123 stays"),
    # one of our ids whose random hex part came out all digits (about 1 in 1,900): still an id, in clear
    ("id PR202401011200001234567890123456 stays", "id PR202401011200001234567890123456 stays"),
    ('{"sale_id": "RF202401011200001234567890123456"}', '{"sale_id": "RF202401011200001234567890123456"}'),
    ("paymentId 20181129190741010007000000088980 stays", "paymentId 20181129190741010007000000088980 stays"),
    ('{"paymentId": "20181129190741010007000000088980"}', '{"paymentId": "20181129190741010007000000088980"}'),
    ("a 32-digit code 28123456789012345678901234567890 is masked",
     "a 32-digit code 28**************************7890 is masked"),
    ("25 digits 2812345678901234567890123", "25 digits 28*******************0123"),
    ("amount 1234 and barcode 4006381333931 stay", "amount 1234 and barcode 4006381333931 stay"),
    (f"key {PEM} loaded", "key [key removed] loaded"),
    (repr(f"read {PEM}\n"), "'read [key removed]\\n'"),
    ("cut -----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\\nabc", "cut [key removed]"),
    ("bare " + "MII" + "B" * 300 + "== end", "bare [key removed] end"),
])
def test_mask_text(text, expected):
    assert logs.mask_text(text) == expected
