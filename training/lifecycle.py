"""An order's life outside the happy path, for every stage: fail with rollback and refund,
cancel, retry, and the stuck orders nobody heard of.

Submission (`trainings.py`), generation (`generation.py`, `completion.py`) and the person's own
requests (`orders.py`) all end an order through here, so a failure is refunded, logged and told
exactly once, whichever stage saw it. Nothing here creates work on Replicate: it only stops jobs
and deletes files; what runs next comes back as follow-ups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from accounts.credits import credits_refund_order
from lib.storage import delete_quietly
from training.followups import FollowUp, Next
from training.models import (
    PREDICTION_FINAL_STATES,
    STATUS_TIMESTAMPS,
    Order,
    Stage,
    Status,
    TrainingEvent,
)
from training.notifications import notify_order_failed
from training.replicate.client import ReplicateGateway, client_from_settings

logger = logging.getLogger(__name__)


STUCK = _("Your order took far too long and was stopped. Nothing was charged; please try again.")


def seconds_between(start: object, end: object) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())  # type: ignore[operator]


def delete_training_set(order: Order, gateway: ReplicateGateway | None = None) -> None:
    """The spec's deleteZipAfterTraining: the ZIP, and its copy in Replicate's files API."""
    if order.training_zip and delete_quietly(str(order.training_zip.name)):
        Order.objects.filter(pk=order.pk).update(training_zip="")
    delete_uploaded_copy(order, gateway)


def delete_uploaded_copy(order: Order, gateway: ReplicateGateway | None = None) -> None:
    """The ZIP's copy in Replicate's files API: a new training uploads the ZIP again."""
    if order.training_file_id:
        try:
            (gateway or client_from_settings()).delete_file(order.training_file_id)
        except Exception:  # the file expires on Replicate anyway; never block on it
            logger.warning("order %s: could not delete file %s", order.uuid, order.training_file_id)
        Order.objects.filter(pk=order.pk).update(training_file_id="")


def order_fail(order: Order, *, stage: Stage, error: str, detail: str = "") -> list[FollowUp]:
    """Fail the order once, refund its credit, and ask for the rest of the rollback."""
    with transaction.atomic(savepoint=False):
        if not order.fail(stage=stage, error=error, detail=detail):
            return []
        if order.user is not None:  # an erased person's ledger rows are anonymous already
            credits_refund_order(user=order.user, order_uuid=order.uuid, reason=f"{stage} failed")
        TrainingEvent.record(
            order=order,
            stage=stage,
            status=TrainingEvent.Outcome.FAILURE,
            duration=seconds_between(order.created_at, order.failed_at),
            error=detail or error,
        )
    logger.warning("order %s failed at %s: %s", order.uuid, stage, detail or error)
    return [FollowUp(Next.ROLL_BACK, order.pk)]


def roll_back_order(*, order_id: int) -> None:
    """After a failure: delete any partial headshots and the photos nothing can use, and tell
    the person.

    An untrained order's ZIP stays: staff may retry its training until TEMP_RETENTION_HOURS
    after the failure, when `cleanup_temp_files` deletes it (Replicate's copy goes at once).
    """
    order = Order.objects.select_related("user").get(pk=order_id)
    if order.status != Status.FAILED:
        return
    if order.replicate_version_id:  # trained: a retry makes only the headshots again
        delete_training_set(order)
    else:
        delete_uploaded_copy(order)
    delete_headshot_files(order)
    notify_order_failed(order)


def delete_headshot_files(order: Order) -> None:
    """Every stored image of the order, and their rows."""
    for headshot in order.headshots.all():
        for stored in (headshot.image, headshot.preview, headshot.jpeg):
            if stored:
                delete_quietly(str(stored.name))
    order.headshots.all().delete()


def fail_stuck_orders() -> list[FollowUp]:
    """Orders stuck in one stage for longer than STUCK_AFTER_HOURS fail, with refund and e-mail.

    Each stage's clock starts when the order entered it (queued, training started, training
    finished), not at its birth: an old order that staff retried gets its full time again, and a
    trained order is not failed, losing the paid-for model, while sync can still finish it.
    """
    too_old = timezone.now() - timedelta(hours=settings.STUCK_AFTER_HOURS)
    stuck = Order.objects.filter(stuck_in_stage(too_old)).select_related("user")
    followups: list[FollowUp] = []
    for order in stuck:
        stage = Stage.COMPLETION if order.status == Status.GENERATING else Stage.TRAINING
        followups += order_fail(order, stage=stage, error=STUCK, detail="stuck: no news")
    return followups


def stuck_in_stage(too_old: datetime) -> models.Q:
    """In its stage since before `too_old`; an order born queued has only its `created_at`."""
    stuck = models.Q()
    for status in (Status.QUEUED, Status.TRAINING, Status.GENERATING):
        since = STATUS_TIMESTAMPS[status]
        stuck |= models.Q(status=status, **{f"{since}__lt": too_old})
        stuck |= models.Q(status=status, **{since: None}, created_at__lt=too_old)
    return stuck


CANCELED_BY_PERSON = _("You canceled this order. Nothing was charged.")


def order_cancel(order: Order) -> list[FollowUp]:
    """The person stops an order in progress: canceled, refunded; Replicate's jobs stopped next."""
    with transaction.atomic():
        if order.is_final or not order.move_to(
            Status.CANCELED, error=CANCELED_BY_PERSON, failure_stage=""
        ):
            return []
        if order.user is not None:
            credits_refund_order(user=order.user, order_uuid=order.uuid, reason="canceled")
    return [FollowUp(Next.CANCEL_REMOTE, order.pk)]


