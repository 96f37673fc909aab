"""The records privacy needs: erasures under way, exports, what retention deleted, staff views.

None of them holds a photo or a face; an erasure keeps the address only until the goodbye
e-mail has gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountErasure(models.Model):
    """One person's "delete my account": recorded first, worked through by the worker until
    `finished_at`, so a failure half-way is picked up again (privacy/erasure.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Where the confirmation goes once the person is gone; blanked when it has been sent.
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The lease of the worker erasing now: cron, a deferred retry or a second request find it
    # taken and leave the erasure alone, so no step runs twice at once and one goodbye goes.
    working_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[AccountErasure]] = models.Manager()

    class Meta:
        verbose_name = _("account erasure")
        verbose_name_plural = _("account erasures")

    def __str__(self) -> str:
        return f"erasure {self.pk} ({'done' if self.finished_at else 'under way'})"

    def claim(self, *, lease: timedelta) -> datetime | None:
        """Take the erasure for `lease`; the lease's end is the holder's token. None when it is
        finished or another worker holds it. A worker that dies lets the lease run out, and
        cron's next run takes over."""
        now = timezone.now()
        free = Q(working_until__isnull=True) | Q(working_until__lt=now)
        token = now + lease
        taken = AccountErasure.objects.filter(free, pk=self.pk, finished_at__isnull=True).update(
            working_until=token
        )
        return token if taken == 1 else None

    def renew(self, token: datetime, *, lease: timedelta) -> datetime | None:
        """Hold the erasure `lease` longer; None when the lease ran out and another took it."""
        renewed = timezone.now() + lease
        held = AccountErasure.objects.filter(
            pk=self.pk, working_until=token, finished_at__isnull=True
        ).update(working_until=renewed)
        return renewed if held == 1 else None

    def release(self, token: datetime) -> None:
        """Give the erasure back after a failed attempt (if still ours), for a retry or cron."""
        AccountErasure.objects.filter(pk=self.pk, working_until=token).update(working_until=None)

    def finish(self, token: datetime) -> bool:
        """Mark it done and forget the address, if the lease is still ours."""
        return (
            AccountErasure.objects.filter(
                pk=self.pk, working_until=token, finished_at__isnull=True
            ).update(finished_at=timezone.now(), email="", last_error="", working_until=None)
            == 1
        )


class DataExport(models.Model):
    """A ZIP of one person's data, made by the worker, downloadable until `expires_at`."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    file = models.FileField(max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects: ClassVar[models.Manager[DataExport]] = models.Manager()

    class Meta:
        ordering = ("-requested_at",)

    def __str__(self) -> str:
        return f"export {self.uuid}"


class RetentionDeletion(models.Model):
    """How many things one retention rule deleted on one day (the staff dashboard's table)."""

    class Rule(models.TextChoices):
        FACE_DATA = "face_data", _("face data")
        HEADSHOTS = "headshots", _("headshots")
        TEMP_FILES = "temp_files", _("temporary files")
        EXPORTS = "exports", _("data exports")
        UNCONFIRMED = "unconfirmed", _("unconfirmed accounts")

    day = models.DateField()
    rule = models.CharField(max_length=16, choices=Rule.choices)
    count = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager[RetentionDeletion]] = models.Manager()

    class Meta:
        ordering = ("-day", "rule")
        constraints = [
            models.UniqueConstraint(fields=("day", "rule"), name="one_count_per_rule_and_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.rule}: {self.count}"


class StaffView(models.Model):
    """A staff member opened a person's headshot through the admin's signed link."""

    order = models.ForeignKey(
        "training.Order", on_delete=models.CASCADE, related_name="staff_views"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    staff_email = models.EmailField()
    headshot_id = models.PositiveIntegerField()
    variant = models.CharField(max_length=16)
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects: ClassVar[models.Manager[StaffView]] = models.Manager()

    class Meta:
        ordering = ("-viewed_at",)
        verbose_name = _("staff view")
        verbose_name_plural = _("staff views")

    def __str__(self) -> str:
        return f"{self.staff_email} saw headshot {self.headshot_id} at {self.viewed_at}"

    @classmethod
    def record(cls, *, order_id: int, staff: Any, headshot_id: int, variant: str) -> StaffView:
        """One line of the order's history: who opened which of its images, and when."""
        return cls.objects.create(
            order_id=order_id,
            staff=staff,
            staff_email=staff.email,
            headshot_id=headshot_id,
            variant=variant,
        )
