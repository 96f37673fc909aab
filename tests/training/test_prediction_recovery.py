"""Predictions are created exactly once per prompt and never left stuck: a worker killed with
SIGKILL in the middle of a create, an answer that never comes, news that comes before the answer,
a generation whose task died before its first row (issue #12, findings 2, 4, 5 and 6)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.credits import credit_balance, credits_spend_for_order
from accounts.models import CreditMovement, User
from replicate_emulator.server import ReplicateEmulator
from tests.conftest import PROJECT_DIR, test_database_url, wait_for
from tests.replicate.conftest import make_photo_zip
from tests.training.ordering import emulator_state, reaches
from training import tasks
from training.lifecycle import fail_stuck_orders
from training.models import Headshot, Order, Prediction, Status, WebhookDelivery
from training.packages import PROFESSIONAL
from training.replicate.client import client_from_settings
from training.trainings import destination_name

pytestmark = pytest.mark.timeout(180)
PROMPTS = 2  # the test orders' styles (TEST_STYLES in tests/conftest.py)


def generating_order(user: User) -> Order:
    """An order whose training just succeeded on the emulator, its credit spent, no rows yet."""
    order = Order.objects.create(
        user=user, name="Perfil", package=PROFESSIONAL.slug, subject_type="woman",
        status=Status.GENERATING, training_finished_at=timezone.now(),
    )  # fmt: skip
    credits_spend_for_order(user=user, cost=1, order_uuid=order.uuid)
    gateway = client_from_settings()
    gateway.create_model(owner="headshots", name=destination_name(order))
    upload = gateway.upload_file(io.BytesIO(make_photo_zip()), filename="set.zip")
    training = gateway.create_training(
        destination=f"headshots/{destination_name(order)}",
        trainer=django_settings.REPLICATE_TRAINER,
        trainer_version=django_settings.REPLICATE_TRAINER_VERSION,
        input={"input_images": upload.url, "trigger_word": "ohwx"},
        webhook=f"{django_settings.SITE_URL}/webhooks/replicate/",
        webhook_events_filter=["completed"],
    )
    done = wait_for(lambda: (info := gateway.get_training(training.id)).is_terminal and info)
    assert done.status == "succeeded", done.error
    Order.objects.filter(pk=order.pk).update(
        replicate_training_id=training.id, replicate_version_id=done.version
    )
    order.refresh_from_db()
    return order


@pytest.fixture
def queue_in_database(settings: Any) -> None:
    """Tasks go to the database queue, for worker processes (the live server enqueues there too)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def workers(replicate: ReplicateEmulator, settings: Any) -> Iterator[list[subprocess.Popen[str]]]:
    """Start worker processes on demand (`start_worker`); any left running are stopped."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def start_worker(started: list[subprocess.Popen[str]], emulator: ReplicateEmulator) -> Any:
    """A real `db_worker` process sharing the test's database, media folder and emulator."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "REPLICATE_"))  # no token: the emulator's own
    }
    env = {
        **base,
        "DATABASE_URL": test_database_url(),
        "TASKS_BACKEND": "database",
        "DEBUG": "true",
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "REPLICATE_BASE_URL": emulator.base_url,
        "SITE_URL": django_settings.SITE_URL,
        "HEADSHOTS_PER_STYLE": str(django_settings.HEADSHOTS_PER_STYLE),
        "ORDER_STYLES": ",".join(django_settings.ORDER_STYLES),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload",
         "--interval", "0.2"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    started.append(process)
    return process


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL: no clean-up, no `finally`, exactly like the OOM killer or a pulled plug."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def predictions_on_replicate(emulator: ReplicateEmulator) -> list[dict[str, Any]]:
    return list(emulator_state(emulator)["predictions"])


def sync_now(settings: Any) -> None:
    """cron's `sync_replicate`, with the grace period already over."""
    settings.SYNC_AFTER_MINUTES = 0
    call_command("sync_replicate", verbosity=0)


def assert_made_once(order: Order, emulator: ReplicateEmulator, user: User) -> None:
    """Ready, one prediction per prompt on Replicate, every image stored, the credit spent once."""
    try:
        order = reaches(order, Status.READY, Status.FAILED, timeout=90)
    except AssertionError as late:
        raise AssertionError(f"{order.status}: {list(order.predictions.all())}") from late
    assert order.status == Status.READY, order.error_detail
    assert len(predictions_on_replicate(emulator)) == PROMPTS
    ids = set(order.predictions.values_list("replicate_prediction_id", flat=True))
    assert ids == {p["id"] for p in predictions_on_replicate(emulator)}
    assert Headshot.objects.filter(order=order).count() == PROMPTS * 2
    assert credit_balance(user) == 0
    assert not CreditMovement.objects.filter(user=user, kind="refund").exists()


def test_it_makes_again_a_create_killed_in_its_429_back_off(
    replicate: ReplicateEmulator, dora: User, settings: Any, queue_in_database: None,
    workers: list[subprocess.Popen[str]],
) -> None:  # fmt: skip
    order = generating_order(dora)
    replicate.set_faults(
        rate_limit_creates=1, retry_after_seconds=30, create_faults_for=["predictions"]
    )
    tasks.generate_headshots.enqueue(order.pk)
    worker = start_worker(workers, replicate)

    wait_for(lambda: replicate.state.throttled == 1, timeout=60)  # now sleeping in its back-off
    # The other style's create, made beside it, is answered.
    wait_for(lambda: order.predictions.exclude(replicate_prediction_id="").count() == PROMPTS - 1)
    kill_hard(worker)
    throttled = order.predictions.get(replicate_prediction_id="")
    assert throttled.status == "starting"
    made = [p["input"]["prompt"] for p in predictions_on_replicate(replicate)]
    assert len(made) == PROMPTS - 1
    assert throttled.prompt not in made

    sync_now(settings)
    start_worker(workers, replicate)

    assert_made_once(order, replicate, dora)


def test_it_adopts_a_prediction_whose_creator_was_killed_before_the_answer(
    replicate: ReplicateEmulator, dora: User, settings: Any, queue_in_database: None,
    workers: list[subprocess.Popen[str]],
) -> None:  # fmt: skip
    order = generating_order(dora)
    replicate.set_faults(
        slow_answer_creates=1, hang_seconds=120, webhooks_never=True,
        create_faults_for=["predictions"],
    )  # fmt: skip
    tasks.generate_headshots.enqueue(order.pk)
    worker = start_worker(workers, replicate)

    wait_for(lambda: replicate.state.held == 1, timeout=60)  # created; the answer is held
    # The other style's create, made beside it, is answered.
    wait_for(lambda: order.predictions.exclude(replicate_prediction_id="").count() == PROMPTS - 1)
    kill_hard(worker)
    assert order.predictions.filter(replicate_prediction_id="").count() == 1
    wait_for(
        lambda: (
            [p["status"] for p in predictions_on_replicate(replicate)] == ["succeeded"] * PROMPTS
        )
    )
    replicate.set_faults(webhooks_never=False)

    sync_now(settings)
    start_worker(workers, replicate)

    assert_made_once(order, replicate, dora)


def test_it_leaves_a_recent_unanswered_create_to_its_worker(
    replicate: ReplicateEmulator, dora: User, settings: Any
) -> None:
    order = generating_order(dora)
    Prediction.objects.create(order=order, prompt_index=0, prompt="p", status="starting")

    call_command("sync_replicate", verbosity=0)  # SYNC_AFTER_MINUTES (10) have not passed

    assert order.predictions.get().status == "starting"
    assert predictions_on_replicate(replicate) == []


def test_it_restarts_a_generation_that_died_before_its_first_row(
    replicate: ReplicateEmulator, dora: User, settings: Any
) -> None:
    order = generating_order(dora)  # generate_headshots never ran (or died at once)

    call_command("sync_replicate", verbosity=0)
    assert not order.predictions.exists()  # within the grace period: its task may still come
    sync_now(settings)
    sync_now(settings)  # a second run (cron again) makes nothing twice

    assert_made_once(order, replicate, dora)


@pytest.mark.parametrize("drops", [1, 3])
def test_it_adopts_predictions_whose_answers_were_dropped(
    replicate: ReplicateEmulator, dora: User, drops: int
) -> None:
    order = generating_order(dora)
    replicate.set_faults(drop_after_accept_creates=drops, create_faults_for=["predictions"])

    tasks.generate_headshots.enqueue(order.pk)

    assert_made_once(order, replicate, dora)


def test_it_applies_news_that_comes_before_the_create_answers(
    replicate: ReplicateEmulator, dora: User
) -> None:
    order = generating_order(dora)
    replicate.set_faults(slow_answer_creates=1, hang_seconds=60, create_faults_for=["predictions"])
    creating = threading.Thread(target=generate_then_close, args=(order.pk,))
    creating.start()  # the immediate backend: this thread is held in the first create

    wait_for(lambda: replicate.state.held == 1)
    first = wait_for(lambda: order.predictions.filter(prompt_index=0, outputs_stored=True).first())
    assert replicate.state.held == 1  # applied while the create still had not answered
    completed = WebhookDelivery.objects.get(
        object_id=first.replicate_prediction_id, event_status="succeeded"
    )
    assert completed.outcome == WebhookDelivery.Outcome.APPLIED
    replicate.release_holds()  # now the create may answer
    creating.join(timeout=60)

    assert_made_once(order, replicate, dora)


def generate_then_close(order_id: int) -> None:
    try:
        tasks.generate_headshots.enqueue(order_id)
    finally:
        connection.close()


def stuck_candidate(user: User, *, created_hours_ago: int, trained_hours_ago: int) -> Order:
    """An order generating its headshots, with its credit spent, dated in the past."""
    order = Order.objects.create(
        user=user, name="Perfil", package=PROFESSIONAL.slug, subject_type="woman",
        status=Status.GENERATING, replicate_version_id="headshots/x:" + "a" * 64,
    )  # fmt: skip
    credits_spend_for_order(user=user, cost=1, order_uuid=order.uuid)
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(
        created_at=now - timedelta(hours=created_hours_ago),
        training_finished_at=now - timedelta(hours=trained_hours_ago),
    )
    return order


def test_it_gives_a_trained_order_its_own_time_before_calling_it_stuck(dora: User) -> None:
    order = stuck_candidate(dora, created_hours_ago=7, trained_hours_ago=1)  # a long training

    assert fail_stuck_orders() == []

    assert Order.objects.get(pk=order.pk).status == Status.GENERATING
    assert credit_balance(dora) == 0


def test_it_fails_an_order_whose_headshots_never_came(dora: User) -> None:
    order = stuck_candidate(dora, created_hours_ago=8, trained_hours_ago=7)

    fail_stuck_orders()

    assert Order.objects.get(pk=order.pk).status == Status.FAILED
    assert credit_balance(dora) == 1  # refunded
