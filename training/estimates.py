"""How long orders take, and how long one has left: the figures behind the landing page's
"about N minutes", the order page's time left and its step timeline.

Each stage's typical length is the median over the orders delivered in the last `WINDOW_DAYS`
days, once at least `MIN_ORDERS` were (a median of two swings with each order); before that the
stages share `TYPICAL_ORDER_MINUTES` as a 1000-step training does (`DEFAULT_SHARES`). The
medians are read in one query and cached for a few minutes: the order page asks every few
seconds and the figures move slowly.

While an order trains, Replicate's own progress says more than any median: once it passes
`PROGRESS_TRUSTED` percent, the time left is extrapolated from the time the training has run.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from training.models import Order, Status

WINDOW_DAYS = 30
MIN_ORDERS = 5
CACHE_KEY = "estimates:stage-seconds"
CACHE_SECONDS = 300
# How a typical order's time splits before any order was measured: the queue and the upload to
# Replicate, the training, then the headshots.
DEFAULT_SHARES = {"queue": 0.05, "training": 0.8, "generation": 0.15}
PROGRESS_TRUSTED = 10  # percent


@dataclass(frozen=True)
class StageSeconds:
    """The typical length of each stage, in seconds, and whether delivered orders measured it."""

    queue: float
    training: float
    generation: float
    measured: bool

    @property
    def whole(self) -> float:
        return self.queue + self.training + self.generation


def stage_seconds() -> StageSeconds:
    """Median stage lengths of the orders delivered lately, else the settings' split."""
    cached = cache.get(CACHE_KEY)
    if cached is None:
        cached = _measured() or ()
        cache.set(CACHE_KEY, cached, CACHE_SECONDS)
    if cached:
        queue, training, generation = cached
        return StageSeconds(queue, training, generation, measured=True)
    whole = settings.TYPICAL_ORDER_MINUTES * 60
    return StageSeconds(
        queue=whole * DEFAULT_SHARES["queue"],
        training=whole * DEFAULT_SHARES["training"],
        generation=whole * DEFAULT_SHARES["generation"],
        measured=False,
    )


def _measured() -> tuple[float, float, float] | None:
    since = timezone.now() - timedelta(days=WINDOW_DAYS)
    rows = Order.objects.filter(
        status=Status.READY,
        ready_at__gte=since,
        training_started_at__isnull=False,
        training_finished_at__isnull=False,
    ).values_list("created_at", "training_started_at", "training_finished_at", "ready_at")
    spans = [
        (_seconds(made, started), _seconds(started, trained), _seconds(trained, ready))
        for made, started, trained, ready in rows
        if started is not None and trained is not None
    ]
    if len(spans) < MIN_ORDERS:
        return None
    queue, training, generation = (statistics.median(stage) for stage in zip(*spans, strict=True))
    return queue, training, generation


def _seconds(start: datetime, end: datetime | None) -> float:
    return max(0.0, ((end or start) - start).total_seconds())


def minutes_left(order: Order, progress: int | None, *, now: datetime | None = None) -> int | None:
    """Whole minutes until the order's gallery is likely ready (at least 1), or None once the
    order is final. `progress` is the training's percentage when known."""
    if order.is_final:
        return None
    now = now or timezone.now()
    typical = stage_seconds()
    if order.status == Status.GENERATING:
        left = typical.generation - _seconds(order.training_finished_at or now, now)
    elif order.status == Status.TRAINING:
        left = _training_left(order, progress, typical.training, now) + typical.generation
    else:  # uploaded, queued: all of it, less what the queue has already taken
        left = typical.whole - _seconds(order.created_at, now)
        left = max(left, typical.training + typical.generation)
    return max(1, math.ceil(left / 60))


def _training_left(order: Order, progress: int | None, typical: float, now: datetime) -> float:
    ran = _seconds(order.training_started_at or now, now)
    if progress is not None and PROGRESS_TRUSTED <= progress < 100:
        return ran * (100 - progress) / progress
    return max(0.0, typical - ran)


@dataclass(frozen=True)
class Step:
    """One step of the order's timeline and where the order is on it."""

    name: str  # photos, training, generating, ready
    state: str  # done, current, todo


STEPS = ("photos", "training", "generating", "ready")
STEP_OF_STATUS = {
    Status.UPLOADING: 0,
    Status.QUEUED: 1,
    Status.TRAINING: 1,
    Status.GENERATING: 2,
    Status.READY: 3,
}


def timeline(order: Order) -> list[Step]:
    """The four steps (photos checked, training, creating headshots, ready), each done, current
    or still to come. A failed or canceled order shows the steps it finished."""
    reached = STEP_OF_STATUS.get(Status(order.status))
    if reached is None:  # failed or canceled: done up to where it stopped
        done = 1 + bool(order.training_finished_at)
        return [Step(name, "done" if index < done else "todo") for index, name in enumerate(STEPS)]
    if order.status == Status.READY:
        return [Step(name, "done") for name in STEPS]
    return [
        Step(name, "done" if index < reached else "current" if index == reached else "todo")
        for index, name in enumerate(STEPS)
    ]
