"""The likeness check seen from the dashboard: which styles' headshots get hidden, and how close
the shown ones are to their people week by week, so a weak prompt shows up before people notice.

Each table is one aggregate query, whatever the number of headshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from training.models import Headshot

WEEKS_SHOWN = 12
STYLE_DAYS = 30
# The upper edges of the distance buckets; the last bucket is "beyond the threshold".
BUCKET_EDGES = (0.3, 0.4, 0.5, 0.6)


@dataclass(frozen=True)
class StyleFigures:
    """One style's headshots of the last STYLE_DAYS days and why some were hidden."""

    style: str
    total: int
    hidden: int
    no_face: int
    several_faces: int
    someone_else: int

    @property
    def hidden_share(self) -> float:
        return self.hidden / self.total if self.total else 0.0


@dataclass(frozen=True)
class WeekFigures:
    """The scored headshots of one week (labelled by its Monday), counted per distance bucket."""

    week: date
    scored: int
    buckets: tuple[int, ...]  # one count per BUCKET_EDGES bucket, then the ones beyond


@dataclass(frozen=True)
class LikenessFigures:
    by_style: list[StyleFigures]
    by_week: list[WeekFigures]
    bucket_labels: tuple[str, ...]


def likeness_figures() -> LikenessFigures:
    return LikenessFigures(by_style(), by_week(), bucket_labels())


def by_style() -> list[StyleFigures]:
    """The styles with the largest share hidden first: those are the prompts to look at."""
    since = timezone.now() - timedelta(days=STYLE_DAYS)
    rows = (
        Headshot.objects.filter(created_at__gte=since)
        .values("prediction__style")
        .annotate(
            total=Count("id"),
            hidden_count=Count("id", filter=Q(hidden=True)),
            no_face=Count("id", filter=Q(hidden=True, face_count=0)),
            several_faces=Count("id", filter=Q(hidden=True, face_count__gt=1)),
            someone_else=Count("id", filter=Q(hidden=True, face_count=1)),
        )
    )
    figures = [
        StyleFigures(
            style=row["prediction__style"] or "—",
            total=row["total"],
            hidden=row["hidden_count"],
            no_face=row["no_face"],
            several_faces=row["several_faces"],
            someone_else=row["someone_else"],
        )
        for row in rows
    ]
    return sorted(figures, key=lambda figure: (-figure.hidden_share, figure.style))


def by_week() -> list[WeekFigures]:
    """The last WEEKS_SHOWN weeks with scored headshots, newest first."""
    today = timezone.localdate()
    first_monday = today - timedelta(days=today.weekday(), weeks=WEEKS_SHOWN - 1)
    buckets = {f"bucket{index}": Count("id", filter=condition) for index, condition in _buckets()}
    rows = (
        Headshot.objects.filter(created_at__date__gte=first_monday, likeness__isnull=False)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(scored=Count("id"), **buckets)
        .order_by("-week")
    )
    return [
        WeekFigures(
            week=timezone.localtime(row["week"]).date(),
            scored=row["scored"],
            buckets=tuple(cast("dict[str, int]", row)[name] for name in buckets),
        )
        for row in rows
    ]


def _buckets() -> list[tuple[int, Q]]:
    lower = 0.0
    conditions = []
    for index, upper in enumerate(BUCKET_EDGES):
        conditions.append((index, Q(likeness__gte=lower, likeness__lt=upper)))
        lower = upper
    conditions.append((len(BUCKET_EDGES), Q(likeness__gte=lower)))
    return conditions


def bucket_labels() -> tuple[str, ...]:
    lower = 0.0
    labels = []
    for upper in BUCKET_EDGES:
        labels.append(f"{lower:.1f} to {upper:.1f}")
        lower = upper
    return (*labels, f"≥ {lower:.1f}")