def cancel_remote_jobs(*, order_id: int, gateway: ReplicateGateway | None = None) -> None:
    """Stop the order's training and unfinished predictions on Replicate; drop its files."""
    order = Order.objects.get(pk=order_id)
    gateway = gateway or client_from_settings()
    if order.replicate_training_id and not order.replicate_version_id:
        try_quietly(lambda: gateway.cancel_training(order.replicate_training_id), order)
    unfinished = order.predictions.exclude(replicate_prediction_id="").exclude(
        status__in=PREDICTION_FINAL_STATES
    )
    for prediction in unfinished:
        try_quietly(partial(gateway.cancel_prediction, prediction.replicate_prediction_id), order)
    delete_training_set(order, gateway)
    delete_headshot_files(order)


def try_quietly(call: Callable[[], object], order: Order) -> None:
    """A clean-up call to Replicate that may fail (already finished, gone) without consequence."""
    try:
        call()
    except Exception:  # clean-up is best effort; the job ends on its own anyway
        logger.warning("order %s: a clean-up call to Replicate failed", order.uuid, exc_info=True)


class PhotosGone(Exception):
    """A failed order's training must run again, but its photos are deleted (they are kept
    TEMP_RETENTION_HOURS after the failure): only a new order can help."""


def order_retry(order: Order) -> list[FollowUp] | None:
    """Staff give a failed order another go, free of charge; None when it is not failed (any
    more), PhotosGone when its training must run again and its photos are deleted.

    The move stamps the stage's timestamp anew, so the stuck clock starts again.
    """
    if order.status != Status.FAILED or order.deleted_at is not None:
        return None  # a deleted order is being erased (or was): nothing to make again
    reset = {"error": "", "error_detail": "", "failure_stage": "", "failed_at": None}
    if order.replicate_version_id:  # trained: only the headshots need making again
        with transaction.atomic():
            # The move first: a second retry (or a stale page) must not delete the headshots
            # of an order that is generating again.
            if not order.move_to(Status.GENERATING, **reset):
                return None
            forget_headshots(order)
        return [FollowUp(Next.GENERATE_HEADSHOTS, order.pk)]
    if not training_set_kept(order):
        raise PhotosGone(str(order.uuid))
    training_reset = {"replicate_training_id": "", "training_input_url": "", "training_file_id": ""}
    with transaction.atomic():
        if not order.move_to(Status.QUEUED, submission_started_at=None, **reset, **training_reset):
            return None
        order.keep_billed_seconds(training=True)
    return [FollowUp(Next.SUBMIT_TRAINING, order.pk)]


def forget_headshots(order: Order) -> None:
    """Delete the order's headshot and prediction rows now and their files once that commits,
    so a rollback leaves no row pointing at a deleted file."""
    names = [
        str(name)
        for names in order.headshots.values_list("image", "preview", "jpeg")
        for name in names
        if name
    ]
    order.keep_billed_seconds(training=False)
    order.headshots.all().delete()
    order.predictions.all().delete()
    transaction.on_commit(partial(delete_stored, names))


def delete_stored(names: list[str]) -> None:
    for name in names:
        delete_quietly(name)


def training_set_kept(order: Order) -> bool:
    """Whether a failed order's photos are still there to train on. Past the retention they
    count as gone even before the hourly cleanup has run: the answer does not depend on cron."""
    if order.failed_at is None or not order.training_zip:
        return False
    kept_until = order.failed_at + timedelta(hours=settings.TEMP_RETENTION_HOURS)
    return timezone.now() < kept_until and default_storage.exists(str(order.training_zip.name))
