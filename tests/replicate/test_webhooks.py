"""Webhooks from the emulator: signed, filtered, and misdelivered on demand like Replicate's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import WebhookReceiver, wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.payloads import parse_training


def test_it_sends_signed_webhooks_through_the_whole_life(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver
) -> None:
    training_id = start_training().id

    webhook_receiver.wait_for_status(training_id, "succeeded")

    statuses = webhook_receiver.statuses(training_id)
    assert statuses[0] == "starting"
    assert "processing" in statuses
    assert statuses[-1] == "succeeded"
    last = webhook_receiver.for_object(training_id)[-1]
    assert last.headers["webhook-id"].startswith("msg_")
    info = parse_training(last.payload)
    assert info.version is not None
    assert info.predict_time is not None


def test_it_sends_only_the_events_asked_for(
    start_training: Callable[..., Any],
    webhook_receiver: WebhookReceiver,
    emulator: ReplicateEmulator,
) -> None:
    training_id = start_training(webhook_events_filter=["completed"]).id

    webhook_receiver.wait_for_status(training_id, "succeeded")
    wait_until(emulator.webhooks_idle)  # whatever else it would send has landed by now

    assert webhook_receiver.statuses(training_id) == ["succeeded"]


def test_it_gives_the_secret_it_signs_with(
    gateway: ReplicateGateway, emulator: ReplicateEmulator
) -> None:
    secret = gateway.get_webhook_secret()

    assert secret == emulator.webhook_secret
    assert secret.startswith("whsec_")


def test_it_retries_the_completed_webhook_until_it_lands(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator
) -> None:
    training_id = start_training(webhook_events_filter=["completed"]).id
    webhook_receiver.failures = 2

    webhook_receiver.wait_for_status(training_id, "succeeded")

    # The receiver sees the delivery a moment before the emulator records its answer.
    wait_until(lambda: len(deliveries_of(emulator, training_id)) == 3)
    attempts = deliveries_of(emulator, training_id)
    assert [d["outcome"] for d in attempts] == [500, 500, 200]
    assert len({d["webhook_id"] for d in attempts}) == 1


def test_it_does_not_retry_other_events(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator
) -> None:
    webhook_receiver.failures = 1  # before the training starts: its first webhook is refused
    training_id = start_training(webhook_events_filter=["start", "completed"]).id

    webhook_receiver.wait_for_status(training_id, "succeeded")

    assert webhook_receiver.statuses(training_id) == ["succeeded"]
    wait_until(lambda: len(deliveries_of(emulator, training_id)) >= 2)
    assert [d["event"] for d in deliveries_of(emulator, training_id)] == ["start", "completed"]


def deliveries_of(emulator: ReplicateEmulator, job_id: str) -> list[dict[str, Any]]:
    """The deliveries the emulator has recorded for one job, answered or not."""
    return [d for d in emulator.state.deliveries if d["job_id"] == job_id]


def test_it_delivers_each_webhook_twice_on_demand(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator
) -> None:
    emulator.set_faults(webhooks_twice=True)
    training_id = start_training(webhook_events_filter=["completed"]).id

    wait_until(lambda: len(webhook_receiver.for_object(training_id)) == 2)

    first, second = webhook_receiver.for_object(training_id)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.payload == second.payload


def test_it_delivers_completed_before_earlier_events_on_demand(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator
) -> None:
    emulator.set_faults(webhooks_out_of_order=True)
    training_id = start_training().id

    wait_until(lambda: "processing" in webhook_receiver.statuses(training_id)[1:])

    statuses = webhook_receiver.statuses(training_id)
    assert statuses[0] == "succeeded"
    assert "starting" in statuses


def test_it_delivers_webhooks_late_on_demand(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator, gateway
) -> None:
    emulator.set_faults(webhook_delay_seconds=1.5)
    training_id = start_training(webhook_events_filter=["completed"]).id

    wait_until(lambda: gateway.get_training(training_id).is_terminal)
    assert webhook_receiver.statuses(training_id) == []

    webhook_receiver.wait_for_status(training_id, "succeeded")


def test_it_never_delivers_webhooks_on_demand(
    start_training: Callable[..., Any], webhook_receiver: WebhookReceiver, emulator, gateway
) -> None:
    emulator.set_faults(webhooks_never=True)
    training_id = start_training().id

    wait_until(lambda: gateway.get_training(training_id).is_terminal)
    wait_until(emulator.webhooks_idle)

    assert webhook_receiver.for_object(training_id) == []
