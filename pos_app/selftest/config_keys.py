"""The files the terminal cannot start without: the config file, and the two keys it names.

``config`` loads the file (in sandbox mode, the embedded simulator's, starting the simulator when the
run goes on to the gateway); ``keys`` loads both keys and catches the usual mix-ups before the gateway
has to. The key-pair helpers are also how the notification check finds the gateway's private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..errors import KeyFileError, PosError
from .results import Check, failed, one_line, passed, skipped


def load(config_file: Path | None, data_dir: Path, *, start_sandbox: bool) -> tuple[Check, Config | None, Any]:
    """The ``config`` check, the config it loaded (None when it did not), and the simulator started for
    this run (the caller stops it). In sandbox mode with ``start_sandbox``, a terminal running on
    ``data_dir`` lends its own simulator (see :func:`pos_app.sandbox.start_sandbox`): none is started, and
    the running terminal's terminal.toml is left as it is."""
    if config_file is not None:
        try:
            loaded = load_config(config_file)
        except PosError as exc:
            return failed("config", one_line(exc.message), exc.hint or "compare it with the README"), None, None
        mode = "sandbox gateway" if loaded.gateway.sandbox else "live gateway"
        return passed("config", f"{loaded.path}: valid ({mode} {loaded.gateway.url}, "
                                f"client id {loaded.gateway.client_id})"), loaded, None
    sandbox_file = data_dir / "sandbox-gateway" / "terminal.toml"
    sim: Any = None
    config: Config | None = None
    try:
        if start_sandbox:
            from ..sandbox import start_sandbox as start
            sim, config = start(data_dir)
        elif sandbox_file.is_file():
            config = load_config(sandbox_file)
    except PosError as exc:
        return failed("config", f"sandbox: {one_line(exc.message)}",
                      exc.hint or f"check the sandbox's files in {sandbox_file.parent}"), None, None
    if config is None:
        where = ""
    elif start_sandbox and sim is None:
        where = f" (the running terminal's embedded simulator at {config.gateway.url})"
    else:
        where = f" (the embedded simulator's {config.path})"
    return passed("config", "sandbox: no config file" + where), config, sim


def same_key(a, b) -> bool:
    return a.public_numbers() == b.public_numbers()


def beside(path: Path, want: str, fallback: str) -> Path | None:
    """The other half of a key pair lying next to ``path``: the name with private/public swapped, or the
    simulator's name for it."""
    names = []
    other = {"public": "private", "private": "public"}[want]
    if other in path.name:
        names.append(path.name.replace(other, want))
    names.append(fallback)
    for name in names:
        candidate = path.parent / name
        if candidate != path and candidate.is_file():
            return candidate
    return None


def check_keys(config: Config) -> Check:
    """Both keys load; the merchant key matches its public half (when one lies beside it, as the simulator
    and the key tools leave it), otherwise signs and verifies a test message; the gateway key is not the
    merchant's own public key (the usual mix-up)."""
    from .. import signing

    gw = config.gateway
    try:
        merchant = signing.load_private_key(gw.merchant_private_key, "[gateway] merchant_private_key")
        gateway = signing.load_public_key(gw.gateway_public_key, "[gateway] gateway_public_key")
    except KeyFileError as exc:
        return failed("keys", one_line(exc.message), exc.hint or "check the key paths in the config file")
    own = merchant.public_key()
    if same_key(own, gateway):
        return failed("keys", f"[gateway] gateway_public_key {gw.gateway_public_key} is the merchant's own public key",
                      "put the gateway's public key there (from the Antom portal), not the one you uploaded")
    public_file = beside(Path(gw.merchant_private_key), "public", "merchant_public.pem")
    if public_file is not None:
        try:
            public = signing.load_public_key(public_file, "merchant public key")
        except KeyFileError as exc:
            return failed("keys", one_line(exc.message), exc.hint or f"fix or remove {public_file}")
        if not same_key(own, public):
            return failed("keys", f"{gw.merchant_private_key} and {public_file} are not one key pair",
                          f"the gateway verifies with the public key registered for client id {gw.client_id}: put "
                          f"the private key that belongs to it in {gw.merchant_private_key}, or register the "
                          f"public half of {gw.merchant_private_key.name}")
        how = f"the merchant key matches {public_file.name}"
    else:
        probe = b"pos-terminal selftest"
        ok = signing.verify(own, "/selftest", gw.client_id, "0", probe,
                            signing.sign(merchant, "/selftest", gw.client_id, "0", probe))
        if not ok:
            return failed("keys", f"{gw.merchant_private_key}: a test message signed with it does not verify",
                          "the key file is damaged: restore it from the backup")
        how = "the merchant key signs and verifies (no public half beside it to compare)"
    return passed("keys", f"{how}; the gateway key loads (RSA {gateway.key_size})")


def keys_of(config: Config | None, *, sandbox: bool) -> Check:
    """The ``keys`` check of a run: skipped while there is no config to name them."""
    if config is None:
        if sandbox:
            return skipped("keys", "sandbox: the embedded simulator makes its keys at the first start",
                           "run `pos-terminal selftest --level external` or start the terminal once")
        return skipped("keys", "the config does not load (see config)")
    return check_keys(config)
