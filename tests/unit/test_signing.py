"""Signatures (spec §2), pinned by a vector computed outside this code (signing_vector).

Signing our own message and verifying it with our own code proves nothing about the gateway: both
sides could share one mistake. RSA PKCS#1 v1.5 is deterministic, so a signature made by the openssl
CLI over the spec's content bytes pins the content layout, the encoding and the header format.
"""

from __future__ import annotations

import base64
from urllib.parse import quote_plus, unquote

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from signing_vector import BODY, CLIENT_ID, PATH, PRIVATE_PEM, PUBLIC_PEM, TIME, VECTOR_HEADER, VECTOR_SIGNATURE

from pos_app.signing import (
    parse_signature_header,
    private_key_from_text,
    public_key_from_text,
    sign,
    signed_content,
    verify,
)

# The vector's keys, read from the checked-in fixture text (reading and permissions of key files are
# integration/test_key_files.py's subject).
PUBLIC = public_key_from_text(PUBLIC_PEM.read_text())
PRIVATE = private_key_from_text(PRIVATE_PEM.read_text())


# --- the vector ------------------------------------------------------------------------------------

def test_signed_content_is_the_spec_layout():
    content = signed_content(PATH, CLIENT_ID, TIME, BODY)
    assert content == b"POST /ams/api/v1/payments/pay\nSANDBOX_5YEZ1J2YJ5Y704017.2026-11-22T00:51:03+00:00." + BODY
    assert "Café".encode() in content


def test_sign_gives_the_openssl_vector():
    assert sign(PRIVATE, PATH, CLIENT_ID, TIME, BODY) == VECTOR_HEADER


def test_the_vector_signature_is_url_encoded_base64():
    assert not set("+/=") & set(VECTOR_SIGNATURE)
    assert len(base64.b64decode(unquote(VECTOR_SIGNATURE), validate=True)) == 256


# --- verify: what it accepts -----------------------------------------------------------------------

def test_verify_accepts_the_vector():
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, VECTOR_HEADER)


def test_verify_accepts_our_own_signature():
    body = b'{"paymentRequestId":"r-1","paymentAmount":{"currency":"JPY","value":"500"}}'
    header = sign(PRIVATE, "/ams/sandbox/api/v1/payments/inquiryPayment", CLIENT_ID, "1700000000000", body)
    assert verify(PUBLIC, "/ams/sandbox/api/v1/payments/inquiryPayment", CLIENT_ID, "1700000000000", body, header)


def test_verify_accepts_spaces_after_commas():
    header = "algorithm=RSA256, keyVersion=1, signature=" + VECTOR_SIGNATURE
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, header)


def test_verify_accepts_a_value_that_is_not_url_encoded():
    header = "algorithm=RSA256,keyVersion=1,signature=" + unquote(VECTOR_SIGNATURE)
    assert "+" in header and "/" in header and header.endswith("==")
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, header)


def test_verify_accepts_the_fields_in_another_order():
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, f"signature={VECTOR_SIGNATURE},keyVersion=1,algorithm=RSA256")


# --- verify: what it rejects -----------------------------------------------------------------------

@given(index=st.integers(0, len(BODY) - 1), flip=st.integers(1, 255))
def test_verify_rejects_any_changed_body_byte(index, flip):
    body = bytearray(BODY)
    body[index] ^= flip
    assert not verify(PUBLIC, PATH, CLIENT_ID, TIME, bytes(body), VECTOR_HEADER)


@pytest.mark.parametrize("path, client_id, time, body", [
    ("/ams/sandbox/api/v1/payments/pay", CLIENT_ID, TIME, BODY),
    ("/ams/api/v1/payments/refund", CLIENT_ID, TIME, BODY),
    (PATH, "SANDBOX_5YEZ1J2YJ5Y704018", TIME, BODY),
    (PATH, CLIENT_ID, "2026-11-22T00:51:04+00:00", BODY),
    (PATH, CLIENT_ID, TIME, BODY + b"\n"),
    (PATH, CLIENT_ID, TIME, BODY.replace(b"\n", b"\r\n")),
    (PATH, CLIENT_ID, TIME, b""),
])
def test_verify_rejects_any_changed_part(path, client_id, time, body):
    assert not verify(PUBLIC, path, client_id, time, body, VECTOR_HEADER)


def test_verify_rejects_another_key():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert not verify(other, PATH, CLIENT_ID, TIME, BODY, VECTOR_HEADER)


def test_verify_rejects_a_signature_by_another_key():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, sign(other, PATH, CLIENT_ID, TIME, BODY))


@pytest.mark.parametrize("header", [
    None,
    "",
    "   ",
    "algorithm=RSA256,keyVersion=1",
    "algorithm=RSA256,keyVersion=1,signature=",
    "algorithm=RSA512,keyVersion=1,signature=" + VECTOR_SIGNATURE,
    "algorithm=RSA256,keyVersion=1,signature=" + VECTOR_SIGNATURE[:-6],
    "algorithm=RSA256,keyVersion=1,signature=" + VECTOR_SIGNATURE + "%3D",
    "algorithm=RSA256,keyVersion=1,signature=not base64!",
    "algorithm=RSA256,keyVersion=1,signature=%ZZ%ff%00",
    "algorithm=RSA256,keyVersion=1,signature=" + base64.b64encode(bytes(256)).decode(),
    "algorithm=RSA256,keyVersion=1,signature=" + "A" * 5000,
    VECTOR_SIGNATURE,
    "garbage",
    ",,,===,,,",
])
def test_verify_rejects_missing_or_garbage_headers(header):
    assert not verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, header)


def test_verify_rejects_missing_client_id_or_time():
    assert not verify(PUBLIC, PATH, None, TIME, BODY, VECTOR_HEADER)  # type: ignore[arg-type]
    assert not verify(PUBLIC, PATH, CLIENT_ID, None, BODY, VECTOR_HEADER)  # type: ignore[arg-type]


@given(st.text(max_size=600))
def test_verify_of_any_header_text_is_false_and_never_raises(header):
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, header) is False


@given(st.one_of(st.text(max_size=400), st.binary(min_size=0, max_size=300).map(
    lambda raw: quote_plus(base64.b64encode(raw).decode()))))
def test_verify_of_any_signature_value_is_false_and_never_raises(value):
    """Shaped like the real header, so the value reaches base64 decoding and RSA, not just the parser."""
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, "algorithm=RSA256,keyVersion=1,signature=" + value) is False


def test_parse_signature_header_reads_the_raw_signature():
    raw = parse_signature_header(VECTOR_HEADER)
    assert raw == base64.b64decode(unquote(VECTOR_SIGNATURE))


# --- key text ------------------------------------------------------------------------------------

@given(st.text(max_size=300))
def test_parsing_any_key_text_fails_only_with_value_error(text):
    """The loaders turn ValueError into KeyFileError; anything else would escape as a crash."""
    for parse in (private_key_from_text, public_key_from_text):
        with pytest.raises(ValueError):
            parse(text)
