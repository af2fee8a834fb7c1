"""Amounts: what a cashier types becomes exact minor units in the currency's ISO 4217 exponent (spec §1).

A wrong exponent charges a customer 100 times too much or too little, so every exponent class is
pinned here, and every bad input must end in a :class:`MoneyError` a person can act on, never a crash.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_app.errors import MoneyError
from pos_app.money import EXPONENTS, MAX_MINOR_UNITS, Money, exponent, format_minor, parse_money


@pytest.mark.parametrize("currency, exp", [
    ("JPY", 0), ("KRW", 0),
    ("USD", 2), ("EUR", 2), ("CNY", 2), ("HKD", 2), ("SGD", 2),
    ("KWD", 3), ("BHD", 3),
])
def test_exponents_follow_iso_4217(currency, exp):
    assert exponent(currency) == exp
    assert parse_money("1", currency).minor == 10**exp


@pytest.mark.parametrize("text, currency, minor", [
    ("12.34", "USD", 1234),
    ("12", "USD", 1200),
    ("12.3", "USD", 1230),
    (".5", "USD", 50),
    ("0.01", "EUR", 1),
    ("1234", "JPY", 1234),
    ("1000", "KRW", 1000),
    ("1.234", "KWD", 1234),
    (".001", "BHD", 1),
    ("  7.50\n", "SGD", 750),
])
def test_parse_money_reads_what_a_cashier_types(text, currency, minor):
    assert parse_money(text, currency) == Money(minor, currency)


def test_lower_case_currency_is_accepted_and_kept_canonical():
    """The wire wants "USD": a cashier's "usd" must not reach the gateway as typed."""
    money = parse_money("1.00", "usd")
    assert money == Money(100, "USD")
    assert money.to_api() == {"currency": "USD", "value": "100"}


def test_money_built_with_lower_case_currency_is_canonical():
    """Two spellings of one currency are one currency: equal, and "USD" on the wire."""
    assert Money(100, "usd") == Money(100, "USD")
    assert Money(100, "usd").to_api()["currency"] == "USD"
    assert Money.from_api({"currency": "usd", "value": "100"}).currency == "USD"


@pytest.mark.parametrize("text", ["-1", "-0.50", " -3"])
def test_negative_amounts_are_refused(text):
    with pytest.raises(MoneyError, match="negative"):
        parse_money(text, "USD")


@pytest.mark.parametrize("text", ["0", "0.00", ".0", "000"])
def test_zero_is_refused(text):
    with pytest.raises(MoneyError, match="zero"):
        parse_money(text, "USD")


@pytest.mark.parametrize("text, currency, says", [
    ("1.234", "USD", "at most 2 decimals"),
    ("1.5", "JPY", "no decimals"),
    ("1.2345", "KWD", "at most 3 decimals"),
    ("0.001", "EUR", "at most 2 decimals"),
])
def test_too_many_decimals_names_the_currency_and_its_decimals(text, currency, says):
    with pytest.raises(MoneyError) as caught:
        parse_money(text, currency)
    assert currency in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize("text", [
    "1e3", "1,000", "abc", "", "   ", ".", "1.2.3", "+5", "12 34", "0x10",
    "٣",  # ARABIC-INDIC DIGIT THREE: int() would take it, a till must not
    "１２",  # full-width digits
    "nan", "inf",
])
def test_non_numbers_are_refused_with_a_hint(text):
    with pytest.raises(MoneyError, match="not an amount") as caught:
        parse_money(text, "USD")
    assert caught.value.hint and "12.34" in caught.value.hint


def test_non_text_amount_is_a_money_error():
    with pytest.raises(MoneyError):
        parse_money(12.34, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["XYZ", "US", "", "dollars", None, 840])
def test_unknown_currency_is_refused(currency):
    with pytest.raises(MoneyError, match="unknown currency") as caught:
        parse_money("1", currency)  # type: ignore[arg-type]
    assert "ISO 4217" in caught.value.hint


@pytest.mark.parametrize("text, currency", [
    ("9" * 25, "USD"),
    ("1" * 10_000, "USD"),
    ("10000000000", "USD"),       # 10**12 cents
    ("1000000000000", "JPY"),     # 10**12 yen
])
def test_absurd_sizes_are_refused(text, currency):
    with pytest.raises(MoneyError):
        parse_money(text, currency)


def test_the_largest_amount_is_accepted():
    assert parse_money("9999999999.99", "USD").minor == MAX_MINOR_UNITS
    assert parse_money(str(MAX_MINOR_UNITS), "JPY").minor == MAX_MINOR_UNITS


@pytest.mark.parametrize("minor, currency, text", [
    (1234, "USD", "12.34"), (5, "USD", "0.05"), (1234, "JPY", "1234"), (1, "KWD", "0.001"),
])
def test_format_minor(minor, currency, text):
    assert format_minor(minor, currency) == text


@given(currency=st.sampled_from(sorted(EXPONENTS)), minor=st.integers(1, MAX_MINOR_UNITS))
def test_format_then_parse_round_trips(currency, minor):
    """What the terminal shows, typed back in, is the same amount: for every currency it knows."""
    assert parse_money(format_minor(minor, currency), currency).minor == minor


@given(text=st.text(max_size=40), currency=st.sampled_from(["USD", "JPY", "KWD"]))
def test_parse_money_either_gives_a_valid_amount_or_a_money_error(text, currency):
    """Whatever is typed, the only failure a cashier can meet is a MoneyError."""
    try:
        money = parse_money(text, currency)
    except MoneyError:
        return
    assert 0 < money.minor <= MAX_MINOR_UNITS


def test_to_api_is_strings_in_minor_units():
    assert Money(1234, "USD").to_api() == {"currency": "USD", "value": "1234"}
    assert Money(1, "JPY").to_api() == {"currency": "JPY", "value": "1"}


def test_from_api_reads_the_gateway_form():
    assert Money.from_api({"currency": "USD", "value": "1234"}) == Money(1234, "USD")


@pytest.mark.parametrize("data", [
    {"currency": "USD", "value": 1234},
    {"currency": "USD", "value": "12.34"},
    {"currency": "USD", "value": "-5"},
    {"currency": "USD", "value": "+5"},
    {"currency": "USD", "value": " 5"},
    {"currency": "USD", "value": ""},
    {"currency": "USD", "value": "0"},
    {"currency": "USD", "value": "1e3"},
    {"currency": "USD", "value": "١٢"},
    {"currency": "USD", "value": "9" * 16},
    {"currency": "USD", "value": str(MAX_MINOR_UNITS + 1)},
    {"currency": "USD", "value": True},
    {"currency": "USD"},
    {"value": "100"},
    {"currency": "XYZ", "value": "100"},
    {"currency": 840, "value": "100"},
    None, "100", ["USD", "100"],
])
def test_from_api_is_strict(data):
    """The value must be a plain digit string: a gateway amount is never guessed at."""
    with pytest.raises(MoneyError):
        Money.from_api(data)


@pytest.mark.parametrize("minor", [0, -1, 1.5, True, "100", MAX_MINOR_UNITS + 1])
def test_money_refuses_what_is_not_a_positive_whole_number(minor):
    with pytest.raises(MoneyError):
        Money(minor, "USD")
