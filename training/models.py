"""An order ("model" in the spec, table `models`) and what happens to it.

The order guards its own status: every change goes through `Order.move_to`, a
conditional UPDATE that only succeeds from a status allowed to reach the new one. Two workers,
a webhook and a cron job may race; the database decides who got there first, and nothing ever
moves backwards.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Cast, Coalesce, Greatest, Round
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("training.events")


class Status(models.TextChoices):
    UPLOADING = "uploading", _("uploading")
    QUEUED = "queued", _("queued")
    TRAINING = "training", _("training")
    GENERATING = "generating", _("generating")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")
    CANCELED = "canceled", _("canceled")


class Stage(models.TextChoices):
    """The spec's stages: where an order was when something happened."""

    UPLOAD = "upload", _("upload")
    TRAINING = "training", _("training")
    COMPLETION = "completion", _("completion")


class SubjectType(models.TextChoices):
    MAN = "man", _("Man")
    WOMAN = "woman", _("Woman")


# Where each status may go next. `failed → queued | generating` is the staff "retry" action.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    Status.UPLOADING: frozenset({Status.QUEUED, Status.FAILED, Status.CANCELED}),
    Status.QUEUED: frozenset({Status.TRAINING, Status.FAILED, Status.CANCELED}),
    Status.TRAINING: frozenset({Status.GENERATING, Status.FAILED, Status.CANCELED}),
    Status.GENERATING: frozenset({Status.READY, Status.FAILED, Status.CANCELED}),
    Status.READY: frozenset(),
    Status.FAILED: frozenset({Status.QUEUED, Status.GENERATING}),
    Status.CANCELED: frozenset(),
}
FINAL_STATUSES = frozenset({Status.READY, Status.FAILED, Status.CANCELED})
# Where an order's face data goes in the same write. A failed order keeps it as long as its
# photos (TEMP_RETENTION_HOURS), since a staff retry scores the new headshots with it; the
# retention cron (privacy/retention.py) empties it then.
FACE_DATA_ENDS = frozenset({Status.READY, Status.CANCELED})
IN_PROGRESS_STATUSES = frozenset(
    {Status.UPLOADING, Status.QUEUED, Status.TRAINING, Status.GENERATING}
)
# The timestamp column stamped when an order reaches a status.
STATUS_TIMESTAMPS: dict[str, str] = {
    Status.QUEUED: "queued_at",
    Status.TRAINING: "training_started_at",
    Status.GENERATING: "training_finished_at",
    Status.READY: "ready_at",
    Status.FAILED: "failed_at",
    Status.CANCELED: "canceled_at",
}


class IllegalStatusMove(Exception):
    """A status change the state machine does not allow (a bug in the caller, not a race)."""


