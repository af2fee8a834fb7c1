"""The brand artwork loader (pos_app/brand.py): a configured PNG is loaded with its transparency; anything
else is an ArtworkError that names the file and says what to do, and a FIFO or a huge file is refused
before it is read. The PNGs are synthetic, drawn here with Pillow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from brandkit import ICON_INK, mark_png, plus_png
from PIL import Image

from pos_app import brand
from pos_app.config import BrandConfig
from pos_app.errors import ConfigError


def mark_config(path: Path) -> BrandConfig:
    return BrandConfig(acceptance_mark=path)


def refused(config: BrandConfig, which=brand.mark) -> brand.ArtworkError:
    with pytest.raises(brand.ArtworkError) as caught:
        which(config)
    return caught.value


def test_without_files_there_is_no_artwork_and_the_words_fallback():
    assert brand.BRAND_TEXT == "Alipay+"
    assert brand.mark(BrandConfig()) is None and brand.qr_icon(BrandConfig()) is None
    assert brand.mark(None) is None and brand.qr_icon(None) is None
    brand.check(BrandConfig())


def test_a_png_loads_as_rgba_with_its_transparency(tmp_path):
    icon = brand.qr_icon(BrandConfig(qr_icon=plus_png(tmp_path / "icon.png", size=96)))
    assert icon is not None and icon.mode == "RGBA" and icon.size == (96, 96)
    assert icon.getpixel((0, 0))[3] == 0                     # the corner stays transparent
    assert icon.getpixel((48, 48)) == ICON_INK                # the plus is there
    mark = brand.mark(mark_config(mark_png(tmp_path / "mark.png")))
    assert mark is not None and mark.size == (360, 96)


def test_a_palette_png_keeps_its_transparent_colour(tmp_path):
    image = Image.new("P", (32, 32), 0)
    image.putpalette([255, 255, 255, 200, 30, 120] + [0] * 762)
    for x in range(8, 24):
        image.putpixel((x, 16), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    loaded = brand.mark(mark_config(path))
    assert loaded is not None and loaded.getpixel((0, 0))[3] == 0 and loaded.getpixel((10, 16)) == (200, 30, 120, 255)


def test_the_error_is_a_config_error_naming_the_file_and_what_to_do(tmp_path):
    path = tmp_path / "mark.jpg"
    Image.new("RGB", (64, 64), (200, 0, 0)).save(path, "JPEG")
    error = refused(mark_config(path))
    assert isinstance(error, ConfigError)
    assert str(path) in error.message and "is not a PNG image" in error.message
    assert "[brand] acceptance_mark" in error.hint and "PNG" in error.hint and '"Alipay+"' in error.hint


def test_a_text_file_renamed_png_is_not_a_png(tmp_path):
    path = tmp_path / "mark.png"
    path.write_text("<svg/>")
    assert "is not a PNG image" in refused(BrandConfig(qr_icon=path), brand.qr_icon).message
    assert "[brand] qr_icon" in refused(BrandConfig(qr_icon=path), brand.qr_icon).hint


def test_an_oversized_file_is_refused_before_it_is_decoded(tmp_path):
    path = mark_png(tmp_path / "big.png")
    with path.open("ab") as f:          # a valid PNG followed by padding: over 2 MB on disk
        f.write(b"\0" * (brand.MAX_BYTES + 1))
    error = refused(mark_config(path))
    assert str(path) in error.message and "far too big" in error.message and str(brand.MAX_BYTES) in error.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "mark.png"
    os.mkfifo(path)
    error = refused(mark_config(path))            # opening it for reading would block for ever
    assert str(path) in error.message and "named pipe (FIFO)" in error.message


def test_a_device_is_refused(tmp_path):
    error = refused(mark_config(Path("/dev/zero")))
    assert "/dev/zero" in error.message and "character device" in error.message


def test_missing_directory_and_damaged_files(tmp_path):
    assert "not found" in refused(mark_config(tmp_path / "nowhere.png")).message
    assert "is a directory" in refused(mark_config(tmp_path)).message
    whole = mark_png(tmp_path / "whole.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 2])
    error = refused(mark_config(cut))
    assert str(cut) in error.message and "damaged PNG" in error.message


@pytest.mark.parametrize("size", [(8, 8), (16, 15), (4097, 64), (800, 40)])
def test_sizes_no_artwork_has_are_refused(tmp_path, size):
    path = tmp_path / "odd.png"
    Image.new("RGBA", size, (0, 0, 0, 0)).save(path)
    error = refused(mark_config(path))
    assert f"{size[0]}x{size[1]} pixels" in error.message and "16 to 4096 pixels a side" in error.message


def test_check_reports_the_bad_one_of_two(tmp_path):
    good = mark_png(tmp_path / "mark.png")
    bad = tmp_path / "icon.png"
    bad.write_bytes(b"GIF89a")
    with pytest.raises(brand.ArtworkError, match=r"icon\.png"):
        brand.check(BrandConfig(acceptance_mark=good, qr_icon=bad))


def test_the_neutral_icon_is_a_plain_plus_of_the_size_asked():
    icon = brand.neutral_icon(64)
    assert icon.size == (64, 64) and icon.mode == "RGBA"
    centre, corner_of_square = icon.getpixel((32, 32)), icon.getpixel((12, 12))
    assert max(centre[:3]) < 80 and centre[3] == 255                 # dark ink at the crossing
    assert min(corner_of_square[:3]) > 240                           # white between the arms
    assert icon.getpixel((32, 6))[:3] < (80, 80, 80)                 # the vertical arm reaches near the edge


def test_a_png_bomb_is_told_by_its_size_not_as_damaged(tmp_path):
    """60000x60000 in a file of a few hundred bytes: the header's size is what the person needs to hear (Pillow
    alone calls it a "decompression bomb" inside a 'damaged PNG' message)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(brand.PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 6, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 10000)) + chunk(b"IEND", b""))
    error = refused(BrandConfig(qr_icon=bomb), brand.qr_icon)
    assert str(bomb) in error.message and "60000x60000 pixels" in error.message and "damaged" not in error.message
    assert "[brand] qr_icon" in error.hint
