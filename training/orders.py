"""Stage "upload": turn a person's checked photos into a queued order, spending the credit.

The order is all or nothing. The photos are checked and zipped first (slow, outside any
transaction); only then, in one transaction, is the credit spent and the row written. If
anything fails after the ZIP was stored, the ZIP is deleted, so a refusal leaves no row, no
object and no temporary file.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.credits import NotEnoughCredits, credit_balance, credits_spend_for_order
from accounts.models import User
from lib.storage import delete_quietly
from privacy.consent import Consent
from training import zip_uploads
from training.followups import FollowUp, Next
from training.lifecycle import order_cancel
from training.models import Order, Stage, Status, TrainingEvent
from training.order_erasure import order_erase
from training.packages import Package
from training.photos import photo_sets
from training.photos.problems import PhotoSetRefused, TrainingSetNotStored
from training.photos.zip_writing import write_training_zip
from training.quotas import QuotaExceeded, check_quotas, remember_for_cooldown
from training.replicate.client import ReplicateGateway, client_from_settings

logger = logging.getLogger(__name__)
# How long a deleted order waits for its purge task before cron purges it again.
PURGE_GRACE = timedelta(minutes=30)

Message = str | Promise


@dataclass
class OrderRefused(Exception):
    """Why an order was not created: (photo name or None, sentence for the person) pairs."""

    problems: list[tuple[str | None, Message]] = field(default_factory=list)
    # What kind of refusal, for the API's status code: "photos", "credits", "cooldown",
    # "active_orders", "storage" or "unavailable" (nothing wrong with the request; try later).
    reason: str = "photos"


@dataclass(frozen=True)
class CreatedOrder:
    """The new order, with the photos' warnings (blur, small face) to show the person, and
    what the caller enqueues next (submitting the training), as every other stage returns."""

    order: Order
    warnings: Sequence[tuple[str, Message]]
    followups: list[FollowUp]


def not_enough_credits(balance: int, cost: int) -> OrderRefused:
    message = _("This order costs %(cost)d credits and you have %(balance)d. Nothing was charged.")
    return OrderRefused([(None, message % {"cost": cost, "balance": balance})], reason="credits")


def order_create(
    *,
    user: User,
    package: Package,
    name: str,
    subject_type: str,
    photos: Sequence[UploadedFile],
    consent: Consent,
) -> CreatedOrder:
    """The form's order: check and zip the photos, then write the order and spend its credit."""
    return create_order(
        user=user,
        package=package,
        name=name,
        subject_type=subject_type,
        consent=consent,
        prepare=lambda: photo_sets.prepare_photo_set(photos),
    )


def order_create_from_upload(
    *,
    user: User,
    package: Package,
    name: str,
    subject_type: str,
    upload_name: str,
    consent: Consent,
) -> CreatedOrder:
    """The API's order: the person's uploaded ZIP, checked entry by entry and photo by photo,
    re-zipped as the training set. The upload is deleted afterwards, whatever happened."""
    with zip_uploads.upload_copied(upload_name) as zip_path:
        return create_order(
            user=user,
            package=package,
            name=name,
            subject_type=subject_type,
            consent=consent,
            prepare=lambda: photo_sets.validate_zip_file(zip_path),
        )


PhotoSetMaker = Callable[[], AbstractContextManager[photo_sets.PhotoSet]]


def create_order(
    *,
    user: User,
    package: Package,
    name: str,
    subject_type: str,
    consent: Consent,
    prepare: PhotoSetMaker,
) -> CreatedOrder:
    """Prepare and store the training set, then write the queued order and spend its credit,
    or refuse (OrderRefused) leaving no row, no object and no temporary file."""
    cost = settings.TRAINING_CREDIT_COST
    if (balance := credit_balance(user)) < cost:  # cheap early answers; re-checked under lock
        raise not_enough_credits(balance, cost)
    try:
        check_quotas(user=user)
    except QuotaExceeded as refusal:
        raise quota_refusal(refusal) from None
    started = time.monotonic()
    order_uuid = uuid.uuid4()
    zip_name = f"training-sets/{order_uuid}.zip"
    stored = store_training_set(prepare, zip_name)
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=user.pk).first()  # one order at a time
            check_quotas(user=user, new_bytes=stored.zip_size)
            credits_spend_for_order(user=user, cost=cost, order_uuid=order_uuid)
            order = Order.objects.create(
                uuid=order_uuid,
                user=user,
                name=name,
                package=package.slug,
                subject_type=subject_type,
                status=Status.QUEUED,
                training_zip=stored.zip_name,
                image_count=stored.image_count,
                zip_size=stored.zip_size,
                input_size=stored.input_bytes,
                face_embeddings=stored.face_embeddings,
                consent_version=consent.version,
                consented_at=consent.given_at,
            )
            record_upload_event(order, stored, duration=time.monotonic() - started)
    except NotEnoughCredits as refusal:
        delete_quietly(stored.zip_name)
        raise not_enough_credits(refusal.balance, refusal.cost) from None
    except QuotaExceeded as refusal:
        delete_quietly(stored.zip_name)
        raise quota_refusal(refusal) from None
    except BaseException:
        delete_quietly(stored.zip_name)
        raise
    logger.info(
        "order %s queued: %d photos, %d bytes", order.uuid, order.image_count, order.zip_size
    )
    submit = FollowUp(Next.SUBMIT_TRAINING, order.pk)
    return CreatedOrder(order=order, warnings=stored.warnings, followups=[submit])


