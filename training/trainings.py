"""Stage "training": submit an order's photo set to Replicate once, and apply what Replicate
says about the training.

At most one training per order, even when the submitting task runs twice or the create call
fails ambiguously: the order is claimed with a conditional update before anything is sent, the
training's input URL is recorded before the create call, and after a timeout or a dropped
connection we look for a training with that input before creating another. When even that lookup
gets no answer, the order stays queued with its input URL (a paid training may be running) and
`sync_replicate` looks again later (`sync.py`). Failing, cancelling and retrying an order are
`lifecycle.py`'s, for every stage.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import BinaryIO, cast

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from training.followups import FollowUp, Next
from training.lifecycle import delete_training_set, order_fail, seconds_between
from training.models import (
    Order,
    Stage,
    Status,
    TrainingEvent,
)
from training.replicate.backoff import CREATE_ATTEMPTS, with_backoff
from training.replicate.client import ReplicateGateway, client_from_settings
from training.replicate.errors import (
    ReplicateAmbiguous,
    ReplicateRateLimited,
    ReplicateRejected,
    ReplicateUnavailable,
)
from training.replicate.payloads import TrainingInfo

logger = logging.getLogger(__name__)


logger = logging.getLogger(__name__)
LOOKUP_ATTEMPTS = 3
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
SERVICE_DOWN = _("The image service is not answering. Nothing was charged; please try again later.")


class SubmissionUnclear(Exception):
    """Replicate may hold a training of this order, but we could not look: never fail or create
    again on a guess; the order stays queued and the next submission (sync) looks again."""


def destination_name(order: Order) -> str:
    return f"headshots-{order.uuid}"


def submit_training(*, order_id: int, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Create the destination model and the order's one training, or fail the order."""
    order = Order.objects.select_related("user").get(pk=order_id)
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


def claim_submission(order: Order) -> bool:
    """Only one submitter per order; a claim left by a dead submitter expires."""
    if order.status != Status.QUEUED or order.replicate_training_id:
        return False
    now = timezone.now()
    unclaimed = Order.objects.filter(
        pk=order.pk, status=Status.QUEUED, submission_started_at__isnull=True
    )
    if unclaimed.update(submission_started_at=now) == 1:
        order.submission_started_at = now
        return True
    stale = Order.objects.filter(
        pk=order.pk, status=Status.QUEUED, submission_started_at__lt=now - STALE_CLAIM
    )
    if stale.update(submission_started_at=now) == 1:
        order.refresh_from_db()
        return True
    return False


def create_training(order: Order, gateway: ReplicateGateway) -> TrainingInfo:
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


def trainer_input(order: Order) -> dict[str, object]:
    """The inputs of ostris/flux-dev-lora-trainer, from settings."""
    return {
        "input_images": order.training_input_url,
        "trigger_word": "ohwx",
        "steps": settings.TRAINING_STEPS,
        "lora_rank": settings.TRAINING_LORA_RANK,
        "learning_rate": settings.TRAINING_LEARNING_RATE,
        "autocaption": True,
    }


def record_input_url(order: Order, gateway: ReplicateGateway) -> None:
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
    Order.objects.filter(pk=order.pk).update(training_input_url=url, training_file_id=file_id)
    order.training_input_url, order.training_file_id = url, file_id


def find_training_for(order: Order, gateway: ReplicateGateway) -> TrainingInfo | None:
    """The training created earlier for this order; SubmissionUnclear when Replicate won't say."""
    if not order.training_input_url:
        return None
    try:
        return with_backoff(partial(search_trainings, order, gateway), attempts=LOOKUP_ATTEMPTS)
    except (ReplicateUnavailable, ReplicateRateLimited) as error:
        raise SubmissionUnclear(f"could not look up its training: {error!r}") from error


def search_trainings(order: Order, gateway: ReplicateGateway) -> TrainingInfo | None:
    """Match on the order's own input URL, never on a time window around its submission (another
    order's training can fall into it); page back to the order's birth, nothing can be older."""
    oldest = order.created_at - CLOCK_SKEW
    for info in gateway.list_trainings():
        if info.input.get("input_images") == order.training_input_url:
            return info
        if info.created_at and info.created_at < oldest:
            return None  # the list is newest first
    return None


def order_for_training(info: TrainingInfo) -> Order | None:
    """The order a training belongs to: by id, or by input URL before the id was recorded."""
    orders = Order.objects.select_related("user")
    order = orders.filter(replicate_training_id=info.id).first()
    input_url = info.input.get("input_images")
    if order is None and input_url:
        order = orders.filter(training_input_url=input_url, replicate_training_id="").first()
    return order


def apply_training_update(*, info: TrainingInfo, order: Order | None = None) -> list[FollowUp]:
    """Move the order as far as the training's status says; never backwards, never twice."""
    order = order or order_for_training(info)
    if order is None:
        return []
    with transaction.atomic(savepoint=False):
        # Lock the row: news about one training arriving together is applied one at a time.
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("user").get(pk=order.pk)
        )
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
            if info.predict_time:  # Replicate bills a failed training for the time it ran
                Order.objects.filter(pk=order.pk).update(predict_time=info.predict_time)
                order.predict_time = info.predict_time
                order.record_spend()
            return order_fail(order, stage=Stage.TRAINING, error=message, detail=info.error or "")
    return []


def training_succeeded(order: Order, info: TrainingInfo) -> list[FollowUp]:
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


def progress_key(order: Order) -> str:
    return f"training-progress:{order.uuid}"


def progress_cache_seconds() -> int:
    """How long a progress read stays shown: a few of the worker's polls (it refreshes it every
    REPLICATE_PROGRESS_SECONDS while the order trains); a stalled worker's figure then goes."""
    return 3 * settings.REPLICATE_PROGRESS_SECONDS


def remember_progress(order: Order, info: TrainingInfo) -> None:
    if info.progress is not None:
        cache.set(progress_key(order), info.progress, progress_cache_seconds())


def training_progress(order: Order) -> int | None:
    """The training's percentage as the worker last read it, or None when nothing is known.

    Only the cache is read: a page never waits on Replicate (that held a web worker for as long
    as Replicate took to answer). The worker's poll (`polling.order_poll`), `sync_replicate` and
    the webhooks keep it fresh, and they, not the page, move the order when a training ends.
    """
    if order.status != Status.TRAINING:
        return None
    cached: int | None = cache.get(progress_key(order))
    return cached
