"""Request, response and notification signatures (spec §2).

One rule covers all three: RSA PKCS#1 v1.5 over SHA-256 of ``POST <path>\\n<client-id>.<time>.<body>``,
where the body is the exact bytes on the wire, never a re-serialised copy. Keys are parsed once per
process and kept: reloading a key costs about a hundred signatures.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .config import MAX_KEY_BYTES, RefusedFile, read_regular_file
from .errors import KeyFileError
from .i18n import N_, _

_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()
MIN_KEY_BITS = 2048


def signed_content(path: str, client_id: str, time: str, body: bytes) -> bytes:
    """The bytes that are signed: path only (no host), then client id, time and raw body."""
    return b"POST " + path.encode() + b"\n" + client_id.encode() + b"." + time.encode() + b"." + body


def sign(key: rsa.RSAPrivateKey, path: str, client_id: str, time: str, body: bytes) -> str:
    """The ``signature`` header value for a message."""
    raw = key.sign(signed_content(path, client_id, time, body), _PADDING, _HASH)
    return "algorithm=RSA256,keyVersion=1,signature=" + url_encode_base64(base64.b64encode(raw).decode())


def url_encode_base64(value: str) -> str:
    """``quote_plus`` for the base64 alphabet, where only ``+ / =`` need escaping (and 20× faster)."""
    return value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def parse_signature_header(header: str | None) -> bytes | None:
    """The raw signature from a ``signature`` header, or None when it is absent or malformed.

    Accepts a space after each comma, and a value that is URL-encoded or not: base64 never holds
    a space or a ``%``, so unquoting is safe either way.
    """
    if not header or len(header) > 4096:
        return None
    fields = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    if fields.get("algorithm", "RSA256") != "RSA256" or "signature" not in fields:
        return None
    try:
        return base64.b64decode(unquote(fields["signature"]), validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(key: rsa.RSAPublicKey, path: str, client_id: str, time: str, body: bytes,
           header: str | None) -> bool:
    """True only when ``header`` holds a valid signature of this exact message."""
    raw = parse_signature_header(header)
    if raw is None or client_id is None or time is None:
        return False
    try:
        key.verify(raw, signed_content(path, client_id, time, body), _PADDING, _HASH)
    except (InvalidSignature, ValueError):
        return False
    return True


def _der_from_text(text: str) -> bytes | None:
    """Bare base64 (the SDKs' form) to DER, or None when it is not base64."""
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True) if compact else None
    except (binascii.Error, ValueError):
        return None


def private_key_from_text(text: str) -> rsa.RSAPrivateKey:
    """Parse an RSA private key given as PEM (PKCS#8 or PKCS#1) or bare base64 DER."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            der = _der_from_text(text)
            if der is None:
                raise ValueError(_("neither PEM nor base64"))
            key = serialization.load_der_private_key(der, password=None)
    except TypeError:
        raise ValueError(_("a passphrase-protected key; store it without a passphrase")) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(_("not a readable private key ({reason})").format(reason=exc)) from None
    return _checked_rsa(key, rsa.RSAPrivateKey)


def public_key_from_text(text: str) -> rsa.RSAPublicKey:
    """Parse an RSA public key given as PEM (SubjectPublicKeyInfo or PKCS#1) or bare base64 DER."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            der = _der_from_text(text)
            if der is None:
                raise ValueError(_("neither PEM nor base64"))
            key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(_("not a readable public key ({reason})").format(reason=exc)) from None
    return _checked_rsa(key, rsa.RSAPublicKey)


def _checked_rsa(key, kind):
    if not isinstance(key, kind):
        kind_name = type(key).__name__.lstrip("_").replace("PrivateKey", "").replace("PublicKey", "")
        kind_name = {"EllipticCurve": "an EC"}.get(kind_name, f"a {kind_name}")
        raise ValueError(_("{kind} key, but the gateway uses RSA keys").format(kind=kind_name))
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(_("an RSA {bits} key; the gateway needs at least RSA {least}").format(bits=key.key_size,
                                                                                              least=MIN_KEY_BITS))
    return key


def _read_key_file(path: Path, what: str) -> str:
    """A key file's text. Only a regular file of at most MAX_KEY_BYTES is read: a config pointing at
    /dev/zero, /dev/urandom or a FIFO must get an answer, not eat the memory or hang."""
    what = _(what)
    try:
        data = read_regular_file(path, MAX_KEY_BYTES)
    except RefusedFile as exc:
        raise KeyFileError(f"{what}: {path} {exc}",
                           hint=_("set {what} to the key file itself: a PEM or base64 text file of a few KB "
                                  "(at most {kib} KiB)").format(what=what, kib=MAX_KEY_BYTES // 1024)) from None
    except FileNotFoundError:
        raise KeyFileError(_("{what}: {path} does not exist").format(what=what, path=path),
                           hint=_("check the path in the config file")) from None
    except IsADirectoryError:
        raise KeyFileError(_("{what}: {path} is a directory, not a key file").format(what=what, path=path),
                           hint=_("name the key file inside it")) from None
    except OSError as exc:
        raise KeyFileError(_("{what}: cannot read {path}: {reason}").format(what=what, path=path, reason=exc.strerror),
                           hint=_("let this user read it, e.g. chown $(id -un) {path}").format(path=path)) from None
    except ValueError:
        raise KeyFileError(_("{what}: {path!r} is not a usable file path").format(what=what, path=str(path)),
                           hint=_("check the path in the config file")) from None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(_("{what}: {path} is not a text key (expected PEM or base64)").format(what=what, path=path),
                           hint=_("export the key as PEM, or bare base64 as the gateway's portal shows it")) from None


def load_private_key(path: Path, what: str = N_("private key")) -> rsa.RSAPrivateKey:
    """Load a private key file, refusing one that group or others can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        mode = 0
    if stat.S_ISREG(mode) and mode & 0o077 and os.name == "posix":
        raise KeyFileError(
            _("{what}: {path} can be read by other users (mode {mode:04o})").format(what=_(what), path=path,
                                                                                 mode=stat.S_IMODE(mode)),
            hint=_("run: chmod 600 {path}").format(path=path),
        )
    text = _read_key_file(path, what)
    try:
        return private_key_from_text(text)
    except ValueError as exc:
        raise KeyFileError(_("{what}: {path} is {reason}").format(what=_(what), path=path, reason=exc),
                           hint=_("expected an RSA 2048 private key as PEM or bare base64 (PKCS#8)")) from None


def load_public_key(path: Path, what: str = N_("public key")) -> rsa.RSAPublicKey:
    """Load a public key file (PEM or bare base64)."""
    path = Path(path)
    text = _read_key_file(path, what)
    try:
        return public_key_from_text(text)
    except ValueError as exc:
        raise KeyFileError(_("{what}: {path} is {reason}").format(what=_(what), path=path, reason=exc),
                           hint=_("expected an RSA public key as PEM or bare base64 "
                                  "(X.509 SubjectPublicKeyInfo)")) from None
