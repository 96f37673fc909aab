"""Stage "training": submit an order's photo set to Replicate, apply what Replicate says, fail
with rollback.

At most one training per order, even when the submitting task runs twice or the create call
fails ambiguously: the order is claimed with a conditional update before anything is sent, the
training's input URL is recorded before the create call, and after a timeout or a dropped
connection we look for a training with that input before creating another. When even that lookup
gets no answer, the order stays queued with its input URL (a paid training may be running) and
`sync_replicate` looks again later; trainings that no order wants any more are canceled there.
"""

from __future__ import annotations

import logging
import time
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import BinaryIO, cast

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from accounts.credits import credits_refund_order
from training.followups import FollowUp, Next
from training.models import (
    PREDICTION_FINAL_STATES,
    STATUS_TIMESTAMPS,
    HeadshotModel,
    Stage,
    Status,
    TrainingEvent,
)
from training.notifications import notify_order_failed
from training.replicate.client import (
    ReplicateAmbiguous,
    ReplicateGateway,
    ReplicateRateLimited,
    ReplicateRejected,
    ReplicateUnavailable,
    TrainingInfo,
    client_from_settings,
)

logger = logging.getLogger(__name__)

CREATE_ATTEMPTS = 5
LOOKUP_ATTEMPTS = 3
MAX_WAIT_SECONDS = 30.0
# A claim older than this belongs to a submitter that died; another may take over.
STALE_CLAIM = timedelta(minutes=5)
# Replicate's clock and ours may differ: a training listed as created this long before its order
# may still be the order's own.
CLOCK_SKEW = timedelta(minutes=5)

REJECTION_MESSAGES = {
    401: _("The image service did not accept our credentials. Nothing was charged; our team "
           "has been told."),
    402: _("The image service is out of credit; nothing was charged. Please try again later."),
    422: _("The image service refused this photo set. Nothing was charged; please start a new "
           "order."),
}  # fmt: skip
TRAINING_FAILED = _(
    "The training of your model failed. Nothing was charged; you can start a new order."
)
TRAINING_CANCELED = _("The training was canceled. Nothing was charged.")
STUCK = _("Your order took far too long and was stopped. Nothing was charged; please try again.")
SERVICE_DOWN = _("The image service is not answering. Nothing was charged; please try again later.")


class SubmissionUnclear(Exception):
    """Replicate may hold a training of this order, but we could not look: never fail or create
    again on a guess; the order stays queued and the next submission (sync) looks again."""


def destination_name(order: HeadshotModel) -> str:
    return f"headshots-{order.uuid}"


