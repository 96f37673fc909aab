"""Retention: face data, headshots and exports do not outlive what the privacy page promises.

Run by `cleanup_temp_files` (cron, hourly) after the temporary files' own policy:
- face descriptors of an order go in the very update that delivers or cancels it
  (Order.move_to); this rule empties them FACE_DATA_RETENTION_DAYS later when a setting keeps
  them for re-scoring, a failed order's when its photos go (a staff retry needs them), and any
  an order kept by ending some other way;
- headshots go HEADSHOT_RETENTION_DAYS after delivery (or at the later date one "keep them"
  chose), after one reminder e-mail HEADSHOT_REMINDER_DAYS before;
- data exports go when their link expires;
- an account whose sign-in code was never entered goes UNCONFIRMED_ACCOUNT_DAYS later (asking
  for a code makes the account: accounts/sign_in.py), unless it holds anything at all.
Each rule counts what it deleted per day (`RetentionDeletion`) for the staff dashboard. Every
step is a conditional update, so two cron runs at once neither delete nor e-mail twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from lib.storage import delete_quietly
from privacy.models import DataExport, RetentionDeletion
from privacy.notifications import notify_headshots_expiring
from privacy.policy import failed_face_data_kept
from training.lifecycle import delete_headshot_files
from training.models import Order, Status

logger = logging.getLogger(__name__)

Rule = RetentionDeletion.Rule


@dataclass
class RetentionReport:
    """What each rule deleted in this run, and how many reminders went out."""

    deleted: dict[str, int] = field(default_factory=dict)
    reminded: int = 0


def apply_retention(*, temp_files: int = 0, now: datetime | None = None) -> RetentionReport:
    """Every retention rule once; safe to run at any time, and twice. `temp_files` is what the
    temporary files' policy (training/cleanup.py) deleted just before, counted with the rest."""
    now = now or timezone.now()
    report = RetentionReport()
    report.deleted[Rule.TEMP_FILES] = temp_files
    report.deleted[Rule.FACE_DATA] = delete_face_data(now=now)
    report.reminded = remind_before_deletion(now=now)
    report.deleted[Rule.HEADSHOTS] = delete_due_headshots(now=now)
    report.deleted[Rule.EXPORTS] = delete_expired_exports(now=now)
    report.deleted[Rule.UNCONFIRMED] = delete_unconfirmed_accounts(now=now)
    for rule, count in report.deleted.items():
        count_deletions(rule=rule, count=count, day=now.date())
    return report


def count_deletions(*, rule: str, count: int, day: date) -> None:
    """Add to the day's count of one rule (one row per rule and day)."""
    if count <= 0:
        return
    table = RetentionDeletion._meta.db_table
    with connection.cursor() as cursor:  # one statement, whatever runs at the same time
        cursor.execute(
            f"INSERT INTO {table} (day, rule, count) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (day, rule) DO UPDATE SET count = {table}.count + EXCLUDED.count",
            [day, rule, count],
        )


def delete_face_data(*, now: datetime) -> int:
    """Empty the descriptors of every order finished long enough ago; returns how many."""
    cutoff = now - timedelta(days=settings.FACE_DATA_RETENTION_DAYS)
    finished = (
        Q(status=Status.READY, ready_at__lte=cutoff)
        | Q(status=Status.FAILED, failed_at__lte=now - failed_face_data_kept())
        | Q(status=Status.CANCELED, canceled_at__lte=cutoff)
        | Q(deleted_at__isnull=False)
    )
    return Order.objects.filter(finished).exclude(face_embeddings=[]).update(face_embeddings=[])


def due_by(moment: datetime) -> Q:
    """Orders whose headshots are due by `moment`: the "keep them" date when one was chosen,
    else delivery plus the retention."""
    period = timedelta(days=settings.HEADSHOT_RETENTION_DAYS)
    return Q(headshots_kept_until__lte=moment) | Q(
        headshots_kept_until__isnull=True, ready_at__lte=moment - period
    )


def due_date(order: Order) -> datetime | None:
    """When this order's headshots go (None before delivery)."""
    return order.headshots_due_at


def delivered_orders() -> QuerySet[Order]:
    """Delivered orders whose headshots are still kept."""
    return Order.objects.filter(
        status=Status.READY, ready_at__isnull=False, headshots_deleted_at__isnull=True
    )


