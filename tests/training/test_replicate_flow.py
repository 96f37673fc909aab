"""An order through Replicate (the emulator, over real HTTP, with real signed webhooks to the live
server): the happy path and each fault the issue names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage

from accounts.credits import credit_balance
from accounts.models import User
from tests.conftest import wait_for
from tests.training.ordering import emulator_state, place_order, reaches
from training.models import Headshot, Prediction, Stage, Status, WebhookDelivery

pytestmark = pytest.mark.timeout(120)


def test_it_trains_generates_stores_and_emails_once(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, s3_storage: str
) -> None:
    order = place_order(dora, tmp_path / "uploads", settings)
    zip_name = str(order.training_zip.name)

    order = reaches(order, Status.READY, Status.FAILED)

    assert order.status == Status.READY, order.error_detail
    assert order.replicate_version_id.startswith(f"headshots/headshots-{order.uuid}:")
    assert order.replicate_training_id
    assert order.cost > 0
    assert not default_storage.exists(zip_name)
    assert order.training_zip.name == ""
    headshots = list(Headshot.objects.filter(order=order))
    assert len(headshots) == 2 * 2  # two styles, two images each (HEADSHOTS_PER_STYLE)
    for headshot in headshots:
        assert str(headshot.image.name).startswith(f"headshots/{order.uuid}/")
        assert default_storage.exists(str(headshot.image.name))
        assert default_storage.exists(str(headshot.preview.name))
    wait_for(replicate.webhooks_idle)  # the e-mail goes out after the order turns ready
    assert [message.subject for message in mail.outbox] == ["Tus retratos están listos: Perfil"]
    assert f"/studio/models/{order.uuid}/" in mail.outbox[0].body
    assert credit_balance(dora) == 0
    assert [p.prompt.startswith("portrait of ohwx woman") for p in order.predictions.all()] == [
        True,
        True,
    ]


def test_it_fails_refunds_and_emails_when_the_training_fails(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(fail_trainings=1)
    order = place_order(dora, tmp_path / "uploads", settings)

    order = reaches(order, Status.FAILED, Status.READY)

    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.TRAINING)
    assert "CUDA out of memory" in order.error_detail
    assert "Nothing was charged" in order.error  # stored in English, shown translated
    wait_for(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].subject == "No hemos podido terminar tus retratos: Perfil"
    assert credit_balance(dora) == 1
    # The photos stay TEMP_RETENTION_HOURS for a staff retry (tests/training/test_staff_retry.py).
    assert default_storage.exists(f"training-sets/{order.uuid}.zip")


def test_it_retries_a_rate_limited_create_and_succeeds(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(rate_limit_creates=1, create_faults_for=("trainings",))
    order = place_order(dora, tmp_path / "uploads", settings)

    assert reaches(order, Status.READY, Status.FAILED).status == Status.READY
    assert len(emulator_state(replicate)["trainings"]) == 1


def test_it_creates_exactly_one_training_when_the_connection_drops(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(drop_after_accept_creates=1, create_faults_for=("trainings",))
    order = place_order(dora, tmp_path / "uploads", settings)

    assert reaches(order, Status.READY, Status.FAILED).status == Status.READY
    assert len(emulator_state(replicate)["trainings"]) == 1


def test_it_changes_nothing_on_a_second_delivery(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_twice=True)
    order = place_order(dora, tmp_path / "uploads", settings)

    assert reaches(order, Status.READY, Status.FAILED).status == Status.READY
    wait_for(replicate.webhooks_idle)  # every copy has been answered: nothing more is coming
    sent = emulator_state(replicate)["deliveries"]
    webhook_ids = {delivery["webhook_id"] for delivery in sent}
    assert len(sent) == 2 * len(webhook_ids) >= 4  # the training's and the predictions', twice
    assert {delivery["outcome"] for delivery in sent} == {200}
    for webhook_id in webhook_ids:  # the first copy is taken, the second known for what it is
        answers = [json.loads(d["answer"]) for d in sent if d["webhook_id"] == webhook_id]
        # Creates go side by side, so a "start" webhook can outrun its create's answer: that
        # first copy is then recorded as "unknown" (the "completed" one or the poll applies it).
        assert answers[0]["outcome"] in ("applied", "unknown"), answers
        assert answers[1:] == [{"outcome": "duplicate"}], answers
    recorded = WebhookDelivery.objects.values_list("webhook_id", flat=True)
    assert sorted(recorded) == sorted(webhook_ids)  # one row per webhook, not per copy
    assert len(mail.outbox) == 1
    assert credit_balance(dora) == 0
    assert Headshot.objects.filter(order=order).count() == 2 * 2
    assert order.events.filter(stage=Stage.TRAINING).count() == 1


def test_it_survives_webhooks_out_of_order(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_out_of_order=True)
    order = place_order(dora, tmp_path / "uploads", settings)

    assert reaches(order, Status.READY, Status.FAILED).status == Status.READY
    wait_for(replicate.webhooks_idle)  # the e-mail goes out after the order turns ready
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "credenciales"), (402, "sin crédito"), (422, "ha rechazado")],
)
def test_it_explains_a_refusal_from_replicate_and_refunds(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, status: int, words: str
) -> None:
    replicate.set_faults(reject_training_create=status)
    order = place_order(dora, tmp_path / "uploads", settings)

    order = reaches(order, Status.FAILED, Status.READY)

    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.TRAINING)
    assert str(status) in order.error_detail
    assert credit_balance(dora) == 1
    wait_for(lambda: len(mail.outbox) == 1)
    assert words in mail.outbox[0].body


def test_it_retries_a_failed_prediction_once(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(fail_predictions=1)
    order = place_order(dora, tmp_path / "uploads", settings)

    assert reaches(order, Status.READY, Status.FAILED).status == Status.READY
    assert Prediction.objects.filter(order=order, status="failed").count() == 1
    assert Prediction.objects.filter(order=order, attempt=2, status="succeeded").count() == 1


def test_it_creates_one_prediction_per_prompt_when_their_answers_drop(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(drop_after_accept_creates=2, create_faults_for=("predictions",))
    order = place_order(dora, tmp_path / "uploads", settings)

    order = reaches(order, Status.READY, Status.FAILED)

    assert order.status == Status.READY, order.error_detail
    assert len(emulator_state(replicate)["predictions"]) == 2
    assert Prediction.objects.filter(order=order).count() == 2
    assert credit_balance(dora) == 0