class Order(models.Model):
    """One order: a person's photo set, the LoRA trained on it, and the headshots made with it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Null once the person has erased their account: the row stays, anonymous, for accounting
    # (state, package, spend); privacy/erasure.py strips everything else that could name them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headshot_models",
    )
    name = models.CharField(_("name"), max_length=50)
    package = models.CharField(_("package"), max_length=32)
    subject_type = models.CharField(_("subject"), max_length=8, choices=SubjectType.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.UPLOADING, db_index=True
    )
    failure_stage = models.CharField(
        _("failure stage"), max_length=16, choices=Stage.choices, blank=True
    )
    error = models.TextField(_("message for the person"), blank=True)
    error_detail = models.TextField(_("detail for staff"), blank=True)
    replicate_model_id = models.CharField(max_length=255, blank=True)
    replicate_version_id = models.CharField(max_length=255, blank=True)
    replicate_training_id = models.CharField(max_length=255, blank=True, db_index=True)
    replicate_weights_url = models.URLField(max_length=1000, blank=True)
    # At most one training per order: the input URL is recorded before the create call, so an
    # ambiguous failure can be settled by looking for a training with that input.
    training_input_url = models.TextField(blank=True)
    training_file_id = models.CharField(max_length=64, blank=True)
    submission_started_at = models.DateTimeField(null=True, blank=True)
    predict_time = models.FloatField(_("training predict time (s)"), null=True, blank=True)
    training_zip = models.FileField(_("training ZIP"), max_length=255, blank=True)
    image_count = models.PositiveSmallIntegerField(_("photos"), default=0)
    zip_size = models.PositiveBigIntegerField(_("ZIP size (bytes)"), default=0)
    input_size = models.PositiveBigIntegerField(_("uploaded bytes"), default=0)
    cost = models.DecimalField(
        _("Replicate cost (USD)"), max_digits=10, decimal_places=4, default=0
    )
    # One 128-number dlib face descriptor per accepted photo, kept after the photos are deleted
    # so the results can still be scored against the person (training/likeness.py).
    earlier_seconds = models.FloatField(
        _("seconds billed before a retry"),
        default=0.0,
        help_text=_("Replicate seconds of runs whose rows a staff retry replaced; still billed."),
    )
    face_embeddings = models.JSONField(_("face descriptors"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    training_started_at = models.DateTimeField(null=True, blank=True)
    training_finished_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # Set when the person deletes the order: hidden at once, purged by a task.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The person's consent to the analysis of their photos (privacy/consent.py): which wording
    # they agreed to, and when. No consent, no order.
    consent_version = models.CharField(_("consent version"), max_length=32, blank=True)
    consented_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    # Retention of the headshots (privacy/retention.py): the reminder before they go, the later
    # date a "keep them" chose (once), and when they went.
    headshots_reminded_at = models.DateTimeField(null=True, blank=True)
    headshots_kept_until = models.DateTimeField(null=True, blank=True)
    headshots_deleted_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Order]] = models.Manager()

    class Meta:
        db_table = "models"
        ordering = ("-created_at",)
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        # Staff actions that no built-in permission describes; deleting an order with its
        # files needs the built-in "delete" (see docs/operations.md).
        permissions = (
            ("retry_order", _("Can retry failed orders")),
            ("cancel_order", _("Can cancel orders")),
            ("refund_order", _("Can refund orders")),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.uuid})"

    def get_absolute_url(self) -> str:
        return reverse("training:order_detail", kwargs={"order_uuid": self.uuid})

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def headshots_due_at(self) -> datetime | None:
        """When the headshots will be deleted: the "keep them" date once one was chosen, else
        delivery plus HEADSHOT_RETENTION_DAYS; None before delivery and once they are gone."""
        if self.headshots_deleted_at is not None or self.ready_at is None:
            return None
        if self.headshots_kept_until is not None:
            return self.headshots_kept_until
        return self.ready_at + timedelta(days=settings.HEADSHOT_RETENTION_DAYS)

    def move_to(self, new_status: Status, **fields: Any) -> bool:
        """Change the status from the one this instance holds, with `fields` written alongside.

        Returns False when the row is no longer in that status (someone got there first);
        raises IllegalStatusMove when the state machine forbids the move outright.
        """
        if new_status not in ALLOWED_MOVES[self.status]:
            raise IllegalStatusMove(f"{self.uuid}: {self.status} → {new_status} is not allowed")
        now = timezone.now()
        changes = {"status": new_status, "updated_at": now, **fields}
        if timestamp_field := STATUS_TIMESTAMPS.get(new_status):
            changes.setdefault(timestamp_field, now)
        if new_status in FACE_DATA_ENDS and settings.FACE_DATA_RETENTION_DAYS == 0:
            changes.setdefault("face_embeddings", [])  # the privacy page's promise: not kept
        moved = Order.objects.filter(pk=self.pk, status=self.status).update(**changes)
        if moved != 1:
            return False
        for field, value in changes.items():
            setattr(self, field, value)
        return True

    def record_spend(self) -> None:
        """Write what the order has cost on Replicate so far: the training's seconds and every
        prediction's (retries, top-ups and failed runs are billed too) at the configured price.

        One UPDATE computed in the database, so news about two predictions arriving together
        cannot overwrite each other's share; called whenever a run's seconds are recorded. A
        staff retry replaces billed runs: their seconds are moved to `earlier_seconds` first
        (`keep_billed_seconds`), so the spend is the sum of every run, never less.
        """
        prediction_seconds = (
            Prediction.objects.filter(order=models.OuterRef("pk"))
            .values("order")
            .annotate(total=models.Sum("predict_time"))
            .values("total")
        )
        seconds = (
            Coalesce(models.F("predict_time"), 0.0)
            + Coalesce(models.Subquery(prediction_seconds), 0.0)
            + models.F("earlier_seconds")
        )
        price = models.Value(settings.REPLICATE_PRICE_PER_SECOND)
        exact = Cast(seconds * price, models.DecimalField(max_digits=20, decimal_places=10))
        Order.objects.filter(pk=self.pk).update(cost=Greatest(models.F("cost"), Round(exact, 4)))
        self.refresh_from_db(fields=["cost"])

    def keep_billed_seconds(self, *, training: bool) -> None:
        """Before a retry deletes prediction rows (and, with `training`, forgets the training's
        time), add their billed seconds to `earlier_seconds`, in one UPDATE."""
        billed: models.Expression = Coalesce(
            models.Subquery(
                Prediction.objects.filter(order=models.OuterRef("pk"))
                .values("order")
                .annotate(total=models.Sum("predict_time"))
                .values("total")
            ),
            0.0,
        )
        if training:
            billed = billed + Coalesce(models.F("predict_time"), 0.0)
        changes: dict[str, Any] = {"earlier_seconds": models.F("earlier_seconds") + billed}
        if training:
            changes["predict_time"] = None
        Order.objects.filter(pk=self.pk).update(**changes)
        self.refresh_from_db(fields=["earlier_seconds", "predict_time"])

    def fail(self, *, stage: Stage, error: str, detail: str = "") -> bool:
        """Move to `failed` from wherever the order is, unless it is already final."""
        if self.is_final:
            return False
        return self.move_to(Status.FAILED, failure_stage=stage, error=error, error_detail=detail)


class TrainingEvent(models.Model):
    """The spec's TrainingLog: one row each time an order finishes (or fails) a stage."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    status = models.CharField(max_length=8, choices=Outcome.choices)
    duration = models.FloatField(_("duration (s)"), default=0)
    error = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("created_at", "pk")
        verbose_name = _("training event")
        verbose_name_plural = _("training events")

    def __str__(self) -> str:
        return f"{self.order_id} {self.stage} {self.status}"

    @classmethod
    def record(cls, *, order: Order, stage: str, status: str, **fields: Any) -> TrainingEvent:
        """Write the event and log it with the order's uuid, stage and duration."""
        event = cls.objects.create(order=order, stage=stage, status=status, **fields)
        logger.info(
            "order %s: stage %s %s in %.1f s",
            order.uuid,
            stage,
            status,
            event.duration,
            extra={
                "order": str(order.uuid),
                "stage": stage,
                "status": status,
                "duration": event.duration,
            },
        )
        return event


