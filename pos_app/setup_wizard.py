"""``pos-terminal setup``: the first-run walk that writes terminal.toml, the merchant key pair and the PINs.

Why it is shaped this way:

- Every config answer is judged by :func:`pos_app.config.load_config` itself (on a scratch file that holds
  the answer among known-good placeholders), so the walk cannot accept what the terminal would then refuse,
  and no rule is copied here to drift away from config.py. The value kept is the one load_config returns
  (``usd`` becomes ``USD``, a trailing ``/`` leaves a URL).
- Nothing is written until every answer is in: an EOF or Ctrl-C mid-walk leaves the machine as it was.
  A terminal running on the data directory (it holds the journal's instance lock) is found before the
  first question when setup will need the journal, so nobody types fifteen answers to be told to stop it.
  The writes then go in the order that keeps a failure harmless: the instance lock first (held to the
  end), the sandbox journal moved aside (below), the keys, the config (temp file, fsync, rename), the PINs
  last. A PIN already set is kept: changing one needs the current PIN (``pos-terminal pin set``), and setup
  must not become a way around that.
- An existing config is replaced only with ``--force``, and kept as ``FILE.bak-<timestamp>``; its optional
  tables ([payments], [offline], [scanners], the gateway timeouts) are carried over when they still load,
  so re-running setup does not lose a technician's scanner settings. The old way out to the gateway
  ([gateway] proxy, proxy_credentials, ca_bundle) is the default of its questions (an answer left out of
  --answers takes it; ``none`` in the walk, ``""`` in --answers leave it out) and is checked by the round trip
  again: a re-run must not silently cut a store's terminal off behind its proxy. ``--force`` keeps the merchant key
  pair: the gateway knows only its public half, so fixing a store name must not cut the terminal off.
  Only ``--new-key`` makes a new pair (the old private key is backed up first).
- Going live (a config written where none was) moves the sandbox's journal, with its test payments, to
  ``<data dir>/sandbox-archive-<timestamp>/``, so the live journal, its reports and its queue start clean.
  It moves only when the simulator's folder ``sandbox-gateway/`` is there too, and never when a config
  existed: a live journal is never moved.
- ``--answers FILE`` is the same walk for unattended installs: nothing is asked, every bad answer is
  reported at once (a script's author wants the whole list, not one per run), and nothing is written.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import getpass
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from offline_queue.journal import FILE_NAME as JOURNAL_FILE
from offline_queue.journal import Journal
from offline_queue.lock import InstanceLock

from . import signing
from .config import (
    MAX_CONFIG_BYTES,
    RefusedFile,
    _xdg,
    expand_path,
    find_config_file,
    find_data_dir,
    load_config,
    read_regular_file,
)
from .errors import ConfigError, KeyFileError, PosError
from .i18n import N_, _
from .roles import MANAGER, ROLES, TECHNICIAN, PinBook, PinError, check_pin_format, role_words

DEFAULT_URL = "https://open-sea-global.alipay.com"
DEFAULT_LISTEN = "0.0.0.0:8081"
STOPPED = N_("setup stopped: nothing was written")
#: What the kiosk package runs the terminal as; a person stops it to run setup.
STOP_HINT = N_("sudo systemctl stop pos-terminal, then run setup again, then sudo systemctl start pos-terminal")
SANDBOX_DIR = "sandbox-gateway"   # where sandbox mode keeps the simulator's files (pos_app.sandbox)

#: The questions, in the order asked: answer key, prompt (translated when asked), and where the value goes in
#: terminal.toml.
QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("url", N_("gateway URL (https://; plain http:// only for this machine, e.g. a simulator)"), "gateway", "url"),
    ("client_id", N_("client id (from the gateway's portal)"), "gateway", "client_id"),
    ("reference_merchant_id", N_("merchant id (referenceMerchantId)"), "merchant", "reference_merchant_id"),
    ("name", N_("merchant name"), "merchant", "name"),
    ("mcc", N_("merchant category code (MCC, 4 digits)"), "merchant", "mcc"),
    ("store_id", N_("store id"), "merchant", "store_id"),
    ("store_name", N_("store name"), "merchant", "store_name"),
    ("store_mcc", N_("store MCC (4 digits)"), "merchant", "store_mcc"),
    ("terminal_id", N_("terminal id"), "merchant", "terminal_id"),
    ("currency", N_("currency (ISO 4217, e.g. USD)"), "merchant", "currency"),
    ("settlement_currency", N_("settlement currency (ISO 4217)"), "merchant", "settlement_currency"),
    ("listen", N_("notification listen address (host:port)"), "notifications", "listen"),
    ("public_url", N_("public notification URL (where the gateway posts results)"), "notifications", "public_url"),
    ("gateway_public_key", N_("gateway public key (path to the PEM the gateway gave you)"), "gateway",
     "gateway_public_key"),
)
#: The optional [store] (issue 17), asked after the rest: answer key, prompt, and its key in [store]. Enter at
#: the first leaves the terminal an island (no [store]); the others are asked only when it has a database.
STORE_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("store_database", N_("the store's database, a libpq URL postgresql://user@host:port/dbname?sslmode=verify-full"
                          "&passfile=... (never a password; Enter: none, this terminal keeps its journal to itself)"),
     "database"),
    ("store_store_id", N_("the store id in the store's database"), "store_id"),
    ("store_role", N_("this terminal's role in the store (till: a counter that sells; office: reads the store's "
                      "reports)"), "role"),
)
#: The way out to the gateway (issue 19), asked after the gateway's key: answer key, prompt, key in [gateway]. Enter
#: at each leaves it out: the environment's proxy variables, and the system's CAs (certifi). With any given, a
#: signed round trip must come back verified before anything is written (:meth:`Judge.round_trip`).
NETWORK_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("proxy", N_("the store's proxy to the gateway, http://host:port (Enter: as the environment says, HTTPS_PROXY "
                 "and NO_PROXY; direct: no proxy, whatever the environment says)"), "proxy"),
    ("proxy_credentials", N_("the proxy's login: a file (mode 600) holding one line user:password (Enter: none)"),
     "proxy_credentials"),
    ("ca_bundle", N_("CA bundle: a PEM file of the CAs that sign the gateway's certificate, for a private or "
                     "TLS-inspecting CA (Enter: the system's)"), "ca_bundle"),
)
NETWORK_KEYS = tuple(q[0] for q in NETWORK_QUESTIONS)
#: What the walk takes at a network question to leave out a setting the old config (--force) offers as its default.
NONE_WORD = "none"
#: The timeouts setup writes (and its round trip waits by): a connection, tunnel and handshake, then the answer.
CONNECT_TIMEOUT = READ_TIMEOUT = 5.0
PIN_KEYS = {"manager_pin": MANAGER, "technician_pin": TECHNICIAN}
ANSWER_KEYS = tuple(q[0] for q in QUESTIONS) + NETWORK_KEYS + tuple(q[0] for q in STORE_QUESTIONS) + tuple(PIN_KEYS)

#: Known-good values for everything but the answer being judged, so an error can only be about that answer.
_PLACEHOLDERS = {"url": "https://gateway.example", "client_id": "SETUP", "reference_merchant_id": "M",
                 "name": "N", "mcc": "5411", "store_id": "S", "store_name": "N", "store_mcc": "5411",
                 "terminal_id": "T", "currency": "USD", "settlement_currency": "USD", "listen": "127.0.0.1:8081",
                 "public_url": "https://pos.example/notify"}
#: Optional tables of an old config that --force carries over (each only if it still loads).
_CARRIED = ("payments", "offline", "scanners")


class _Bad(Exception):
    """An answer that is not accepted; the message says what was expected, in one line."""


class _Stopped(Exception):
    """Standard input ended before the walk did."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _without(message: str, *heads: str) -> str:
    """``message`` less its leading ``heads`` (the scratch file's path, a key's place), each with the colon
    after it, in whichever language the message is (a translation may write the colon full-width); the
    message as it is unless it starts with all of them."""
    pattern = "".join(rf"{re.escape(head)}[\s:\uff1a]*" for head in heads)
    return re.sub(f"^{pattern}", "", message)


