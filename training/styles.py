"""The style catalogue: what each order's headshots look like, one Replicate prediction per style.

A style is a backdrop and a mood (grey studio, modern office, warm café...) with its name in
every language, the clothes it suits for each subject type, its light and camera, and the
prediction inputs it needs where they differ from the defaults (a low-key portrait wants more
guidance than a daylight one). The prompt is built in the spec's order by `prompts.py`:
trigger word and subject, clothes and scene (the style), framing, light, camera.

An order makes `HEADSHOTS_PER_STYLE` images of each style in `ORDER_STYLES` (every style of the
package when unset). Orders keep each prediction's style slug, so never rename or remove a slug
that orders use; add styles at the end (docs/prompts.md, "Adding a style").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from training.prompts import build_prompt

FRAMING = "head and shoulders, looking at the camera, centered"
CAMERA = "shot on 85mm f/1.8, shallow depth of field, photorealistic, sharp focus on the eyes"


@dataclass(frozen=True)
class Style:
    """One style of the catalogue; `prompt()` gives what is sent for a subject type."""

    slug: str  # kept on each prediction (at most 32 characters) and used in file names
    name: str | Promise
    wardrobe: Mapping[str, str]  # subject type → what the person wears
    scene: str
    light: str
    framing: str = FRAMING
    camera: str = CAMERA
    # Inputs sent instead of the defaults for this style (Replicate's names and ranges).
    inputs: Mapping[str, object] = field(default_factory=dict)

    def prompt(self, subject_type: str) -> str:
        """The prompt for this subject (`man` or `woman`), ready to send."""
        if subject_type not in self.wardrobe:
            raise ValueError(f"subject type must be man or woman, not {subject_type!r}")
        parts = (self.wardrobe[subject_type], self.scene, self.framing, self.light, self.camera)
        return build_prompt(subject_type=subject_type, parts=parts)


SUIT = {
    "man": "wearing a tailored charcoal business suit and white shirt",
    "woman": "wearing a tailored charcoal blazer over a silk blouse",
}
SMART_CASUAL = {
    "man": "wearing a navy blazer over an open-collar light blue shirt",
    "woman": "wearing a camel blazer over a cream knit top",
}
KNITWEAR = {
    "man": "wearing a soft grey merino sweater over a collared shirt",
    "woman": "wearing a soft beige cashmere sweater",
}

STYLES: tuple[Style, ...] = (
    Style(
        slug="grey-studio",
        name=_("Grey studio"),
        wardrobe=SUIT,
        scene="professional studio headshot, plain mid-grey seamless backdrop",
        light="soft key light with gentle fill, even skin tones",
    ),
    Style(
        slug="white-studio",
        name=_("White studio"),
        wardrobe=SMART_CASUAL,
        scene="clean corporate headshot, bright pure white background",
        light="high-key soft box lighting, no harsh shadows",
    ),
    Style(
        slug="modern-office",
        name=_("Modern office"),
        wardrobe=SUIT,
        scene="modern glass office interior softly blurred behind, workplace setting",
        light="natural window light from the side",
    ),
    Style(
        slug="outdoor-natural-light",
        name=_("Outdoors, natural light"),
        wardrobe=SMART_CASUAL,
        scene="outdoor portrait in a green park, trees softly blurred behind",
        light="golden hour natural sunlight, warm rim light",
        inputs={"guidance_scale": 3.0},  # looser: daylight reads more natural with less push
    ),
    Style(
        slug="city-street",
        name=_("City street"),
        wardrobe=SMART_CASUAL,
        scene="urban street with city buildings blurred behind, business district",
        light="soft overcast daylight",
        inputs={"guidance_scale": 3.0},
    ),
    Style(
        slug="library",
        name=_("Library"),
        wardrobe=KNITWEAR,
        scene="in front of wooden bookshelves full of books, softly blurred",
        light="warm soft lamp light with window fill",
    ),
    Style(
        slug="warm-cafe",
        name=_("Warm café"),
        wardrobe=KNITWEAR,
        scene="cosy café interior with warm bokeh lights behind",
        light="warm ambient light, soft and flattering",
        inputs={"guidance_scale": 3.0},
    ),
    Style(
        slug="black-and-white",
        name=_("Black and white classic"),
        wardrobe=SUIT,
        scene="classic black and white portrait, monochrome, plain dark grey backdrop",
        light="dramatic Rembrandt lighting, rich contrast",
        camera="shot on 85mm film, fine grain, timeless editorial photograph",
        inputs={"guidance_scale": 4.0},  # firmer: keeps the picture monochrome
    ),
    Style(
        slug="dark-studio",
        name=_("Dark studio (low key)"),
        wardrobe=SUIT,
        scene="low-key studio portrait, deep charcoal black background",
        light="single soft key light from the side, subtle rim light, deep shadows",
        inputs={"guidance_scale": 4.0},  # firmer: keeps the backdrop dark
    ),
    Style(
        slug="corporate-blue",
        name=_("Corporate blue"),
        wardrobe=SUIT,
        scene="corporate headshot, smooth deep blue gradient backdrop",
        light="soft studio lighting with gentle background glow",
    ),
)

# Which styles each package offers, in the order the gallery shows them.
PACKAGE_STYLES: dict[str, tuple[Style, ...]] = {
    "professional": STYLES,
}


def order_styles(package: str) -> list[Style]:
    """The styles an order of this package gets: the package's, narrowed to ORDER_STYLES when
    that is set (unknown slugs are refused at start-up by `check_order_styles`)."""
    styles = PACKAGE_STYLES[package]
    chosen = settings.ORDER_STYLES
    return [style for style in styles if style.slug in chosen] if chosen else list(styles)


def style_named(slug: str) -> Style | None:
    """The catalogue's style with this slug (None for orders made before styles)."""
    return next((style for style in STYLES if style.slug == slug), None)


def style_title(slug: str) -> str | Promise:
    """The style's name for the gallery (orders made before styles have one group, unnamed)."""
    style = style_named(slug)
    return style.name if style else _("Headshots")


def catalogue_position(slug: str) -> int:
    """Where the style comes in the catalogue (the gallery's order); unknown slugs come last."""
    slugs = [style.slug for style in STYLES]
    return slugs.index(slug) if slug in slugs else len(slugs)
