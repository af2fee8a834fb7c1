"""Scans: a wallet payment code, a product barcode, or neither (spec §8).

A product barcode taken for a payment code sends a useless pay request; a payment code taken for a
product leaks it into the basket. The scanner also delivers whatever it reads, so no input may crash
the classifier, and a payment code must never be shown or logged in full.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_app.scan import (
    ALIPAY_CN,
    ALIPAY_HK,
    ALIPAY_PLUS,
    MAX_SCAN_LENGTH,
    PAYMENT_CODE,
    PRODUCT,
    UNKNOWN,
    classify,
    mask,
)

KINDS = {PAYMENT_CODE, PRODUCT, UNKNOWN}


# --- payment codes ---------------------------------------------------------------------------------

def test_24_digit_user_payment_code_is_alipay_plus():
    """Mainstream form: 6-digit issuer id, business type 02, 16-digit number."""
    code = "123456" + "02" + "1234567890123456"
    scan = classify(code)
    assert scan.kind == PAYMENT_CODE
    assert scan.wallets == (ALIPAY_PLUS,)
    assert scan.wallet == ALIPAY_PLUS


@pytest.mark.parametrize("business_type", ["00", "01", "03", "99"])
def test_24_digits_with_another_business_type_is_unknown_with_the_reason(business_type):
    code = "123456" + business_type + "1234567890123456"
    scan = classify(code)
    assert scan.kind == UNKNOWN
    assert business_type in scan.reason and "02" in scan.reason


def test_24_digits_starting_25_to_30_is_still_an_alipaycn_code():
    """AlipayCN codes run up to 24 digits, whatever digits 7–8 happen to be."""
    scan = classify("281234" + "01" + "1234567890123456")
    assert scan.kind == PAYMENT_CODE
    assert scan.wallets == (ALIPAY_CN,)


@pytest.mark.parametrize("code", [
    "28" + "1" * 15,                    # 17 digits, 28\d{15}
    "28" + "2" * 16,                    # 18 digits, 28\d{16}
    "288" + "3" * 16,                   # 19 digits, 28[0-8]\d{16}
    "289" + "0" * 10 + "5" + "1" * 5,   # 19 digits, 289\d{10}[0-57-9]\d{5}
    "289" + "0" * 10 + "6" + "1" * 5,   # 19 digits, 289\d{10}6\d{5}
])
def test_older_28_prefixed_forms_are_alipay_plus_among_the_wallets(code):
    """These lengths also fit AlipayCN and AlipayHK: the result lists every family, it does not guess."""
    scan = classify(code)
    assert scan.kind == PAYMENT_CODE
    assert ALIPAY_PLUS in scan.wallets
    assert set(scan.wallets) == {ALIPAY_PLUS, ALIPAY_CN, ALIPAY_HK}
    assert scan.wallet is None


@pytest.mark.parametrize("prefix", ["25", "26", "27", "29", "30"])
@pytest.mark.parametrize("length", [16, 20, 21, 22, 23])
def test_alipaycn_codes_are_16_to_24_digits_from_25_to_30(prefix, length):
    code = prefix + "7" * (length - 2)
    scan = classify(code)
    assert scan.kind == PAYMENT_CODE
    assert scan.wallets == (ALIPAY_CN,)


@pytest.mark.parametrize("prefix", ["25", "27", "30"])
@pytest.mark.parametrize("length", [17, 18, 19])
def test_alipayhk_codes_are_17_to_19_digits_from_25_to_30(prefix, length):
    scan = classify(prefix + "4" * (length - 2))
    assert scan.kind == PAYMENT_CODE
    assert ALIPAY_HK in scan.wallets and ALIPAY_CN in scan.wallets
    assert ALIPAY_PLUS not in scan.wallets


@pytest.mark.parametrize("code", ["24" + "5" * 14, "31" + "0" * 14, "24" + "0" * 16, "31" + "0" * 22])
def test_codes_outside_the_25_to_30_range_fit_no_wallet_rule(code):
    """16–19 and 24 digits are not reserved: without a matching rule they are not payment codes."""
    assert classify(code).kind == UNKNOWN
    assert classify(code).reason


@pytest.mark.parametrize("length", [20, 21, 22, 23, 25, 28, 32])
def test_reserved_lengths_are_payment_codes_with_no_wallet(length):
    """Alipay+ reserves these lengths for future formats: accept them and let the gateway judge."""
    scan = classify("1" + "0" * (length - 1))
    assert scan.kind == PAYMENT_CODE
    assert scan.wallets == ()
    assert scan.wallet is None
    assert "reserved" in scan.reason


@pytest.mark.parametrize("length", [1, 7, 9, 10, 11, 15, 33, 64])
def test_other_lengths_are_unknown_with_the_length_in_the_reason(length):
    scan = classify("1" * length)
    assert scan.kind == UNKNOWN
    assert str(length) in scan.reason


# --- product barcodes ------------------------------------------------------------------------------

@pytest.mark.parametrize("code, symbology", [
    ("4006381333931", "EAN-13"),
    ("036000291452", "UPC-A"),
    ("96385074", "EAN-8"),
    ("10012345678902", "GTIN-14"),
])
def test_product_barcodes_with_a_valid_check_digit(code, symbology):
    scan = classify(code)
    assert scan.kind == PRODUCT
    assert scan.symbology == symbology
    assert scan.value == code and scan.masked == code


@pytest.mark.parametrize("code, symbology", [
    ("4006381333932", "EAN-13"),
    ("036000291453", "UPC-A"),
    ("96385070", "EAN-8"),
    ("10012345678901", "GTIN-14"),
])
def test_a_wrong_check_digit_is_unknown_with_the_reason(code, symbology):
    scan = classify(code)
    assert scan.kind == UNKNOWN
    assert symbology in scan.reason and "check digit" in scan.reason


# --- what the scanner delivers ---------------------------------------------------------------------

@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n", "\n\r"])
def test_the_scanner_line_ending_is_stripped(ending):
    assert classify("4006381333931" + ending).kind == PRODUCT
    assert classify("28" + "2" * 16 + ending).kind == PAYMENT_CODE


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("\r\n", "empty"),
    ("28ABCDEF1234567890", "not all digits"),
    ("2812345678\x0090123456", "not all digits"),
    ("281234567890123456\x1b", "not all digits"),
    ("٢٨١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", "not all digits"),   # Arabic-Indic digits
    ("2812 3456 7890 1234", "not all digits"),
    ("9" * (MAX_SCAN_LENGTH + 1), "longer than any code"),
])
def test_bad_scans_are_unknown_with_a_reason(text, says):
    scan = classify(text)
    assert scan.kind == UNKNOWN
    assert says in scan.reason


def test_control_characters_are_shown_escaped():
    """An unknown scan's value reaches the screen and the log: no raw escape sequences."""
    scan = classify("12\x1b[2J34")
    assert "\x1b" not in scan.value and "\\x1b" in scan.value


