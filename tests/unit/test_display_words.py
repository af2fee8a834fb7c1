"""What the customer display writes, on values alone: money per locale (no float on the way, refunds negative,
the application's locale by default) and the countdown's time left (the window itself is
integration/test_customer_display.py's)."""

from __future__ import annotations

import pytest
from kit import usd
from PySide6.QtCore import QLocale

from pos_app.errors import MoneyError
from pos_app.money import Money
from ui.customer import format_remaining
from ui.money import NBSP, format_amount, format_money


@pytest.mark.parametrize(("minor", "currency", "locale", "text"), [
    (123456, "USD", "en_US", "USD 1,234.56"),
    (123456, "CNY", "zh_CN", "CNY 1,234.56"),
    (123456, "EUR", "de_DE", "1.234,56 EUR"),
    (123456, "JPY", "en_US", "JPY 123,456"),
    (123456, "JPY", "ja_JP", "JPY 123,456"),
    (123456, "JPY", "de_DE", "123.456 JPY"),
    (5, "USD", "en_US", "USD 0.05"),
    (1, "KWD", "en_US", "KWD 0.001"),
    (999_999_999_999, "USD", "en_US", "USD 9,999,999,999.99"),   # no float on the way
    (1005, "HKD", "zh_CN", "HKD 10.05"),
])
def test_format_money_per_locale(minor, currency, locale, text):
    assert format_money(Money(minor, currency), locale) == text.replace(" ", NBSP)


def test_refunds_are_negative_and_the_default_is_the_application_locale():
    assert format_amount(-123456, "USD", "en_US") == f"-USD{NBSP}1,234.56"
    assert format_amount(-123456, "EUR", "de_DE") == f"-1.234,56{NBSP}EUR"
    assert format_amount(-7, "JPY", "en_US") == f"-JPY{NBSP}7"
    before = QLocale()
    try:
        QLocale.setDefault(QLocale("de_DE"))
        assert format_money(usd(123456)) == f"1.234,56{NBSP}USD"
    finally:
        QLocale.setDefault(before)
    with pytest.raises(MoneyError):
        format_amount(100, "XXX", "en_US")
    with pytest.raises(TypeError):
        format_amount(1.5, "USD", "en_US")


def test_long_expiries_count_in_hours():
    assert format_remaining(299) == "4:59"
    assert format_remaining(3723) == "1:02:03"
    assert format_remaining(-5) == "0:00"
