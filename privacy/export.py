"""Export my data: a ZIP with a JSON of the person's account, orders, ratings and favourites,
and every headshot they can see, made by the worker and downloadable until it expires.

Only rows reached through the person are read, and only fields that describe them (no
Replicate ids, no internal errors, no other person's anything). The link is the account page's:
signed, expiring, and valid only for the person signed in (privacy/account_views.py).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import CreditMovement, User
from privacy.models import DataExport
from privacy.notifications import notify_export_ready
from training.models import Headshot, Order, OrderRating

SALT = "privacy.export-link"
EXPORTS = "exports"


def export_request(*, user: User) -> DataExport:
    """A new export for the person (an unfinished one is reused rather than doubled)."""
    pending = DataExport.objects.filter(user=user, ready_at__isnull=True).first()
    return pending or DataExport.objects.create(user=user)


def export_build(*, export_id: int) -> DataExport | None:
    """Write the ZIP, store it, set its expiry and e-mail the person; safe to run twice."""
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or export.ready_at is not None:
        return export
    user = export.user
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("data.json", json.dumps(person_data(user), indent=2, default=str))
            for headshot, arcname in shown_headshots(user):
                with default_storage.open(str(headshot.image.name), "rb") as image:
                    archive.writestr(arcname, image.read())
        spool.seek(0)
        name = default_storage.save(f"{EXPORTS}/{export.uuid}.zip", File(spool))
        size = default_storage.size(name)
    now = timezone.now()
    expires = now + timedelta(hours=settings.DATA_EXPORT_TTL_HOURS)
    DataExport.objects.filter(pk=export.pk).update(
        file=name, size_bytes=size, ready_at=now, expires_at=expires
    )
    notify_export_ready(email=user.email, language=user.language, expires_at=expires)
    export.refresh_from_db()
    return export


def person_data(user: User) -> dict[str, Any]:
    """The JSON: what we hold about the person, in their own terms."""
    orders = Order.objects.filter(user=user, deleted_at__isnull=True).order_by("created_at")
    return {
        "account": {
            "email": user.email,
            "language": user.language,
            "joinedAt": user.date_joined,
            "credits": [
                {"kind": m.kind, "amount": m.amount, "reason": m.reason, "at": m.created_at}
                for m in CreditMovement.objects.filter(user=user).order_by("created_at")
            ],
        },
        "orders": [order_data(order) for order in orders],
        "ratings": [
            {"order": str(r.order.uuid), "stars": r.stars, "comment": r.comment}
            for r in OrderRating.objects.filter(
                order__user=user, order__deleted_at__isnull=True
            ).select_related("order")
        ],
        "favourites": [
            {"order": str(headshot.order.uuid), "file": name}
            for headshot, name in shown_headshots(user)
            if headshot.is_favourite
        ],
    }


def order_data(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.uuid),
        "name": order.name,
        "status": order.status,
        "package": order.package,
        "subjectType": order.subject_type,
        "styles": sorted(set(order.predictions.values_list("style", flat=True))),
        "createdAt": order.created_at,
        "readyAt": order.ready_at,
        "failedAt": order.failed_at,
        "canceledAt": order.canceled_at,
        "spendUsd": str(order.cost),
        "photos": order.image_count,
        "consent": {"version": order.consent_version, "at": order.consented_at},
    }


def shown_headshots(user: User) -> list[tuple[Headshot, str]]:
    """Every headshot the person can see, with its name in the ZIP."""
    shown = Headshot.objects.shown().filter(order__user=user, order__deleted_at__isnull=True)
    return [(headshot, archive_name(headshot)) for headshot in shown.select_related("order")]


def archive_name(headshot: Headshot) -> str:
    """`headshots/<order>/<stored file name>`: the stored name keeps its real extension."""
    return f"headshots/{headshot.order.uuid}/{PurePosixPath(str(headshot.image.name)).name}"


def export_link_token(export: DataExport) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(export.uuid))


def export_link_is_valid(export: DataExport, token: str, *, now: datetime | None = None) -> bool:
    """Made by us for this export, and the export has not expired."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=timedelta(hours=settings.DATA_EXPORT_TTL_HOURS)
        )
    except signing.BadSignature:
        return False
    expires = export.expires_at
    return value == str(export.uuid) and expires is not None and expires > (now or timezone.now())