class Prediction(models.Model):
    """One run of one prompt on the trained model; a failed run is retried once (attempt 2)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")  # our row exists, Replicate's not yet
        STARTING = "starting", _("starting")
        PROCESSING = "processing", _("processing")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELED = "canceled", _("canceled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="predictions")
    prompt_index = models.PositiveSmallIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    prompt = models.TextField()
    style = models.CharField(_("style"), max_length=32, blank=True)
    # A prediction added because too few of a style's headshots looked like the person.
    is_top_up = models.BooleanField(_("top-up"), default=False)
    # Images asked for; None means HEADSHOTS_PER_STYLE (a top-up asks only for what is missing).
    num_outputs = models.PositiveSmallIntegerField(_("images asked for"), null=True, blank=True)
    replicate_prediction_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    output_urls = models.JSONField(default=list, blank=True)
    outputs_stored = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    predict_time = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("prompt_index", "attempt")
        constraints = [
            models.UniqueConstraint(
                fields=("order", "prompt_index", "attempt"), name="one_prediction_per_attempt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.prompt_index}.{self.attempt} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in PREDICTION_FINAL_STATES

    def move_to(self, new_status: str, **fields: Any) -> bool:
        """Like the order's: a conditional update from the status held here; final stays final."""
        if self.is_final or new_status == self.status:
            return False
        changes = {"status": new_status, "updated_at": timezone.now(), **fields}
        if new_status in PREDICTION_FINAL_STATES:
            changes.setdefault("completed_at", timezone.now())
        moved = Prediction.objects.filter(pk=self.pk, status=self.status).update(**changes)
        if moved != 1:
            return False
        for field, value in changes.items():
            setattr(self, field, value)
        return True

    def release(self) -> bool:
        """A create that never reached Replicate: back to `pending`, to be created again, unless
        its id arrived meanwhile (a late answer or webhook got there first)."""
        released = Prediction.objects.filter(
            pk=self.pk, status=Prediction.State.STARTING, replicate_prediction_id=""
        ).update(status=Prediction.State.PENDING, updated_at=timezone.now())
        if released:
            self.status = Prediction.State.PENDING
        return released == 1


