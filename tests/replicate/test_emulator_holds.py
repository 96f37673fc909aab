"""The emulator's holds, which stop the worker at a named point: each holds exactly where it
says, counts the caller as held meanwhile, and lets go after `hang_seconds` (or at once when a
test releases it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.errors import ReplicateAmbiguous, ReplicateRateLimited


def in_background(call: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_it_creates_at_once_but_answers_late(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(slow_answer_creates=1, hang_seconds=1.0)
    answers: list[Any] = []

    thread = in_background(lambda: answers.append(start_training()))
    wait_until(lambda: emulator.state.held == 1)

    assert len(list(gateway.list_trainings())) == 1  # created while the caller still waits
    assert answers == []
    thread.join(timeout=10)
    assert answers[0].status in ("starting", "processing", "succeeded")
    assert emulator.state.held == 0


def test_it_freezes_before_creating_anything(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(hang_creates=1, hang_seconds=1.0)

    thread = in_background(start_training)
    wait_until(lambda: emulator.state.held == 1)

    assert list(gateway.list_trainings()) == []  # frozen: nothing happened yet
    thread.join(timeout=10)
    assert len(list(gateway.list_trainings())) == 1  # and once thawed, the create goes on


def test_it_lets_held_requests_go_on_when_released(
    gateway: ReplicateGateway, start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(hang_creates=2, hang_seconds=120.0)
    threads = [in_background(start_training) for _ in range(2)]
    wait_until(lambda: emulator.state.held == 2)

    emulator.release_holds()

    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)  # long before the 120 s hold
    assert emulator.state.held == 0
    assert len(list(gateway.list_trainings())) == 2


def test_it_leaves_a_frozen_create_to_the_callers_timeout(emulator: ReplicateEmulator) -> None:
    emulator.set_faults(hang_creates=1, hang_seconds=30.0)
    quick = ReplicateGateway(api_token=emulator.token, base_url=emulator.base_url, timeout=1.0)
    started = time.monotonic()

    with pytest.raises(ReplicateAmbiguous):
        quick.create_training(
            destination="headshots/nowhere", trainer="ostris/flux-dev-lora-trainer",
            trainer_version="e" * 64, input={"input_images": "http://127.0.0.1/x.zip"},
            webhook="http://127.0.0.1:9/webhooks/replicate/", webhook_events_filter=["completed"],
        )  # fmt: skip

    assert time.monotonic() - started < 10


def test_it_holds_an_output_download(
    start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    with emulator.state.lock:
        emulator.state.outputs["job/out-0.webp"] = ("image/webp", b"RIFF....WEBP")
    emulator.set_faults(hang_outputs=1, hang_seconds=0.5)
    url = emulator.state.output_url("job", "out-0.webp")
    started = time.monotonic()

    held = httpx.get(url, timeout=10)
    again = httpx.get(url, timeout=10)

    assert held.content == again.content == b"RIFF....WEBP"
    assert time.monotonic() - started >= 0.5
    assert emulator.faults.hang_outputs == 0


def test_it_counts_the_creates_it_throttles(
    start_training: Callable[..., Any], emulator: ReplicateEmulator
) -> None:
    emulator.set_faults(rate_limit_creates=2)

    for _ in range(2):
        with pytest.raises(ReplicateRateLimited):
            start_training()

    assert emulator.state.throttled == 2