# -- TOML out -------------------------------------------------------------------------------------------
def dump_toml(doc: dict, header: str = "") -> str:
    """``doc`` as TOML (tomli-w, which escapes every key and string), after ``header``'s comment lines."""
    return (header + "\n" if header else "") + tomli_w.dumps(doc)


def config_doc(answers: dict, carried: dict | None = None) -> dict:
    """The terminal.toml for these answers; key paths relative to the file, as the simulator writes them."""
    doc = {"gateway": {"url": answers["url"], "client_id": answers["client_id"],
                       "merchant_private_key": "keys/merchant_private.pem",
                       "gateway_public_key": "keys/gateway_public.pem",
                       "connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
                       **{name: answers[key] for key, _label, name in NETWORK_QUESTIONS if answers.get(key)}},
           "merchant": {key: answers[key] for key, _, section, _ in QUESTIONS if section == "merchant"},
           "notifications": {"listen": answers["listen"], "public_url": answers["public_url"]}}
    if answers.get("store_database"):
        doc["store"] = {name: answers[key] for key, _label, name in STORE_QUESTIONS if answers.get(key)}
    for name, table in (carried or {}).items():
        doc[name] = {**doc.get(name, {}), **table}
    return doc


# -- judging answers ------------------------------------------------------------------------------------
class Judge:
    """Judges answers by load_config's own rules, on scratch files in a private temporary directory."""

    def __init__(self, scratch_dir: Path) -> None:
        self.scratch = Path(scratch_dir) / "terminal.toml"
        self.reached = False   # the last round trip's answer came back (the way works), verified or not

    def load(self, doc: dict):
        """load_config on ``doc``; ConfigError as raised (naming the scratch file)."""
        self.scratch.write_text(dump_toml(doc), encoding="utf-8")
        return load_config(self.scratch)

    def config_answer(self, key: str, text: str) -> str:
        """The value load_config makes of ``text`` for ``key``; _Bad with its expectation otherwise."""
        section, name = next((q[2], q[3]) for q in QUESTIONS if q[0] == key)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(_("expected UTF-8 text, got {text}").format(text=repr(text))) from None
        try:
            config = self.load(config_doc({**_PLACEHOLDERS, key: text}))
        except ConfigError as exc:
            raise _Bad(_one_line(_without(exc.message, str(self.scratch), f"[{section}] {name}"))) \
                from None
        if key == "listen":
            return text.strip()
        return getattr(getattr(config, section), name)

    def store_answer(self, target: Path, answers: dict, key: str, text: str) -> str:
        """The value [store] keeps for ``key`` (``store_database``, ``store_store_id``, ``store_role``), judged
        by the config's own parser as the config file at ``target`` will read it (a passfile or certificate
        named relative to it); _Bad with its reason and, for a password, the way to do without one.

        A database naming a file relative to ``target`` is kept with that file's absolute path (libpq's
        key=value form), so the config loads from wherever it is judged or copied."""
        from .config import parse_store

        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(_("expected UTF-8 text, got {text}").format(text=repr(text))) from None
        field = next(name for k, _label, name in STORE_QUESTIONS if k == key)
        table = {name: answers[k] for k, _label, name in STORE_QUESTIONS if answers.get(k)}
        table[field] = text
        try:
            store = parse_store(target, table, answers["store_id"])
        except ConfigError as exc:
            reason = _one_line(_without(exc.message, str(target), f"[store] {field}"))
            raise _Bad(f"{reason}; {_one_line(exc.hint)}" if exc.hint and key == "store_database" else reason) \
                from None
        if key != "store_database":
            return getattr(store, field)
        try:
            here = parse_store(self.scratch, table, answers["store_id"])
        except ConfigError:
            here = None
        return text.strip() if here is not None and here.params == store.params else store.conninfo()

    def network_answer(self, answers: dict, key: str, text: str, base: Path) -> str | None:
        """The value [gateway] keeps for ``key`` (``proxy``, ``proxy_credentials``, ``ca_bundle``), judged by
        load_config beside the network answers given so far; a file named relative to ``base`` (where the person
        is, or the answers file) is kept absolute. Empty: None (the key left out). _Bad with config.py's reason."""
        text = text.strip()
        if not text:
            return None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(_("expected UTF-8 text, got {text}").format(text=repr(text))) from None
        value = text
        if key != "proxy":
            try:
                path = expand_path(text)
            except ValueError as exc:
                raise _Bad(str(exc)) from None
            value = str(path if path.is_absolute() else (base / path).absolute())
        name = next(n for k, _label, n in NETWORK_QUESTIONS if k == key)
        network = {k: answers[k] for k in NETWORK_KEYS if answers.get(k) and k != key}
        try:
            config = self.load(config_doc({**_PLACEHOLDERS, **network, key: value}))
        except ConfigError as exc:
            reason = _one_line(_without(exc.message, str(self.scratch), f"[gateway] {name}"))
            hint = exc.hint if exc.hint and str(self.scratch.parent) not in exc.hint else None   # not our scratch
            raise _Bad(f"{reason}; {_one_line(hint)}" if hint else reason) from None
        kept = getattr(config.gateway, name)
        return kept if isinstance(kept, str) else str(kept)

    def round_trip(self, plan: Plan, answers: dict) -> str | None:
        """A signed inquiry (as :func:`pos_app.health.probe_gateway` sends it) to the gateway these answers name,
        the way they say (proxy, its login, CA bundle), with the merchant key that will be written. None when an
        answer came back and verified: whatever it says (a gateway that does not know our new public key yet
        answers INVALID_SIGNATURE, signed), the way to the gateway works. Otherwise why not, in netpath's words
        (the cause and the setting), or the verdict's."""
        from .health import Verdict, probe_gateway

        folder = self.scratch.parent / "round-trip"
        keys = folder / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        key = plan.kept_key or plan.fresh_key
        if key is None:   # made now, so the round trip signs with the key that will be written
            key = plan.fresh_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_atomic(keys / "merchant_private.pem", key.private_bytes(   # 0600, as the config requires
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
        write_atomic(keys / "gateway_public.pem", answers["gateway_public_key"].public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
        self.reached = False
        toml = folder / "terminal.toml"
        toml.write_text(dump_toml(config_doc({k: v for k, v in answers.items() if k != "gateway_public_key"})),
                        encoding="utf-8")
        try:
            probe = probe_gateway(load_config(toml), label="SETUP")
        except (ConfigError, KeyFileError) as exc:
            return _one_line(_without(exc.message, str(toml)))
        if probe.verified:
            return None
        outcome = probe.outcome
        if probe.verdict is Verdict.UNVERIFIED:
            self.reached = True   # through the proxy and TLS: what failed is the gateway's answer, not the way
            return _("an answer came back but did not verify with the gateway public key given: {reason}").format(
                reason=_one_line(outcome.message))
        return _("no verified answer from {url}: {reason}").format(
            url=answers["url"], reason=_one_line(outcome.message or outcome.result_code))

    @staticmethod
    def gateway_key(text: str, base: Path, own: rsa.RSAPublicKey | None) -> rsa.RSAPublicKey:
        """The gateway's RSA public key from a file (PEM or base64), or pasted as base64 itself."""
        text = text.strip()
        if not text:
            raise _Bad(_("expected the path of the gateway's public key (a PEM file from the gateway's portal)"))
        try:
            path = expand_path(text)
        except ValueError as exc:
            raise _Bad(str(exc)) from None
        path = path if path.is_absolute() else base / path
        try:
            is_file = path.is_file()
        except OSError:   # e.g. a pasted key: a "file name" too long
            is_file = False
        try:
            if not is_file and len(text) > 200:   # no such file, but long enough to be the key itself
                key = signing.public_key_from_text(text)
            else:
                key = signing.load_public_key(path, "gateway public key")
        except ValueError as exc:
            raise _Bad(_one_line(_("neither a file nor a key: {reason}").format(reason=exc))) from None
        except KeyFileError as exc:
            raise _Bad(_one_line(exc.message)) from None
        except OSError as exc:
            raise _Bad(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None
        if own is not None and _der(own) == _der(key):
            raise _Bad(_("that is the merchant's own public key (the one you upload); give the gateway's key"))
        return key

    @staticmethod
    def pin(text: str) -> str:
        try:
            check_pin_format(text)
        except PinError as exc:
            raise _Bad(exc.message) from None
        return text


def _der(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _default(key: str, answers: dict, old: dict) -> str | None:
    """What Enter takes: the old config's value (under --force), else a derived or usual one."""
    if old.get(key):
        return old[key]
    derived = {"url": DEFAULT_URL, "store_name": answers.get("name"), "store_mcc": answers.get("mcc"),
               "settlement_currency": answers.get("currency"), "listen": DEFAULT_LISTEN,
               "store_store_id": answers.get("store_id"), "store_role": "till"}
    return derived.get(key)


# -- the plan: what exists, what will be written --------------------------------------------------------
@dataclass
class Plan:
    target: Path
    data_dir: Path
    force: bool
    new_key: bool = False                              # --new-key: a new merchant key pair
    keys_dir: Path = field(init=False)
    old_doc: dict = field(default_factory=dict)        # the existing config, parsed (with --force)
    old_answers: dict = field(default_factory=dict)    # its values as answers: the defaults
    kept_key: rsa.RSAPrivateKey | None = None          # the merchant key that stays
    fresh_key: rsa.RSAPrivateKey | None = None         # the new one, made early when a round trip signs with it
    pins_set: set = field(default_factory=set)         # roles whose PIN the journal already has
    archive: bool = False                              # going live: the sandbox journal moves aside

    def __post_init__(self) -> None:
        self.keys_dir = self.target.parent / "keys"

    @property
    def merchant_private(self) -> Path:
        return self.keys_dir / "merchant_private.pem"

    @property
    def merchant_public(self) -> Path:
        return self.keys_dir / "merchant_public.pem"

    @property
    def gateway_public(self) -> Path:
        return self.keys_dir / "gateway_public.pem"


@dataclass(frozen=True)
class Options:
    """What ``pos-terminal setup`` was given (:mod:`pos_app.cli.tools` binds the options to it)."""

    config: str | None = None      # --config
    data_dir: str | None = None    # --data-dir
    json: bool = False             # --json: the summary as JSON on stdout, the walk's questions on stderr
    force: bool = False            # --force: replace an existing config (backed up)
    new_key: bool = False          # --new-key: a new merchant key pair (the old one backed up)
    answers: str | None = None     # --answers FILE: unattended, nothing asked


def _target(options: Options) -> Path:
    """--config, then $POS_TERMINAL_CONFIG, then the XDG default that find_config_file looks at."""
    chosen = find_config_file(options.config)
    if chosen is None:
        chosen = _xdg("XDG_CONFIG_HOME", Path.home() / ".config") / "pos-terminal" / "terminal.toml"
    return chosen.absolute()


def _writable_dir(folder: Path) -> bool:
    """Whether ``folder`` can be created or written: the nearest existing ancestor decides."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _old_answers(target: Path, doc: dict) -> dict:
    answers: dict[str, str | None] = {}
    for key, _label, section, name in QUESTIONS:
        value = doc.get(section, {}).get(name) if isinstance(doc.get(section), dict) else None
        if isinstance(value, str) and value.strip():
            answers[key] = value.strip()
    key_file = answers.get("gateway_public_key")
    if key_file is not None:
        path = Path(key_file).expanduser()
        path = path if path.is_absolute() else target.parent / path
        answers["gateway_public_key"] = str(path) if path.is_file() else None
    table = doc.get("gateway")
    gateway: dict = table if isinstance(table, dict) else {}
    for key, _label, name in NETWORK_QUESTIONS:   # the way out: a re-run must not drop the store's proxy
        value = gateway.get(name)
        if not isinstance(value, str) or not value.strip() or "@" in value:   # never offer (show) a login
            continue
        value = value.strip()
        if key != "proxy":
            try:
                path = expand_path(value)
            except ValueError:
                continue
            value = str(path if path.is_absolute() else (target.parent / path).absolute())
        answers[key] = value
    store = doc.get("store")
    for key, _label, name in STORE_QUESTIONS:
        value = store.get(name) if isinstance(store, dict) else None
        if isinstance(value, str) and value.strip():
            answers[key] = value.strip()
    return answers


def _pins_already_set(data_dir: Path) -> set:
    """Roles with a PIN in the journal (read-only: looking must not create a journal)."""
    if not (data_dir / JOURNAL_FILE).is_file():
        return set()
    try:
        with Journal.open(data_dir, readonly=True) as journal:
            book = PinBook(journal)
            return {role for role in ROLES if book.is_set(role)}
    except PosError:
        return set()   # an old or damaged journal: the writable open at the end says what is wrong


def _pin_taken(plan: Plan, role: str, pin: str, chosen: dict[str, str]) -> str | None:
    """Why ``pin`` may not be ``role``'s: it is another role's, chosen in this walk or kept in the journal
    (the PIN book refuses it too, but only after the config was written; here it is said first)."""
    for other in ROLES:
        if other == role:
            continue
        if other in plan.pins_set:   # kept as it is, whatever the answers say
            try:
                with Journal.open(plan.data_dir, readonly=True) as journal:
                    same = PinBook(journal).matches(other, pin)
            except PosError:
                same = False   # unreadable: the writable open at the end says what is wrong
        else:
            same = chosen.get(other) == pin
        if same:
            return _("the {role} PIN may not be the same as the {other} PIN: each mode has its own").format(
                role=role_words(role), other=role_words(other))
    return None


def _live_config_elsewhere() -> bool:
    """Whether the terminal, run without --config, would already find a config ($POS_TERMINAL_CONFIG or
    the XDG one): then this data directory may hold live payments, even if setup writes to a new path."""
    try:
        found = find_config_file(None)
    except PosError:
        return True   # a config is named but not usable: not proof of sandbox mode
    return found is not None and (found.exists() or found.is_symlink())


def _going_live(target: Path, data_dir: Path) -> bool:
    """A sandbox journal to move aside: no config before (here or where the terminal looks), and the
    journal beside the simulator's folder, as sandbox mode leaves them."""
    if target.exists() or target.is_symlink() or _live_config_elsewhere():
        return False
    return (data_dir / JOURNAL_FILE).is_file() and (data_dir / SANDBOX_DIR).is_dir()


def _refuse_open_sandbox_transactions(data_dir: Path) -> None:
    """A journal moved aside is never looked at again: nothing in it may still be open (whatever it holds,
    a payment left half-done there would never be settled)."""
    try:
        with Journal.open(data_dir, readonly=True) as journal:
            open_ids = [row["id"] for row in journal.open_transactions()]
    except PosError:
        return   # an old or damaged journal: the writable open at the end says what is wrong
    if open_ids:
        raise PosError(_("the sandbox journal in {folder} still has {count} open transaction(s) (e.g. {id}), and "
                         "going live moves it aside").format(folder=data_dir, count=len(open_ids), id=open_ids[0]),
                       hint=_("settle them first with `pos-terminal reconcile` (still in sandbox mode), then run "
                              "setup again; nothing was written"))


def make_plan(options: Options) -> Plan:
    """Everything decided before the first question: refuse early, not after fifteen answers."""
    target = _target(options)
    plan = Plan(target, find_data_dir(options.data_dir), options.force, options.new_key)
    if target.is_dir():
        raise PosError(_("{path} is a directory").format(path=target),
                       hint=_("give the config file's path, e.g. --config DIR/terminal.toml"))
    plan.archive = _going_live(target, plan.data_dir)
    if plan.archive:
        _refuse_open_sandbox_transactions(plan.data_dir)
    if target.exists() or target.is_symlink():
        if not plan.force:
            raise PosError(_("{path} already exists; setup leaves it as it is").format(path=target),
                           hint=_("add --force to replace it (the old file is kept as {name}.bak-<timestamp>; "
                                  "the merchant key pair stays)").format(name=target.name))
        try:
            plan.old_doc = tomllib.loads(read_regular_file(target, MAX_CONFIG_BYTES).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            # unreadable, not a file, not TOML or nested past reason: nothing to carry over
            plan.old_doc = {}
        plan.old_answers = _old_answers(target, plan.old_doc)
    if not _writable_dir(target.parent):
        raise PosError(_("this user cannot write {folder}").format(folder=target.parent),
                       hint=_("run setup as the user the terminal runs as, or choose another --config"))
    if plan.merchant_private.exists() and not plan.new_key:
        try:
            plan.kept_key = signing.load_private_key(plan.merchant_private, "merchant private key")
        except KeyFileError as exc:
            raise PosError(_one_line(exc.message),
                           hint=_("{hint}; or run setup --new-key to make a new key pair (the old key is backed "
                                  "up)").format(hint=exc.hint or _("fix it"))) from None
    # the sandbox journal's PINs move away with it: the live journal starts with none
    plan.pins_set = set() if plan.archive else _pins_already_set(plan.data_dir)
    return plan


# -- the terminal's instance lock -----------------------------------------------------------------------
def lock_holder(data_dir: Path) -> str | None:
    """The pid of the process holding the data directory's instance lock (the one Journal.open takes),
    or None when it is free. Creates nothing: with no lock file, nobody holds it."""
    try:
        fd = os.open(InstanceLock(data_dir).path, os.O_RDONLY)
    except OSError:
        return None   # no lock file; or unreadable, and taking it says why
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)   # conflicts only with a holder's exclusive lock
    except BlockingIOError:
        return os.read(fd, 32).decode("ascii", "replace").strip() or "?"
    except OSError:
        return None
    finally:
        os.close(fd)   # drops our probe's lock
    return None


def _running(data_dir: Path, pid: str) -> PosError:
    return PosError(_("the terminal is running (pid {pid} uses {folder}); setup must not change its journal "
                      "while it runs, so nothing was written").format(pid=pid, folder=data_dir), hint=_(STOP_HINT))


def check_not_running(plan: Plan) -> None:
    """Before the first question: stop now if the journal is needed and a running terminal holds it, or
    this user could not write it."""
    pid = lock_holder(plan.data_dir)
    if pid is not None:
        raise _running(plan.data_dir, pid)
    files = [plan.data_dir / name for name in (InstanceLock(plan.data_dir).path.name, JOURNAL_FILE)]
    if not _writable_dir(plan.data_dir) or any(f.exists() and not os.access(f, os.R_OK | os.W_OK) for f in files):
        raise PosError(_("this user cannot write the data directory {folder} (the journal and its lock)").format(
                           folder=plan.data_dir),
                       hint=_("run setup as the user the terminal runs as, or choose another --data-dir"))


def take_lock(data_dir: Path) -> InstanceLock:
    """The instance lock, as Journal.open takes it; a running terminal named as such."""
    try:
        return InstanceLock(data_dir).acquire()
    except PosError:
        pid = lock_holder(data_dir)
        if pid is not None:
            raise _running(data_dir, pid) from None
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_sandbox_journal(data_dir: Path) -> Path:
    """Move the sandbox journal (and its -wal/-shm) to ``<data dir>/sandbox-archive-<timestamp>/``. Call it
    holding the instance lock. The WAL is folded into the file first, so the archive is one file; the
    side files move before the journal, so no stale WAL is left for the new journal to replay."""
    journal = data_dir / JOURNAL_FILE
    with contextlib.suppress(sqlite3.Error):   # damaged: it moves as it is
        conn = sqlite3.connect(journal, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()   # the last connection: SQLite removes the -wal and -shm
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, n = data_dir / f"sandbox-archive-{stamp}", 1
    while folder.exists():
        n += 1
        folder = data_dir / f"sandbox-archive-{stamp}-{n}"
    folder.mkdir()
    for name in (f"{JOURNAL_FILE}-wal", f"{JOURNAL_FILE}-shm", JOURNAL_FILE):
        if (data_dir / name).exists():
            os.rename(data_dir / name, folder / name)
    _fsync_dir(folder)
    _fsync_dir(data_dir)
    return folder


# -- asking ---------------------------------------------------------------------------------------------
class Console:
    """Prompts on stdout (stderr with --json, so stdout stays one JSON object); answers from stdin."""

    def __init__(self, to_stderr: bool) -> None:
        self.out = sys.stderr if to_stderr else sys.stdout
        self.tty = sys.stdin.isatty()

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str) -> str:
        try:
            if self.tty and self.out is sys.stdout:
                return input(prompt)
            self.out.write(prompt)
            self.out.flush()
            line = input()
        except EOFError:
            raise _Stopped from None
        if not self.tty:
            self.out.write("\n")   # piped answers are not echoed: end the prompt's line
        return line

    def secret(self, prompt: str) -> str:
        if self.tty:
            try:
                return getpass.getpass(prompt, stream=self.out)
            except EOFError:
                raise _Stopped from None
        self.out.write(prompt)
        self.out.flush()
        line = sys.stdin.readline()
        if not line:
            raise _Stopped
        self.out.write("\n")
        return line.rstrip("\r\n")


def walk(console: Console, judge: Judge, plan: Plan) -> tuple[dict, dict[str, str]]:
    """Ask each question until its answer is accepted; then the PINs (each twice)."""
    answers: dict = {}
    own = plan.kept_key.public_key() if plan.kept_key else None
    for key, label, _section, _name in QUESTIONS:
        default = _default(key, answers, plan.old_answers)
        prompt = f"{_(label)}{f' [{default}]' if default else ''}: "
        while True:
            text = console.ask(prompt).strip() or default or ""
            try:
                if key == "gateway_public_key":
                    answers[key] = judge.gateway_key(text, Path.cwd(), own)
                else:
                    answers[key] = judge.config_answer(key, text)
                break
            except _Bad as exc:
                console.say("  " + _("not accepted: {reason}").format(reason=exc))
    _walk_network(console, judge, plan, answers)
    for key, label, _name in STORE_QUESTIONS:
        if key != "store_database" and not answers.get("store_database"):
            break
        default = _default(key, answers, plan.old_answers)
        prompt = f"{_(label)}{f' [{default}]' if default else ''}: "
        while True:
            text = console.ask(prompt).strip() or default or ""
            if key == "store_database" and not text:
                break
            try:
                answers[key] = judge.store_answer(plan.target, answers, key, text)
                break
            except _Bad as exc:
                console.say("  " + _("not accepted: {reason}").format(reason=exc))
    pins: dict[str, str] = {}
    for role in ROLES:
        words = role_words(role)
        if role in plan.pins_set:
            console.say(_("the {role} PIN is already set: kept (change it with: pos-terminal pin set {code})").format(
                role=words, code=role))
            continue
        while True:
            text = console.secret(_("{role} PIN (4 to 12 digits; empty: set it later): ").format(role=words)).strip()
            if not text:
                console.say("  " + _("no {role} PIN for now (set it with: pos-terminal pin set {code})").format(
                    role=words, code=role))
                break
            try:
                pin = judge.pin(text)
            except _Bad as exc:
                console.say("  " + _("not accepted: {reason}").format(reason=exc))
                continue
            if console.secret(_("the same {role} PIN again: ").format(role=words)).strip() != pin:
                console.say("  " + _("not accepted: the two PINs differ; once more"))
                continue
            taken = _pin_taken(plan, role, pin, pins)
            if taken:
                console.say("  " + _("not accepted: {reason}; once more").format(reason=taken))
                continue
            pins[role] = pin
            break
    return answers, pins


def _walk_network(console: Console, judge: Judge, plan: Plan, answers: dict) -> None:
    """The proxy, its login and the CA bundle, each asked until accepted; with any given, the signed round trip
    must come back verified, else its reason is said and the three are asked again (Enter at each: the
    environment's way and the system's CAs, which need no round trip here)."""
    while True:
        for key in NETWORK_KEYS:
            answers.pop(key, None)
        for key, label, _name in NETWORK_QUESTIONS:
            if key == "proxy_credentials" and not (answers.get("proxy") or "").startswith("http://"):
                continue   # a login only for a proxy named here
            default = plan.old_answers.get(key)
            offer = _(" [{default}; {none}: leave it out]").format(default=default, none=NONE_WORD) if default else ""
            while True:
                text = console.ask(f"{_(label)}{offer}: ").strip() or default or ""
                if default and text.lower() == NONE_WORD:
                    value = None
                    break
                try:
                    value = judge.network_answer(answers, key, text, Path.cwd())
                    break
                except _Bad as exc:
                    console.say("  " + _("not accepted: {reason}").format(reason=exc))
            if value is not None:
                answers[key] = value
        if not any(answers.get(key) for key in NETWORK_KEYS):
            return
        console.say(_("checking the way to {url} with a signed round trip (waiting at most {seconds} s)...").format(
            url=answers["url"], seconds=f"{CONNECT_TIMEOUT + READ_TIMEOUT:g}"))
        problem = judge.round_trip(plan, answers)
        if problem is None:
            console.say("  " + _("an answer came back through it and verified"))
            return
        console.say("  " + _("not accepted: {reason}").format(reason=problem))
        if any(plan.old_answers.get(key) for key in NETWORK_KEYS):   # Enter keeps the old config's now
            console.say("  " + _("once more (Enter keeps the old config's; {none} at each: the environment's proxy "
                                 "and the system's CAs)").format(none=NONE_WORD))
        else:
            console.say("  " + _("once more (Enter at each: the environment's proxy and the system's CAs)"))


def from_file(path: Path, judge: Judge, plan: Plan) -> tuple[dict, dict[str, str]]:
    """The answers of a TOML file, all judged; one PosError listing every bad one. A missing answer takes
    the default Enter would; a relative key path is relative to the answers file."""
    try:
        raw = read_regular_file(path, MAX_CONFIG_BYTES)
        doc = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise PosError(_("--answers {path}: no such file").format(path=path)) from None
    except OSError as exc:
        raise PosError(_("--answers {path}: cannot read it: {reason}").format(path=path, reason=exc.strerror)) \
            from None
    except RefusedFile as exc:
        raise PosError(f"--answers {path}: {exc}", hint=_("give a small TOML text file of answers")) from None
    except RecursionError:
        raise PosError(_("--answers {path}: not a valid TOML file (it nests far too deep)").format(path=path),
                       hint=_('one answer a line, e.g. mcc = "5411"')) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PosError(_("--answers {path}: not a valid TOML file ({reason})").format(path=path,
                                                                                     reason=_one_line(exc)),
                       hint=_('one answer a line, e.g. mcc = "5411"')) from None
    problems = [_("{key}: not a setup answer").format(key=key) for key in doc if key not in ANSWER_KEYS]
    answers: dict = {}
    own = plan.kept_key.public_key() if plan.kept_key else None
    for key, _label, _section, _name in QUESTIONS:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(_("{key}: expected a string in quotes, got {value}").format(key=key, value=repr(value)))
            continue
        text = (value or "").strip() or _default(key, answers, plan.old_answers) or ""
        try:
            if key == "gateway_public_key":
                answers[key] = judge.gateway_key(text, path.parent.absolute(), own)
            else:
                answers[key] = judge.config_answer(key, text)
        except _Bad as exc:
            problems.append(_("{key}: missing; {reason}").format(key=key, reason=exc) if value is None
                            else f"{key}: {exc}")
    network_ok = True
    for key in NETWORK_KEYS:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(_("{key}: expected a string in quotes, got {value}").format(key=key, value=repr(value)))
            network_ok = False
            continue
        old = None
        if value is None and (key != "proxy_credentials" or (answers.get("proxy") or "").startswith("http://")):
            value = old = plan.old_answers.get(key)   # not given: the old config's (--force); "" leaves it out
        try:
            kept = judge.network_answer(answers, key, value or "", path.parent.absolute())
        except _Bad as exc:
            problems.append(_('{key} (the old config\'s; {key} = "" leaves it out): {reason}').format(
                key=key, reason=exc) if old else f"{key}: {exc}")
            network_ok = False
            continue
        if kept is not None:
            answers[key] = kept
    for key, _label, _name in STORE_QUESTIONS:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(_("{key}: expected a string in quotes, got {value}").format(key=key, value=repr(value)))
            continue
        text = (value or "").strip() or _default(key, answers, plan.old_answers) or ""
        if key == "store_database" and not text:
            break   # no [store]: the other store answers do not apply
        if "store_id" not in answers:
            break   # the merchant's store id was refused above: it is the default here
        try:
            answers[key] = judge.store_answer(plan.target, answers, key, text)
        except _Bad as exc:
            problems.append(f"{key}: {exc}")
            if key == "store_database":
                break
    pins: dict[str, str] = {}
    for key, role in PIN_KEYS.items():
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(_("{key}: expected the PIN as a string in quotes (leading zeros count), got "
                              "{value}").format(key=key, value=repr(value)))
            continue
        try:
            pin = judge.pin(value.strip())
        except _Bad as exc:
            problems.append(f"{key}: {exc}")
            continue
        taken = _pin_taken(plan, role, pin, pins)
        if taken:
            problems.append(f"{key}: {taken}")
        else:
            pins[role] = pin
    if not problems and network_ok and any(answers.get(key) for key in NETWORK_KEYS):
        problem = judge.round_trip(plan, answers)   # last: only answers that are all good are worth the call
        if problem is not None:
            given = ", ".join(key for key in NETWORK_KEYS if answers.get(key))
            problems.append(_("{keys}: the way to the gateway works, but the round trip did not pass: {reason}; "
                              "check url, client_id and gateway_public_key").format(keys=given, reason=problem)
                            if judge.reached else
                            _("{keys}: the gateway is not reached this way: {reason}").format(keys=given,
                                                                                          reason=problem))
    if problems:
        head = (_("{path}: {count} answers are not accepted, so nothing was written:") if len(problems) > 1 else
                _("{path}: {count} answer is not accepted, so nothing was written:"))
        raise PosError(head.format(path=path, count=len(problems)) + "\n  " + "\n  ".join(problems),
                       hint=_("the answers are: {keys} (the PINs optional)").format(keys=", ".join(ANSWER_KEYS)))
    return answers, pins


# -- writing --------------------------------------------------------------------------------------------
def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Temp file beside it, fsync, rename, fsync the folder: a crash leaves the old file or the new one,
    never half of one. The temp file is created 0600, so a private key is never readable by others."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def backup(path: Path) -> Path:
    """Copy ``path`` to ``path.bak-<timestamp>`` (mode kept); the original stays until it is replaced."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    copy = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while copy.exists():
        n += 1
        copy = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    shutil.copy2(path, copy)
    return copy


def _carry_over(judge: Judge, answers: dict, old_doc: dict) -> tuple[dict, list[str]]:
    """The old config's optional settings that still load beside the new answers, and those that do not."""
    carried: dict = {}
    dropped: list[str] = []
    gateway = old_doc.get("gateway")
    old_gateway = gateway if isinstance(gateway, dict) else {}
    pieces = [("gateway", {k: old_gateway[k]}) for k in ("connect_timeout", "read_timeout") if k in old_gateway]
    pieces += [(name, old_doc[name]) for name in _CARRIED if name in old_doc]
    old_store = old_doc.get("store")
    if answers.get("store_database") and isinstance(old_store, dict):   # what setup does not ask, kept
        pieces += [("store", {k: old_store[k]}) for k in ("reader", "heartbeat_interval", "batch_size")
                   if k in old_store]
    for name, table in pieces:
        try:
            trial = {**carried, name: {**carried.get(name, {}), **table}}
            judge.load(config_doc(answers, trial))
        except (ConfigError, TypeError, ValueError) as exc:
            what = f"[{name}] {next(iter(table))}" if name in ("gateway", "store") else f"[{name}]"
            why = _without(_one_line(exc.message if isinstance(exc, PosError) else exc), str(judge.scratch))
            dropped.append(f"{what} ({why})")
            continue
        carried = trial
    return carried, dropped


@dataclass
class Result:
    config: Path
    backup: Path | None
    merchant_key: str                  # created, kept or replaced
    key_backup: Path | None
    public_b64: str
    pins: list[str]
    pins_kept: list[str]
    dropped: list[str]
    archived: Path | None = None       # where the sandbox journal went
    store: dict | None = None          # [store] as written: where, store id, role (None: no [store])
    network: dict = field(default_factory=dict)   # [gateway] proxy, proxy_credentials, ca_bundle as written


def needs_journal(plan: Plan, pins: dict | None = None) -> bool:
    """Whether the write needs the instance lock: a sandbox journal to move, or a PIN to set (``pins``
    None: the walk is still to ask, so any PIN not yet set may be)."""
    return plan.archive or bool(set(ROLES if pins is None else pins) - plan.pins_set)


def write(plan: Plan, judge: Judge, answers: dict, pins: dict[str, str]) -> Result:
    """Sandbox journal aside, keys, gateway key, config, PINs, in that order, all under the instance lock
    (taken first, held to the end) when there is a journal to touch."""
    config_answers = {k: v for k, v in answers.items() if k != "gateway_public_key"}
    carried, dropped = _carry_over(judge, config_answers, plan.old_doc)
    header = (f"# pos-terminal configuration, written by `pos-terminal setup` on {time.strftime('%Y-%m-%d %H:%M')}.\n"
              "# Key paths are relative to this file; the README describes every key.\n")
    text = dump_toml(config_doc(config_answers, carried), header)
    judge.load(config_doc(config_answers, carried))   # raises here, before any write, if we got it wrong

    to_set = {role: pin for role, pin in pins.items() if role not in plan.pins_set}
    lock = take_lock(plan.data_dir) if needs_journal(plan, pins) else None
    journal = None
    written: list[Path] = []
    try:
        config_backup = key_backup = archived = None
        if plan.archive:
            archived = archive_sandbox_journal(plan.data_dir)
        if to_set:   # Journal.open without a second lock: ours is held from before the move to the end
            path = plan.data_dir / JOURNAL_FILE
            journal, lock = Journal(path, Journal._connect(path, readonly=False), lock), None
        plan.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if plan.kept_key is not None:
            key, merchant_key = plan.kept_key, "kept"
        else:
            key = plan.fresh_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
            merchant_key = "created"
            if plan.merchant_private.exists():
                key_backup, merchant_key = backup(plan.merchant_private), "replaced"
            write_atomic(plan.merchant_private, key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
            written.append(plan.merchant_private)
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        gateway_pem = answers["gateway_public_key"].public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        for path, data in ((plan.merchant_public, public_pem), (plan.gateway_public, gateway_pem)):
            if not path.is_file() or path.read_bytes() != data:
                if path.is_file() and path == plan.gateway_public:
                    backup(path)
                write_atomic(path, data, 0o644)
                written.append(path)
        if plan.target.exists():
            config_backup = backup(plan.target)
        write_atomic(plan.target, text.encode("utf-8"), 0o640)
        written.append(plan.target)
        done, kept = [], [role for role in pins if role not in to_set]
        if journal is not None:
            book = PinBook(journal)
            for role, pin in to_set.items():
                if book.is_set(role):
                    kept.append(role)
                else:
                    book.set(role, pin)
                    done.append(role)
    except OSError as exc:
        so_far = _(" (already written: {paths})").format(paths=", ".join(str(p) for p in written)) if written else ""
        raise PosError(_("cannot write {path}: {reason}").format(path=exc.filename or plan.target,
                                                                 reason=exc.strerror) + so_far,
                       hint=_("check this user may write there, or choose another --config")) from None
    finally:
        if journal is not None:
            journal.close()   # releases the lock too
        if lock is not None:
            lock.release()
    store = load_config(plan.target).store   # the proof: the file as written is one the terminal accepts
    return Result(plan.target, config_backup, merchant_key, key_backup,
                  base64.b64encode(_der(key.public_key())).decode("ascii"), done,
                  [r for r in ROLES if r in set(kept) | plan.pins_set], dropped, archived,
                  None if store is None else {"where": store.where, "store_id": store.store_id, "role": store.role},
                  {key: answers[key] for key in NETWORK_KEYS if answers.get(key)})


# -- the command ----------------------------------------------------------------------------------------
def cmd_setup(options: Options) -> int:
    as_json = options.json
    plan = make_plan(options)
    console = Console(to_stderr=as_json)
    with tempfile.TemporaryDirectory(prefix="pos-setup-") as scratch:
        judge = Judge(Path(scratch))
        if options.answers:
            answers, pins = from_file(expand_path(options.answers), judge, plan)
            if needs_journal(plan, pins):
                check_not_running(plan)
        else:
            if needs_journal(plan):
                check_not_running(plan)   # before the first question, not after the last
            console.say(_("pos-terminal setup writes {path}").format(path=plan.target))
            console.say(_("Enter takes the [default]; Ctrl-D stops without writing anything."))
            if plan.kept_key is not None:
                console.say(_("The merchant key {path} exists and is kept (the gateway knows its public half; "
                              "setup --new-key makes a new one).").format(path=plan.merchant_private))
            elif plan.merchant_private.exists():
                console.say(_("--new-key: a new merchant key pair replaces {path} (backed up); the gateway refuses "
                              "this terminal until you register the new public key.").format(
                                  path=plan.merchant_private))
            if plan.archive:
                console.say(_("This terminal ran in sandbox mode: its journal (test payments) moves to "
                              "{folder}/sandbox-archive-<time>/, so the live one starts clean.").format(
                                  folder=plan.data_dir))
            console.say()
            try:
                answers, pins = walk(console, judge, plan)
            except _Stopped:
                console.say()   # end the prompt's line
                raise PosError(_(STOPPED)) from None
            except KeyboardInterrupt:
                print("\n" + _(STOPPED), file=sys.stderr)
                raise
        result = write(plan, judge, answers, pins)
    keys = {"merchant_private": str(plan.merchant_private), "merchant_public": str(plan.merchant_public),
            "gateway_public": str(plan.gateway_public)}
    if as_json:
        print(json.dumps({"config": str(result.config), "keys": keys, "merchant_public_key": result.public_b64,
                          "merchant_key": result.merchant_key, "pins": result.pins, "pins_kept": result.pins_kept,
                          "backup": str(result.backup) if result.backup else None,
                          "key_backup": str(result.key_backup) if result.key_backup else None,
                          "not_carried_over": result.dropped,
                          "sandbox_journal_archived": str(result.archived) if result.archived else None,
                          "store": result.store, "gateway_path": result.network},
                         indent=2, ensure_ascii=False))
        return 0
    print("\n".join(_summary(options, plan, result)))
    return 0


def _summary(options: Options, plan: Plan, result: Result) -> list[str]:
    lines = [_("wrote {path}").format(path=result.config)]
    if result.backup:
        lines.append("  " + _("the old one is kept as {path}").format(path=result.backup))
    lines += ["  " + _("not carried over from the old one: {setting}").format(setting=d) for d in result.dropped]
    if result.archived:
        lines.append(_("sandbox journal: moved to {path} (its test payments stay out of the live journal)").format(
            path=result.archived))
    key_line = {"created": N_("merchant key: created {path} (mode 600)"),
                "kept": N_("merchant key: kept {path} (the gateway knows its public half)"),
                "replaced": N_("merchant key: replaced {path}; the old one is kept as {backup}. The gateway still "
                               "knows the OLD public key: it refuses this terminal until you register the new one "
                               "(below)")}[result.merchant_key]
    lines.append(_(key_line).format(path=plan.merchant_private, backup=result.key_backup))
    lines.append(_("gateway key:  {path}").format(path=plan.gateway_public))
    if result.network:
        lines.append(_("gateway path: {settings}; a signed round trip came back through it, verified").format(
            settings=", ".join(f"{key} {value}" for key, value in result.network.items())))
    if result.store:
        lines.append(_("store:        replicates to {where} as store {store}, role {role}").format(
            where=result.store["where"], store=result.store["store_id"], role=result.store["role"]))
    if result.pins:
        lines.append(_("PINs set:     {roles}").format(roles=", ".join(role_words(r) for r in result.pins)))
    lines += [_("{role} PIN: already set, kept (change it with: pos-terminal pin set {code})").format(
                  role=role_words(role), code=role) for role in result.pins_kept]
    unset = [r for r in ROLES if r not in result.pins and r not in result.pins_kept]
    lines += [_("{role} PIN: not set (set it with: pos-terminal pin set {code})").format(
                  role=role_words(role), code=role) for role in unset]
    named = options.config or os.environ.get("POS_TERMINAL_CONFIG")
    config_option = f" --config {plan.target}" if named else ""
    lines += ["",
              _("Register this merchant public key with the gateway (its portal asks for the base64 of the DER "
                "SubjectPublicKeyInfo, on one line; the PEM is {path}):").format(path=plan.merchant_public),
              result.public_b64,
              "",
              _("then check everything: {command}").format(command="pos-terminal selftest --level external"
                                                                    + config_option)]
    if lock_holder(plan.data_dir) is not None:
        lines.append(_("the running terminal reads the new config when restarted: sudo systemctl restart "
                       "pos-terminal"))
    return lines