PREDICTION_FINAL_STATES = frozenset(
    {Prediction.State.SUCCEEDED, Prediction.State.FAILED, Prediction.State.CANCELED}
)


class HeadshotQuerySet(models.QuerySet["Headshot"]):
    def shown(self) -> HeadshotQuerySet:
        """What the person sees: headshots that passed the likeness check, the closest first
        (unscored ones, from orders without face analysis, after them in their usual order)."""
        return self.filter(hidden=False).order_by(
            models.F("likeness").asc(nulls_last=True), "prediction__prompt_index", "output_index"
        )


class Headshot(models.Model):
    """A finished headshot, copied into our storage (Replicate deletes outputs after an hour).

    Every view the person has goes through `shown()`: a hidden headshot (another face, none,
    several) is for staff only.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="headshots")
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="headshots")
    output_index = models.PositiveSmallIntegerField()
    image = models.FileField(max_length=255)
    preview = models.FileField(max_length=255, blank=True)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)
    is_favourite = models.BooleanField(_("favourite"), default=False)
    # The print-ready JPEG made from `image` (the lossless original Replicate produced).
    jpeg = models.FileField(max_length=255, blank=True)
    # The likeness check (training/likeness.py): faces found, distance to the person (lower is
    # closer; None until scored or when there is no single face), the face's box in `image`
    # pixels [left, top, right, bottom], and whether it is kept from the person (staff see it).
    face_count = models.PositiveSmallIntegerField(_("faces"), null=True, blank=True)
    likeness = models.FloatField(_("likeness distance"), null=True, blank=True)
    face_box = models.JSONField(default=list, blank=True)
    hidden = models.BooleanField(_("hidden from the person"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HeadshotQuerySet.as_manager()

    class Meta:
        ordering = ("prediction__prompt_index", "output_index")
        constraints = [
            models.UniqueConstraint(
                fields=("prediction", "output_index"), name="one_headshot_per_output"
            ),
        ]

    def __str__(self) -> str:
        return str(self.image.name)

    @property
    def download_stem(self) -> str:
        """The file name a person downloads it under, before the format's extension."""
        return download_stems(self.order_id)[self.pk]

    @property
    def download_name(self) -> str:
        """Its name as the print-ready JPEG that downloads (and the ZIP) give by default."""
        return f"{self.download_stem}.jpg"


def download_stems(order_id: int) -> dict[int, str]:
    """Every headshot's download stem, by id, in one query: `<style slug>-<n>` (`grey-studio-3`),
    n counting the style's headshots in the order they were made, hidden ones included, so a
    name never changes once given."""
    made = Headshot.objects.filter(order_id=order_id).order_by(
        "prediction__prompt_index", "output_index"
    )
    counts: dict[str, int] = {}
    stems = {}
    for pk, style in made.values_list("pk", "prediction__style"):
        counts[style] = counts.get(style, 0) + 1
        stems[pk] = f"{style or 'headshot'}-{counts[style]}"
    return stems


class OrderRating(models.Model):
    """How the person liked an order's headshots (spec phase 4: collect feedback)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="rating")
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="stars_from_one_to_five"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.stars}/5"


class WebhookDelivery(models.Model):
    """Each webhook Replicate sent us, once: a repeated `webhook-id` changes nothing."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("received")
        APPLIED = "applied", _("applied")
        IGNORED = "ignored", _("ignored")
        UNKNOWN = "unknown", _("unknown object")

    webhook_id = models.CharField(max_length=255, unique=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    event_status = models.CharField(max_length=16, blank=True)
    event_completed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)

    class Meta:
        ordering = ("-received_at",)
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_status} {self.outcome}"
