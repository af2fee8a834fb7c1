"""The Alipay+ brand artwork: the acceptance mark and the QR's centre icon, loaded from the merchant's files.

The brand guidelines want the acceptance mark in the payment zone, on the order-code page and on the
receipt, and the "+" icon in the centre of an order code. That artwork is trademarked: the merchant or
acquirer supplies it as PNG files named in ``[brand]``, and we ship none. Without a file the screens and
slips show :data:`BRAND_TEXT` in a neutral style, and the QR gets :func:`neutral_icon`, a plain plus
sign we draw (a shape, not a logo).

A configured file that is not a sane PNG is an :class:`ArtworkError` that names the file and what to do:
a broken mark must be noticed at start-up, not show up as a blank box in front of the customer.
Pure Python and Pillow, no Qt: receipts and the command line use it headless.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from .config import BrandConfig, RefusedFile, read_regular_file
from .errors import ConfigError
from .i18n import _

if TYPE_CHECKING:
    from PIL import Image

BRAND_TEXT = "Alipay+"                 # the neutral text fallback (a name, not artwork: never translated)
MAX_BYTES = 2 * 1024 * 1024            # a mark is a few kB; 2 MB is generous, and bounds what we decode
MIN_SIDE, MAX_SIDE = 16, 4096          # smaller is a smudge on a 1280x800 display; larger is not artwork
MAX_ASPECT = 8                         # a wide word mark is fine; a 1x4000 strip is a wrong file
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ArtworkError(ConfigError):
    """A configured brand file that cannot be shown: missing, not a PNG, too big, or of no sane size."""


def mark(brand: BrandConfig | None) -> Image.Image | None:
    """The acceptance mark (RGBA, transparency kept), or None when none is configured (show BRAND_TEXT)."""
    return _load(brand.acceptance_mark, "acceptance_mark") if brand is not None else None


def qr_icon(brand: BrandConfig | None) -> Image.Image | None:
    """The order code's centre icon (RGBA), or None when none is configured (draw :func:`neutral_icon`)."""
    return _load(brand.qr_icon, "qr_icon") if brand is not None else None


def check(brand: BrandConfig | None) -> None:
    """Load every configured file once, so a bad one is an ArtworkError now (start-up, self-test)."""
    mark(brand)
    qr_icon(brand)


def neutral_icon(size: int) -> Image.Image:
    """A plain dark plus sign on a white rounded square, ``size`` pixels a side: our own shape, no logo."""
    from PIL import Image, ImageDraw  # here, not at the top: the windows open before any artwork is needed

    scale = 4  # draw large, then shrink: smooth edges without an anti-aliasing dependency
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=(255, 255, 255, 255))
    half, arm = big * 3 // 25, big * 21 // 50   # a bar's half-thickness, and its half-length from the centre
    c = big // 2
    ink = (40, 40, 40, 255)
    draw.rectangle((c - arm, c - half, c + arm, c + half), fill=ink)
    draw.rectangle((c - half, c - arm, c + half, c + arm), fill=ink)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _load(path: Path | None, key: str) -> Image.Image | None:
    if path is None:
        return None
    from PIL import Image
    hint = _("give [brand] {key} in terminal.toml a PNG file (at most 2 MB, {low} to {high} pixels a side) "
             "as the acquirer supplied it, or remove the line to show the words \"{text}\" instead").format(
        key=key, low=MIN_SIDE, high=MAX_SIDE, text=BRAND_TEXT)
    try:
        data = read_regular_file(path, MAX_BYTES)
    except RefusedFile as exc:
        raise ArtworkError(f"{path}: {exc}", hint=hint) from None
    except FileNotFoundError:
        raise ArtworkError(_("{file}: brand artwork file not found").format(file=path), hint=hint) from None
    except IsADirectoryError:
        raise ArtworkError(_("{file}: is a directory, not a PNG file").format(file=path), hint=hint) from None
    except PermissionError:
        raise ArtworkError(_("{file}: this user may not read it").format(file=path), hint=hint) from None
    except OSError as exc:
        raise ArtworkError(_("{file}: cannot be read ({reason})").format(file=path, reason=exc.strerror or exc),
                           hint=hint) from None
    if not data.startswith(PNG_MAGIC):
        raise ArtworkError(_("{file}: is not a PNG image (only PNG artwork is accepted)").format(file=path),
                           hint=hint)

    def check_size(width: int, height: int) -> None:
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) \
                or max(width, height) > MAX_ASPECT * min(width, height):
            raise ArtworkError(
                _("{file}: is {width}x{height} pixels; artwork must be {low} to {high} pixels a side "
                  "and at most {aspect} times as wide as high").format(
                    file=path, width=width, height=height, low=MIN_SIDE, high=MAX_SIDE, aspect=MAX_ASPECT),
                hint=hint)
    if data[12:16] == b"IHDR":   # read from the header first: Pillow refuses a huge one as a "decompression bomb"
        check_size(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            check_size(*image.size)  # the header only: refuse absurd sizes before decoding the pixels
            image.load()
            return image.convert("RGBA")  # palette and grey PNGs too; the alpha channel is kept
    except ArtworkError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ArtworkError(_("{file}: is a damaged PNG image ({reason})").format(file=path, reason=exc),
                           hint=hint) from None
