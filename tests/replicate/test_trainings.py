"""A training's whole life through our gateway, against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.replicate.conftest import TRAINER, TRAINER_VERSION, WebhookReceiver, wait_until
from training.replicate.client import (
    ReplicateGateway,
    ReplicateRejected,
    TrainingInfo,
    training_progress,
)
from training.replicate.emulator import ReplicateEmulator


def finished(gateway: ReplicateGateway, training_id: str) -> TrainingInfo:
    return wait_until(lambda: (t := gateway.get_training(training_id)).is_terminal and t)


def test_it_runs_a_training_to_a_new_version(
    gateway: ReplicateGateway, start_training: Callable[..., Any], destination: str
) -> None:
    created = start_training()
    assert created.status == "starting"
    assert created.trainer == TRAINER
    assert created.trainer_version == TRAINER_VERSION
    assert created.input["input_images"].endswith("/photos.zip")

    done = finished(gateway, created.id)

    assert done.status == "succeeded"
    assert done.destination == destination
    assert done.version is not None
    assert done.version.startswith(f"{destination}:")
    assert len(done.version.split(":")[1]) == 64
    assert done.predict_time is not None
    assert done.predict_time > 0
    assert done.error is None
    assert done.completed_at is not None
    assert done.created_at is not None
    assert done.completed_at > done.created_at
    assert done.progress == 100


def test_it_pushes_the_new_version_to_the_destination_model(
    gateway: ReplicateGateway, start_training: Callable[..., Any]
) -> None:
    done = finished(gateway, start_training().id)

    model = gateway.get_model(owner="headshots", name="headshots-order-1")

    assert model is not None
    assert done.version == f"headshots/headshots-order-1:{model.latest_version_id}"


def test_it_serves_the_trained_weights(
    gateway: ReplicateGateway, start_training: Callable[..., Any]
) -> None:
    done = finished(gateway, start_training().id)

    assert done.weights_url is not None
    response = httpx.get(done.weights_url)

    assert response.status_code == 200
    assert b"EMULATED" in response.content


def test_it_reports_progress_from_tqdm_lines_in_the_logs(
    gateway: ReplicateGateway, start_training: Callable[..., Any]
) -> None:
    training_id = start_training().id
    seen = set()

    def collect() -> bool:
        info = gateway.get_training(training_id)
        if info.status == "processing" and info.progress is not None:
            seen.add(info.progress)
        return info.is_terminal

    wait_until(collect)
    done = gateway.get_training(training_id)

    assert "flux_train_replicate: 100%|██████████| 1000/1000" in done.logs
    assert "Extracted 3 files from zip" in done.logs
    assert seen
    assert min(seen) < 100


def test_it_parses_progress_from_the_last_tqdm_line() -> None:
    logs = (
        "Loading Flux model\n"
        "flux_train_replicate:  20%|██        | 200/1000 [00:40<02:40,  4.98it/s]\n"
        "flux_train_replicate:  40%|████      | 400/1000 [01:20<02:00,  4.98it/s, lr: 4.0e-04]\n"
        "Saving checkpoint\n"
    )
    assert training_progress(logs) == 40


def test_it_parses_carriage_return_progress_lines() -> None:
    logs = " 10%|█         | 100/1000 [00:01<00:09]\r 57%|█████▋    | 570/1000 [00:05<00:04]\r"
    assert training_progress(logs) == 57


@pytest.mark.parametrize("logs", ["", "Loading Flux model\n", "100 images found\n"])
def test_it_finds_no_progress_without_a_tqdm_line(logs: str) -> None:
    assert training_progress(logs) is None


def test_it_cancels_a_running_training(
    gateway: ReplicateGateway,
    start_training: Callable[..., Any],
    webhook_receiver: WebhookReceiver,
) -> None:
    created = start_training()

    canceled = gateway.cancel_training(created.id)

    assert canceled.status == "canceled"
    webhook_receiver.wait_for_status(created.id, "canceled")
    assert gateway.get_training(created.id).status == "canceled"
    assert gateway.get_training(created.id).version is None


def test_it_fails_a_training_whose_zip_is_broken(
    gateway: ReplicateGateway, start_training: Callable[..., Any], zip_server: Callable[[str], str]
) -> None:
    created = start_training(input={"input_images": zip_server("broken.zip")})

    done = finished(gateway, created.id)

    assert done.status == "failed"
    assert done.error == "input_images must be a zip file"


def test_it_fails_a_training_whose_zip_cannot_be_downloaded(
    gateway: ReplicateGateway, start_training: Callable[..., Any], zip_server: Callable[[str], str]
) -> None:
    done = finished(gateway, start_training(input={"input_images": zip_server("gone.zip")}).id)

    assert done.status == "failed"
    assert done.error is not None
    assert "Could not download input_images" in done.error


def test_it_refuses_to_download_from_the_internet(
    gateway: ReplicateGateway, start_training: Callable[..., Any]
) -> None:
    created = start_training(input={"input_images": "https://example.com/photos.zip"})

    done = finished(gateway, created.id)

    assert done.status == "failed"
    assert done.error is not None
    assert "on this machine" in done.error


def test_it_rejects_a_training_without_input_images(start_training: Callable[..., Any]) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        start_training(input={"trigger_word": "ohwx"})

    assert caught.value.status == 422
    assert caught.value.title == "Input validation failed"
    assert caught.value.invalid_fields[0]["field"] == "input"


def test_it_rejects_a_training_into_a_missing_model(start_training: Callable[..., Any]) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        start_training(destination="headshots/never-created")

    assert caught.value.status == 404


def test_it_rejects_a_trainer_it_does_not_emulate(start_training: Callable[..., Any]) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        start_training(trainer="someone/other-trainer")

    assert caught.value.status == 404


def test_it_lists_trainings_across_pages_newest_first(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    created = [start_training().id for _ in range(5)]

    listed = list(gateway.list_trainings())

    assert [training.id for training in listed] == created[::-1]
    assert all(training.trainer == TRAINER for training in listed)
    assert emulator.state.config.page_size < len(created)  # so paging really happened


def test_it_pages_back_with_the_previous_cursor(
    emulator: ReplicateEmulator, start_training: Callable[..., Any]
) -> None:
    created = [start_training().id for _ in range(5)]
    headers = {"Authorization": f"Bearer {emulator.token}"}

    first = httpx.get(f"{emulator.base_url}/trainings", headers=headers).json()
    second = httpx.get(first["next"], headers=headers).json()
    back = httpx.get(second["previous"], headers=headers).json()

    assert first["previous"] is None
    assert [item["id"] for item in second["results"]] == created[::-1][2:4]
    assert [item["id"] for item in back["results"]] == [item["id"] for item in first["results"]]


def test_it_gets_a_missing_training_as_rejected_404(gateway: ReplicateGateway) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        gateway.get_training("doesnotexist")

    assert caught.value.status == 404
