"""Replicate frozen in the middle of a create, or dropping the answer to one it accepted: the
worker is never stuck for good, and nothing is created twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from replicate_emulator.server import ReplicateEmulator
from tests.faults.conftest import Worker, assert_delivered_once, settle
from tests.training.ordering import place_order

pytestmark = pytest.mark.timeout(180)


def test_it_survives_an_emulator_frozen_during_a_create(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """Frozen for longer than any test: only the worker's own timeout (3 s here) frees it."""
    replicate.set_faults(hang_creates=1, create_faults_for=["predictions"], hang_seconds=600)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False)

    assert_delivered_once(order, replicate)
    assert replicate.faults.hang_creates == 0  # the fault really happened


def test_it_survives_a_slow_emulator(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """Every create answered after 1 s, within the worker's timeout; predictions (0.3 s) end
    before their create is answered, so their webhooks come early."""
    replicate.set_faults(slow_answer_creates=3, hang_seconds=1.0)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False)

    assert_delivered_once(order, replicate)


def test_it_survives_a_dropped_answer_to_the_training_create(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(drop_after_accept_creates=1, create_faults_for=["trainings"])
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order)

    assert_delivered_once(order, replicate)
    assert replicate.faults.drop_after_accept_creates == 0


def test_it_survives_a_dropped_answer_to_a_prediction_create(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(drop_after_accept_creates=1, create_faults_for=["predictions"])
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order)

    assert_delivered_once(order, replicate)
    assert replicate.faults.drop_after_accept_creates == 0


def test_it_survives_every_prediction_create_answer_dropped(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """Replicate accepted all of them: the order must not fail and refund (nor pay twice)."""
    replicate.set_faults(drop_after_accept_creates=2, create_faults_for=["predictions"])
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order)

    assert_delivered_once(order, replicate)
    assert replicate.faults.drop_after_accept_creates == 0
