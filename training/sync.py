"""`manage.py sync_replicate`: what a lost or late webhook left behind, found by asking Replicate.

Trainings and predictions with no news for SYNC_AFTER_MINUTES are looked up and applied through
the same forward-only transitions as a webhook; creates that were never answered are adopted or
handed back; trainings no order wants any more are canceled (each one is billed). The worker's
own poll (`polling.py`) covers the first minutes of an order; this covers the rest, and a
laptop without a public URL.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from training.followups import FollowUp, Next
from training.generation import adopt_prediction, apply_prediction_update, find_prediction_for
from training.models import Order, Prediction, Status
from training.replicate.client import ReplicateGateway, client_from_settings
from training.replicate.payloads import TrainingInfo
from training.trainings import CLOCK_SKEW, apply_training_update

logger = logging.getLogger(__name__)


def sync_quiet_trainings(*, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Ask Replicate about orders with no news for SYNC_AFTER_MINUTES (lost or late webhooks)."""
    quiet_since = timezone.now() - timedelta(minutes=settings.SYNC_AFTER_MINUTES)
    gateway = gateway or client_from_settings()
    followups: list[FollowUp] = []
    training = Order.objects.filter(status=Status.TRAINING, updated_at__lt=quiet_since)
    for order in training.select_related("user"):
        try:
            info = gateway.get_training(order.replicate_training_id)
        except Exception:  # one unreachable training must not stop the others
            logger.exception("order %s: sync could not read its training", order.uuid)
            continue
        followups += apply_training_update(info=info, order=order)
    queued = Order.objects.filter(status=Status.QUEUED, updated_at__lt=quiet_since)
    followups += [FollowUp(Next.SUBMIT_TRAINING, pk) for pk in queued.values_list("pk", flat=True)]
    cancel_orphan_trainings(gateway=gateway)
    return followups


def cancel_orphan_trainings(*, gateway: ReplicateGateway) -> int:
    """Stop running trainings no order wants (a create that timed out but went through, for an
    order that failed, was canceled or deleted, or got another training): each one is billed."""
    since = timezone.now() - timedelta(hours=settings.STUCK_AFTER_HOURS) - CLOCK_SKEW
    canceled = 0
    try:
        for info in gateway.list_trainings():
            if info.created_at and info.created_at < since:
                break  # newest first; older ones ended long ago
            if not info.is_terminal and is_orphan(info):
                logger.warning("sync: canceling orphan training %s", info.id)
                gateway.cancel_training(info.id)
                canceled += 1
    except Exception:  # the next run looks again
        logger.exception("sync: could not look for orphan trainings")
    return canceled


def is_orphan(info: TrainingInfo) -> bool:
    """Whether the training belongs to one of our orders that no longer wants it."""
    orders = Order.objects.all()
    input_url = info.input.get("input_images")
    order = orders.filter(training_input_url=input_url).first() if input_url else None
    prefix = f"{settings.REPLICATE_OWNER}/headshots-"
    if order is None and info.destination and info.destination.startswith(prefix):
        uuid = info.destination.removeprefix(prefix)
        order = orders.filter(uuid=uuid).first() if is_uuid(uuid) else None
        if order is None:
            return True  # our model's naming, its order purged
    if order is None:
        return False  # not ours: another app may share the account
    if order.status in (Status.FAILED, Status.CANCELED) or order.deleted_at is not None:
        return True
    return bool(order.replicate_training_id) and order.replicate_training_id != info.id


def is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


def sync_quiet_predictions(*, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Predictions with no news for SYNC_AFTER_MINUTES are looked up; stored outputs resumed;
    unanswered creates adopted or made again; generations that never began begun."""
    quiet_since = timezone.now() - timedelta(minutes=settings.SYNC_AFTER_MINUTES)
    gateway = gateway or client_from_settings()
    followups = recover_unanswered_creates(gateway=gateway, quiet_since=quiet_since)
    followups += restart_empty_generations(quiet_since=quiet_since)
    running = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status__in=[Prediction.State.STARTING, Prediction.State.PROCESSING],
        updated_at__lt=quiet_since,
    ).exclude(replicate_prediction_id="")
    for prediction in running.select_related("order"):
        try:
            info = gateway.get_prediction(prediction.replicate_prediction_id)
        except Exception:  # one unreachable prediction must not stop the others
            logger.exception("prediction %s: sync could not read it", prediction.pk)
            continue
        followups += apply_prediction_update(info=info, prediction=prediction) or []
    unstored = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status=Prediction.State.SUCCEEDED,
        outputs_stored=False,
        updated_at__lt=quiet_since,
    )
    followups += [
        FollowUp(Next.STORE_HEADSHOTS, pk) for pk in unstored.values_list("pk", flat=True)
    ]
    pending = Order.objects.filter(
        status=Status.GENERATING,
        predictions__status=Prediction.State.PENDING,
        predictions__updated_at__lt=quiet_since,
    ).distinct()
    followups += [
        FollowUp(Next.GENERATE_HEADSHOTS, pk) for pk in pending.values_list("pk", flat=True)
    ]
    return followups


def recover_unanswered_creates(
    *, gateway: ReplicateGateway, quiet_since: datetime
) -> list[FollowUp]:
    """Rows left `starting` without an id (the creating worker died or never heard back): adopt
    what Replicate has for them, or, when it has nothing, hand them back to be created."""
    abandoned = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status=Prediction.State.STARTING,
        replicate_prediction_id="",
        updated_at__lt=quiet_since,
    ).select_related("order")
    followups: list[FollowUp] = []
    for prediction in abandoned:
        try:
            info = find_prediction_for(prediction.order, prediction, gateway)
        except Exception:  # one unreachable lookup must not stop the others
            logger.exception("prediction %s: sync could not look it up", prediction.pk)
            continue
        if info is not None:
            followups += adopt_prediction(info=info, prediction=prediction, gateway=gateway)
        elif prediction.release():
            followups.append(FollowUp(Next.GENERATE_HEADSHOTS, prediction.order_id))
    return followups


def restart_empty_generations(*, quiet_since: datetime) -> list[FollowUp]:
    """Orders generating without a single prediction row: the task that makes them died first."""
    empty = Order.objects.filter(
        status=Status.GENERATING, updated_at__lt=quiet_since, predictions__isnull=True
    )
    return [FollowUp(Next.GENERATE_HEADSHOTS, pk) for pk in empty.values_list("pk", flat=True)]
