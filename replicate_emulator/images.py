"""Output images for emulated predictions: a gradient marked "EMULATED" with part of the prompt.

Nobody should ever mistake them for real headshots, yet they are real image files of the size
and format asked for, so the code that copies and previews outputs is exercised for real.
"""

from __future__ import annotations

import functools
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

ASPECT_RATIOS = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "21:9": (21, 9),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "4:5": (4, 5),
    "5:4": (5, 4),
    "3:4": (3, 4),
    "4:3": (4, 3),
    "9:16": (9, 16),
    "9:21": (9, 21),
}
FORMATS = {
    "webp": ("WEBP", "image/webp"),
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
}


def image_size(aspect_ratio: str, megapixels: str) -> tuple[int, int]:
    """Width and height for a FLUX aspect ratio at 1 or 0.25 megapixels, multiples of 16."""
    across, down = ASPECT_RATIOS.get(aspect_ratio, (1, 1))
    area = (0.25 if megapixels == "0.25" else 1.0) * 1024 * 1024
    height = (area * down / across) ** 0.5
    width = height * across / down
    return _multiple_of_16(width), _multiple_of_16(height)


@functools.lru_cache(maxsize=64)  # the same prompt, size and format give the same image
def make_image(*, prompt: str, index: int, size: tuple[int, int], output_format: str) -> bytes:
    """Encode one marked image; `index` tints it so outputs of one prediction differ."""
    ramp = Image.linear_gradient("L")
    red = ramp.resize(size)
    green = ramp.rotate(90).resize(size)
    blue = Image.new("L", size, (60 + 47 * index) % 256)
    image = Image.merge("RGB", (red, green, blue))
    _draw_marking(image, prompt=prompt, index=index)
    pil_format, _ = FORMATS.get(output_format, FORMATS["webp"])
    buffer = io.BytesIO()
    image.save(buffer, pil_format, quality=80)
    return buffer.getvalue()


def content_type(output_format: str) -> str:
    """The MIME type served for an output format (webp unless png or jpg is asked for)."""
    return FORMATS.get(output_format, FORMATS["webp"])[1]


def extension(output_format: str) -> str:
    """The file extension for an output format."""
    return output_format if output_format in FORMATS else "webp"


def _draw_marking(image: Image.Image, *, prompt: str, index: int) -> None:
    """The big EMULATED word, the output number and the start of the prompt."""
    width, height = image.size
    draw = ImageDraw.Draw(image)
    big = ImageFont.load_default(size=max(24, width // 8))
    small = ImageFont.load_default(size=max(12, width // 40))
    draw.text((width // 2, height // 3), "EMULATED", font=big, fill="white", anchor="mm")
    draw.text(
        (width // 2, height // 3 + width // 8),
        f"output {index + 1}",
        font=small,
        fill="white",
        anchor="mm",
    )
    lines = textwrap.wrap(prompt[:160], width=48)[:3]
    draw.multiline_text((width // 20, height * 2 // 3), "\n".join(lines), font=small, fill="white")


def _multiple_of_16(value: float) -> int:
    return max(16, round(value / 16) * 16)
