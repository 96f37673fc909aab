"""Colour for photos and headshots alike: RGB pixels meant as sRGB, whatever came in.

The photo pipeline (`training/photos/pixels.py`) and the print-ready files (`print_ready.py`)
both flatten transparency on white and apply an embedded ICC profile; they differ only in what
they keep afterwards (the training set drops every profile, the downloads embed sRGB's).
"""

from __future__ import annotations

import io
import logging
from functools import cache

from PIL import Image, ImageCms

logger = logging.getLogger(__name__)


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bool]:
    """RGB pixels meant as sRGB (transparency flattened on white, the ICC profile applied), and
    whether a profile was applied (an unusable one is dropped: the pixels are still a photo)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    if icc_profile and image.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, source, srgb(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            logger.info("Ignored an unusable ICC profile")
        else:
            if converted is not None:
                return converted, True
    return (image if image.mode == "RGB" else image.convert("RGB")), False


@cache
def srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
