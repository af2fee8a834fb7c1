"""Signatures (spec §2), pinned by a vector computed outside this code, and the key files they need.

Signing our own message and verifying it with our own code proves nothing about the gateway: both
sides could share one mistake. RSA PKCS#1 v1.5 is deterministic, so a signature made by the openssl
CLI over the spec's content bytes pins the content layout, the encoding and the header format.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote_plus, unquote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st
from kit import FIXTURES

from pos_app.errors import KeyFileError
from pos_app.signing import (
    load_private_key,
    load_public_key,
    parse_signature_header,
    private_key_from_text,
    public_key_from_text,
    sign,
    signed_content,
    verify,
)

PRIVATE_PEM = FIXTURES / "vector_merchant_private.pem"
PUBLIC_PEM = FIXTURES / "vector_merchant_public.pem"
OPENSSL = Path("/usr/bin/openssl")

PATH = "/ams/api/v1/payments/pay"
CLIENT_ID = "SANDBOX_5YEZ1J2YJ5Y704017"
TIME = "2026-11-22T00:51:03+00:00"
# Indented and multi-line, as the Python SDK sends it, with non-ASCII text: the exact UTF-8 bytes are signed.
BODY = (
    '{\n'
    '    "productCode": "IN_STORE_PAYMENT",\n'
    '    "paymentRequestId": "vector-0001",\n'
    '    "paymentAmount": {\n'
    '        "currency": "USD",\n'
    '        "value": "1234"\n'
    '    },\n'
    '    "order": {\n'
    '        "orderDescription": "Café crème"\n'
    '    }\n'
    '}'
).encode()

# Computed once with OpenSSL 3.0, independently of pos_app and of Python's json, from the fixture key:
#   printf 'POST /ams/api/v1/payments/pay\nSANDBOX_5YEZ1J2YJ5Y704017.2026-11-22T00:51:03+00:00.{\n
#     "productCode": "IN_STORE_PAYMENT",\n    "paymentRequestId": "vector-0001",\n    "paymentAmount":
#     {\n        "currency": "USD",\n        "value": "1234"\n    },\n    "order": {\n
#     "orderDescription": "Caf\xc3\xa9 cr\xc3\xa8me"\n    }\n}' > content.bin     (one line, no final \n)
#   openssl dgst -sha256 -sign tests/fixtures/vector_merchant_private.pem -out sig.bin content.bin
#   openssl base64 -A -in sig.bin > sig.b64
#   python3 -c "import urllib.parse; print(urllib.parse.quote_plus(open('sig.b64').read().strip()))"
# and checked with: openssl dgst -sha256 -verify vector_merchant_public.pem -signature sig.bin content.bin
VECTOR_SIGNATURE = (
    "hZCRjUuvePGiq0fIXI%2BLTJVpsU%2F4PftwZS3%2FUvsk3C66MlP8bkZKHjNzRtOhV182EKLkhgtokJeRgWBVJzJoVtkjTZMO4bYrM9y"
    "yHFAG3tf5LvnyulcyG0XdaTmljo6gFTh%2B1yw2qfsLEowaahhawsZgzW914zykfJeADldL1626frBUod1igDMWU01NNZfLP3vDUMLBD1"
    "Ch41hy8bVBKa494y2l13aVW2713RiidbRHDBn80saQGR6XgsmlmJnBVesyGyGS0GpVl7SfkdkLSI4MEPg2EMszOzLHjL38RH%2BNcEDeta"
    "63Ec7AMjgS5Jga6somTWsoKa%2BzsXdnPMAf3A%3D%3D"
)
VECTOR_HEADER = "algorithm=RSA256,keyVersion=1,signature=" + VECTOR_SIGNATURE

PUBLIC = load_public_key(PUBLIC_PEM)


def private_copy(folder: Path, source: Path = PRIVATE_PEM, mode: int = 0o600) -> Path:
    """The fixture private key with the mode git cannot keep."""
    copy = folder / source.name
    shutil.copyfile(source, copy)
    copy.chmod(mode)
    return copy


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    return load_private_key(private_copy(tmp_path_factory.mktemp("key")))


# --- the vector ------------------------------------------------------------------------------------

def test_signed_content_is_the_spec_layout():
    content = signed_content(PATH, CLIENT_ID, TIME, BODY)
    assert content == b"POST /ams/api/v1/payments/pay\nSANDBOX_5YEZ1J2YJ5Y704017.2026-11-22T00:51:03+00:00." + BODY
    assert "Café".encode() in content


def test_sign_gives_the_openssl_vector(private):
    assert sign(private, PATH, CLIENT_ID, TIME, BODY) == VECTOR_HEADER


def test_the_vector_signature_is_url_encoded_base64():
    assert not set("+/=") & set(VECTOR_SIGNATURE)
    assert len(base64.b64decode(unquote(VECTOR_SIGNATURE), validate=True)) == 256


@pytest.mark.skipif(not OPENSSL.exists(), reason="needs /usr/bin/openssl")
def test_openssl_agrees_at_test_time(tmp_path, private):
    """Recompute the vector with the openssl CLI now, so a changed fixture or content cannot hide."""
    key = private_copy(tmp_path)
    content = tmp_path / "content.bin"
    content.write_bytes(b"POST " + PATH.encode() + b"\n" + CLIENT_ID.encode() + b"." + TIME.encode() + b"." + BODY)
    signature = tmp_path / "sig.bin"
    subprocess.run([str(OPENSSL), "dgst", "-sha256", "-sign", str(key), "-out", str(signature), str(content)],
                   check=True, capture_output=True)
    value = quote_plus(base64.b64encode(signature.read_bytes()).decode())
    assert value == VECTOR_SIGNATURE
    assert sign(private, PATH, CLIENT_ID, TIME, BODY) == "algorithm=RSA256,keyVersion=1,signature=" + value


# --- verify: what it accepts -----------------------------------------------------------------------

def test_verify_accepts_the_vector():
    assert verify(PUBLIC, PATH, CLIENT_ID, TIME, BODY, VECTOR_HEADER)


def test_verify_accepts_our_own_signature(private):
    body = b'{"paymentRequestId":"r-1","paymentAmount":{"currency":"JPY","value":"500"}}'
    header = sign(private, "/ams/sandbox/api/v1/payments/inquiryPayment", CLIENT_ID, "1700000000000", body)
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


# --- key formats -----------------------------------------------------------------------------------

def _der_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def test_pkcs8_pem_private_key_loads(private):
    assert PRIVATE_PEM.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert private.key_size == 2048


def test_pkcs1_pem_private_key_loads(tmp_path, private):
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    key = load_private_key(_write(tmp_path / "pkcs1.pem", pem))
    assert sign(key, PATH, CLIENT_ID, TIME, BODY) == VECTOR_HEADER


@pytest.mark.parametrize("wrap", [0, 64, 76])
def test_bare_base64_pkcs8_private_key_loads(tmp_path, private, wrap):
    """The Java SDKs' form: base64 of PKCS#8 DER, on one line or wrapped."""
    text = base64.b64encode(_der_private(private)).decode()
    if wrap:
        text = "\n".join(text[i:i + wrap] for i in range(0, len(text), wrap)) + "\n"
    key = load_private_key(_write(tmp_path / "merchant.key", text))
    assert sign(key, PATH, CLIENT_ID, TIME, BODY) == VECTOR_HEADER


