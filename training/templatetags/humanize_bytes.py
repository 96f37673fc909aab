"""Small formatting filters for the staff dashboard, in the staff member's number format (a
decimal comma in Spanish), like Django's own `floatformat`."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language

from training.metrics import WindowFigures

register = template.Library()


@register.filter
def megabytes(value: int | None) -> str:
    return f"{number_format((value or 0) / (1024 * 1024), 1)} MB"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{number_format(value / 60, 1)} min" if value >= 120 else f"{number_format(value, 2)} s"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{number_format(value * 100, 1)} %"


@register.filter
def dollars(value: float | Decimal | None) -> str:
    """An amount in US dollars (Replicate bills in dollars) in the page's number format."""
    amount = number_format(value or 0, 2)
    return f"{amount} US$" if (get_language() or "").startswith("es") else f"${amount}"


@register.filter
def stage_failure_rate(window: WindowFigures, stage: str) -> float | None:
    return window.failure_rate(stage)
