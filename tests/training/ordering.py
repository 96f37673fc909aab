"""Place an order as the form does and wait for it: for tests that follow one through Replicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from privacy.consent import consent_now
from tests.conftest import wait_for
from tests.training.conftest import face_jpeg
from training import tasks
from training.models import Order
from training.orders import order_create
from training.packages import PROFESSIONAL


def place_order(user: User, photo_temp: Path, settings: Any) -> Order:
    """An order as the form makes it, then its follow-ups (the submission) as the view does."""
    settings.FILE_UPLOAD_TEMP_DIR = str(photo_temp)
    photos = [
        SimpleUploadedFile(f"selfie{i}.jpg", face_jpeg(i, long_side=1200), "image/jpeg")
        for i in range(4)
    ]
    created = order_create(
        user=user,
        package=PROFESSIONAL,
        name="Perfil",
        subject_type="woman",
        photos=photos,
        consent=consent_now(),
    )
    tasks.enqueue_followups(created.followups)
    return created.order


def emulator_state(emulator: Any) -> dict[str, Any]:
    response = httpx.get(
        f"{emulator.url}/_emulator/state", headers={"Authorization": f"Bearer {emulator.token}"}
    )
    response.raise_for_status()
    return dict(response.json())


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def reaches(order: Order, *statuses: str, timeout: float = 30.0) -> Order:
    wait_for(lambda: status_of(order) in statuses, timeout=timeout)
    return Order.objects.get(pk=order.pk)