def test_bare_base64_spki_public_key_loads(tmp_path):
    der = PUBLIC.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = load_public_key(_write(tmp_path / "gateway.pub", base64.b64encode(der).decode() + "\n", 0o644))
    assert verify(key, PATH, CLIENT_ID, TIME, BODY, VECTOR_HEADER)


def test_pkcs1_pem_public_key_loads(tmp_path):
    pem = PUBLIC.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert pem.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    key = load_public_key(_write(tmp_path / "gateway.pem", pem, 0o644))
    assert verify(key, PATH, CLIENT_ID, TIME, BODY, VECTOR_HEADER)


def test_a_public_key_file_may_be_world_readable(tmp_path):
    assert load_public_key(_write(tmp_path / "gateway.pem", PUBLIC_PEM.read_bytes(), 0o644)).key_size == 2048


@pytest.mark.parametrize("mode", [0o400, 0o600, 0o700])
def test_an_owner_only_private_key_loads(tmp_path, mode):
    assert load_private_key(private_copy(tmp_path, mode=mode)).key_size == 2048


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o610])
def test_a_private_key_others_can_read_is_refused_with_the_fix(tmp_path, mode):
    path = private_copy(tmp_path, mode=mode)
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path)
    assert str(path) in str(caught.value)
    assert f"chmod 600 {path}" in caught.value.hint


