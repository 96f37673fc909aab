"""Top-ups: more headshots for the styles whose results did not look like the person.

When every expected prediction is stored and scored (`likeness.py`), each style should show
`HEADSHOTS_PER_STYLE` headshots. A style that shows fewer gets one more prediction asking for
just the missing number, in rounds, until every style is full or the order has used its budget:
at most `TOP_UP_SHARE` (50 %) more predictions than its styles, so an unlucky order never costs
more than half again. Then the order is delivered with what passed, and the page and the e-mail
say how many of the promised headshots that is.
"""

from __future__ import annotations

import logging
import math
from collections import Counter

from django.conf import settings

from training.models import Order, Prediction
from training.styles import order_styles, style_named

logger = logging.getLogger(__name__)

TOP_UP_SHARE = 0.5


def promised(order: Order) -> int:
    """How many headshots the order promises: every style's `HEADSHOTS_PER_STYLE`."""
    return len(styles_of(order)) * settings.HEADSHOTS_PER_STYLE


def styles_of(order: Order) -> list[str]:
    """The order's styles: those it was planned with (its first predictions), in their order."""
    planned = order.predictions.filter(attempt=1, is_top_up=False).order_by("prompt_index")
    slugs = list(planned.values_list("style", flat=True))
    return slugs or [style.slug for style in order_styles(order.package)]


def shortfalls(order: Order, styles: list[str]) -> dict[str, int]:
    """Each style's missing headshots: promised minus shown (hidden ones do not count)."""
    shown = Counter(order.headshots.shown().values_list("prediction__style", flat=True))
    wanted = settings.HEADSHOTS_PER_STYLE
    return {slug: wanted - shown[slug] for slug in styles if shown[slug] < wanted}


def budget_left(order: Order, styles: list[str]) -> int:
    """Top-up predictions the order may still make (TOP_UP_SHARE of its styles, rounded down,
    and at least one so that a small order can be topped up too)."""
    allowed = max(1, math.floor(len(styles) * TOP_UP_SHARE))
    used = order.predictions.filter(attempt=1, is_top_up=True).count()
    return max(0, allowed - used)


def plan_top_ups(order: Order) -> list[Prediction]:
    """The next round's rows (pending, for `generation.start_predictions` to create), the styles
    missing most first; none when nothing is missing, the budget is spent, or face analysis is
    off. The caller holds the order's row lock, so two workers cannot plan the same round."""
    if not settings.FACE_ANALYSIS_ENABLED:
        return []
    styles = styles_of(order)
    missing = sorted(shortfalls(order, styles).items(), key=lambda item: -item[1])
    missing = missing[: budget_left(order, styles)]
    if not missing:
        return []
    next_slot = max(order.predictions.values_list("prompt_index", flat=True), default=-1) + 1
    rows = []
    for offset, (slug, count) in enumerate(missing):
        style = style_named(slug)
        prompt = style.prompt(order.subject_type) if style else _base_prompt(order, slug)
        rows.append(
            Prediction.objects.create(
                order=order,
                prompt_index=next_slot + offset,
                attempt=1,
                prompt=prompt,
                style=slug,
                is_top_up=True,
                num_outputs=count,
            )
        )
    logger.info("order %s: topping up %s", order.uuid, dict(missing))
    return rows


def _base_prompt(order: Order, slug: str) -> str:
    """A style no longer in the catalogue: the prompt its first prediction used."""
    first = order.predictions.filter(style=slug, is_top_up=False).first()
    return first.prompt if first else ""
