"""Synthetic brand artwork for the tests: PNGs drawn here with Pillow (we ship and use no real mark)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

MARK_INK = (22, 119, 255, 255)   # a colour the display's own palette never uses: the tests find the mark by it
ICON_INK = (200, 30, 120, 255)


def plus_png(path: Path, size: int = 96, ink=ICON_INK, background=(0, 0, 0, 0)) -> Path:
    """A plain "+" on a transparent square (the QR's centre icon stand-in)."""
    image = Image.new("RGBA", (size, size), background)
    draw = ImageDraw.Draw(image)
    half, arm = size // 8, size * 2 // 5
    c = size // 2
    draw.rectangle((c - arm, c - half, c + arm, c + half), fill=ink)
    draw.rectangle((c - half, c - arm, c + half, c + arm), fill=ink)
    image.save(path, "PNG")
    return path


def mark_png(path: Path, width: int = 360, height: int = 96) -> Path:
    """A wide stand-in acceptance mark: a "+" and a few bars, in MARK_INK, on a transparent ground."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    s = height
    half, arm, c = s // 8, s * 2 // 5, s // 2
    draw.rectangle((c - arm, c - half, c + arm, c + half), fill=MARK_INK)
    draw.rectangle((c - half, c - arm, c + half, c + arm), fill=MARK_INK)
    for i, x in enumerate(range(s + s // 4, width - s // 4, s // 3)):
        top = s // 4 if i % 2 else s // 3
        draw.rectangle((x, top, x + s // 6, s - top), fill=MARK_INK)
    image.save(path, "PNG")
    return path
