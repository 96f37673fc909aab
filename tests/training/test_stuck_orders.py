"""The stuck sweep (`sync_replicate` → `fail_stuck_orders`): an order with no progress in its
stage for STUCK_AFTER_HOURS fails once, refunded, with one e-mail; the clock of each stage starts
when the order entered it, so an old order that staff retried gets its full time again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts.credits import credit_balance, credits_spend_for_order
from accounts.models import User
from training.lifecycle import order_retry
from training.models import Order, Stage, Status, TrainingEvent
from training.packages import PROFESSIONAL

pytestmark = pytest.mark.timeout(120)
# Each stage, the field its clock starts from, and the stage a failure there is blamed on.
STAGES = [
    (Status.QUEUED, "queued_at", Stage.TRAINING),
    (Status.TRAINING, "training_started_at", Stage.TRAINING),
    (Status.GENERATING, "training_finished_at", Stage.COMPLETION),
]
VERSION = "headshots/headshots-x:" + "a" * 64


def order_in(user: User, status: Status, **fields: Any) -> Order:
    """An order in `status` with its credit spent and its photos stored, as the pipeline leaves
    it; `fields` (timestamps among them) are written afterwards, as `auto_now` would not let."""
    order = Order.objects.create(
        user=user, name="Perfil", package=PROFESSIONAL.slug, subject_type="woman", status=status
    )
    credits_spend_for_order(user=user, cost=1, order_uuid=order.uuid)
    name = default_storage.save(f"training-sets/{order.uuid}.zip", ContentFile(b"PK\x05\x06"))
    trained = {"replicate_version_id": VERSION} if status == Status.GENERATING else {}
    running = {"replicate_training_id": "r8-stuck"} if status != Status.QUEUED else {}
    Order.objects.filter(pk=order.pk).update(training_zip=name, **trained, **running, **fields)
    return Order.objects.select_related("user").get(pk=order.pk)


def hours_ago(hours: float) -> Any:
    return timezone.now() - timedelta(hours=hours)


def sync() -> None:
    call_command("sync_replicate", verbosity=0)


@pytest.mark.parametrize(("status", "clock", "stage"), STAGES)
def test_it_fails_an_order_stuck_in_its_stage_once_with_one_email_and_a_refund(
    replicate: Any, dora: User, settings: Any, status: Status, clock: str, stage: Stage
) -> None:
    settings.STUCK_AFTER_HOURS = 6
    # Queued at birth (the form's order has no queued_at); the others entered their stage later.
    entered = {} if status == Status.QUEUED else {clock: hours_ago(7)}
    order = order_in(dora, status, created_at=hours_ago(9), updated_at=hours_ago(7), **entered)
    assert credit_balance(dora) == 0

    sync()
    sync()  # the next cron run finds it failed already

    order.refresh_from_db()
    assert (order.status, order.failure_stage) == (Status.FAILED, stage)
    assert order.error.startswith("Your order took far too long")
    assert [message.to for message in mail.outbox] == [[dora.email]]
    assert "No hemos podido terminar tus retratos: Perfil" in mail.outbox[0].subject
    assert credit_balance(dora) == 1  # refunded, once
    failures = TrainingEvent.objects.filter(order=order, status=TrainingEvent.Outcome.FAILURE)
    assert failures.count() == 1


@pytest.mark.parametrize(("status", "clock", "stage"), STAGES)
def test_it_leaves_an_order_alone_before_its_stage_is_stuck(
    replicate: Any, dora: User, settings: Any, status: Status, clock: str, stage: Stage
) -> None:
    settings.STUCK_AFTER_HOURS = 6
    order = order_in(dora, status, created_at=hours_ago(5), **{clock: hours_ago(5)})

    sync()

    assert Order.objects.get(pk=order.pk).status == status
    assert mail.outbox == []
    assert credit_balance(dora) == 0


@pytest.mark.parametrize(("status", "clock", "stage"), STAGES)
def test_it_gives_an_old_order_that_staff_retried_its_full_time_again(
    replicate: Any, dora: User, settings: Any, status: Status, clock: str, stage: Stage
) -> None:
    settings.STUCK_AFTER_HOURS = 6
    trained = {"replicate_version_id": VERSION} if status == Status.GENERATING else {}
    order = order_in(
        dora, Status.FAILED, created_at=hours_ago(30), failed_at=hours_ago(1), **trained
    )
    assert order_retry(order)  # its follow-up waits in the queue
    if status == Status.TRAINING:  # the submission went through: Replicate is training it
        assert order.move_to(Status.TRAINING, replicate_training_id="r8-again")
    assert order.status == status

    sync()

    order.refresh_from_db()
    assert order.status == status, order.error_detail
    assert mail.outbox == []
    assert credit_balance(dora) == 0  # spent once, not refunded: it did not fail again
