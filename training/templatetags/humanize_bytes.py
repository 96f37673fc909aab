"""Small formatting filters for the staff dashboard."""

from __future__ import annotations

from django import template

from training.metrics import WindowFigures

register = template.Library()


@register.filter
def megabytes(value: int | None) -> str:
    return f"{(value or 0) / (1024 * 1024):.1f} MB"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.2f} s"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def stage_failure_rate(window: WindowFigures, stage: str) -> float | None:
    return window.failure_rate(stage)
