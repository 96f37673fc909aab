"""Predictions with a trained version: outputs are real, marked images served by the emulator."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import WebhookReceiver, wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.errors import ReplicateRejected
from training.replicate.payloads import PredictionInfo

EVENTS = ["start", "output", "logs", "completed"]


@pytest.fixture
def trained_version(gateway: ReplicateGateway, start_training: Callable[..., Any]) -> str:
    training_id = start_training().id
    done = wait_until(lambda: (t := gateway.get_training(training_id)).is_terminal and t)
    assert done.version
    return str(done.version)


def predict(gateway: ReplicateGateway, version: str, receiver: WebhookReceiver, **input: Any):
    data = {"prompt": "portrait of ohwx man, studio light", "megapixels": "0.25", **input}
    return gateway.create_prediction(
        version=version, input=data, webhook=receiver.url, webhook_events_filter=EVENTS
    )


def finished(gateway: ReplicateGateway, prediction_id: str) -> PredictionInfo:
    return wait_until(lambda: (p := gateway.get_prediction(prediction_id)).is_terminal and p)


def test_it_runs_a_prediction_to_image_urls(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver
) -> None:
    created = predict(gateway, trained_version, webhook_receiver, num_outputs=2)
    assert created.status == "starting"
    assert created.model == trained_version.split(":")[0]
    assert created.version == trained_version.split(":")[1]

    done = finished(gateway, created.id)

    assert done.status == "succeeded"
    assert len(done.output) == 2
    assert all(url.endswith(".webp") for url in done.output)
    assert done.predict_time is not None
    assert done.predict_time > 0


@pytest.mark.parametrize(
    ("output_format", "pil_format"), [("webp", "WEBP"), ("png", "PNG"), ("jpg", "JPEG")]
)
def test_it_draws_images_in_the_format_and_shape_asked_for(
    gateway: ReplicateGateway,
    trained_version: str,
    webhook_receiver: WebhookReceiver,
    output_format: str,
    pil_format: str,
) -> None:
    created = predict(
        gateway, trained_version, webhook_receiver, output_format=output_format, aspect_ratio="3:4"
    )
    url = finished(gateway, created.id).output[0]

    image = Image.open(io.BytesIO(httpx.get(url).content))

    assert image.format == pil_format
    assert image.width < image.height
    assert abs(image.width / image.height - 3 / 4) < 0.05


def test_it_accepts_a_bare_version_id(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver
) -> None:
    created = predict(gateway, trained_version.split(":")[1], webhook_receiver)

    assert finished(gateway, created.id).status == "succeeded"


def test_it_rejects_an_unknown_version(
    gateway: ReplicateGateway, webhook_receiver: WebhookReceiver
) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        predict(gateway, "headshots/nothing:" + "0" * 64, webhook_receiver)

    assert caught.value.status == 422


def test_it_cancels_a_prediction(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver
) -> None:
    created = predict(gateway, trained_version, webhook_receiver)

    assert gateway.cancel_prediction(created.id).status == "canceled"
    assert gateway.get_prediction(created.id).output == ()


def test_it_fails_the_next_prediction_on_demand(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver, emulator
) -> None:
    emulator.set_faults(fail_predictions=1, prediction_error="NSFW content detected")

    failed = finished(gateway, predict(gateway, trained_version, webhook_receiver).id)
    fine = finished(gateway, predict(gateway, trained_version, webhook_receiver).id)

    assert failed.status == "failed"
    assert failed.error == "NSFW content detected"
    assert fine.status == "succeeded"


def test_it_lists_predictions_newest_first_across_pages(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver
) -> None:
    created = [predict(gateway, trained_version, webhook_receiver, seed=n).id for n in range(3)]

    listed = list(gateway.list_predictions())  # the emulator's pages hold two each

    assert [info.id for info in listed] == created[::-1]
    assert [info.input["seed"] for info in listed] == [2, 1, 0]
    assert {info.version for info in listed} == {trained_version.split(":")[1]}


def test_it_lists_only_predictions_created_after_a_moment(
    gateway: ReplicateGateway, trained_version: str, webhook_receiver: WebhookReceiver
) -> None:
    older = predict(gateway, trained_version, webhook_receiver)
    assert older.created_at is not None
    newer = [predict(gateway, trained_version, webhook_receiver, seed=n).id for n in range(3)]
    since = gateway.get_prediction(newer[0]).created_at
    assert since is not None
    assert since > older.created_at

    listed = [info.id for info in gateway.list_predictions(created_after=since)]

    assert listed == newer[::-1]
    assert [
        info.id for info in gateway.list_predictions(created_after=since.replace(year=2999))
    ] == []


def test_it_refuses_a_malformed_date_in_a_listing(emulator: ReplicateEmulator) -> None:
    answer = httpx.get(
        f"{emulator.base_url}/predictions?created_after=yesterday",
        headers={"Authorization": f"Bearer {emulator.token}"},
    )

    assert answer.status_code == 400
    assert answer.json()["title"] == "Invalid date-time"
