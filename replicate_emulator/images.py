"""Output images for emulated predictions: a face on the style's backdrop, marked "EMULATED".

Nobody should ever mistake them for real headshots, yet they are real image files of the size
and format asked for, so the code that copies, previews and scores outputs is exercised for real.
A portrait pastes a face crop (replicate_emulator/face_crops.py) on the backdrop the prompt asks
for (backdrops.py); the marking stays above and below the face, so a face detector still sees
it. Without a face crop (a version trained before the emulator restarted) an output is the old
gradient.
"""

from __future__ import annotations

import functools
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

from replicate_emulator import backdrops
from replicate_emulator.face_crops import FaceCrop

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
# Fast encoder settings: outputs are made inside test processes, and their size does not matter.
ENCODER_OPTIONS: dict[str, dict[str, int]] = {"WEBP": {"method": 0}, "PNG": {"compress_level": 1}}
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
    return _encode(image, output_format, 80)


def make_portrait(
    *,
    prompt: str,
    index: int,
    size: tuple[int, int],
    output_format: str,
    quality: int,
    face: FaceCrop | None,
    stranger: bool = False,
) -> bytes:
    """Encode one marked portrait: `face` (None: nobody) on the prompt's backdrop."""
    backdrop = backdrops.backdrop_for(prompt)
    image = backdrops.paint(backdrop, size)
    if face is not None:
        _place(image, face, stranger=stranger)
    if backdrops.is_monochrome(backdrop):
        image = image.convert("L").convert("RGB")
    _draw_banner(image, prompt=prompt, index=index)
    return _encode(image, output_format, quality)


def _place(image: Image.Image, face: FaceCrop, *, stranger: bool) -> None:
    """Scale the crop to the frame (head and shoulders fill most of its height) and paste it
    between the top and bottom bands, centred."""
    width, height = image.size
    crop = face.image
    # A stranger's crop is the face alone, so it is drawn smaller to look the same size.
    tall = (0.42 if stranger else 0.64) * height
    scale = min(tall / crop.height, 0.8 * width / crop.width)
    scaled = crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
        Image.Resampling.BILINEAR,
    )
    top = round(height * 0.13) + round(((0.64 * height) - scaled.height) / 2)
    image.paste(scaled, ((width - scaled.width) // 2, top), scaled)


def _draw_banner(image: Image.Image, *, prompt: str, index: int) -> None:
    """EMULATED across the top band, the output number and the prompt's start in the bottom
    band: never over the face in the middle."""
    width, height = image.size
    draw = ImageDraw.Draw(image)
    big = _font(max(14, min(width, height) // 11))
    small = _font(max(10, min(width, height) // 42))
    stroke = max(1, width // 400)  # a dark outline keeps white letters legible on white
    draw.text(
        (width // 2, height // 14),
        "EMULATED",
        font=big,
        fill="white",
        anchor="mm",
        stroke_width=stroke,
        stroke_fill="black",
    )
    text = "\n".join([f"output {index + 1}", *textwrap.wrap(prompt[:160], width=56)[:3]])
    draw.multiline_text(
        (width // 20, height * 80 // 100),
        text,
        font=small,
        fill="white",
        stroke_width=stroke,
        stroke_fill="black",
    )


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at a size, read once (each load parses the font file)."""
    return ImageFont.load_default(size=size)


def _encode(image: Image.Image, output_format: str, quality: int) -> bytes:
    pil_format, _ = FORMATS.get(output_format, FORMATS["webp"])
    buffer = io.BytesIO()
    image.save(buffer, pil_format, quality=quality, **ENCODER_OPTIONS.get(pil_format, {}))
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
