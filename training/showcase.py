"""What the landing and package pages promise, read from the catalogue, the settings and the
orders we delivered, so that the page never says more (or less) than an order gives.

The typical time is the median time from order to gallery over the last `TYPICAL_WINDOW_DAYS`
days, once at least `TYPICAL_MIN_ORDERS` orders were delivered in that window (a median of two
would swing with each order); before that, `TYPICAL_ORDER_MINUTES` from the settings. It is
cached for a few minutes: the landing page is the busiest page and the figure moves slowly.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.templatetags.static import static
from django.utils import timezone
from django.utils.functional import Promise

from training.models import Order, Status
from training.packages import PROFESSIONAL
from training.styles import order_styles

TYPICAL_WINDOW_DAYS = 30
TYPICAL_MIN_ORDERS = 5
TYPICAL_CACHE_KEY = "showcase:typical-minutes"
TYPICAL_CACHE_SECONDS = 300


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
    photos_min: int
    photos_max: int
    temp_retention_hours: int


def showcase() -> Showcase:
    """The offer of the "Foto Profesional" package as configured now."""
    styles = order_styles(PROFESSIONAL.slug)
    measured = typical_order_minutes()
    return Showcase(
        headshots=len(styles) * settings.HEADSHOTS_PER_STYLE,
        styles=[
            StyleExample(style.slug, style.name, static(f"examples/{style.slug}.webp"))
            for style in styles
        ],
        typical_minutes=measured or settings.TYPICAL_ORDER_MINUTES,
        measured=measured is not None,
        credit_cost=settings.TRAINING_CREDIT_COST,
        photos_min=settings.PHOTOS_MIN,
        photos_max=settings.PHOTOS_MAX,
        temp_retention_hours=settings.TEMP_RETENTION_HOURS,
    )


def typical_order_minutes() -> int | None:
    """The median minutes from order to gallery lately, rounded up; None when too few orders."""
    cached = cache.get(TYPICAL_CACHE_KEY)
    if cached is not None:
        return cached or None  # 0 stands for "not enough orders" in the cache
    since = timezone.now() - timedelta(days=TYPICAL_WINDOW_DAYS)
    delivered = Order.objects.filter(status=Status.READY, ready_at__gte=since)
    spans = [
        (ready - created).total_seconds()
        for created, ready in delivered.values_list("created_at", "ready_at")
        if ready is not None
    ]
    minutes = (
        max(1, math.ceil(statistics.median(spans) / 60)) if len(spans) >= TYPICAL_MIN_ORDERS else 0
    )
    cache.set(TYPICAL_CACHE_KEY, minutes, TYPICAL_CACHE_SECONDS)
    return minutes or None
