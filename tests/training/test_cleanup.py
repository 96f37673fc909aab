"""`manage.py cleanup_temp_files`: what has done its job goes; what a training needs stays."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from training.models import Headshot, Order, Prediction, Status

DAY = 24 * 3600


def stored(name: str, *, age_seconds: int = 0, size: int = 10) -> str:
    """Save a file; on local storage, make it look `age_seconds` old."""
    saved = default_storage.save(name, ContentFile(b"x" * size))
    if age_seconds and hasattr(default_storage, "path"):
        then = time.time() - age_seconds
        os.utime(default_storage.path(saved), (then, then))
    return saved


def order_with_zip(user: User, status: Status, *, age_seconds: int = 0) -> Order:
    order = Order.objects.create(
        user=user, name="O", package="professional", subject_type="man", status=status
    )
    order.training_zip = stored(f"training-sets/{order.uuid}.zip", age_seconds=age_seconds)
    order.save(update_fields=["training_zip"])
    return order


def run(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_temp_files", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_applies_the_retention_policy(alice: User, settings: Any, tmp_path: Path) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    finished = order_with_zip(alice, Status.GENERATING)
    queued_old = order_with_zip(alice, Status.QUEUED, age_seconds=3 * DAY)
    training_old = order_with_zip(alice, Status.TRAINING, age_seconds=3 * DAY)
    old_orphan = stored("training-sets/orphan.zip", age_seconds=2 * DAY)
    new_orphan = stored("training-sets/just-uploading.zip")
    prediction = Prediction.objects.create(order=finished, prompt_index=0, prompt="p")
    kept_image = stored(f"headshots/{finished.uuid}/1-1-1.webp", age_seconds=2 * DAY)
    Headshot.objects.create(
        order=finished,
        prediction=prediction,
        output_index=0,
        image=kept_image,
        content_type="image/webp",
    )
    lost_image = stored(f"headshots/{finished.uuid}/lost.webp", age_seconds=2 * DAY)
    stale_upload = Path(settings.FILE_UPLOAD_TEMP_DIR) / "tmpabc.upload.jpg"
    stale_upload.parent.mkdir(parents=True)
    stale_upload.write_bytes(b"y" * 7)
    os.utime(stale_upload, (time.time() - 2 * DAY, time.time() - 2 * DAY))

    output = run()

    assert "deleted 4 file(s), 37 bytes" in output
    assert not default_storage.exists(str(finished.training_zip.name))
    assert Order.objects.get(pk=finished.pk).training_zip.name == ""
    assert default_storage.exists(str(queued_old.training_zip.name))
    assert default_storage.exists(str(training_old.training_zip.name))
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(new_orphan)
    assert default_storage.exists(kept_image)
    assert not default_storage.exists(lost_image)
    assert not stale_upload.exists()
    assert "deleted 0 file(s), 0 bytes" in run()  # idempotent


@pytest.mark.django_db
def test_it_lists_without_deleting_in_a_dry_run(alice: User) -> None:
    finished = order_with_zip(alice, Status.READY)

    output = run("--dry-run", "--verbosity", "2")

    assert f"would delete training-sets/{finished.uuid}.zip (10 bytes)" in output
    assert default_storage.exists(str(finished.training_zip.name))
    assert Order.objects.get(pk=finished.pk).training_zip


@pytest.mark.django_db
def test_it_keeps_a_running_trainings_zip_on_s3_even_at_zero_retention(
    alice: User, settings: Any, s3_storage: str
) -> None:
    settings.TEMP_RETENTION_HOURS = 0
    running = order_with_zip(alice, Status.TRAINING)
    done = order_with_zip(alice, Status.FAILED)
    orphan = stored("training-sets/orphan.zip")

    run()

    assert default_storage.exists(str(running.training_zip.name))
    assert not default_storage.exists(str(done.training_zip.name))
    assert not default_storage.exists(orphan)


@pytest.mark.django_db
def test_it_uses_a_fixed_number_of_queries(alice: User) -> None:
    def queries_with(count: int) -> int:
        for _ in range(count):
            order_with_zip(alice, Status.READY)
            order_with_zip(alice, Status.TRAINING)
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured)

    assert queries_with(1) == queries_with(10)


@pytest.mark.django_db
def test_it_deletes_api_uploads_nobody_used_once_their_url_is_long_expired(
    alice: User, settings: Any, tmp_path: Path
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    settings.TEMP_RETENTION_HOURS = 24
    settings.UPLOAD_URL_TTL_SECONDS = 900
    forgotten = stored(f"uploads/{alice.pk}/{'a' * 32}.zip", age_seconds=DAY + 1000, size=5)
    just_sent = stored(f"uploads/{alice.pk}/{'b' * 32}.zip", age_seconds=DAY, size=5)

    output = run()

    assert "deleted 1 file(s), 5 bytes" in output
    assert not default_storage.exists(forgotten)
    assert default_storage.exists(just_sent)


def failed_order_with_zip(user: User, *, failed_hours_ago: float, trained: bool = False) -> str:
    """A failed order, its ZIP written three days ago (its training ran long), failed at a given
    time; returns the ZIP's name."""
    order = order_with_zip(user, Status.FAILED, age_seconds=3 * DAY)
    Order.objects.filter(pk=order.pk).update(
        failed_at=timezone.now() - timedelta(hours=failed_hours_ago),
        replicate_version_id="headshots/x:" + "a" * 64 if trained else "",
    )
    return str(order.training_zip.name)


@pytest.mark.django_db
def test_it_keeps_a_failed_trainings_zip_for_a_retry_until_the_retention_is_over(
    alice: User, settings: Any
) -> None:
    settings.TEMP_RETENTION_HOURS = 24
    retryable = failed_order_with_zip(alice, failed_hours_ago=23)
    expired = failed_order_with_zip(alice, failed_hours_ago=25)
    trained = failed_order_with_zip(alice, failed_hours_ago=1, trained=True)  # retry: no ZIP

    output = run()

    assert "deleted 2 file(s), 20 bytes" in output
    assert default_storage.exists(retryable)
    assert Order.objects.get(training_zip=retryable).status == Status.FAILED
    assert not default_storage.exists(expired)
    assert not default_storage.exists(trained)
    assert Order.objects.filter(training_zip__in=[expired, trained]).count() == 0

    Order.objects.filter(training_zip=retryable).update(
        failed_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    assert "deleted 1 file(s), 10 bytes" in run()  # the next hourly run, once its time is up
    assert not default_storage.exists(retryable)
    assert Order.objects.filter(training_zip=retryable).count() == 0
