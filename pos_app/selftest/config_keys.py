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
from ..i18n import N_, _
from .results import NO_CONFIG, Check, failed, one_line, passed, skipped


def load(config_file: Path | None, data_dir: Path, *, start_sandbox: bool) -> tuple[Check, Config | None, Any]:
    """The ``config`` check, the config it loaded (None when it did not), and the simulator started for
    this run (the caller stops it). In sandbox mode with ``start_sandbox``, a terminal running on
    ``data_dir`` lends its own simulator (see :func:`pos_app.sandbox.start_sandbox`): none is started, and
    the running terminal's terminal.toml is left as it is."""
    if config_file is not None:
        try:
            loaded = load_config(config_file)
        except PosError as exc:
            return failed("config", one_line(exc.message), exc.hint or _("compare it with the README")), None, None
        detail = (_("{path}: valid (sandbox gateway {url}, client id {client_id})") if loaded.gateway.sandbox else
                  _("{path}: valid (live gateway {url}, client id {client_id})"))
        detail = detail.format(path=loaded.path, url=loaded.gateway.url, client_id=loaded.gateway.client_id)
        try:
            artwork = brand_artwork(loaded)
        except PosError as exc:   # the cashier window refuses to open with it: the config is not fit to start
            return failed("config", one_line(exc.message), exc.hint or ""), loaded, None
        words = [detail, artwork, store_words(loaded)]
        return passed("config", "; ".join(w for w in words if w)), loaded, None
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
        return failed("config", _("sandbox: {reason}").format(reason=one_line(exc.message)),
                      exc.hint or _("check the sandbox's files in {folder}").format(folder=sandbox_file.parent)), \
            None, None
    if config is None:
        detail = _("sandbox: no config file")
    elif start_sandbox and sim is None:
        detail = _("sandbox: no config file (the running terminal's embedded simulator at {url})").format(
            url=config.gateway.url)
    else:
        detail = _("sandbox: no config file (the embedded simulator's {path})").format(path=config.path)
    return passed("config", detail), config, sim


def store_words(config: Config) -> str | None:
    """[store] as load_config checked it (the database's form, no password, its files): words for the report,
    None without [store]. Connecting is another check's."""
    if config.store is None:
        return None
    return _("[store] {role} of store {store} at {where} (sslmode {mode}; not connected by this check)").format(
        role=config.store.role, store=config.store.store_id, where=config.store.where,
        mode=config.store.params.get("sslmode", "prefer"))


def brand_artwork(config: Config) -> str | None:
    """The [brand] files loaded as the till loads them at its start (which refuses a bad one before any window
    opens): words for the report, None when none is configured; an ArtworkError names the file and key."""
    keys = [key for key in ("acceptance_mark", "qr_icon") if getattr(config.brand, key) is not None]
    if not keys:
        return None
    from .. import brand
    brand.check(config.brand)
    return _("[brand] artwork loads ({keys})").format(keys=", ".join(keys))


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
        return failed("keys", one_line(exc.message), exc.hint or _("check the key paths in the config file"))
    own = merchant.public_key()
    if same_key(own, gateway):
        return failed("keys", _("[gateway] gateway_public_key {path} is the merchant's own public key").format(
                          path=gw.gateway_public_key),
                      _("put the gateway's public key there (from the Antom portal), not the one you uploaded"))
    public_file = beside(Path(gw.merchant_private_key), "public", "merchant_public.pem")
    if public_file is not None:
        try:
            public = signing.load_public_key(public_file, N_("merchant public key"))
        except KeyFileError as exc:
            return failed("keys", one_line(exc.message), exc.hint or _("fix or remove {path}").format(path=public_file))
        if not same_key(own, public):
            return failed("keys", _("{private} and {public} are not one key pair").format(
                              private=gw.merchant_private_key, public=public_file),
                          _("the gateway verifies with the public key registered for client id {client_id}: put "
                            "the private key that belongs to it in {private}, or register the public half of "
                            "{name}").format(client_id=gw.client_id, private=gw.merchant_private_key,
                                             name=gw.merchant_private_key.name))
        how = _("the merchant key matches {name}").format(name=public_file.name)
    else:
        probe = b"pos-terminal selftest"
        ok = signing.verify(own, "/selftest", gw.client_id, "0", probe,
                            signing.sign(merchant, "/selftest", gw.client_id, "0", probe))
        if not ok:
            return failed("keys", _("{path}: a test message signed with it does not verify").format(
                              path=gw.merchant_private_key),
                          _("the key file is damaged: restore it from the backup"))
        how = _("the merchant key signs and verifies (no public half beside it to compare)")
    return passed("keys", _("{how}; the gateway key loads (RSA {bits})").format(how=how, bits=gateway.key_size))


def keys_of(config: Config | None, *, sandbox: bool) -> Check:
    """The ``keys`` check of a run: skipped while there is no config to name them."""
    if config is None:
        if sandbox:
            return skipped("keys", _("sandbox: the embedded simulator makes its keys at the first start"),
                           _("run `pos-terminal selftest --level external` or start the terminal once"))
        return skipped("keys", _(NO_CONFIG))
    return check_keys(config)
