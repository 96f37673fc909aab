"""Feedback (spec phase 4, "recopilar feedback de usuarios"): a person marks favourite headshots
and rates an order from 1 to 5 with an optional comment; staff read the figures on the dashboard.

A rating is one row per order, changed in place when the person changes their mind, so the
figures count people's current opinion, not every click. Weeks are counted by the rating's last
change (`updated_at`), in the site's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from training.models import Headshot, Order, OrderRating, Status
from training.packages import package_title

WEEKS_SHOWN = 12
LOWEST_SHOWN = 10


class RatingRefused(Exception):
    """The order cannot be rated (yet); the message says why."""


def favourite_set(*, headshot: Headshot, favourite: bool) -> None:
    """Mark or unmark one headshot as a favourite (idempotent)."""
    Headshot.objects.filter(pk=headshot.pk).update(is_favourite=favourite)
    headshot.is_favourite = favourite


def order_rate(*, order: Order, stars: int, comment: str) -> OrderRating:
    """Record (or change) the person's rating of a finished order."""
    if order.status != Status.READY:
        raise RatingRefused(_("You can rate an order once its headshots are ready."))
    rating, _created = OrderRating.objects.update_or_create(
        order=order, defaults={"stars": stars, "comment": comment}
    )
    return rating


@dataclass(frozen=True)
class RatingGroup:
    """Ratings of one package or one week: how many, and their average."""

    label: str | Promise | date
    count: int
    average: float


@dataclass(frozen=True)
class CommentedRating:
    order_uuid: str
    order_id: int
    email: str
    package: str | Promise
    stars: int
    comment: str
    rated_at: object


@dataclass(frozen=True)
class RatingFigures:
    by_package: list[RatingGroup]
    by_week: list[RatingGroup]
    lowest: list[CommentedRating]


def rating_figures() -> RatingFigures:
    """The dashboard's ratings, in three queries whatever the number of ratings."""
    return RatingFigures(by_package=by_package(), by_week=by_week(), lowest=lowest_rated())


def by_package() -> list[RatingGroup]:
    rows = (
        OrderRating.objects.values("order__package")
        .annotate(count=Count("id"), average=Avg("stars"))
        .order_by("order__package")
    )
    return [
        RatingGroup(package_title(row["order__package"]), row["count"], float(row["average"]))
        for row in rows
    ]


def by_week() -> list[RatingGroup]:
    """The last WEEKS_SHOWN weeks with ratings, newest first; each labelled by its Monday."""
    today = timezone.localdate()
    first_monday = today - timedelta(days=today.weekday(), weeks=WEEKS_SHOWN - 1)
    rows = (
        OrderRating.objects.filter(updated_at__date__gte=first_monday)
        .annotate(week=TruncWeek("updated_at"))
        .values("week")
        .annotate(count=Count("id"), average=Avg("stars"))
        .order_by("-week")
    )
    return [
        RatingGroup(timezone.localtime(row["week"]).date(), row["count"], float(row["average"]))
        for row in rows
    ]


def lowest_rated() -> list[CommentedRating]:
    """The LOWEST_SHOWN worst ratings that came with a comment, newest first among equals."""
    ratings = (
        OrderRating.objects.exclude(comment="")
        .select_related("order__user")
        .order_by("stars", "-updated_at")[:LOWEST_SHOWN]
    )
    return [
        CommentedRating(
            order_uuid=str(rating.order.uuid),
            order_id=rating.order.pk,
            email=rating.order.user.email if rating.order.user else "",
            package=package_title(rating.order.package),
            stars=rating.stars,
            comment=rating.comment,
            rated_at=rating.updated_at,
        )
        for rating in ratings
    ]