def test_non_text_is_unknown():
    assert classify(None).kind == UNKNOWN  # type: ignore[arg-type]
    assert classify(b"4006381333931").kind == UNKNOWN  # type: ignore[arg-type]


@given(st.text())
def test_classify_never_raises(text):
    scan = classify(text)
    assert scan.kind in KINDS
    assert scan.kind != UNKNOWN or scan.reason
    json.dumps(scan.to_json())


@given(st.text(alphabet="0123456789", min_size=1, max_size=40))
def test_classify_of_any_digits_never_raises(text):
    """Digit strings reach the length and prefix rules, which plain random text rarely does."""
    scan = classify(text)
    assert scan.kind in KINDS
    assert scan.kind != UNKNOWN or scan.reason


# --- masking ---------------------------------------------------------------------------------------

def test_masked_shows_the_first_2_and_last_4_digits_only():
    code = "281234567890123456"
    scan = classify(code)
    assert scan.masked == "28" + "*" * 12 + "3456"


payment_codes = st.one_of(
    st.from_regex(r"\A[0-9]{6}02[0-9]{16}\Z"),
    st.from_regex(r"\A28[0-9]{15,17}\Z"),
    st.from_regex(r"\A(2[5-9]|30)[0-9]{14,22}\Z"),
    st.from_regex(r"\A[0-9]{25,32}\Z"),
)


@given(payment_codes)
def test_to_json_never_contains_the_full_payment_code(code):
    scan = classify(code)
    assert scan.kind == PAYMENT_CODE
    shown = json.dumps(scan.to_json())
    assert code not in shown
    assert scan.masked == code[:2] + "*" * (len(code) - 6) + code[-4:]
    assert scan.to_json()["value"] == scan.masked


@pytest.mark.parametrize("short", ["", "1", "123456"])
def test_mask_of_a_short_value_shows_nothing(short):
    assert mask(short) == "*" * len(short)


def test_unknown_long_digit_strings_are_masked_too():
    """A 24-digit code with another business type is 'unknown' but may still be someone's code."""
    from pos_app.scan import classify
    scan = classify("123456" + "07" + "1234567890123456")
    assert scan.kind == "unknown"
    assert "1234567890123456" not in str(scan.to_json()) and "1234567890123456" not in repr(scan)


@pytest.mark.parametrize("text", ["", "abc", "1" * 600, "4006381333930", "123456", "123456031234567890123456"])
def test_why_a_scan_is_no_code_reads_in_the_persons_language(text):
    """The reason reaches the cashier's hint ("not a payment code (…)"): in zh_CN it is Chinese (issue 15, 4)."""
    from pos_app.i18n import set_language

    try:
        set_language("zh_CN")
        reason = classify(text).reason
        assert reason and any("\u4e00" <= ch <= "\u9fff" for ch in reason), reason
    finally:
        set_language("en")
