"""An order's status only moves forward along allowed edges; the database settles races."""

from __future__ import annotations

import pytest

from accounts.models import User
from training.models import IllegalStatusMove, Order, Stage, Status


def make_order(user: User, status: Status = Status.QUEUED) -> Order:
    return Order.objects.create(
        user=user, name="LinkedIn", package="professional", subject_type="woman", status=status
    )


@pytest.mark.django_db
def test_it_walks_the_happy_path_and_stamps_each_step(alice: User) -> None:
    order = make_order(alice)

    assert order.move_to(Status.TRAINING, replicate_training_id="t1")
    assert order.move_to(Status.GENERATING)
    assert order.move_to(Status.READY)

    stored = Order.objects.get(pk=order.pk)
    assert stored.status == Status.READY
    assert stored.replicate_training_id == "t1"
    assert stored.training_started_at
    assert stored.training_finished_at
    assert stored.ready_at


@pytest.mark.django_db
def test_it_refuses_to_move_backwards(alice: User) -> None:
    order = make_order(alice, Status.GENERATING)

    with pytest.raises(IllegalStatusMove):
        order.move_to(Status.TRAINING)
    assert Order.objects.get(pk=order.pk).status == Status.GENERATING


@pytest.mark.django_db
def test_it_lets_only_the_first_of_two_racers_through(alice: User) -> None:
    first = make_order(alice)
    second = Order.objects.get(pk=first.pk)  # another worker's stale copy

    assert first.move_to(Status.TRAINING)
    assert not second.move_to(Status.TRAINING)
    assert not second.move_to(Status.CANCELED)  # the stale copy cannot cancel either
    assert Order.objects.get(pk=first.pk).status == Status.TRAINING


@pytest.mark.django_db
def test_it_fails_with_a_stage_and_a_message_but_never_after_ready(alice: User) -> None:
    failing = make_order(alice, Status.TRAINING)
    finished = make_order(alice, Status.READY)

    assert failing.fail(stage=Stage.TRAINING, error="The training failed.", detail="CUDA OOM")
    assert not finished.fail(stage=Stage.COMPLETION, error="late")

    failing.refresh_from_db()
    assert (failing.status, failing.failure_stage, failing.error_detail) == (
        Status.FAILED, Stage.TRAINING, "CUDA OOM",
    )  # fmt: skip
    assert Order.objects.get(pk=finished.pk).status == Status.READY


@pytest.mark.django_db
def test_it_stores_orders_in_the_models_table(alice: User) -> None:
    assert Order._meta.db_table == "models"
    order = make_order(alice)
    assert order.get_absolute_url() == f"/studio/models/{order.uuid}/"
