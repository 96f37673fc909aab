"""What the landing and package pages promise, read from the catalogue, the settings and the
orders we delivered, so that the page never says more (or less) than an order gives.

The typical time comes from `estimates.py`: the median stages of the orders delivered lately,
or `TYPICAL_ORDER_MINUTES` until enough were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.templatetags.static import static
from django.utils.functional import Promise

from payments.packs import CreditPack, available_packs
from training.estimates import stage_seconds
from training.packages import PROFESSIONAL
from training.styles import order_styles


@dataclass(frozen=True)
class StyleExample:
    """One style as the landing shows it: its name and an example picture."""

    slug: str
    title: str | Promise
    picture: str  # URL of the static example


@dataclass(frozen=True)
class Showcase:
    """The figures of the offer: how many headshots, which styles, how long, what it costs."""

    headshots: int
    styles: list[StyleExample]
    typical_minutes: int
    measured: bool  # the time comes from delivered orders, not from the settings
    credit_cost: int
    packs: tuple[CreditPack, ...]  # what credits cost in money, when they are sold
    photos_min: int
    photos_max: int
    temp_retention_hours: int


def showcase() -> Showcase:
    """The offer of the "Foto Profesional" package as configured now."""
    styles = order_styles(PROFESSIONAL.slug)
    typical = stage_seconds()
    return Showcase(
        headshots=len(styles) * settings.HEADSHOTS_PER_STYLE,
        styles=[
            StyleExample(style.slug, style.name, static(f"examples/{style.slug}.webp"))
            for style in styles
        ],
        typical_minutes=max(1, math.ceil(typical.whole / 60)),
        measured=typical.measured,
        credit_cost=settings.TRAINING_CREDIT_COST,
        packs=available_packs() if settings.TRAINING_CREDIT_COST else (),
        photos_min=settings.PHOTOS_MIN,
        photos_max=settings.PHOTOS_MAX,
        temp_retention_hours=settings.TEMP_RETENTION_HOURS,
    )