def submit_training(*, order_id: int, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Create the destination model and the order's one training, or fail the order."""
    order = HeadshotModel.objects.select_related("user").get(pk=order_id)
    if not claim_submission(order):
        return []
    gateway = gateway or client_from_settings()
    try:
        if not order.training_input_url:  # recorded only once the model exists
            with_backoff(lambda: gateway.create_model(
                owner=settings.REPLICATE_OWNER, name=destination_name(order)
            ))  # fmt: skip
        info = find_training_for(order, gateway) or create_training(order, gateway)
    except SubmissionUnclear as unclear:
        logger.warning("order %s: %s; left queued for sync to look again", order.uuid, unclear)
        return []
    except ReplicateRejected as rejection:
        message = REJECTION_MESSAGES.get(rejection.status, REJECTION_MESSAGES[422])
        return order_fail(order, stage=Stage.TRAINING, error=message, detail=str(rejection))
    except (ReplicateUnavailable, ReplicateRateLimited, ReplicateAmbiguous) as error:
        return order_fail(order, stage=Stage.TRAINING, error=SERVICE_DOWN, detail=repr(error))
    return apply_training_update(info=info, order=order)


def claim_submission(order: HeadshotModel) -> bool:
    """Only one submitter per order; a claim left by a dead submitter expires."""
    if order.status != Status.QUEUED or order.replicate_training_id:
        return False
    now = timezone.now()
    unclaimed = HeadshotModel.objects.filter(
        pk=order.pk, status=Status.QUEUED, submission_started_at__isnull=True
    )
    if unclaimed.update(submission_started_at=now) == 1:
        order.submission_started_at = now
        return True
    stale = HeadshotModel.objects.filter(
        pk=order.pk, status=Status.QUEUED, submission_started_at__lt=now - STALE_CLAIM
    )
    if stale.update(submission_started_at=now) == 1:
        order.refresh_from_db()
        return True
    return False


def create_training(order: HeadshotModel, gateway: ReplicateGateway) -> TrainingInfo:
    """Record the input URL, then create the training; an ambiguous failure is looked up first."""
    if not order.training_input_url:
        record_input_url(order, gateway)
    for _attempt in range(CREATE_ATTEMPTS):
        try:
            return with_backoff(lambda: gateway.create_training(
                destination=f"{settings.REPLICATE_OWNER}/{destination_name(order)}",
                trainer=settings.REPLICATE_TRAINER,
                trainer_version=settings.REPLICATE_TRAINER_VERSION,
                input=trainer_input(order),
                webhook=f"{settings.SITE_URL}/webhooks/replicate/",
                webhook_events_filter=["start", "completed"],
            ))  # fmt: skip
        except ReplicateAmbiguous:
            logger.warning("order %s: training create was ambiguous; looking it up", order.uuid)
            if found := find_training_for(order, gateway):
                return found
    raise ReplicateAmbiguous("the training create never got a clear answer")


def trainer_input(order: HeadshotModel) -> dict[str, object]:
    """The inputs of ostris/flux-dev-lora-trainer, from settings."""
    return {
        "input_images": order.training_input_url,
        "trigger_word": "ohwx",
        "steps": settings.TRAINING_STEPS,
        "lora_rank": settings.TRAINING_LORA_RANK,
        "learning_rate": settings.TRAINING_LEARNING_RATE,
        "autocaption": True,
    }


def record_input_url(order: HeadshotModel, gateway: ReplicateGateway) -> None:
    """A URL Replicate can download the ZIP from: presigned S3, or Replicate's files API."""
    name = str(order.training_zip.name)
    if hasattr(default_storage, "bucket_name"):
        expire = settings.TEMP_RETENTION_HOURS * 3600
        url, file_id = default_storage.url(name, expire=expire), ""  # type: ignore[call-arg]
    else:  # local files cannot be reached from the internet
        with default_storage.open(name, "rb") as stored:
            handle = cast(BinaryIO, stored.file)  # the client wants a real file object
            uploaded = with_backoff(lambda: gateway.upload_file(
                handle, filename=f"{order.uuid}.zip", content_type="application/zip"
            ))  # fmt: skip
        url, file_id = uploaded.url, uploaded.id
    HeadshotModel.objects.filter(pk=order.pk).update(
        training_input_url=url, training_file_id=file_id
    )
    order.training_input_url, order.training_file_id = url, file_id


def find_training_for(order: HeadshotModel, gateway: ReplicateGateway) -> TrainingInfo | None:
    """The training created earlier for this order; SubmissionUnclear when Replicate won't say."""
    if not order.training_input_url:
        return None
    try:
        return with_backoff(partial(search_trainings, order, gateway), attempts=LOOKUP_ATTEMPTS)
    except (ReplicateUnavailable, ReplicateRateLimited) as error:
        raise SubmissionUnclear(f"could not look up its training: {error!r}") from error


def search_trainings(order: HeadshotModel, gateway: ReplicateGateway) -> TrainingInfo | None:
    """Match on the order's own input URL, never on a time window around its submission (another
    order's training can fall into it); page back to the order's birth, nothing can be older."""
    oldest = order.created_at - CLOCK_SKEW
    for info in gateway.list_trainings():
        if info.input.get("input_images") == order.training_input_url:
            return info
        if info.created_at and info.created_at < oldest:
            return None  # the list is newest first
    return None


def with_backoff[T](call: Callable[[], T], *, attempts: int = CREATE_ATTEMPTS) -> T:
    """Retry a call refused before acceptance (429, 5xx), honouring Retry-After."""
    delay = 1.0
    for attempt in range(attempts):
        try:
            return call()
        except ReplicateRateLimited as limited:
            if attempt == attempts - 1:
                raise
            time.sleep(min(limited.retry_after_seconds or delay, MAX_WAIT_SECONDS))
        except ReplicateUnavailable:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
        delay = min(delay * 2, MAX_WAIT_SECONDS)
    raise AssertionError("unreachable")


def order_for_training(info: TrainingInfo) -> HeadshotModel | None:
    """The order a training belongs to: by id, or by input URL before the id was recorded."""
    orders = HeadshotModel.objects.select_related("user")
    order = orders.filter(replicate_training_id=info.id).first()
    input_url = info.input.get("input_images")
    if order is None and input_url:
        order = orders.filter(training_input_url=input_url, replicate_training_id="").first()
    return order


def apply_training_update(
    *, info: TrainingInfo, order: HeadshotModel | None = None
) -> list[FollowUp]:
    """Move the order as far as the training's status says; never backwards, never twice."""
    order = order or order_for_training(info)
    if order is None:
        return []
    with transaction.atomic(savepoint=False):
        # Lock the row: news about one training arriving together is applied one at a time.
        order = HeadshotModel.objects.select_for_update().select_related("user").get(pk=order.pk)
        if order.status == Status.QUEUED:
            order.move_to(
                Status.TRAINING,
                replicate_training_id=info.id,
                replicate_model_id=f"{settings.REPLICATE_OWNER}/{destination_name(order)}",
            )
        if order.status != Status.TRAINING:
            return []  # late or repeated news about a training we are past
        remember_progress(order, info)
        if info.status == "succeeded":
            return training_succeeded(order, info)
        if info.status in ("failed", "canceled"):
            message = TRAINING_FAILED if info.status == "failed" else TRAINING_CANCELED
            return order_fail(order, stage=Stage.TRAINING, error=message, detail=info.error or "")
    return []


def training_succeeded(order: HeadshotModel, info: TrainingInfo) -> list[FollowUp]:
    """Keep the trained version, drop the ZIP, and go on to the headshots."""
    predict_time = info.predict_time or 0.0
    moved = order.move_to(
        Status.GENERATING,
        replicate_version_id=info.version or "",
        replicate_weights_url=info.weights_url or "",
        predict_time=predict_time,
        cost=round(predict_time * settings.REPLICATE_PRICE_PER_SECOND, 4),
    )
    if not moved:
        return []
    TrainingEvent.record(
        order=order,
        stage=Stage.TRAINING,
        status=TrainingEvent.Outcome.SUCCESS,
        duration=seconds_between(order.training_started_at, info.completed_at),
        metadata={"predict_time": predict_time, "replicate_version": info.version},
    )
    transaction.on_commit(lambda: delete_training_set(order))
    return [FollowUp(Next.GENERATE_HEADSHOTS, order.pk)]


def seconds_between(start: object, end: object) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())  # type: ignore[operator]


