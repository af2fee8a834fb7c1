"""First start of a simulator: its key pairs and a terminal config that points at it.

Everything lives in the simulator's data directory and is reused on later starts, so a terminal
configured once keeps working across simulator restarts.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import PosError
from .tls import write_whole

DEFAULT_CLIENT_ID = "SANDBOX_POSTERMINAL0001"
MARKER = "# pos-terminal configuration, written by the gateway simulator for sandbox use."
KEY_NAMES = ("merchant", "gateway")


@dataclass(frozen=True)
class Provisioned:
    keys_dir: Path
    config_file: Path
    created: list[Path]


def _write_private(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _write_public(path: Path, key: rsa.RSAPublicKey) -> None:
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo))


def _write_config(path: Path, text: str) -> None:
    """Whole or not at all (beside, fsync, rename; the old file's mode kept): a simulator killed while writing
    never leaves a config cut short, which would read as one a person edited, or lack its [gateway]."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    write_whole(path, text.encode("utf-8"), mode)


CA_BUNDLE = "tls/ca.pem"   # the simulator's CA (pos_app.sim.tls), relative to its terminal.toml


def terminal_doc(url: str, client_id: str, notify_listen: str = "127.0.0.1:8081",
                 public_url: str = "http://127.0.0.1:8081/notify", ca_bundle: str | None = None) -> dict:
    """A complete terminal config for this simulator, as the tables TOML holds (key paths relative to the file);
    ``ca_bundle`` for a simulator serving TLS."""
    gateway = {"url": url, "client_id": client_id, **({"ca_bundle": ca_bundle} if ca_bundle else {}),
               "merchant_private_key": "keys/merchant_private.pem", "gateway_public_key": "keys/gateway_public.pem",
               "connect_timeout": 5.0, "read_timeout": 5.0}
    return {"gateway": gateway,
            "merchant": {"reference_merchant_id": "SIM-MERCHANT-001", "name": "Sandbox Store", "mcc": "5411",
                         "store_id": "S001", "store_name": "Sandbox Store 1", "store_mcc": "5411",
                         "terminal_id": "T001", "currency": "USD", "settlement_currency": "USD"},
            "notifications": {"listen": notify_listen, "public_url": public_url}}


def terminal_toml(url: str, client_id: str, notify_listen: str = "127.0.0.1:8081",
                  public_url: str = "http://127.0.0.1:8081/notify", ca_bundle: str | None = None) -> str:
    """:func:`terminal_doc` as the file the simulator writes: its marker line, then TOML from tomli-w."""
    return f"{MARKER}\n# Key paths are relative to this file.\n\n" + \
        tomli_w.dumps(terminal_doc(url, client_id, notify_listen, public_url, ca_bundle))


def _follow_port(config: Path, url: str) -> None:
    """A config the simulator wrote follows it to a new port, with its scheme (an https:// URL gets the CA
    bundle beside it, once; back on http:// its own CA line goes, so a tls/ folder removed does not break a
    plain-HTTP config); one a person edited is left alone."""
    text = config.read_text()
    if not text.startswith(MARKER):
        return
    lines = tomli_w.dumps({"url": url})
    if url.startswith("https://") and "ca_bundle" not in dict(tomllib.loads(text).get("gateway") or {}):
        lines += tomli_w.dumps({"ca_bundle": CA_BUNDLE})
    if not url.startswith("https://"):   # its own CA line goes with the scheme: tls/ may be gone (made anew)
        text_without = re.sub(r'(?m)^' + re.escape(tomli_w.dumps({"ca_bundle": CA_BUNDLE})), "", text, count=1)
    else:
        text_without = text
    updated = re.sub(r'(?m)^url = "https?://[^"]*"$', lambda _: lines.rstrip("\n"), text_without, count=1)
    if updated != text:
        _write_config(config, updated)


def store_of(config: Path) -> tuple[dict, str | None]:
    """The order.merchant object a terminal config's payments carry, and its notify URL: what the store's
    entry code is registered with. A config it cannot read gives the sandbox merchant's (terminal_doc)."""
    doc = terminal_doc("http://127.0.0.1", DEFAULT_CLIENT_ID)
    try:
        read = tomllib.loads(config.read_text())
    except (OSError, ValueError):
        read = {}
    m = {**doc["merchant"], **{k: v for k, v in dict(read.get("merchant") or {}).items() if isinstance(v, str)}}
    url = dict(read.get("notifications") or {}).get("public_url", doc["notifications"]["public_url"])
    merchant = {"referenceMerchantId": m["reference_merchant_id"], "merchantMCC": m["mcc"],
                "merchantName": m["name"], "store": {"referenceStoreId": m["store_id"], "storeName": m["store_name"],
                                                      "storeMCC": m["store_mcc"]}}
    return merchant, url if isinstance(url, str) else None


def add_entry_code(config: Path, code: str) -> None:
    """A config the simulator wrote gets the store's ``[entry_code] code``; one a person edited, or one that
    has an entry code already, is left alone."""
    try:
        text = config.read_text()
        if not text.startswith(MARKER) or "entry_code" in tomllib.loads(text):
            return
        _write_config(config, text.rstrip("\n") + "\n\n" + tomli_w.dumps({"entry_code": {"code": code}}))
    except (OSError, ValueError) as exc:
        raise PosError(f"cannot add the store's entry code to {config}: {exc}",
                       hint="check the file, or remove it to let the simulator write a new one") from None


def provision(data_dir: Path, url: str, client_id: str = DEFAULT_CLIENT_ID) -> Provisioned:
    """Create whatever is missing of keys/ and terminal.toml; never overwrite what exists."""
    keys = data_dir / "keys"
    created: list[Path] = []
    try:
        keys.mkdir(parents=True, exist_ok=True)
        for name in KEY_NAMES:
            private, public = keys / f"{name}_private.pem", keys / f"{name}_public.pem"
            if private.exists() and public.exists():
                continue
            if private.exists() or public.exists():
                half = private if private.exists() else public
                raise PosError(f"{half} exists without its other half",
                               hint=f"remove {half} to let the simulator make a new {name} key pair")
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(private, key)
            _write_public(public, key.public_key())
            created += [private, public]
        config = data_dir / "terminal.toml"
        if not config.exists() or (config.is_file() and config.stat().st_size == 0):   # an empty one: never written
            _write_config(config, terminal_toml(url, client_id,
                                                ca_bundle=CA_BUNDLE if url.startswith("https://") else None))
            created.append(config)
        else:
            text = config.read_text()
            if text.startswith(MARKER) and not isinstance(tomllib.loads(text).get("gateway"), dict):
                raise PosError(f"{config} was written by the simulator but has no [gateway] table (cut short?)",
                               hint="remove it to let the simulator write a new one")
            _follow_port(config, url)
    except ValueError as exc:   # the marker's file no longer TOML
        raise PosError(f"cannot follow the simulator's port in {data_dir / 'terminal.toml'}: {exc}",
                       hint="check the file, or remove it to let the simulator write a new one") from None
    except OSError as exc:
        raise PosError(f"cannot set up the simulator in {data_dir}: {exc.strerror} ({exc.filename})",
                       hint="pick a directory this user can write with --data-dir") from None
    return Provisioned(keys, data_dir / "terminal.toml", created)


def settlement_doc(sftp_url: str, customer_id: str, folder: str = "sftp") -> dict:
    """The ``[settlement]`` table of a sandbox terminal: the simulator's SFTP server, its password and host key
    files (relative to the config file, like the keys)."""
    return {"sftp": sftp_url, "password_file": f"{folder}/password", "known_hosts": f"{folder}/known_hosts",
            "customer_id": customer_id}


def add_settlement(config: Path, sftp_url: str, customer_id: str) -> None:
    """A config the simulator wrote gets ``[settlement]`` pointing at its SFTP server, or follows it to a new
    port; one a person edited is left alone."""
    try:
        text = config.read_text()
        if not text.startswith(MARKER):
            return
        if "settlement" not in tomllib.loads(text):
            _write_config(config, text.rstrip("\n") + "\n\n" + tomli_w.dumps({"settlement": settlement_doc(
                sftp_url, customer_id)}))
            return
        line = tomli_w.dumps({"sftp": sftp_url}).rstrip("\n")
        updated = re.sub(r'(?m)^sftp = "sftp://[^"]*"$', lambda _: line, text, count=1)
        if updated != text:
            _write_config(config, updated)
    except (OSError, ValueError) as exc:
        raise PosError(f"cannot add the SFTP server to {config}: {exc}",
                       hint="check the file, or remove it to let the simulator write a new one") from None
