"""Recovery without a person or cron: a full disk leaves no partial file, and a lost webhook is
made good by the worker's own poll of Replicate (a real worker process, the emulator, the live
server), well before `sync_replicate` would notice."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django_tasks_db.models import DBTaskResult
from PIL import Image

from accounts.credits import credit_balance
from accounts.models import User
from tests.conftest import PROJECT_DIR, test_database_url, wait_for
from tests.training.ordering import emulator_state, place_order, reaches
from training import polling
from training.completion import store_outputs
from training.models import Headshot, Order, Prediction, Status, WebhookDelivery

pytestmark = pytest.mark.timeout(180)


def noise_png(side: int) -> bytes:
    """An image that does not compress: its PNG is about 3 bytes a pixel."""
    pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def small_disk(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """The media folder on a real 256 KB tmpfs: writes past it fail with ENOSPC, as in life."""
    media = tmp_path / "small-disk"
    media.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(media)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media},
        },
    }
    yield media
    subprocess.run(["umount", "-l", str(media)], check=False)


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def referenced_names() -> set[str]:
    names: set[str] = set()
    for stored in Headshot.objects.values_list("image", "preview", "jpeg"):
        names.update(stored)
    return names


def test_it_leaves_no_partial_file_when_the_disk_fills_during_a_copy(
    small_disk: Path,
    image_host: Callable[[str, bytes], str],
    alice: User,
) -> None:
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man",
        status=Status.GENERATING, replicate_version_id="headshots/x:v1",
    )  # fmt: skip
    small, large = noise_png(48), noise_png(400)  # about 7 KB, and 480 KB: past the disk
    prediction = Prediction.objects.create(
        order=order, prompt_index=1, prompt="portrait", status=Prediction.State.SUCCEEDED,
        output_urls=[image_host("/o/1.png", small), image_host("/o/2.png", large)],
    )  # fmt: skip

    with pytest.raises(OSError, match="No space left"):
        store_outputs(prediction_id=prediction.pk)

    assert Headshot.objects.filter(prediction=prediction).count() == 1  # the one that fitted
    assert files_under(small_disk) == referenced_names()  # no 2-1-2.png, whole or partial
    prediction.refresh_from_db()
    assert not prediction.outputs_stored  # sync_replicate stores it again later, as before
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)

    store_outputs(prediction_id=prediction.pk)

    prediction.refresh_from_db()
    assert prediction.outputs_stored
    stored = {h.output_index: h for h in Headshot.objects.filter(prediction=prediction)}
    assert sorted(stored) == [0, 1]
    assert default_storage.open(str(stored[1].image.name)).read() == large
    assert files_under(small_disk) == referenced_names()


def test_it_leaves_no_partial_preview_when_only_the_image_fits(
    small_disk: Path,
    image_host: Callable[[str, bytes], str],
    alice: User,
) -> None:
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man",
        status=Status.GENERATING, replicate_version_id="headshots/x:v1",
    )  # fmt: skip
    filler = small_disk / "filler"
    image = noise_png(160)  # about 77 KB; its WebP preview about 18 KB more
    filler.write_bytes(os.urandom(256 * 1024 - len(image) - 8 * 1024))
    prediction = Prediction.objects.create(
        order=order, prompt_index=0, prompt="portrait", status=Prediction.State.SUCCEEDED,
        output_urls=[image_host("/o/3.png", image)],
    )  # fmt: skip

    with pytest.raises(OSError, match="No space left"):
        store_outputs(prediction_id=prediction.pk)

    assert not Headshot.objects.exists()
    assert files_under(small_disk) == {"filler"}  # neither the image nor a piece of its preview


@pytest.fixture
def worker(
    replicate: Any, settings: Any, live_server: Any
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """A real database-queue worker sharing the test's database, emulator and media folder."""
    started: list[subprocess.Popen[str]] = []

    def start(**extra: str) -> subprocess.Popen[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        env.pop("REPLICATE_API_TOKEN", None)  # the emulator, as `make run` has it
        env.update({
            "DATABASE_URL": test_database_url(), "TASKS_BACKEND": "database", "DEBUG": "true",
            "REPLICATE_BASE_URL": replicate.base_url, "SITE_URL": live_server.url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT), "HEADSHOTS_PER_STYLE": "2",
            "ORDER_STYLES": ",".join(settings.ORDER_STYLES),
            "LOG_LEVEL": "WARNING", **extra,
        })  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload",
             "--interval", "0.2"],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        started.append(process)
        return process

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    yield start
    for process in started:
        process.terminate()  # the worker finishes its task and closes its connection
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def last_completion(emulator: Any) -> datetime:
    """When the emulator finished the order's last job (the webhook it never sent)."""
    state = emulator_state(emulator)
    jobs = [*state["trainings"], *state["predictions"]]
    return max(datetime.fromisoformat(job["completed_at"]) for job in jobs)


def test_it_completes_an_order_whose_webhooks_are_lost_without_sync(
    replicate: Any,
    worker: Callable[..., subprocess.Popen[str]],
    dora: User,
    tmp_path: Path,
    settings: Any,
) -> None:
    replicate.set_faults(webhooks_never=True)  # every webhook lost
    process = worker(REPLICATE_POLL_SECONDS="1", REPLICATE_POLL_MAX_SECONDS="2")

    order = place_order(dora, tmp_path / "uploads", settings)
    order = reaches(order, Status.READY, Status.FAILED, timeout=90)

    assert order.status == Status.READY, order.error_detail
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    assert not WebhookDelivery.objects.exists()  # neither webhook nor sync_replicate did it
    state = emulator_state(replicate)
    assert len(state["trainings"]) == 1
    assert len(state["predictions"]) == order.predictions.count() == 2  # once per prompt
    assert order.headshots.count() == 4
    assert credit_balance(dora) == 0  # charged once
    assert files_under(Path(settings.MEDIA_ROOT)) == referenced_names()
    assert order.ready_at is not None
    recovery = (order.ready_at - last_completion(replicate)).total_seconds()
    print(f"recovered {recovery:.1f} s after the last lost webhook (polls 1 s, at most 2 s)")
    assert recovery < 2 + 15  # the longest poll interval, plus a worker's turn on a busy machine
    # The polls stop once the order is over: nothing is left waiting in the queue.
    wait_for(lambda: not DBTaskResult.objects.filter(status="READY").exists(), timeout=20)


def test_it_keeps_polling_while_replicate_does_not_answer_and_stops_when_the_order_is_over(
    replicate: Any, alice: User
) -> None:
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man",
        status=Status.TRAINING, replicate_training_id="t-unreachable",
    )  # fmt: skip
    replicate.stop()

    assert polling.order_poll(order_id=order.pk) == ([], True)

    Order.objects.filter(pk=order.pk).update(status=Status.CANCELED)
    assert polling.order_poll(order_id=order.pk) == ([], False)
    assert polling.order_poll(order_id=order.pk + 1000) == ([], False)  # deleted meanwhile


def test_it_backs_off_between_polls_and_starts_again_when_the_order_moved(settings: Any) -> None:
    settings.REPLICATE_POLL_SECONDS, settings.REPLICATE_POLL_MAX_SECONDS = 30, 120

    delays = [30]
    for _ in range(3):
        delays.append(polling.next_poll_seconds(delays[-1], moved=False))

    assert delays == [30, 60, 120, 120]
    assert polling.next_poll_seconds(120, moved=True) == 30
