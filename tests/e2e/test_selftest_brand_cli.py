"""``pos-terminal selftest`` checks the [brand] artwork as the cashier window loads it at its start (which
refuses a bad file before any window opens): a FIFO, a 3 GB sparse file, a PNG bomb, a truncated PNG and a
symlink loop fail the config check in words naming the file and the [brand] key; good artwork passes and is
said. Real processes, files made here."""

from __future__ import annotations

import json
import os
import struct
import zlib

import pytest
from brandkit import mark_png
from flowkit import cli, write_config


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _fifo(path):
    os.mkfifo(path)


def _sparse(path):
    with open(path, "wb") as f:
        f.truncate(3 * 1024**3)


def _bomb(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 6, 0, 0, 0))
                     + _chunk(b"IDAT", zlib.compress(b"\0" * 10000)) + _chunk(b"IEND", b""))


def _truncated(path):
    path.write_bytes(mark_png(path.with_name("whole.png")).read_bytes()[:60])


def _loop(path):
    os.symlink(path, path)


def config_check(sim, tmp_path, key: str, art) -> tuple[int, dict]:
    config = write_config(sim)
    config.write_text(config.read_text() + f'\n[brand]\n{key} = "{art}"\n')
    done = cli("selftest", "--json", config=config, data_dir=tmp_path / "t")
    [check] = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "config"]
    return done.returncode, check


@pytest.mark.parametrize("make, words", [(_fifo, "FIFO"), (_sparse, "3221225472 bytes"),
                                         (_bomb, "60000x60000 pixels"), (_truncated, "damaged PNG"),
                                         (_loop, "symbolic links")])
def test_bad_artwork_fails_the_config_check_in_words(sim, tmp_path, make, words):
    art = tmp_path / "art.png"
    make(art)
    rc, check = config_check(sim, tmp_path, "qr_icon", art)
    assert rc != 0 and check["status"] == "fail"
    assert str(art) in check["detail"] and words in check["detail"]
    assert "[brand] qr_icon" in check["hint"]


def test_good_artwork_passes_and_is_said(sim, tmp_path):
    rc, check = config_check(sim, tmp_path, "acceptance_mark", mark_png(tmp_path / "mark.png"))
    assert (rc, check["status"]) == (0, "pass")
    assert "[brand] artwork loads (acceptance_mark)" in check["detail"]