# --- bad key files: always a KeyFileError naming the file ------------------------------------------

def _ec_private_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


BAD_PRIVATE = {
    "non-key text": lambda: b"this is not a key\nat all\n",
    "empty": lambda: b"",
    "binary": lambda: bytes(range(256)) * 4,
    "utf-8 text": lambda: "clé privée".encode(),
    "garbage PEM": lambda: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "base64 that is no key": lambda: base64.b64encode(b"hello world, not DER at all"),
    "EC key": _ec_private_pem,
    "EC key as bare base64": lambda: base64.b64encode(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
    "RSA-1024 key": lambda: _rsa_1024().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    "public key": lambda: PUBLIC_PEM.read_bytes(),
    "passphrase-protected key": lambda: rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")),
    "huge file": lambda: b"A" * (65 * 1024),
}


@pytest.mark.parametrize("name", sorted(BAD_PRIVATE))
def test_a_bad_private_key_file_is_a_key_file_error_naming_the_file(tmp_path, name):
    path = _write(tmp_path / "merchant_private.pem", BAD_PRIVATE[name]())
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("name, says", [("EC key", "RSA"), ("RSA-1024 key", "1024"),
                                        ("passphrase-protected key", "passphrase"), ("binary", "not a text key")])
def test_a_bad_private_key_says_what_is_wrong(tmp_path, name, says):
    path = _write(tmp_path / "merchant_private.pem", BAD_PRIVATE[name]())
    with pytest.raises(KeyFileError, match=says):
        load_private_key(path)


BAD_PUBLIC = {
    "non-key text": lambda: b"this is not a key\n",
    "binary": lambda: bytes(range(256)),
    "EC key": lambda: ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    "RSA-1024 key": lambda: _rsa_1024().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    "RSA-1024 key as bare base64": lambda: base64.b64encode(_rsa_1024().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)),
    "private key": lambda: PRIVATE_PEM.read_bytes(),
}


@pytest.mark.parametrize("name", sorted(BAD_PUBLIC))
def test_a_bad_public_key_file_is_a_key_file_error_naming_the_file(tmp_path, name):
    path = _write(tmp_path / "gateway_public.pem", BAD_PUBLIC[name](), 0o644)
    with pytest.raises(KeyFileError) as caught:
        load_public_key(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("load", [load_private_key, load_public_key])
def test_a_missing_key_file(tmp_path, load):
    path = tmp_path / "keys" / "missing.pem"
    with pytest.raises(KeyFileError, match="does not exist") as caught:
        load(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("load", [load_private_key, load_public_key])
def test_a_directory_as_key_file(tmp_path, load):
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="directory") as caught:
        load(folder)
    assert str(folder) in str(caught.value)


@given(st.text(max_size=300))
def test_parsing_any_key_text_fails_only_with_value_error(text):
    """The loaders turn ValueError into KeyFileError; anything else would escape as a crash."""
    for parse in (private_key_from_text, public_key_from_text):
        with pytest.raises(ValueError):
            parse(text)
