"""How long an order has left, and where it is on the timeline: from the settings until orders
were delivered, then from their medians; while training, from Replicate's own progress."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from tests.conftest import make_user
from training.estimates import minutes_left, stage_seconds, timeline
from training.models import Order, Status

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture
def gina() -> User:
    return make_user("gina@example.com")


def order_at(user: User, status: str, **moments: datetime | None) -> Order:
    order = Order.objects.create(user=user, name="x", package="professional", subject_type="woman")
    Order.objects.filter(pk=order.pk).update(status=status, **moments)
    return Order.objects.get(pk=order.pk)


def delivered(user: User, *, training: int, generation: int, count: int = 5) -> None:
    """`count` ready orders: two minutes queued, `training` and `generation` minutes."""
    for _ in range(count):
        made = NOW - timedelta(days=2)
        order_at(
            user,
            Status.READY,
            created_at=made,
            training_started_at=made + timedelta(minutes=2),
            training_finished_at=made + timedelta(minutes=2 + training),
            ready_at=made + timedelta(minutes=2 + training + generation),
        )


def test_before_any_delivery_the_settings_give_the_whole_time(gina: User, settings: Any) -> None:
    settings.TYPICAL_ORDER_MINUTES = 40
    queued = order_at(gina, Status.QUEUED, created_at=NOW)

    assert not stage_seconds().measured
    assert minutes_left(queued, None, now=NOW) == 40


def test_delivered_orders_replace_the_settings_with_their_medians(
    gina: User, settings: Any
) -> None:
    settings.TYPICAL_ORDER_MINUTES = 40
    delivered(gina, training=20, generation=3)
    queued = order_at(gina, Status.QUEUED, created_at=NOW)

    typical = stage_seconds()
    assert typical.measured
    assert (typical.queue, typical.training, typical.generation) == (120, 1200, 180)
    assert minutes_left(queued, None, now=NOW) == 25


def test_four_deliveries_are_too_few_to_measure(gina: User, settings: Any) -> None:
    delivered(gina, training=20, generation=3, count=4)
    assert not stage_seconds().measured


def test_a_training_s_own_progress_sets_its_time_left(gina: User) -> None:
    delivered(gina, training=20, generation=3)
    started = NOW - timedelta(minutes=6)
    training = order_at(gina, Status.TRAINING, created_at=started, training_started_at=started)

    # 30 % in 6 minutes: 14 more, then the 3 minutes of headshots.
    assert minutes_left(training, 30, now=NOW) == 17
    # No progress read yet (or too little to trust): the median less what has run.
    assert minutes_left(training, None, now=NOW) == 20 - 6 + 3
    assert minutes_left(training, 2, now=NOW) == 20 - 6 + 3


def test_a_slow_training_never_shows_less_than_a_minute(gina: User) -> None:
    delivered(gina, training=20, generation=3)
    started = NOW - timedelta(minutes=50)
    generating = order_at(
        gina, Status.GENERATING, created_at=started, training_finished_at=NOW - timedelta(hours=1)
    )
    assert minutes_left(generating, None, now=NOW) == 1


def test_a_final_order_has_no_time_left(gina: User) -> None:
    for status in (Status.READY, Status.FAILED, Status.CANCELED):
        assert minutes_left(order_at(gina, status), None) is None


@pytest.mark.parametrize(
    ("status", "trained", "expected"),
    [
        (Status.QUEUED, False, ["done", "current", "todo", "todo"]),
        (Status.TRAINING, False, ["done", "current", "todo", "todo"]),
        (Status.GENERATING, True, ["done", "done", "current", "todo"]),
        (Status.READY, True, ["done", "done", "done", "done"]),
        (Status.FAILED, False, ["done", "todo", "todo", "todo"]),
        (Status.FAILED, True, ["done", "done", "todo", "todo"]),
    ],
)
def test_the_timeline_shows_where_the_order_is(
    gina: User, status: str, trained: bool, expected: list[str]
) -> None:
    order = order_at(gina, status, training_finished_at=NOW if trained else None)

    steps = timeline(order)
    assert [step.name for step in steps] == ["photos", "training", "generating", "ready"]
    assert [step.state for step in steps] == expected
