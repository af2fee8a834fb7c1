"""What a scan is: a wallet payment code, a product barcode, or neither (spec §8).

Payment codes and product barcodes never share a length (8/12/13/14 against 16–32 digits), so the
length and prefix tell them apart without asking the gateway. Where the published rules name a wallet
family, the result names it; where several rules match, it lists every family that fits rather than
guess one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .i18n import _

PAYMENT_CODE = "payment_code"
PRODUCT = "product"
UNKNOWN = "unknown"

ALIPAY_PLUS = "Alipay+"
ALIPAY_CN = "AlipayCN"
ALIPAY_HK = "AlipayHK"

MAX_SCAN_LENGTH = 512

# (family, rule name, pattern): spec §8, in the order the Alipay+ code-format page gives them.
_PAYMENT_RULES = [
    (ALIPAY_PLUS, "24-digit Alipay+ user payment code", re.compile(r"\d{6}02\d{16}")),
    (ALIPAY_PLUS, "17-digit Alipay+ code", re.compile(r"28\d{15}")),
    (ALIPAY_PLUS, "18-digit Alipay+ code", re.compile(r"28\d{16}")),
    (ALIPAY_PLUS, "19-digit Alipay+ code", re.compile(r"28[0-8]\d{16}|289\d{10}[0-57-9]\d{5}|289\d{10}6\d{5}")),
    (ALIPAY_CN, "AlipayCN payment code", re.compile(r"(?:2[5-9]|30)\d{14,22}")),
    (ALIPAY_HK, "AlipayHK payment code", re.compile(r"(?:2[5-9]|30)\d{15,17}")),
]
# Alipay+ reserves these lengths for future code formats: accept them and let the gateway judge.
_RESERVED_LENGTHS = set(range(20, 24)) | set(range(25, 33))

_PRODUCT_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


@dataclass(frozen=True)
class Scan:
    """A classified scan. ``wallets`` lists the families that fit; ``reason`` says why when unknown."""

    kind: str
    value: str = field(repr=False)  # a payment code must not reach a log through repr()
    symbology: str = ""
    wallets: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""

    @property
    def wallet(self) -> str | None:
        """The wallet family when the rules name exactly one."""
        return self.wallets[0] if len(self.wallets) == 1 else None

    @property
    def masked(self) -> str:
        """First 2 and last 4 digits: what may be shown or logged of a payment code."""
        if self.kind == PAYMENT_CODE or (len(self.value) >= 16 and self.value.isdigit()):
            return mask(self.value)  # an unrecognised long digit string may still be someone's code
        return self.value

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.masked, "symbology": self.symbology,
                "wallets": list(self.wallets), "reason": self.reason}


def mask(code: str) -> str:
    if len(code) <= 6:
        return "*" * len(code)
    return code[:2] + "*" * (len(code) - 6) + code[-4:]


def gs1_check_digit_ok(digits: str) -> bool:
    """GS1 mod-10: weights 3,1,3,… from the right, the check digit included as weight 1."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def classify(text: str) -> Scan:
    """Classify one scan, trimmed of the scanner's line ending."""
    if not isinstance(text, str):
        return Scan(UNKNOWN, "", reason=_("not text"))
    value = text.strip("\r\n\t ")
    if not value:
        return Scan(UNKNOWN, "", reason=_("empty scan"))
    if len(value) > MAX_SCAN_LENGTH:
        return Scan(UNKNOWN, value[:32] + "…", reason=_("{n} characters is longer than any code").format(n=len(value)))
    if not (value.isascii() and value.isdigit()):
        shown = value if value.isprintable() else value.encode("unicode_escape").decode()
        return Scan(UNKNOWN, shown[:64], reason=_("not all digits: neither a payment code nor a product barcode"))
    n = len(value)
    if n in _PRODUCT_LENGTHS:
        symbology = _PRODUCT_LENGTHS[n]
        if gs1_check_digit_ok(value):
            return Scan(PRODUCT, value, symbology)
        return Scan(UNKNOWN, value, symbology,
                    reason=_("{symbology} check digit is wrong: scan it again").format(symbology=symbology))
    families = []
    for family, _name, pattern in _PAYMENT_RULES:
        if pattern.fullmatch(value) and family not in families:
            families.append(family)
    if families:
        return Scan(PAYMENT_CODE, value, "payment code", tuple(families))
    if n == 24:
        return Scan(UNKNOWN, value,
                    reason=_("24 digits, but business type {type} is not a user payment code (02)").format(
                        type=value[6:8]))
    if n in _RESERVED_LENGTHS:
        return Scan(PAYMENT_CODE, value, "payment code", (), reason=_("reserved Alipay+ length; the gateway decides"))
    return Scan(UNKNOWN, value,
                reason=_("{n} digits is neither a product barcode nor a payment code length").format(n=n))
