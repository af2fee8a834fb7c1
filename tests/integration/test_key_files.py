"""Key files (spec §2's keys as a merchant and the gateway's portal hand them out): the formats that load,
the permissions a private key must have, and a KeyFileError naming the file for anything else; and the
openssl CLI, at test time, recomputing the signature vector (signing_vector) from the fixture key."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from signing_vector import BODY, CLIENT_ID, PATH, PRIVATE_PEM, PUBLIC_PEM, TIME, VECTOR_HEADER, VECTOR_SIGNATURE

from pos_app.errors import KeyFileError
from pos_app.signing import (
    load_private_key,
    load_public_key,
    sign,
    verify,
)

OPENSSL = Path("/usr/bin/openssl")
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