def quota_refusal(refusal: QuotaExceeded) -> OrderRefused:
    return OrderRefused([(None, str(refusal))], reason=refusal.quota)


@dataclass(frozen=True)
class StoredTrainingSet:
    zip_name: str
    zip_size: int
    image_count: int
    input_bytes: int
    warnings: Sequence[tuple[str, Message]]
    face_embeddings: list[list[float]]


def store_training_set(prepare: PhotoSetMaker, zip_name: str) -> StoredTrainingSet:
    """Run the photo pipeline and store the ZIP; refusals become OrderRefused."""
    try:
        with prepare() as photo_set:
            zip_size = write_training_zip(photo_set, storage=default_storage, name=zip_name)
            warnings = [
                (photo.source_name, warning)
                for photo in photo_set.photos
                for warning in photo.warnings
            ]
            return StoredTrainingSet(
                zip_name=zip_name,
                zip_size=zip_size,
                image_count=len(photo_set.photos),
                input_bytes=photo_set.input_bytes,
                warnings=warnings,
                face_embeddings=photo_set.face_embeddings,
            )
    except PhotoSetRefused as refused:
        reason = "unavailable" if refused.retryable else "photos"
        problems: list[tuple[str | None, Message]] = [
            (p.photo_name, p.message) for p in refused.problems
        ]
        raise OrderRefused(problems, reason=reason) from None
    except TrainingSetNotStored:
        logger.exception("training set %s could not be stored", zip_name)
        message = _("We could not store your photos just now. Nothing was charged: try again.")
        raise OrderRefused([(None, message)], reason="unavailable") from None


def record_upload_event(order: Order, stored: StoredTrainingSet, *, duration: float) -> None:
    """The spec's TrainingLog line for the upload stage."""
    TrainingEvent.record(
        order=order,
        stage=Stage.UPLOAD,
        status=TrainingEvent.Outcome.SUCCESS,
        duration=duration,
        metadata={
            "image_count": stored.image_count,
            "zip_size": stored.zip_size,
            "input_bytes": stored.input_bytes,
            "warnings": [f"{name}: {message}" for name, message in stored.warnings],
            "trainer_version": getattr(settings, "REPLICATE_TRAINER_VERSION", ""),
        },
    )


def order_delete(order: Order) -> list[FollowUp]:
    """Hide the order at once (stopping it first if it is running); the purge task does the rest."""
    followups = [] if order.is_final else order_cancel(order)
    order.refresh_from_db(fields=["status"])
    remember_for_cooldown(order)  # the purge must not give the cooldown back
    Order.objects.filter(pk=order.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    return [*followups, FollowUp(Next.PURGE, order.pk)]


def purge_order(*, order_id: int, gateway: ReplicateGateway | None = None) -> None:
    """Erase a deleted order: ZIP, headshots and its model on Replicate go; its row stays,
    anonymous, for the staff figures and the accounts (`order_erasure.py`). A failure raises
    and leaves the row with its owner: `unfinished_purges` finds it for cron."""
    order = Order.objects.filter(pk=order_id, deleted_at__isnull=False).first()
    if order is None or order.user_id is None:
        return
    if not order.is_final:  # its cancel lost a race: erase once it ends, or its last
        return  # headshots would arrive after the erasure (cron tries again)
    order_erase(order, gateway=gateway or client_from_settings(), storage=default_storage)
    logger.info("order %s purged", order.uuid)


def unfinished_purges(*, older_than: timedelta = PURGE_GRACE) -> list[int]:
    """Deleted orders whose erasure a failure or a lost worker left undone (cron runs them
    again); recent ones are left to the purge task already on its way."""
    cutoff = timezone.now() - older_than
    return list(
        Order.objects.filter(deleted_at__lt=cutoff, user__isnull=False).values_list("pk", flat=True)
    )
