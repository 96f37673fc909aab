"""A training's whole life through our gateway, against the emulator over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import User
from replicate_emulator.server import Faults, ReplicateEmulator
from tests.replicate.conftest import (
    TRAINER,
    TRAINER_VERSION,
    WebhookReceiver,
    make_photo_zip,
    wait_until,
)
from training.followups import FollowUp, Next
from training.models import Order, Status
from training.replicate.client import ReplicateGateway
from training.replicate.errors import ReplicateRejected
from training.replicate.payloads import TrainingInfo, training_progress
from training.sync import sync_quiet_trainings
from training.trainings import LOOKUP_ATTEMPTS, destination_name, submit_training


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


# --- Submission: one training per order, found again by the order's own input URL ------------


@pytest.fixture
def slow_emulator() -> Iterator[ReplicateEmulator]:
    """Trainings that stay running for the whole test; webhooks off, as if they were lost."""
    faults = Faults(webhooks_never=True)
    with ReplicateEmulator(training_seconds=300, page_size=2, faults=faults) as running:
        yield running


@pytest.fixture
def slow_gateway(slow_emulator: ReplicateEmulator) -> ReplicateGateway:
    return ReplicateGateway(
        api_token=slow_emulator.token, base_url=slow_emulator.base_url, timeout=1
    )


@pytest.fixture
def any_zip() -> Iterator[Callable[[str], str]]:
    """Serves the same real ZIP at every path, so each order has its own input URL."""
    data = make_photo_zip()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield lambda name: f"http://127.0.0.1:{server.server_address[1]}/{name}"
    server.shutdown()
    server.server_close()


def make_order(user: User, status: str = Status.QUEUED, **fields: Any) -> Order:
    return Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="woman", status=status,
        **fields,
    )  # fmt: skip


def train_for(gateway: ReplicateGateway, order: Order | None, input_url: str) -> str:
    """A training created as our submission creates it (for `order`, or a stranger's)."""
    name = destination_name(order) if order else "someone-elses-model"
    gateway.create_model(owner="headshots", name=name)
    return gateway.create_training(
        destination=f"headshots/{name}",
        trainer=TRAINER,
        trainer_version=TRAINER_VERSION,
        input={"input_images": input_url, "trigger_word": "ohwx"},
        webhook="http://127.0.0.1:9/webhooks/replicate/",
        webhook_events_filter=["start", "completed"],
    ).id


def backdate(emulator: ReplicateEmulator, training_id: str, minutes: int) -> None:
    with emulator.state.lock:
        emulator.state.jobs[training_id].created_at -= timedelta(minutes=minutes)


def training_ids(emulator: ReplicateEmulator) -> set[str]:
    with emulator.state.lock:
        return {job.id for job in emulator.state.jobs.values() if job.kind == "training"}


def test_it_takes_over_a_submission_and_finds_its_training_behind_another_orders(
    slow_emulator: ReplicateEmulator,
    slow_gateway: ReplicateGateway,
    any_zip: Callable[[str], str],
    alice: User,
    bob: User,
) -> None:
    eight_minutes_ago = timezone.now() - timedelta(minutes=8)
    order = make_order(alice, training_input_url=any_zip("alice.zip"))
    Order.objects.filter(pk=order.pk).update(
        created_at=eight_minutes_ago,
        submission_started_at=eight_minutes_ago,  # a dead submitter
    )
    own = train_for(slow_gateway, order, order.training_input_url)
    backdate(slow_emulator, own, minutes=7)
    other = train_for(slow_gateway, make_order(bob), any_zip("bob.zip"))
    backdate(slow_emulator, other, minutes=6)

    submit_training(order_id=order.pk, gateway=slow_gateway)  # sync's retry takes the claim over

    order.refresh_from_db()
    assert (order.status, order.replicate_training_id) == (Status.TRAINING, own)
    assert training_ids(slow_emulator) == {own, other}  # no second, paid training


def test_it_keeps_the_order_queued_when_the_create_and_its_lookup_get_no_answer(
    slow_emulator: ReplicateEmulator, slow_gateway: ReplicateGateway, alice: User
) -> None:
    zip_name = default_storage.save("training-sets/alice.zip", ContentFile(make_photo_zip()))
    order = make_order(alice, training_zip=zip_name)
    slow_emulator.set_faults(
        slow_answer_creates=1, hang_lists=LOOKUP_ATTEMPTS, hang_seconds=5,
        create_faults_for=["trainings"],
    )  # fmt: skip

    followups = submit_training(order_id=order.pk, gateway=slow_gateway)

    order.refresh_from_db()
    assert followups == []
    assert (order.status, order.error, order.failed_at) == (Status.QUEUED, "", None)
    assert order.training_input_url  # what the next lookup searches for
    (created,) = training_ids(slow_emulator)  # Replicate created it all the same

    ten_minutes_ago = timezone.now() - timedelta(minutes=10, seconds=1)
    Order.objects.filter(pk=order.pk).update(
        updated_at=ten_minutes_ago, submission_started_at=ten_minutes_ago
    )
    assert FollowUp(Next.SUBMIT_TRAINING, order.pk) in sync_quiet_trainings(gateway=slow_gateway)
    submit_training(order_id=order.pk, gateway=slow_gateway)  # what sync enqueues

    order.refresh_from_db()
    assert (order.status, order.replicate_training_id) == (Status.TRAINING, created)
    assert training_ids(slow_emulator) == {created}
    assert slow_gateway.get_training(created).status != "canceled"


def test_it_cancels_trainings_that_no_order_wants(
    slow_emulator: ReplicateEmulator,
    slow_gateway: ReplicateGateway,
    any_zip: Callable[[str], str],
    alice: User,
    bob: User,
) -> None:
    def order_with_training(status: str, name: str, **fields: Any) -> tuple[Order, str]:
        order = make_order(alice, status, training_input_url=any_zip(name), **fields)
        return order, train_for(slow_gateway, order, order.training_input_url)

    _, of_failed = order_with_training(Status.FAILED, "failed.zip")
    _, of_canceled = order_with_training(Status.CANCELED, "canceled.zip")
    deleted, of_deleted = order_with_training(Status.TRAINING, "deleted.zip")
    Order.objects.filter(pk=deleted.pk).update(
        replicate_training_id=of_deleted, deleted_at=timezone.now()
    )
    training, its_own = order_with_training(Status.TRAINING, "training.zip")
    Order.objects.filter(pk=training.pk).update(replicate_training_id=its_own)
    duplicate = train_for(slow_gateway, training, training.training_input_url)
    _, of_queued = order_with_training(Status.QUEUED, "queued.zip")  # its submitter looks it up
    strangers = train_for(slow_gateway, None, any_zip("not-ours.zip"))

    sync_quiet_trainings(gateway=slow_gateway)

    statuses = {id: slow_gateway.get_training(id).status for id in training_ids(slow_emulator)}
    canceled = {id for id, status in statuses.items() if status == "canceled"}
    assert canceled == {of_failed, of_canceled, of_deleted, duplicate}
    assert statuses[its_own] != "canceled"
    assert statuses[of_queued] != "canceled"
    assert statuses[strangers] != "canceled"
