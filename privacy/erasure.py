"""Delete my account: everything that names the person goes; accounting rows stay anonymous.

`account_erasure_request` does at once what must not wait: the person is signed out everywhere
(inactive, password unusable, API tokens revoked) and their orders are hidden, so nobody can
sign back in to a half-deleted account. `account_erase` then does the slow rest, in an order
that can stop anywhere and start again: each order's files in storage, its Replicate model and
versions (the order-deletion path), its rating's comment and face data; the API uploads and
exports; tokens, addresses, sessions; the user row; last, the goodbye e-mail. Every step is
idempotent, and a step that fails (Replicate or storage down) raises, so the task retries
(privacy/tasks.py) and cron resumes what a lost worker left (`resume_erasures`).

What stays, without the person: credit movements (`user` set null by the ledger's foreign key),
and each order's row with its state, package, dates and spend (`Order.user` set null; its name,
photos' traces and descriptors emptied). A separate anonymous record would have duplicated the
order's columns and left the dashboard's spend figures short; the emptied row keeps them true.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken, User
from payments.models import Purchase
from privacy.models import AccountErasure, DataExport
from privacy.notifications import notify_account_deleted
from training import zip_uploads
from training.held_photos import photos_release_all
from training.lifecycle import order_cancel
from training.models import Order
from training.order_erasure import delete_folder, order_erase
from training.quotas import remember_for_cooldown
from training.replicate.client import ReplicateGateway, client_from_settings

logger = logging.getLogger(__name__)

# How long a worker holds an erasure: far longer than one takes (seconds per order, each
# Replicate call bounded), short enough that a lost worker's is taken over within the hour.
ERASURE_LEASE = timedelta(minutes=15)


def account_erasure_request(*, user: User) -> AccountErasure:
    """Sign the person out for good and hide their orders now; the worker erases the rest."""
    with transaction.atomic():
        erasure = AccountErasure.objects.filter(user=user, finished_at__isnull=True).first()
        if erasure is None:
            erasure = AccountErasure.objects.create(
                user=user, email=user.email, language=user.language
            )
        user.is_active = False  # signed out everywhere: inactive users are never loaded
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        for order in Order.objects.filter(user=user, deleted_at__isnull=True):
            order_cancel(order)  # a running order is stopped and refunded first
            remember_for_cooldown(order)
        Order.objects.filter(user=user, deleted_at__isnull=True).update(deleted_at=timezone.now())
    return erasure


def account_erase(
    *, erasure_id: int, gateway: ReplicateGateway | None = None, storage: Storage | None = None
) -> bool:
    """Do (or finish) one erasure; True once everything is gone and the e-mail has left, False
    when another worker is on it (cron and a retry can both enqueue the same erasure)."""
    erasure = AccountErasure.objects.filter(pk=erasure_id).first()
    if erasure is None or erasure.finished_at is not None:
        return True
    token = erasure.claim(lease=ERASURE_LEASE)
    if token is None:
        logger.info("erasure %s is under way in another worker", erasure.pk)
        return False
    erasure.refresh_from_db()  # what the last holder left: the user may be gone already
    lease = _Lease(erasure, token)
    try:
        _erase(erasure, lease=lease, gateway=gateway, storage=storage)
    except LeaseLost:
        logger.warning("erasure %s: the lease ran out and another worker took it", erasure.pk)
        return False
    except BaseException:
        erasure.release(lease.token)
        raise
    return True


class LeaseLost(Exception):
    """This worker's lease on an erasure ran out and another worker holds it now."""


class _Lease:
    """The token of a held erasure, renewed between steps so that a long one stays ours."""

    def __init__(self, erasure: AccountErasure, token: datetime) -> None:
        self.erasure, self.token = erasure, token

    def renew(self) -> None:
        token = self.erasure.renew(self.token, lease=ERASURE_LEASE)
        if token is None:
            raise LeaseLost(self.erasure.pk)
        self.token = token


def _erase(
    erasure: AccountErasure,
    *,
    lease: _Lease,
    gateway: ReplicateGateway | None,
    storage: Storage | None,
) -> None:
    """Every step of an erasure this worker holds, then the goodbye and the finish."""
    storage = storage or default_storage
    if erasure.user_id is not None:
        user = User.objects.get(pk=erasure.user_id)
        gateway = gateway or client_from_settings()
        for order in Order.objects.filter(user=user):
            order_erase(order, gateway=gateway, storage=storage)
            lease.renew()
        delete_user_files(user, storage=storage)
        delete_user_rows(user)
    lease.renew()  # the goodbye goes only from the worker that holds the erasure
    if erasure.email:
        notify_account_deleted(email=erasure.email, language=erasure.language or "es")
    erasure.finish(lease.token)
    logger.info("erasure %s finished", erasure.pk)


def delete_user_files(user: User, *, storage: Storage) -> None:
    """The API uploads no order used, the photos held for "continue without the refused
    ones", and the data exports."""
    delete_folder(storage, f"{zip_uploads.PREFIX}/{user.pk}")
    photos_release_all(user_id=user.pk, storage=storage)
    for export in DataExport.objects.filter(user=user):
        if export.file:
            storage.delete(str(export.file.name))
    DataExport.objects.filter(user=user).delete()


def delete_user_rows(user: User) -> None:
    """Tokens, addresses, sessions, the admin's notes about the account, then the user row.

    Purchases stay for the accounts (their `user` is set null with the row) without the
    address they were paid with: Stripe keeps its own record of the payer.
    """
    with transaction.atomic():
        Purchase.objects.filter(user=user).update(email="")
        ApiToken.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
        user_type = ContentType.objects.get_for_model(User)
        LogEntry.objects.filter(content_type=user_type, object_id=str(user.pk)).delete()
        user.delete()


def unfinished_erasures() -> list[int]:
    """Erasures a lost or failed worker left half-way, for cron to enqueue again (not those a
    worker holds now)."""
    free = Q(working_until__isnull=True) | Q(working_until__lt=timezone.now())
    pending = AccountErasure.objects.filter(free, finished_at__isnull=True)
    return list(pending.values_list("pk", flat=True))
