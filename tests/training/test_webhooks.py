"""`POST /webhooks/replicate/`: verified before anything is read, applied once, never backwards."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.conftest import break_storage
from tests.training.ordering import place_order
from training.models import Order, Prediction, Status, TrainingEvent, WebhookDelivery
from training.replicate.signatures import sign_webhook

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "training-succeeded.json"
URL = "/webhooks/replicate/"
VERSION = "5e2a7c1d9b3f4a6e8c0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4d6e8f0a2b4c"


@pytest.fixture
def order_in_training(alice: User, settings: Any) -> Order:
    settings.REPLICATE_WEBHOOK_SECRET = SECRET
    return Order.objects.create(
        user=alice,
        name="Perfil",
        package="professional",
        subject_type="woman",
        status=Status.TRAINING,
        replicate_training_id="ufawqhfynnddngldkgtslldrkq",
        training_input_url="https://example.com/training-sets/set.zip",
    )


def deliver(
    client: Client, payload: dict[str, Any], *, webhook_id: str = "msg_1", **overrides: Any
) -> Any:
    body = json.dumps(payload).encode()
    headers = sign_webhook(
        secret=overrides.pop("secret", SECRET),
        webhook_id=webhook_id,
        timestamp=overrides.pop("timestamp", int(time.time())),
        body=body,
    )
    body = overrides.pop("body", body)
    return client.post(URL, body, content_type="application/json", headers=headers)


def succeeded() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


@pytest.mark.django_db
def test_it_applies_a_signed_success(
    client: Client, order_in_training: Order, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks():  # keep generation from running: no emulator here
        response = deliver(client, succeeded())

    assert response.status_code == 200
    assert response.json() == {"outcome": "applied"}
    order = Order.objects.get(pk=order_in_training.pk)
    assert order.status == Status.GENERATING
    assert order.replicate_version_id.endswith(
        ":0c6b0bd4bb3a9b5a4ae9e1bdfc35d1b9a53a2a9e8a4d0c8a5b1f0e1d2c3b4a59"
    )
    assert order.predict_time == 1147.2
    assert float(order.cost) == round(1147.2 * 0.001525, 4)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook_id, delivery.outcome) == ("msg_1", "applied")
    assert delivery.processed_at is not None


@pytest.mark.django_db
def test_it_changes_nothing_for_a_repeated_delivery(
    client: Client, order_in_training: Order, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(client, succeeded())
        response = deliver(client, succeeded())

    assert response.json() == {"outcome": "duplicate"}
    assert WebhookDelivery.objects.count() == 1
    assert TrainingEvent.objects.filter(order=order_in_training).count() == 1
    assert len(callbacks) == 2  # one ZIP clean-up and one generation, from the first only


@pytest.mark.django_db
def test_it_ignores_a_late_processing_after_success(
    client: Client, order_in_training: Order, django_capture_on_commit_callbacks: Any
) -> None:
    late = {**succeeded(), "status": "processing", "output": None, "completed_at": None}
    with django_capture_on_commit_callbacks():
        deliver(client, succeeded(), webhook_id="msg_done")
        response = deliver(client, late, webhook_id="msg_late")

    assert response.status_code == 200
    assert Order.objects.get(pk=order_in_training.pk).status == Status.GENERATING


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"secret": "whsec_" + "A" * 32}, 401),
        ({"timestamp": int(time.time()) - 3600}, 401),
        ({"timestamp": int(time.time()) + 3600}, 401),
        ({"body": b'{"id": "ufawqhfynnddngldkgtslldrkq", "status": "failed"}'}, 401),
    ],
    ids=["wrong-secret", "stale", "future", "tampered-body"],
)
def test_it_refuses_bad_signatures_and_changes_nothing(
    client: Client, order_in_training: Order, overrides: dict[str, Any], status: int
) -> None:
    response = deliver(client, succeeded(), **overrides)

    assert response.status_code == status
    assert Order.objects.get(pk=order_in_training.pk).status == Status.TRAINING
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_request_without_signature_headers(
    client: Client, order_in_training: Order
) -> None:
    response = client.post(URL, json.dumps(succeeded()), content_type="application/json")

    assert response.status_code == 400
    assert Order.objects.get(pk=order_in_training.pk).status == Status.TRAINING


@pytest.mark.django_db
def test_it_refuses_a_signed_body_that_is_not_an_object(
    client: Client, order_in_training: Order
) -> None:
    body = b"[1, 2, 3]"
    headers = sign_webhook(secret=SECRET, webhook_id="msg_x", timestamp=int(time.time()), body=body)

    response = client.post(URL, body, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_it_answers_200_for_an_unknown_object(client: Client, settings: Any) -> None:
    settings.REPLICATE_WEBHOOK_SECRET = SECRET

    response = deliver(client, {**succeeded(), "id": "nobodyknowsthisone", "input": {}})

    assert response.status_code == 200
    assert response.json() == {"outcome": "unknown"}
    assert WebhookDelivery.objects.get().outcome == "unknown"


def test_it_finishes_an_order_whose_webhooks_never_come(
    replicate: Any,
    dora: User,
    tmp_path: Path,
    settings: Any,
) -> None:
    replicate.set_faults(webhooks_never=True)
    settings.SYNC_AFTER_MINUTES = 0
    order = place_order(dora, tmp_path / "uploads", settings)

    deadline = time.monotonic() + 40
    while Order.objects.get(pk=order.pk).status != Status.READY:
        assert time.monotonic() < deadline, Order.objects.get(pk=order.pk).status
        call_command("sync_replicate", verbosity=0)
        time.sleep(0.3)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_signed_object_of_an_unknown_shape(client: Client, settings: Any) -> None:
    settings.REPLICATE_WEBHOOK_SECRET = SECRET

    for payload in ({"id": "x1", "status": "succeeded", "output": 7}, {"id": "x2"}):
        response = deliver(client, payload, webhook_id=f"msg_{payload['id']}")

        assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


BAD_TIMESTAMPS = ["¹²³", "9" * 5000, "-5", "1e9", "1614 265330", "", "0x10", "+1614265330"]


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS, ids=range(len(BAD_TIMESTAMPS)))
def test_it_answers_401_and_a_warning_to_a_malformed_timestamp(
    live_server: Any,
    order_in_training: Order,
    transactional_db: None,
    caplog: pytest.LogCaptureFixture,
    timestamp: str,
) -> None:
    body = json.dumps(succeeded()).encode()
    signed = sign_webhook(secret=SECRET, webhook_id="msg_t", timestamp=int(time.time()), body=body)
    headers = {
        **{key.encode(): value.encode() for key, value in signed.items()},
        b"content-type": b"application/json",
        b"webhook-timestamp": timestamp.encode("latin-1"),  # as the bytes travel in HTTP
    }

    response = httpx.post(live_server.url + URL, content=body, headers=headers)

    assert response.status_code == 401
    assert Order.objects.get(pk=order_in_training.pk).status == Status.TRAINING
    assert not WebhookDelivery.objects.exists()
    assert [r.levelname for r in caplog.records if r.name == "training.webhooks"] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def waiting_prediction(user: User, settings: Any) -> Prediction:
    """A generating order's row whose create has not answered yet (no Replicate id)."""
    settings.REPLICATE_WEBHOOK_SECRET = SECRET
    order = Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="woman",
        status=Status.GENERATING, replicate_version_id=f"headshots/perfil:{VERSION}",
    )  # fmt: skip
    return order.predictions.create(prompt_index=0, prompt="a portrait of ohwx")


