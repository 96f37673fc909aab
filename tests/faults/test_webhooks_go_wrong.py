"""Replicate's webhooks lost, sent twice, out of order, or before we know the prediction's id:
the order ends the same, once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from replicate_emulator.server import ReplicateEmulator
from tests.faults.conftest import Worker, assert_delivered_once, settle
from tests.training.ordering import place_order
from training.models import WebhookDelivery

pytestmark = pytest.mark.timeout(180)


def test_it_survives_lost_webhooks(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_never=True)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order)

    assert_delivered_once(order, replicate)
    assert not WebhookDelivery.objects.exists()


def test_it_survives_duplicated_webhooks(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_twice=True)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False)

    assert_delivered_once(order, replicate)
    sent = Counter(delivery["webhook_id"] for delivery in replicate.state.deliveries)
    assert 2 in sent.values()  # the fault really happened


def test_it_survives_webhooks_out_of_order(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_out_of_order=True)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False)

    assert_delivered_once(order, replicate)


def test_it_survives_a_prediction_webhook_before_its_id_is_saved(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """The prediction finishes (0.3 s) before its create is answered (1.5 s); webhooks alone,
    no sync, must still finish the order (Replicate retries a completed webhook for ~4 s)."""
    replicate.set_faults(slow_answer_creates=1, create_faults_for=["predictions"], hang_seconds=1.5)
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    settle(order, sync=False, timeout=30)

    assert_delivered_once(order, replicate)
