"""Backdrops for emulated headshots: the prompt's words choose one, so each style looks its own.

A real FLUX LoRA paints the style the prompt asks for; the emulator only needs each style to be
recognisably different (the gallery groups by style, tests compare colours), so a keyword table
maps the prompt to a painter. The first row whose phrase the prompt contains wins: the specific
phrases ("black and white", "low-key", "corporate blue") come before the bare colour words that
other prompts use in passing ("white shirt", "blue sky"). Backdrops are painted small and blown
up (which also gives them a photographer's blur) and kept per size, so an output costs a resize.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

Colour = tuple[int, int, int]

# (phrases, backdrop); checked in this order, the first phrase found in the prompt wins.
KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("black and white", "black-and-white", "black & white", "monochrome", "b&w"), "monochrome"),
    (("low-key", "low key", "dark studio", "dark backdrop", "dark background"), "low-key"),
    (("corporate blue", "blue backdrop", "blue background", "blue studio"), "blue"),
    (("grey studio", "gray studio", "grey backdrop", "gray backdrop", "grey background"), "grey"),
    (("white studio", "white backdrop", "white background"), "white"),
    (("library", "bookshelf", "bookshelves", "bookcase", "books"), "library"),
    (("café", "cafe", "coffee"), "cafe"),
    (("city street", "street", "urban", "city"), "street"),
    (("office", "workplace", "conference room", "glass building"), "office"),
    (("outdoor", "outdoors", "park", "garden", "nature", "natural light"), "outdoor"),
    (("grey", "gray"), "grey"),
    (("white",), "white"),
    (("blue",), "blue"),
    (("dark",), "low-key"),
)
DEFAULT = "studio"
BASE_SIDE = 192  # painted at this long side, then resized to the output


def backdrop_for(prompt: str) -> str:
    """The backdrop a prompt asks for: a key of `PAINTERS`, `DEFAULT` when no phrase matches."""
    text = prompt.lower()
    for phrases, backdrop in KEYWORDS:
        if any(phrase in text for phrase in phrases):
            return backdrop
    return DEFAULT


def is_monochrome(backdrop: str) -> bool:
    """Whether the whole picture, face included, is to be turned grey."""
    return backdrop == "monochrome"


@functools.lru_cache(maxsize=48)
def _painted(backdrop: str, size: tuple[int, int]) -> Image.Image:
    scale = BASE_SIDE / max(size)
    small = (max(8, round(size[0] * scale)), max(8, round(size[1] * scale)))
    painter = PAINTERS.get(backdrop, PAINTERS[DEFAULT])
    return painter(small).resize(size, Image.Resampling.BILINEAR)


def paint(backdrop: str, size: tuple[int, int]) -> Image.Image:
    """A fresh RGB copy of the backdrop at `size` (the cached one is never drawn on)."""
    return _painted(backdrop, size).copy()


def _studio(centre: Colour, edge: Colour) -> Callable[[tuple[int, int]], Image.Image]:
    """A seamless paper lit in the middle: `centre` fading to `edge` in the corners."""

    def paint_studio(size: tuple[int, int]) -> Image.Image:
        fade = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
        return Image.composite(Image.new("RGB", size, edge), Image.new("RGB", size, centre), fade)

    return paint_studio


def _office(size: tuple[int, int]) -> Image.Image:
    """A pale wall with windows onto a bright sky, a desk and a plant: office colours."""
    width, height = size
    image = Image.new("RGB", size, (214, 206, 190))
    draw = ImageDraw.Draw(image)
    for left in range(width // 12, width, width // 3):
        draw.rectangle((left, height // 10, left + width // 4, height // 2), fill=(236, 240, 242))
        draw.rectangle(
            (left + 3, height // 10 + 3, left + width // 4 - 3, height // 2 - 3),
            fill=(170, 205, 230),
        )
    draw.rectangle((0, height * 3 // 4, width, height), fill=(96, 72, 52))
    draw.ellipse((width * 4 // 5, height // 2, width, height * 4 // 5), fill=(70, 120, 70))
    return image.filter(ImageFilter.GaussianBlur(2))


def _outdoor(size: tuple[int, int]) -> Image.Image:
    """Sky above, sunlit foliage below, out of focus."""
    width, height = size
    sky = Image.linear_gradient("L").resize(size)
    image = Image.composite(
        Image.new("RGB", size, (200, 225, 240)), Image.new("RGB", size, (110, 170, 225)), sky
    )
    draw = ImageDraw.Draw(image)
    chance = random.Random("outdoor")  # noqa: S311  # a fixed pattern, not a secret
    for _ in range(40):
        x, y = chance.randrange(width), chance.randrange(height * 2 // 5, height)
        radius = chance.randrange(width // 16, width // 6)
        green = (chance.randrange(50, 110), chance.randrange(120, 180), chance.randrange(40, 80))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=green)
    return image.filter(ImageFilter.GaussianBlur(3))


def _street(size: tuple[int, int]) -> Image.Image:
    """Buildings of brick and concrete with lit windows over a grey road."""
    width, height = size
    image = Image.new("RGB", size, (205, 215, 225))
    draw = ImageDraw.Draw(image)
    chance = random.Random("street")  # noqa: S311
    left = 0
    while left < width:
        right = left + chance.randrange(width // 6, width // 3)
        top = chance.randrange(0, height // 4)
        tone = chance.choice(((150, 90, 70), (120, 120, 125), (170, 160, 145), (95, 95, 105)))
        draw.rectangle((left, top, right, height), fill=tone)
        for wy in range(top + 6, height * 3 // 4, 12):
            for wx in range(left + 4, right - 6, 10):
                draw.rectangle((wx, wy, wx + 5, wy + 6), fill=(235, 220, 160))
        left = right
    draw.rectangle((0, height * 4 // 5, width, height), fill=(80, 82, 88))
    return image.filter(ImageFilter.GaussianBlur(2))


def _library(size: tuple[int, int]) -> Image.Image:
    """Shelves of book spines: brown stripes in rows between dark wooden boards."""
    width, height = size
    image = Image.new("RGB", size, (70, 45, 28))
    draw = ImageDraw.Draw(image)
    chance = random.Random("library")  # noqa: S311
    spines = (
        (120, 60, 35),
        (150, 95, 50),
        (90, 40, 30),
        (60, 70, 50),
        (40, 50, 80),
        (170, 140, 90),
    )
    shelf = max(12, height // 5)
    for top in range(0, height, shelf):
        x = 0
        while x < width:
            spine = chance.randrange(3, 8)
            draw.rectangle((x, top + 3, x + spine, top + shelf - 4), fill=chance.choice(spines))
            x += spine + 1
        draw.rectangle((0, top + shelf - 4, width, top + shelf), fill=(50, 30, 18))
    return image.filter(ImageFilter.GaussianBlur(1.5))


def _cafe(size: tuple[int, int]) -> Image.Image:
    """Warm browns and oranges with out-of-focus lamps."""
    width, height = size
    image = _studio((205, 140, 80), (95, 55, 30))(size)
    draw = ImageDraw.Draw(image)
    chance = random.Random("cafe")  # noqa: S311
    for _ in range(14):
        x, y = chance.randrange(width), chance.randrange(height // 2)
        radius = chance.randrange(width // 30, width // 12)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(250, 205, 130))
    return image.filter(ImageFilter.GaussianBlur(2.5))


PAINTERS: dict[str, Callable[[tuple[int, int]], Image.Image]] = {
    "grey": _studio((150, 150, 150), (88, 88, 88)),
    "white": _studio((252, 252, 252), (225, 225, 225)),
    "low-key": _studio((42, 42, 42), (8, 8, 8)),
    "blue": _studio((70, 112, 172), (18, 42, 96)),
    "monochrome": _studio((170, 170, 170), (70, 70, 70)),
    "office": _office,
    "outdoor": _outdoor,
    "street": _street,
    "library": _library,
    "cafe": _cafe,
    DEFAULT: _studio((165, 175, 180), (100, 112, 122)),
}
