"""What tests of every kind share: fresh payment codes, amounts, and loopback ports a server can be named on
before it starts. Importable as ``kit`` from tests/unit, tests/integration and tests/e2e (pytest's
``pythonpath = ["tests"]``), and from the benchmarks, which put tests/ on their path."""

from __future__ import annotations

import os
import random
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.money import Money

#: The tree under test, and the test data checked in with it: named here, so a test file reads the same
#: paths from whichever folder of tests/ it is in.
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
_rng = random.SystemRandom()


def payment_code() -> str:
    """A fresh 18-digit code of the classic ``28`` form: codes are single-use at the gateway."""
    return "28" + "".join(_rng.choice("0123456789") for _ in range(16))


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def stranger_keys(folder: Path) -> tuple[Path, Path]:
    """A fresh RSA key pair that no simulator and no config knows, as PEM files in ``folder``: (the private
    key, 0600; the public key)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = folder / "stranger_private.pem", folder / "stranger_public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def mode(path: Path) -> int:
    """A file's permission bits (0o600 ...)."""
    return stat.S_IMODE(os.stat(path).st_mode)


_held: list[socket.socket] = []


def reserve_port() -> int:
    """A loopback TCP port held for this test, for a server that must be named before it binds: a
    terminal's notification URL written into its config, a gateway URL that must lead nowhere, a simulator
    taken down and brought back on the same port. Where the server is ours to start, pass it port 0 and read
    the bound port back instead.

    Why it is held, not probed and closed: between closing a probe and the server's bind, a parallel test's
    bind(0) could be given the same port. Here the socket stays bound (SO_REUSEADDR, never listening) until
    the test ends (:func:`ports_of_the_test`), so the kernel gives the port to no other bind(0) or outgoing
    connection, and a connect to it is refused, as by a gateway that is down; the server the port is meant
    for binds it all the same, since Linux lets a second SO_REUSEADDR socket bind and listen beside a bound
    one that does not listen (http.server's servers, so the simulator and the terminal's receiver, set it)."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    _held.append(held)
    return held.getsockname()[1]


def is_reserved(port: int) -> bool:
    return any(s.getsockname()[1] == port for s in _held)


@contextmanager
def ports_of_the_test() -> Iterator[None]:
    """Releases the ports reserved inside the block (conftest wraps each test in it); those reserved
    before, by a fixture of a wider scope, stay held."""
    before = len(_held)
    try:
        yield
    finally:
        for held in _held[before:]:
            held.close()
        del _held[before:]