def remind_before_deletion(*, now: datetime) -> int:
    """One e-mail per order, HEADSHOT_REMINDER_DAYS before its headshots go."""
    soon = now + timedelta(days=settings.HEADSHOT_REMINDER_DAYS)
    sent = 0
    candidates = (
        delivered_orders()
        .filter(due_by(soon), headshots_reminded_at__isnull=True)
        .exclude(due_by(now))
    )
    for order in candidates.select_related("user"):
        claimed = Order.objects.filter(pk=order.pk, headshots_reminded_at__isnull=True).update(
            headshots_reminded_at=now
        )
        if claimed and order.user is not None and order.deleted_at is None:
            notify_headshots_expiring(order, due_at=due_date(order) or now)
            sent += 1
    return sent


def delete_due_headshots(*, now: datetime) -> int:
    """Delete the files and rows of every order's headshots past their date; returns how many."""
    deleted = 0
    for order in delivered_orders().filter(due_by(now)):
        claimed = Order.objects.filter(pk=order.pk, headshots_deleted_at__isnull=True).update(
            headshots_deleted_at=now
        )
        if claimed:
            count = order.headshots.count()
            delete_headshot_files(order)
            deleted += count
            logger.info("order %s: %d headshots deleted after retention", order.uuid, count)
    return deleted


def delete_expired_exports(*, now: datetime) -> int:
    """Exports whose link expired: file and row."""
    expired = list(DataExport.objects.filter(expires_at__lte=now))
    for export in expired:
        if export.file:
            delete_quietly(str(export.file.name))
        export.delete()
    return len(expired)


def keep_headshots(order: Order) -> datetime | None:
    """The person's "keep them": once, the due date moves by one retention period.
    Returns the new date, or None when they were already kept once or are gone."""
    period = timedelta(days=settings.HEADSHOT_RETENTION_DAYS)
    current = delivered_orders().filter(pk=order.pk, headshots_kept_until__isnull=True).first()
    due = due_date(current) if current else None
    if due is None:
        return None
    new_date = due + period
    kept = Order.objects.filter(
        pk=order.pk, headshots_kept_until__isnull=True, headshots_deleted_at__isnull=True
    ).update(headshots_kept_until=new_date)
    return new_date if kept else None


def headshots_due(order: Order) -> datetime | None:
    """When the order's headshots will be deleted, or None (not delivered, or gone)."""
    current = delivered_orders().filter(pk=order.pk).first()
    return due_date(current) if current else None


def retention_figures(*, days: int = 30) -> list[RetentionDeletion]:
    """What each rule deleted per day over the last `days` days, newest first (dashboard)."""
    since = timezone.now().date() - timedelta(days=days)
    return list(RetentionDeletion.objects.filter(day__gte=since))


def delete_unconfirmed_accounts(*, now: datetime) -> int:
    """Accounts made by asking for a code that was never entered: an address someone typed (maybe
    not their own) is not kept. Only accounts that never signed in, whose every address is
    unconfirmed, and that hold no order, credit, purchase, token or request of any kind."""
    cutoff = now - timedelta(days=settings.UNCONFIRMED_ACCOUNT_DAYS)
    confirmed = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    unconfirmed = EmailAddress.objects.filter(user=OuterRef("pk"), verified=False)
    # Only what the sign-in made: an unusable password ("!"), still active (an account staff
    # disabled blocks its address), and nothing a person or staff member added since.
    candidates = User.objects.filter(
        Exists(unconfirmed), ~Exists(confirmed),
        date_joined__lte=cutoff, last_login__isnull=True, is_active=True,
        password__startswith=UNUSABLE_PASSWORD_PREFIX, is_staff=False, is_superuser=False,
        headshot_models__isnull=True, credit_movements__isnull=True, purchases__isnull=True,
        api_tokens__isnull=True, data_exports__isnull=True, accounterasure__isnull=True,
        socialaccount__isnull=True,
    )  # fmt: skip
    deleted = 0
    for user_id in list(candidates.values_list("pk", flat=True).distinct()):
        with transaction.atomic():
            # Locked and asked again: a sign-in or a grant meanwhile keeps the account.
            locked = User.objects.select_for_update().filter(pk=user_id).values_list("pk")
            if list(locked) and candidates.filter(pk=user_id).exists():
                EmailAddress.objects.filter(user_id=user_id).delete()
                User.objects.filter(pk=user_id).delete()
                deleted += 1
    if deleted:
        logger.info("deleted %d accounts whose sign-in code was never entered", deleted)
    return deleted
