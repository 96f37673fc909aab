"""The worker's own look at Replicate, so that a lost webhook costs a minute or two.

Webhooks are how we hear that a training or prediction moved on; when one is lost (a restart,
a network fault), `sync_replicate` notices only after SYNC_AFTER_MINUTES plus cron's interval.
So while an order is in progress the worker asks Replicate itself: first REPLICATE_POLL_SECONDS
after the submission, then twice as long each time up to REPLICATE_POLL_MAX_SECONDS, until the
order is over. What it learns goes through the same forward-only transitions as a webhook, so
a poll and a webhook arriving together change the order once.

While the order trains, the poll also stores the training's progress for the order page (which
only reads it), so it comes at least every REPLICATE_PROGRESS_SECONDS then.
"""

from __future__ import annotations

import logging

from django.conf import settings

from training.followups import FollowUp
from training.generation import apply_prediction_update
from training.models import Order, Prediction, Status
from training.replicate.client import ReplicateGateway, client_from_settings
from training.trainings import apply_training_update

logger = logging.getLogger(__name__)

IN_PROGRESS = (Status.QUEUED, Status.TRAINING, Status.GENERATING)


def order_poll(
    *, order_id: int, gateway: ReplicateGateway | None = None
) -> tuple[list[FollowUp], bool]:
    """Apply what Replicate says about the order's running jobs; and whether to ask again."""
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None or order.status not in IN_PROGRESS:
        return [], False
    gateway = gateway or client_from_settings()
    followups: list[FollowUp] = []
    try:
        if order.status == Status.TRAINING and order.replicate_training_id:
            info = gateway.get_training(order.replicate_training_id)
            followups += apply_training_update(info=info, order=order)
        elif order.status == Status.GENERATING:
            followups += poll_predictions(order, gateway)
    except Exception:  # Replicate unreachable now: the next poll (or sync) asks again
        logger.warning("order %s: could not poll Replicate", order.uuid, exc_info=True)
    return followups, True


def poll_predictions(order: Order, gateway: ReplicateGateway) -> list[FollowUp]:
    """Each prediction Replicate is still running for us, as far as we know."""
    running = order.predictions.filter(
        status__in=[Prediction.State.STARTING, Prediction.State.PROCESSING]
    ).exclude(replicate_prediction_id="")
    followups: list[FollowUp] = []
    for prediction in running:
        info = gateway.get_prediction(prediction.replicate_prediction_id)
        followups += apply_prediction_update(info=info, prediction=prediction) or []
    return followups


def next_poll_seconds(previous: int, *, moved: bool, training: bool = False) -> int:
    """Back off while nothing happens; start again from the first delay when the order moved.

    While the order trains, never longer than REPLICATE_PROGRESS_SECONDS: the progress bar a
    person watches is only as fresh as the last poll.
    """
    delay = settings.REPLICATE_POLL_SECONDS
    if not moved:
        delay = min(previous * 2, settings.REPLICATE_POLL_MAX_SECONDS)
    return min(delay, settings.REPLICATE_PROGRESS_SECONDS) if training else delay


def is_training(order_id: int) -> bool:
    return Order.objects.filter(pk=order_id, status=Status.TRAINING).exists()
