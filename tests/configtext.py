"""A complete, valid terminal.toml as data, and files made from it with one thing wrong at a time: what
the config tests, in this process and through ``pos-terminal status``, load."""

from __future__ import annotations

from pathlib import Path

# Every key, as TOML literals; tests drop or replace entries to make one thing wrong at a time.
VALID = {
    "gateway": {
        "url": '"https://open-sea-global.alipay.com"',
        "client_id": '"SANDBOX_5YEZ1J2YJ5Y704017"',
        "merchant_private_key": '"keys/merchant_private.pem"',
        "gateway_public_key": '"/etc/pos-terminal/gateway_public.pem"',
        "connect_timeout": "3",
        "read_timeout": "7.5",
    },
    "merchant": {
        "reference_merchant_id": '"M-0001"',
        "name": '"Corner Shop"',
        "mcc": '"5411"',
        "store_id": '"S-01"',
        "store_name": '"Corner Shop Central"',
        "store_mcc": '"5411"',
        "terminal_id": '"T-01"',
        "currency": '"SGD"',
    },
    "notifications": {
        "listen": '"0.0.0.0:8081"',
        "public_url": '"https://pos.example.com/notify"',
    },
}


def render(doc: dict) -> str:
    lines = []
    for section, keys in doc.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
        lines.append("")
    return "\n".join(lines)


def write(tmp_path: Path, text: str | bytes | None = None, *, drop: tuple[str, str | None] | None = None,
          **changes: dict) -> Path:
    """A terminal.toml under tmp_path: VALID with ``changes`` ({section: {key: literal}}) and one ``drop``."""
    doc = {section: dict(keys) for section, keys in VALID.items()}
    for section, keys in changes.items():
        doc.setdefault(section, {}).update(keys)
    if drop:
        section, key = drop
        if key is None:
            del doc[section]
        else:
            del doc[section][key]
    file = tmp_path / "terminal.toml"
    data = render(doc) if text is None else text
    file.write_bytes(data.encode() if isinstance(data, str) else data)
    return file
