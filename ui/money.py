"""Amounts as a person reads them: the locale's digits, grouping and decimal mark, and the ISO code.

The convention, one for every screen:

* the number is built from the integer minor units (never a float), with exactly the currency's ISO 4217
  decimals: ``USD 1,234.56``, ``JPY 1,234``, ``KWD 1,234.567``;
* grouping, decimal mark, minus sign and digits come from the locale (``QLocale``): en_US ``1,234.56``,
  de_DE ``1.234,56``, fr_FR ``1 234,56``, de_CH ``1'234.56``, en_IN ``12,34,567.00``;
* the ISO code, not a symbol (``$`` is ambiguous between USD, HKD, SGD...), sits where the locale puts
  its currency sign: before the number for en_US and zh_CN (``USD 1,234.56``, ``CNY 1,234.56``), after it
  for de_DE and fr_FR (``1.234,56 EUR``). The gap is a no-break space (U+00A0) so the code never
  wraps away from the number;
* a negative amount (a refund) takes the locale's minus sign in front of everything:
  ``-USD 12.34``, ``-12,34 EUR`` (not the accounting brackets ``QLocale.toCurrencyString`` uses for en_US).

``QLocale.toCurrencyString`` itself is not used: it takes a double, rounds JPY with the locale's
decimals instead of the currency's, glues the code to the number (``USD1,234.56``) and brackets negatives.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale

from pos_app.money import Money, exponent

NBSP = "\u00a0"

__all__ = ["NBSP", "format_amount", "format_money"]


def format_money(money: Money, locale_name: str | None = None) -> str:
    """``Money(123456, "USD")`` → ``"USD 1,234.56"`` (en_US), ``"1.234,56 USD"`` (de_DE).

    ``locale_name`` is a Qt locale name such as ``"en_US"``, ``"zh_CN"`` or ``"de_DE"``; ``None`` means
    ``QLocale()``, the application's default (the system's unless the program set another).
    """
    return format_amount(money.minor, money.currency, locale_name)


def format_amount(minor: int, currency: str, locale_name: str | None = None) -> str:
    """Like :func:`format_money` for a bare signed amount in minor units (refunds are negative)."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"an amount must be a whole number of minor units, not {minor!r}")
    code = currency.strip().upper()
    exp = exponent(code)
    locale = QLocale() if locale_name is None else QLocale(locale_name)
    whole, frac = divmod(abs(minor), 10**exp)
    number = locale.toString(whole)   # a Python int beyond 32 bits goes through qlonglong
    if exp:
        number += locale.decimalPoint() + "".join(locale.toString(int(d)) for d in f"{frac:0{exp}d}")
    text = f"{number}{NBSP}{code}" if _code_after(locale) else f"{code}{NBSP}{number}"
    return locale.negativeSign() + text if minor < 0 else text


def _code_after(locale: QLocale) -> bool:
    """Whether the locale writes its currency sign after the number (de_DE, fr_FR) or before (en_US)."""
    probe = locale.toCurrencyString(1, "\u00a4")   # ¤, the generic currency sign
    return not probe.lstrip("\u200e\u200f\u061c").startswith("\u00a4")