def delete_training_set(order: HeadshotModel, gateway: ReplicateGateway | None = None) -> None:
    """The spec's deleteZipAfterTraining: the ZIP, and its copy in Replicate's files API."""
    if order.training_zip:
        default_storage.delete(str(order.training_zip.name))
        HeadshotModel.objects.filter(pk=order.pk).update(training_zip="")
    delete_uploaded_copy(order, gateway)


def delete_uploaded_copy(order: HeadshotModel, gateway: ReplicateGateway | None = None) -> None:
    """The ZIP's copy in Replicate's files API: a new training uploads the ZIP again."""
    if order.training_file_id:
        try:
            (gateway or client_from_settings()).delete_file(order.training_file_id)
        except Exception:  # the file expires on Replicate anyway; never block on it
            logger.warning("order %s: could not delete file %s", order.uuid, order.training_file_id)
        HeadshotModel.objects.filter(pk=order.pk).update(training_file_id="")


def order_fail(
    order: HeadshotModel, *, stage: Stage, error: str, detail: str = ""
) -> list[FollowUp]:
    """Fail the order once, refund its credit, and ask for the rest of the rollback."""
    with transaction.atomic(savepoint=False):
        if not order.fail(stage=stage, error=error, detail=detail):
            return []
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


def progress_key(order: HeadshotModel) -> str:
    return f"training-progress:{order.uuid}"


def progress_cache_seconds() -> int:
    """How long a progress read stays shown: a few of the worker's polls (it refreshes it every
    REPLICATE_PROGRESS_SECONDS while the order trains); a stalled worker's figure then goes."""
    return 3 * settings.REPLICATE_PROGRESS_SECONDS


def remember_progress(order: HeadshotModel, info: TrainingInfo) -> None:
    if info.progress is not None:
        cache.set(progress_key(order), info.progress, progress_cache_seconds())


def training_progress(order: HeadshotModel) -> int | None:
    """The training's percentage as the worker last read it, or None when nothing is known.

    Only the cache is read: a page never waits on Replicate (that held a web worker for as long
    as Replicate took to answer). The worker's poll (`polling.order_poll`), `sync_replicate` and
    the webhooks keep it fresh, and they, not the page, move the order when a training ends.
    """
    if order.status != Status.TRAINING:
        return None
    cached: int | None = cache.get(progress_key(order))
    return cached


def roll_back_order(*, order_id: int) -> None:
    """After a failure: delete any partial headshots and the photos nothing can use, and tell
    the person.

    An untrained order's ZIP stays: staff may retry its training until TEMP_RETENTION_HOURS
    after the failure, when `cleanup_temp_files` deletes it (Replicate's copy goes at once).
    """
    order = HeadshotModel.objects.select_related("user").get(pk=order_id)
    if order.status != Status.FAILED:
        return
    if order.replicate_version_id:  # trained: a retry makes only the headshots again
        delete_training_set(order)
    else:
        delete_uploaded_copy(order)
    delete_headshot_files(order)
    notify_order_failed(order)


