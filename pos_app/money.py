"""Amounts as integers in minor units, parsed and printed with each currency's ISO 4217 exponent.

Floats never hold money here: ``12.34`` USD is ``Money(1234, "USD")`` inside the program and
``{"currency": "USD", "value": "1234"}`` on the wire (spec §1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MoneyError
from .i18n import _

# ISO 4217 minor-unit exponents of the active currencies. Most use 2; only the exceptions are listed
# apart, so that a new 2-decimal currency needs one word in one place.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK "
    "PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VES VED WST XCD YER ZAR ZMW ZWG"
)

EXPONENTS: dict[str, int] = {
    code: exp
    for exp, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}

# Nothing a store counter takes comes near this; a bigger number is a slip of the finger or an attack.
MAX_MINOR_UNITS = 10**12 - 1

_AMOUNT = re.compile(r"(\d*)(?:\.(\d*))?", re.ASCII)


def exponent(currency: str) -> int:
    """The number of decimals of ``currency``; a clear error for anything not in ISO 4217."""
    code = currency.strip().upper() if isinstance(currency, str) else currency
    try:
        return EXPONENTS[code]
    except (KeyError, TypeError):
        raise MoneyError(
            _("unknown currency {currency!r}").format(currency=currency),
            hint=_("use a three-letter ISO 4217 code such as USD, EUR, CNY, HKD, SGD or JPY"),
        ) from None


@dataclass(frozen=True)
class Money:
    """A positive amount in minor units of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        exponent(self.currency)
        object.__setattr__(self, "currency", self.currency.strip().upper())  # "usd" is USD, on the wire too
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"an amount must be a whole number of minor units, not {self.minor!r}")
        if self.minor <= 0:
            raise MoneyError(f"an amount must be more than zero, not {self.minor}")
        if self.minor > MAX_MINOR_UNITS:
            raise MoneyError(f"{self.minor} minor units is more than this terminal takes in one amount")

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"

    def to_api(self) -> dict[str, str]:
        """The gateway's form: strings only, value in minor units."""
        return {"currency": self.currency, "value": str(self.minor)}

    @classmethod
    def from_api(cls, data: object) -> Money:
        """Read ``{"currency": ..., "value": ...}`` from a gateway message, strictly."""
        if not isinstance(data, dict):
            raise MoneyError(f"an amount must be an object with currency and value, not {data!r}")
        currency, value = data.get("currency"), data.get("value")
        if not isinstance(currency, str) or not isinstance(value, str) or not value.isascii() \
                or not value.isdigit() or len(value) > 15 \
                or (len(value) > 1 and value.startswith("0")):
            raise MoneyError(f"not a valid amount: {data!r}")
        return cls(int(value), currency)


def parse_money(text: str, currency: str) -> Money:
    """Parse what a person typed (``12.34``, ``12``, ``.5``) in ``currency``'s decimals."""
    code = currency.strip().upper() if isinstance(currency, str) else currency
    exp = exponent(code)
    raw = text.strip() if isinstance(text, str) else ""
    if raw.startswith("-"):
        raise MoneyError(_("{text!r} is negative: an amount must be more than zero").format(text=text))
    if len(raw) > 24:
        raise MoneyError(_("{text}… is far too long to be an amount").format(text=raw[:24]))
    match = _AMOUNT.fullmatch(raw)
    if not raw or match is None or not (match.group(1) or match.group(2)):
        raise MoneyError(
            _("{text!r} is not an amount").format(text=text),
            hint=_("type digits with at most one '.', e.g. {example}").format(
                example=format_minor(1234 * 10**exp // 100 or 12, code)),
        )
    whole, frac = match.group(1) or "0", match.group(2) or ""
    if len(frac) > exp:
        places = _("no decimals") if exp == 0 else _("at most 1 decimal") if exp == 1 else \
            _("at most {n} decimals").format(n=exp)
        raise MoneyError(_("{text!r} has too many decimals: {currency} takes {places}").format(
            text=text.strip(), currency=code, places=places))
    minor = int(whole) * 10**exp + int(frac.ljust(exp, "0") or "0")
    if minor == 0:
        raise MoneyError(_("{text!r} is zero: an amount must be more than zero").format(text=text.strip()))
    if minor > MAX_MINOR_UNITS:
        raise MoneyError(_("{text!r} {currency} is more than this terminal takes in one amount").format(
            text=text.strip(), currency=code))
    return Money(minor, code)


def format_minor(minor: int, currency: str) -> str:
    """``1234, "USD"`` → ``"12.34"``; ``1234, "JPY"`` → ``"1234"``."""
    exp = exponent(currency)
    if exp == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"
