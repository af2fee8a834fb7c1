"""What the setup tests hand the wizard: a gateway key as the gateway's portal hands it out, an --answers
file, and the options the setup command binds, for calling the wizard directly."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from kit import stranger_keys


def gateway_key_file(folder: Path) -> Path:
    """A gateway public key as the gateway's portal hands it out: a PEM file."""
    return stranger_keys(folder)[1]


def der(key) -> bytes:
    """A public key's DER bytes, to compare two keys."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def answers_file(folder: Path, gateway_key: Path, **changes) -> Path:
    """An --answers file; a change to None leaves that key out."""
    answers = {"url": "https://open-sea-global.alipay.com", "client_id": "SANDBOX_5YEZ1J2YJ5Y704017",
               "reference_merchant_id": "M0001", "name": "Corner Shop", "mcc": "5411", "store_id": "S001",
               "store_name": "Corner Shop Central", "store_mcc": "5812", "terminal_id": "T001", "currency": "usd",
               "settlement_currency": "USD", "listen": "0.0.0.0:8081", "public_url": "https://pos.example.com/notify",
               "gateway_public_key": str(gateway_key), "manager_pin": "2468", "technician_pin": "13579"}
    answers.update(changes)
    path = folder / "answers.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in answers.items() if v is not None))
    return path


def direct(tmp_path: Path, answers: Path | None, *, config: Path | None = None, force: bool = False,
           new_key: bool = False, as_json: bool = True) -> Namespace:
    """The arguments cli.main would hand cmd_setup."""
    return Namespace(config=str(config) if config else None, data_dir=str(tmp_path / "data"), json=as_json,
                     verbose=False, force=force, new_key=new_key, answers=str(answers) if answers else None)
