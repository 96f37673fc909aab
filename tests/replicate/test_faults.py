"""Failures on demand, and how the gateway reports them so the caller knows what to do next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from replicate_emulator.server import Faults, ReplicateEmulator
from tests.replicate.conftest import wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.errors import (
    ReplicateAmbiguous,
    ReplicateRateLimited,
    ReplicateRejected,
    ReplicateUnavailable,
)


def test_it_fails_the_next_training_with_a_message(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(fail_trainings=1, training_error="CUDA out of memory")

    training_id = start_training().id
    done = wait_until(lambda: (t := gateway.get_training(training_id)).is_terminal and t)

    assert done.status == "failed"
    assert done.error == "CUDA out of memory"
    assert done.version is None
    assert emulator.faults.fail_trainings == 0


def test_it_answers_429_with_retry_after_then_accepts(
    start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(rate_limit_creates=1, retry_after_seconds=7)

    with pytest.raises(ReplicateRateLimited) as caught:
        start_training()

    assert caught.value.retry_after_seconds == 7
    assert start_training().status == "starting"


def test_it_answers_500_as_unavailable_and_creates_nothing(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(server_error_creates=1)

    with pytest.raises(ReplicateUnavailable):
        start_training()

    assert list(gateway.list_trainings()) == []


def test_it_keeps_a_training_whose_answer_was_dropped(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(drop_after_accept_creates=1)

    with pytest.raises(ReplicateAmbiguous):
        start_training()

    found = [t for t in gateway.list_trainings() if t.input["input_images"].endswith("photos.zip")]
    assert len(found) == 1
    assert found[0].status in ("starting", "processing", "succeeded")


def test_it_applies_create_faults_only_to_the_kinds_named(
    start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(server_error_creates=1, create_faults_for=["predictions"])

    assert start_training().status == "starting"
    assert emulator.faults.server_error_creates == 1


@pytest.mark.parametrize(
    ("status", "title"),
    [(401, "Unauthenticated"), (402, "Insufficient credit"), (422, "Input validation failed")],
)
def test_it_rejects_the_next_training_create_on_demand(
    start_training: Callable[..., Any], emulator: ReplicateEmulator, status: int, title: str
) -> None:
    emulator.set_faults(reject_training_create=status)

    with pytest.raises(ReplicateRejected) as caught:
        start_training()

    assert caught.value.status == status
    assert caught.value.title == title
    assert start_training().status == "starting"


def test_it_rejects_a_bad_token(emulator: ReplicateEmulator) -> None:
    stranger = ReplicateGateway(api_token="not-the-token", base_url=emulator.base_url)

    with pytest.raises(ReplicateRejected) as caught:
        stranger.get_webhook_secret()

    assert caught.value.status == 401
    assert caught.value.title == "Unauthenticated"


def test_it_reports_an_unreachable_server_as_unavailable(emulator: ReplicateEmulator) -> None:
    gateway = ReplicateGateway(api_token=emulator.token, base_url=emulator.base_url)
    emulator.stop()

    with pytest.raises(ReplicateUnavailable):
        gateway.create_model(owner="headshots", name="late")


def test_it_changes_faults_over_http(emulator: ReplicateEmulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.token}"}

    changed = httpx.post(
        f"{emulator.url}/_emulator/faults", json={"fail_trainings": 2}, headers=headers
    )
    state = httpx.get(f"{emulator.url}/_emulator/state", headers=headers)
    reset = httpx.post(f"{emulator.url}/_emulator/faults", json={"reset": True}, headers=headers)

    assert changed.json()["fail_trainings"] == 2
    assert state.json()["faults"]["fail_trainings"] == 2
    assert reset.json() == Faults().to_json()


def test_it_refuses_unknown_faults_and_strangers(emulator: ReplicateEmulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.token}"}

    unknown = httpx.post(f"{emulator.url}/_emulator/faults", json={"gremlins": 1}, headers=headers)
    stranger = httpx.post(f"{emulator.url}/_emulator/faults", json={"fail_trainings": 1})

    assert unknown.status_code == 422
    assert stranger.status_code == 401
    assert stranger.headers["Content-Type"] == "application/problem+json"


def test_it_takes_faults_in_its_constructor() -> None:
    with ReplicateEmulator(faults=Faults(server_error_creates=1)) as emulator:
        gateway = ReplicateGateway(api_token=emulator.token, base_url=emulator.url)
        with pytest.raises(ReplicateUnavailable):
            gateway.create_prediction(
                version="0" * 64, input={}, webhook="http://127.0.0.1:9/", webhook_events_filter=[]
            )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("2.5", 2.5), ("²", 3.0), ("١٢", 3.0), ("9" * 5000, 3.0), ("-5", 3.0)],
)
def test_it_reads_only_ascii_seconds_fromretry_after(header: str, seconds: float) -> None:
    from training.replicate.errors import retry_after

    response = httpx.Response(429, headers={b"Retry-After": header.encode("utf-8")})

    assert retry_after(response, "Request was throttled. Expected available in 3 second.") == (
        seconds
    )