def prediction_news(created_at: datetime) -> dict[str, Any]:
    return {
        "id": "late0prediction", "model": "headshots/perfil", "version": VERSION,
        "status": "processing", "input": {"prompt": "a portrait of ohwx"},
        "created_at": created_at.isoformat(),
    }  # fmt: skip


@pytest.mark.django_db
def test_it_adopts_news_of_a_prediction_whose_create_has_not_answered(
    client: Client, alice: User, settings: Any
) -> None:
    waiting = waiting_prediction(alice, settings)

    response = deliver(client, prediction_news(timezone.now()))

    assert response.json() == {"outcome": "applied"}
    waiting.refresh_from_db()
    assert (waiting.replicate_prediction_id, waiting.status) == ("late0prediction", "processing")


@pytest.mark.django_db
def test_it_does_not_adopt_a_prediction_made_before_the_row(
    client: Client, alice: User, settings: Any
) -> None:
    waiting = waiting_prediction(alice, settings)  # a retry's row; the old rows are deleted
    made_for_the_deleted_row = waiting.created_at - timedelta(hours=1)

    response = deliver(client, prediction_news(made_for_the_deleted_row))

    assert response.json() == {"outcome": "unknown"}
    waiting.refresh_from_db()
    assert (waiting.replicate_prediction_id, waiting.status) == ("", "pending")


@pytest.mark.django_db
def test_it_does_not_adopt_a_prediction_without_a_creation_time(
    client: Client, alice: User, settings: Any
) -> None:
    waiting = waiting_prediction(alice, settings)
    news = {**prediction_news(timezone.now()), "created_at": None}

    response = deliver(client, news)

    assert response.json() == {"outcome": "unknown"}  # the sync finds it by time later
    waiting.refresh_from_db()
    assert waiting.replicate_prediction_id == ""


@pytest.mark.django_db
def test_it_starts_the_generation_when_the_training_zip_cannot_be_deleted(
    client: Client,
    order_in_training: Order,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Deleting the ZIP is a clean-up: a storage that fails must not take down the commit hooks,
    or the generation that the same webhook starts is never enqueued (found with PostgreSQL
    terminating the clean-up's connection). The ZIP stays recorded for cleanup_temp_files."""
    Order.objects.filter(pk=order_in_training.pk).update(training_zip="training-sets/set.zip")
    break_storage(settings, tmp_path)
    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(client, succeeded())

    assert response.status_code == 200
    clean_up, generation = callbacks
    clean_up()  # logs, and raises nothing
    assert generation.args == (order_in_training.pk,)
    order = Order.objects.get(pk=order_in_training.pk)
    assert (order.status, order.training_zip.name) == (Status.GENERATING, "training-sets/set.zip")
