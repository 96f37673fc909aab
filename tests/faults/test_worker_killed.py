"""A worker killed with SIGKILL at each point of an order where it talks to a peer: nothing is
lost or done twice once a worker runs again and cron's `sync_replicate` has looked around."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from replicate_emulator.server import ReplicateEmulator
from tests.conftest import wait_for
from tests.faults.conftest import Worker, assert_delivered_once, settle
from tests.training.ordering import place_order

pytestmark = pytest.mark.timeout(180)

HELD = 600.0  # longer than any test: the worker stays blocked until it is killed


def test_it_delivers_an_order_with_no_fault(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False)

    assert_delivered_once(order, replicate)


def kill_when_held(replicate: ReplicateEmulator, worker: Worker) -> None:
    """Kill the worker once the emulator holds one of its requests, then start another."""
    wait_for(lambda: replicate.state.held >= 1, timeout=60)
    worker.kill()
    worker.start()


def test_it_survives_a_kill_during_the_training_create(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(slow_answer_creates=1, create_faults_for=["trainings"], hang_seconds=HELD)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    kill_when_held(replicate, worker)
    settle(order, since=worker.killed_at)

    assert_delivered_once(order, replicate)


def test_it_survives_a_kill_during_a_prediction_create(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(
        slow_answer_creates=1, create_faults_for=["predictions"], hang_seconds=HELD
    )
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    kill_when_held(replicate, worker)
    settle(order, since=worker.killed_at)

    assert_delivered_once(order, replicate)


def test_it_survives_a_kill_during_the_429_back_off(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(
        rate_limit_creates=1, create_faults_for=["predictions"], retry_after_seconds=30
    )
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    wait_for(lambda: replicate.state.throttled >= 1, timeout=60)
    worker.kill()
    worker.start()
    settle(order, since=worker.killed_at)

    assert_delivered_once(order, replicate)


def test_it_survives_a_kill_during_an_output_copy(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(hang_outputs=1, hang_seconds=HELD)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    kill_when_held(replicate, worker)
    settle(order, since=worker.killed_at)

    assert_delivered_once(order, replicate)
