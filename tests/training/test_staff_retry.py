"""Staff retry a failed order from the admin. A failed training keeps its photos for
TEMP_RETENTION_HOURS, so staff can train it again meanwhile; after that the retry says why it
cannot, in the staff member's language."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.credits import credit_balance
from accounts.models import User
from tests.conftest import make_staff, wait_for
from tests.training.ordering import emulator_state, place_order, reaches
from training.lifecycle import order_retry
from training.models import Headshot, Order, Stage, Status

pytestmark = pytest.mark.timeout(120)
FAILED_SUBJECT = "No hemos podido terminar tus retratos: Perfil"
READY_SUBJECT = "Tus retratos están listos: Perfil"


@pytest.fixture
def admin_client(transactional_db: None) -> Client:
    client = Client()
    client.force_login(
        make_staff("staff@example.com", "training.view_order", "training.retry_order")
    )
    return client


def retry(admin_client: Client, order: Order, **headers: str) -> Any:
    return admin_client.post(
        "/admin/training/order/",
        {"action": "retry_orders", "_selected_action": [order.pk]},
        follow=True,
        headers=headers,
    )


def failed_training(replicate: Any, dora: User, tmp_path: Path, settings: Any) -> Order:
    """An order whose training failed on Replicate, rolled back (refund, e-mail) and done."""
    replicate.set_faults(fail_trainings=1)
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED)
    assert order.failure_stage == Stage.TRAINING
    wait_for(lambda: [m.subject for m in mail.outbox] == [FAILED_SUBJECT])
    return Order.objects.get(pk=order.pk)


def test_it_makes_the_headshots_again_after_a_completion_failure(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    replicate.set_faults(fail_predictions=4)  # both prompts fail, and fail again
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED, Status.READY)
    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.COMPLETION)

    response = retry(admin_client, order)

    assert "1 pedido reintentado." in response.content.decode()
    order = reaches(order, Status.READY)
    assert order.headshots.count() == 4
    wait_for(replicate.webhooks_idle)  # the e-mail goes out after the order turns ready
    assert [m.subject for m in mail.outbox][-1] == READY_SUBJECT


def billed_seconds(order: Order) -> float:
    """The Replicate seconds of the order's runs that have rows now (training included)."""
    runs = [p.predict_time or 0.0 for p in order.predictions.all()]
    return (order.predict_time or 0.0) + sum(runs)


def test_a_retry_adds_the_new_runs_to_the_spend_of_the_replaced_ones(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    replicate.set_faults(fail_predictions=4)  # both styles fail, and fail again
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED, Status.READY)
    wait_for(lambda: order.predictions.exclude(predict_time=None).count() == 4)
    first_run = billed_seconds(Order.objects.get(pk=order.pk))

    retry(admin_client, order)
    order = reaches(order, Status.READY)
    wait_for(lambda: not order.predictions.filter(predict_time=None).exists())
    order.refresh_from_db()

    training = order.predict_time or 0.0
    assert order.earlier_seconds == pytest.approx(first_run - training)
    second_run = billed_seconds(order) - training  # the new predictions only
    price = settings.REPLICATE_PRICE_PER_SECOND
    assert float(order.cost) == pytest.approx((first_run + second_run) * price, abs=1e-4)
    assert float(order.cost) > max(first_run, billed_seconds(order)) * price


