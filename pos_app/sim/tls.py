"""The simulator's TLS files: a private CA and a server certificate for the host names it is reached by.

A terminal trusts the simulator by its CA (``[gateway] ca_bundle = "tls/ca.pem"``), not by its server
certificate, so the CA is made once and kept: the server certificate can then be re-issued (another --host,
close to its expiry) without touching any terminal's config. ECDSA P-256 keeps the handshake cheap.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import PosError

log = logging.getLogger(__name__)

FOLDER = "tls"
ALWAYS = ("localhost", "127.0.0.1", "::1")   # names a terminal on this machine reaches the simulator by
WILDCARDS = {"", "0.0.0.0", "::"}           # a bind address, never a name a client uses
CA_DAYS = 3650
SERVER_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)
BACKDATE = dt.timedelta(minutes=5)          # a client whose clock is a little behind still accepts it


@dataclass(frozen=True)
class TlsFiles:
    ca: Path       # the CA certificate a terminal trusts (public)
    cert: Path     # the server certificate
    key: Path      # the server's private key (0600)
    created: tuple[Path, ...] = field(default=())   # what this start wrote (the CA only on a first start)


def _a_label(host: str) -> str:
    """``host`` as a certificate names it: an IP address as it is, a name in its ASCII (IDNA A-label) form, since a
    client compares against that; PosError for what is neither."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""
    labels = name.split(".")
    if not name or not all(label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label)
                            for label in labels):
        raise PosError(f"--host {host!r} is neither an IP address nor a host name the certificate can name",
                       hint="give --host an address such as 127.0.0.1 or ::1, or a name such as gateway.example")
    return name


def san_names(hosts) -> list[str]:
    """The names and addresses the server certificate covers: the loopback ones and every host given."""
    names: list[str] = []
    for host in (*ALWAYS, *hosts):
        host = str(host).strip().strip("[]").lower()
        if host in WILDCARDS:
            continue
        host = _a_label(host)
        if host not in names:
            names.append(host)
    return names


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _covers(cert: x509.Certificate, names: list[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    wanted = [_general_name(n) for n in names]
    have = {*san.get_values_for_type(x509.IPAddress), *(n.lower() for n in san.get_values_for_type(x509.DNSName))}
    return all(n.value in have for n in wanted)


def write_whole(path: Path, data: bytes, mode: int) -> None:
    """Whole or not at all: written beside, then renamed over, so a crash never leaves half a PEM file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _make_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pos-terminal"),
                      x509.NameAttribute(NameOID.COMMON_NAME,
                                         f"pos-terminal simulator CA {secrets.token_hex(4)}")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    write_whole(folder / "ca.key", _key_pem(key), 0o600)   # the key first: a CA certificate never lacks its key
    write_whole(folder / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _issue(folder: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: list[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pos-terminal"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + dt.timedelta(days=SERVER_DAYS), ca.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_whole(folder / "server.key", _key_pem(key), 0o600)
    write_whole(folder / "server.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    pem, key_file = folder / "ca.pem", folder / "ca.key"
    fix = (f"remove {pem} and {key_file} to let the simulator make a new CA (terminals that trusted the old "
           f"one then need the new ca.pem as their [gateway] ca_bundle)")
    if pem.exists() != key_file.exists():
        half = pem if pem.exists() else key_file
        raise PosError(f"{half} exists without its other half", hint=fix)
    try:
        ca = x509.load_pem_x509_certificate(pem.read_bytes())
    except ValueError:
        raise PosError(f"{pem} is not a PEM certificate (damaged or cut short)", hint=fix) from None
    if key_file.stat().st_mode & 0o077:
        raise PosError(f"{key_file} can be read by other users (mode {key_file.stat().st_mode & 0o777:o}): the key "
                       "that signs every certificate a terminal trusts", hint=f"chmod 600 {key_file}; or {fix}")
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise PosError(f"{key_file} is not an unencrypted PEM private key (damaged or cut short)", hint=fix) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != ca.public_key():
        raise PosError(f"{key_file} is not the key of the CA certificate {pem}", hint=fix)
    if ca.not_valid_after_utc <= dt.datetime.now(dt.UTC) + RENEW_BEFORE:
        raise PosError(f"the simulator's CA {pem} expires on {ca.not_valid_after_utc:%Y-%m-%d}", hint=fix)
    return ca, key


def _server_ok(folder: Path, ca: x509.Certificate, names: list[str]) -> str | None:
    """None when the server certificate can be kept; else why it is re-issued."""
    pem, key_file = folder / "server.pem", folder / "server.key"
    if not pem.exists() or not key_file.exists():
        return "missing"
    if key_file.stat().st_mode & 0o077:
        return "its key can be read by other users"   # a new key, private: the old one may have been copied
    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (ValueError, TypeError):
        return "damaged"
    if key.public_key() != cert.public_key():
        return "key does not match"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "issued by another CA"
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC) + RENEW_BEFORE:
        return f"expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    if not _covers(cert, names):
        return f"does not cover {', '.join(names)}"
    return None


def ensure_tls(data_dir: Path | str, hosts=()) -> TlsFiles:
    """The CA and the server certificate in ``<data_dir>/tls/``: made on first start, reused after; the server
    certificate re-issued from the same CA when it does not cover ``hosts`` (and the loopback names) or expires
    within 30 days. Damaged CA files are said in words with what to remove, never repaired silently (a terminal
    trusts that CA); the server's own files are simply issued again."""
    folder = Path(data_dir) / FOLDER
    names = san_names(hosts)
    created: list[Path] = []
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (folder / "ca.pem").exists() and not (folder / "ca.key").exists():
            ca, ca_key = _make_ca(folder)
            created += [folder / "ca.pem", folder / "ca.key"]
        else:
            ca, ca_key = _load_ca(folder)
        why = _server_ok(folder, ca, names)
        if why is not None:
            if why != "missing":
                log.info("simulator TLS: issuing a new server certificate (the old one: %s)", why)
            _issue(folder, ca, ca_key, names)
            created += [folder / "server.pem", folder / "server.key"]
    except OSError as exc:
        raise PosError(f"cannot set up the simulator's TLS files in {folder}: {exc.strerror} ({exc.filename})",
                       hint="pick a directory this user can write with --data-dir") from None
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key", tuple(created))
