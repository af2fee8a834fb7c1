"""AIM symbology identifiers (``]cm``) and UnifiedPOS ScanDataType numbers (spec practice §3, §4).

A scanner programmed to send the AIM prefix tells us the symbology for certain; without it we infer
what we can from the data (a GS1 check digit says EAN/UPC), and otherwise say "unknown" rather than
guess. The prefix is always stripped, so ``]Q1`` never reaches a payment request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pos_app.scan import gs1_check_digit_ok

# UnifiedPOS ScanDataType (JavaPOS ScannerConst).
SDT_UNKNOWN, SDT_UPCA, SDT_UPCE, SDT_EAN8, SDT_EAN13, SDT_TF, SDT_ITF = 0, 101, 102, 103, 104, 105, 106
SDT_CODABAR, SDT_CODE39, SDT_CODE93, SDT_CODE128, SDT_EAN128 = 107, 108, 109, 110, 120
SDT_GS1DATABAR, SDT_PDF417, SDT_MAXICODE, SDT_DATAMATRIX, SDT_QRCODE, SDT_UQRCODE, SDT_AZTEC = (
    131, 201, 202, 203, 204, 205, 206)
SDT_OTHER = 501

# AIM code character → (symbology, ScanDataType); a few modifiers change the meaning (GS1 variants).
_AIM = {
    "A": ("Code 39", SDT_CODE39), "C": ("Code 128", SDT_CODE128), "E": ("EAN/UPC", SDT_EAN13),
    "F": ("Codabar", SDT_CODABAR), "G": ("Code 93", SDT_CODE93), "I": ("ITF", SDT_ITF),
    "S": ("Industrial 2 of 5", SDT_TF), "L": ("PDF417", SDT_PDF417), "U": ("MaxiCode", SDT_MAXICODE),
    "d": ("Data Matrix", SDT_DATAMATRIX), "Q": ("QR Code", SDT_QRCODE), "z": ("Aztec", SDT_AZTEC),
    "e": ("GS1 DataBar", SDT_GS1DATABAR), "X": ("other", SDT_OTHER),
}
_AIM_MODIFIED = {
    ("C", "1"): ("GS1-128", SDT_EAN128), ("E", "4"): ("EAN-8", SDT_EAN8),
    ("Q", "3"): ("GS1 QR Code", SDT_QRCODE), ("Q", "4"): ("GS1 QR Code", SDT_QRCODE),
    ("d", "2"): ("GS1 Data Matrix", SDT_DATAMATRIX), ("M", "0"): ("Micro QR Code", SDT_UQRCODE),
}
_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")


@dataclass(frozen=True)
class Symbology:
    name: str
    scan_data_type: int
    aim: str | None = None   # the identifier as sent, when there was one


UNKNOWN = Symbology("unknown", SDT_UNKNOWN)


def split_prefix(text: str) -> tuple[str | None, str]:
    """``(aim, rest)``: the AIM identifier at the start of ``text`` (or None) and the data after it."""
    if len(text) >= 3 and _PREFIX.match(text) and (text[1] in _AIM or (text[1], text[2]) in _AIM_MODIFIED):
        return text[:3], text[3:]
    return None, text


def from_aim(aim: str, data: str) -> Symbology:
    code, modifier = aim[1], aim[2]
    if (code, modifier) in _AIM_MODIFIED:
        name, sdt = _AIM_MODIFIED[(code, modifier)]
    else:
        name, sdt = _AIM[code]
        if code == "E" and modifier == "0":  # EAN-13 and UPC-A share ]E0; the length tells them apart
            name, sdt = ("UPC-A", SDT_UPCA) if len(data) == 12 else ("EAN-13", SDT_EAN13)
    return Symbology(name, sdt, aim)


def infer(data: str) -> Symbology:
    """What can be told without a prefix: GS1 lengths with a good check digit; otherwise unknown."""
    if data.isascii() and data.isdigit() and gs1_check_digit_ok(data):
        kind = {8: ("EAN-8", SDT_EAN8), 12: ("UPC-A", SDT_UPCA), 13: ("EAN-13", SDT_EAN13)}.get(len(data))
        if kind:
            return Symbology(*kind)
    return UNKNOWN


def identify(text: str) -> tuple[str, Symbology]:
    """``(data, symbology)`` for a scan as received: the prefix parsed and stripped, or inferred."""
    aim, data = split_prefix(text)
    return (data, from_aim(aim, data)) if aim else (data, infer(data))