def test_a_training_retry_adds_the_failed_training_to_the_spend(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    order = failed_training(replicate, dora, tmp_path, settings)
    failed_run = wait_for(lambda: Order.objects.get(pk=order.pk).predict_time)

    retry(admin_client, order)
    order = reaches(order, Status.READY)
    wait_for(lambda: not order.predictions.filter(predict_time=None).exists())
    order.refresh_from_db()

    assert order.earlier_seconds == pytest.approx(failed_run)
    price = settings.REPLICATE_PRICE_PER_SECOND
    expected = (failed_run + billed_seconds(order)) * price
    assert float(order.cost) == pytest.approx(expected, abs=1e-4)


def test_it_rolls_back_a_failed_training_but_keeps_its_photos_for_a_retry(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    order = failed_training(replicate, dora, tmp_path, settings)

    assert credit_balance(dora) == 1  # refunded
    assert [m.to for m in mail.outbox] == [[dora.email]]
    assert default_storage.exists(str(order.training_zip.name))
    assert order.training_file_id == ""  # Replicate's copy is deleted at once
    assert emulator_state(replicate)["files"] == []


def test_it_trains_a_failed_training_again_when_staff_retry_it(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    order = failed_training(replicate, dora, tmp_path, settings)

    response = retry(admin_client, order)

    assert "1 pedido reintentado." in response.content.decode()
    order = reaches(order, Status.READY, Status.FAILED)
    assert order.status == Status.READY, order.error_detail
    assert order.headshots.count() == 4
    assert [t["status"] for t in emulator_state(replicate)["trainings"]] == [
        "failed", "succeeded"
    ]  # fmt: skip
    wait_for(replicate.webhooks_idle)
    assert [m.subject for m in mail.outbox] == [FAILED_SUBJECT, READY_SUBJECT]
    assert credit_balance(dora) == 1  # the retry is free
    wait_for(lambda: not Order.objects.get(pk=order.pk).training_zip)  # trained: gone


def test_it_says_the_photos_are_gone_once_cleanup_deleted_them(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    settings.TEMP_RETENTION_HOURS = 24
    order = failed_training(replicate, dora, tmp_path, settings)
    Order.objects.filter(pk=order.pk).update(failed_at=timezone.now() - timedelta(hours=25))
    call_command("cleanup_temp_files", verbosity=0)
    assert not default_storage.exists(str(order.training_zip.name))

    response = retry(admin_client, order)

    assert (
        "No reintentados: las fotos de Perfil ya se borraron (se guardan 24 horas después de un "
        "fallo), así que el entrenamiento no puede repetirse. Pide a la persona que haga un "
        "pedido nuevo."
    ) in response.content.decode()
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.TRAINING)
    assert len(emulator_state(replicate)["trainings"]) == 1
    assert [m.subject for m in mail.outbox] == [FAILED_SUBJECT]


def test_it_does_not_train_again_past_the_retention_even_before_cleanup_ran(
    admin_client: Client, alice: User, settings: Any
) -> None:
    settings.TEMP_RETENTION_HOURS = 24
    order = Order.objects.create(
        user=alice, name="Old", package="professional", subject_type="woman",
        status=Status.FAILED, failure_stage=Stage.TRAINING,
        failed_at=timezone.now() - timedelta(hours=25),
        training_zip=default_storage.save("training-sets/old.zip", ContentFile(b"PK\x05\x06")),
    )  # fmt: skip

    response = retry(admin_client, order, **{"Accept-Language": "en"})

    assert (
        "Not retried: the photos of Old are deleted (they are kept 24 hours after a failure), "
        "so the training cannot run again. Ask the person to place a new order."
    ) in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Status.FAILED


def test_it_says_when_an_order_has_not_failed(admin_client: Client, alice: User) -> None:
    order = Order.objects.create(
        user=alice, name="Done", package="professional", subject_type="woman",
        status=Status.READY,
    )  # fmt: skip

    response = retry(admin_client, order)

    assert "No reintentados (no han fallado): Done" in response.content.decode()
    assert "1 pedido reintentado." not in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Status.READY


def failed_generation(user: User) -> Order:
    """A trained order that failed while generating, with one stored headshot."""
    order = Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="woman",
        status=Status.FAILED, failure_stage=Stage.COMPLETION,
        replicate_version_id="headshots/perfil:abc123",
    )  # fmt: skip
    store_headshot(order, "old")
    return order


def store_headshot(order: Order, name: str) -> Headshot:
    prediction = order.predictions.create(prompt_index=0, prompt="a portrait of ohwx")
    image = default_storage.save(f"headshots/{name}.jpg", ContentFile(b"\xff\xd8\xff"))
    return order.headshots.create(
        prediction=prediction, output_index=0, image=image, content_type="image/jpeg"
    )


@pytest.mark.django_db
def test_it_deletes_the_old_headshots_once_a_retry_commits(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    order = failed_generation(alice)
    old = order.headshots.get()

    with django_capture_on_commit_callbacks(execute=True):
        assert order_retry(order)

    assert Order.objects.get(pk=order.pk).status == Status.GENERATING
    assert not order.headshots.exists()
    assert not order.predictions.exists()
    assert not default_storage.exists(str(old.image.name))


@pytest.mark.django_db
def test_it_keeps_the_headshots_of_an_order_another_retry_set_going(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    order = failed_generation(alice)
    stale = Order.objects.get(pk=order.pk)  # a second retry, loaded before the first
    with django_capture_on_commit_callbacks(execute=True):
        assert order_retry(order)
    new = store_headshot(order, "new")  # the generation the first retry started

    with django_capture_on_commit_callbacks(execute=True):
        assert order_retry(stale) is None

    assert Order.objects.get(pk=order.pk).status == Status.GENERATING
    assert list(order.headshots.all()) == [new]
    assert default_storage.exists(str(new.image.name))