def delete_headshot_files(order: HeadshotModel) -> None:
    """Every stored image of the order, and their rows."""
    for headshot in order.headshots.all():
        default_storage.delete(str(headshot.image.name))
        if headshot.preview:
            default_storage.delete(str(headshot.preview.name))
    order.headshots.all().delete()


def sync_quiet_trainings(*, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Ask Replicate about orders with no news for SYNC_AFTER_MINUTES (lost or late webhooks)."""
    quiet_since = timezone.now() - timedelta(minutes=settings.SYNC_AFTER_MINUTES)
    gateway = gateway or client_from_settings()
    followups: list[FollowUp] = []
    training = HeadshotModel.objects.filter(status=Status.TRAINING, updated_at__lt=quiet_since)
    for order in training.select_related("user"):
        try:
            info = gateway.get_training(order.replicate_training_id)
        except Exception:  # one unreachable training must not stop the others
            logger.exception("order %s: sync could not read its training", order.uuid)
            continue
        followups += apply_training_update(info=info, order=order)
    queued = HeadshotModel.objects.filter(status=Status.QUEUED, updated_at__lt=quiet_since)
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
    orders = HeadshotModel.objects.all()
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


def fail_stuck_orders() -> list[FollowUp]:
    """Orders stuck in one stage for longer than STUCK_AFTER_HOURS fail, with refund and e-mail.

    Each stage's clock starts when the order entered it (queued, training started, training
    finished), not at its birth: an old order that staff retried gets its full time again, and a
    trained order is not failed, losing the paid-for model, while sync can still finish it.
    """
    too_old = timezone.now() - timedelta(hours=settings.STUCK_AFTER_HOURS)
    stuck = HeadshotModel.objects.filter(stuck_in_stage(too_old)).select_related("user")
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


def order_cancel(order: HeadshotModel) -> list[FollowUp]:
    """The person stops an order in progress: canceled, refunded; Replicate's jobs stopped next."""
    with transaction.atomic():
        if order.is_final or not order.move_to(
            Status.CANCELED, error=CANCELED_BY_PERSON, failure_stage=""
        ):
            return []
        credits_refund_order(user=order.user, order_uuid=order.uuid, reason="canceled")
    return [FollowUp(Next.CANCEL_REMOTE, order.pk)]


def cancel_remote_jobs(*, order_id: int, gateway: ReplicateGateway | None = None) -> None:
    """Stop the order's training and unfinished predictions on Replicate; drop its files."""
    order = HeadshotModel.objects.get(pk=order_id)
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


def try_quietly(call: Callable[[], object], order: HeadshotModel) -> None:
    """A clean-up call to Replicate that may fail (already finished, gone) without consequence."""
    try:
        call()
    except Exception:  # clean-up is best effort; the job ends on its own anyway
        logger.warning("order %s: a clean-up call to Replicate failed", order.uuid, exc_info=True)


class PhotosGone(Exception):
    """A failed order's training must run again, but its photos are deleted (they are kept
    TEMP_RETENTION_HOURS after the failure): only a new order can help."""


def order_retry(order: HeadshotModel) -> list[FollowUp] | None:
    """Staff give a failed order another go, free of charge; None when it is not failed (any
    more), PhotosGone when its training must run again and its photos are deleted.

    The move stamps the stage's timestamp anew, so the stuck clock starts again.
    """
    if order.status != Status.FAILED:
        return None
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
    if not order.move_to(Status.QUEUED, submission_started_at=None, **reset, **training_reset):
        return None
    return [FollowUp(Next.SUBMIT_TRAINING, order.pk)]


def forget_headshots(order: HeadshotModel) -> None:
    """Delete the order's headshot and prediction rows now and their files once that commits,
    so a rollback leaves no row pointing at a deleted file."""
    names = [
        str(name)
        for image, preview in order.headshots.values_list("image", "preview")
        for name in (image, preview)
        if name
    ]
    order.headshots.all().delete()
    order.predictions.all().delete()
    transaction.on_commit(partial(delete_stored, names))


def delete_stored(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def training_set_kept(order: HeadshotModel) -> bool:
    """Whether a failed order's photos are still there to train on. Past the retention they
    count as gone even before the hourly cleanup has run: the answer does not depend on cron."""
    if order.failed_at is None or not order.training_zip:
        return False
    kept_until = order.failed_at + timedelta(hours=settings.TEMP_RETENTION_HOURS)
    return timezone.now() < kept_until and default_storage.exists(str(order.training_zip.name))
