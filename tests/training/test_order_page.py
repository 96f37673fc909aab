"""The order page: live status, the gallery, downloads, cancel and delete; only for the owner."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.credits import credit_balance, credits_spend_for_order
from accounts.models import User
from tests.conftest import wait_for
from tests.training.ordering import emulator_state, place_order, reaches, status_of
from training import polling, tasks
from training.links import file_link
from training.models import Order, Stage, Status, WebhookDelivery


@pytest.fixture
def ready_order(replicate: Any, dora: User, tmp_path: Path, settings: Any) -> Order:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)
    assert order.status == Status.READY, order.error_detail
    return order


def order_url(order: Order, name: str = "order_detail", **kwargs: Any) -> str:
    return reverse(f"training:{name}", kwargs={"order_uuid": order.uuid, **kwargs})


def test_it_shows_the_gallery_and_serves_each_image(
    client: Client, ready_order: Order, dora: User
) -> None:
    client.force_login(dora)

    page = client.get(order_url(ready_order)).content.decode()

    headshots = list(ready_order.headshots.all())
    assert page.count('class="gallery"') == 2  # one list per style of the order
    assert "hx-trigger" not in page  # final: the page stops polling
    for headshot in headshots:
        url = file_link(order_uuid=ready_order.uuid, headshot_id=headshot.pk, variant="preview")
        assert url.split("?t=")[0] in page
        preview = client.get(url)
        assert preview.status_code == 200
        assert preview["Content-Type"] == "image/webp"
    image = client.get(
        file_link(
            order_uuid=ready_order.uuid, headshot_id=headshots[0].pk, variant="image", download=True
        )
    )
    assert image["Content-Disposition"].startswith("attachment")
    assert image.getvalue() == default_storage.open(str(headshots[0].jpeg.name)).read()


def test_it_downloads_every_headshot_in_one_zip(
    client: Client, ready_order: Order, dora: User
) -> None:
    client.force_login(dora)

    response = client.get(order_url(ready_order, "order_download"))

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    assert len(archive.namelist()) == ready_order.headshots.count() == 4
    assert archive.testzip() is None


def test_it_shows_nothing_of_it_to_anyone_else(
    client: Client, ready_order: Order, charlie: User
) -> None:
    headshot = ready_order.headshots.first()
    assert headshot is not None
    client.force_login(charlie)

    for url in [
        order_url(ready_order),
        order_url(ready_order, "order_status"),
        order_url(ready_order, "order_download"),
        file_link(order_uuid=ready_order.uuid, headshot_id=headshot.pk, variant="image"),
    ]:
        assert client.get(url).status_code == 404, url
    for url in [order_url(ready_order, "order_cancel"), order_url(ready_order, "order_delete")]:
        assert client.post(url).status_code == 404, url
    assert Order.objects.filter(pk=ready_order.pk, deleted_at__isnull=True).exists()


def test_it_deletes_the_order_its_files_and_its_model_on_replicate(
    client: Client, ready_order: Order, dora: User, replicate: Any
) -> None:
    files = [str(h.image.name) for h in ready_order.headshots.all()]
    model_key = ready_order.replicate_model_id
    assert model_key in emulator_state(replicate)["models"]
    client.force_login(dora)

    response = client.post(order_url(ready_order, "order_delete"))

    assert response.status_code == 302
    assert not any(default_storage.exists(name) for name in files)
    assert model_key not in emulator_state(replicate)["models"]
    assert client.get(order_url(ready_order)).status_code == 404
    assert client.get(reverse("training:order_list")).content.decode().count("Perfil") == 0
    # An anonymous record stays for the staff figures and the accounts.
    kept = Order.objects.get(pk=ready_order.pk)
    assert (kept.user, kept.name, kept.face_embeddings) == (None, "", [])
    assert (kept.status, kept.package, kept.cost) == (
        Status.READY,
        "professional",
        ready_order.cost,
    )
    assert not kept.headshots.exists()


@pytest.mark.django_db
def test_it_shows_the_steps_and_the_time_left_from_the_training_s_progress(
    client: Client, alice: User, settings: Any
) -> None:
    settings.TYPICAL_ORDER_MINUTES = 30  # no delivered order yet: 4.5 minutes of headshots
    started = timezone.now() - timedelta(minutes=10)
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man", status=Status.TRAINING,
        replicate_training_id="t-1",
    )  # fmt: skip
    Order.objects.filter(pk=order.pk).update(training_started_at=started)
    cache.set(f"training-progress:{order.uuid}", 50, 10)  # half way in 10 minutes
    client.force_login(alice)

    partial = client.get(order_url(order, "order_status")).content.decode()

    assert "Faltan unos 15 minutos" in partial  # 10 more of training, then the headshots
    steps = re.findall(r'<li class="step-(\w+)"', partial)
    assert steps == ["done", "current", "todo", "todo"]
    assert re.search(r'aria-current="step">\s*Entrenando', partial)


@pytest.mark.django_db
def test_it_polls_while_training_and_shows_the_progress(
    client: Client, alice: User, settings: Any
) -> None:
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man", status=Status.TRAINING,
        replicate_training_id="t-1",
    )  # fmt: skip
    cache.set(f"training-progress:{order.uuid}", 42, 10)
    client.force_login(alice)

    partial = client.get(order_url(order, "order_status")).content.decode()

    assert 'hx-trigger="every 3s"' in partial
    assert 'value="42"' in partial
    assert "42 %" in partial


@pytest.fixture
def training_host(settings: Any) -> Iterator[list[str]]:
    """A real HTTP server standing in for Replicate: it answers any training as running at 40 %
    and records every request, so that a test sees whether a page asked it anything."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            training_id = self.path.rsplit("/", 1)[-1]
            body = json.dumps(
                {"id": training_id, "status": "processing", "logs": " 40%|████  | 400/1000\n"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.REPLICATE_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.REPLICATE_API_TOKEN = "r8_test"
    yield seen
    server.shutdown()
    server.server_close()


def training_order(user: User) -> Order:
    return Order.objects.create(
        user=user, name="P", package="professional", subject_type="man", status=Status.TRAINING,
        replicate_training_id="t-1",
    )  # fmt: skip


@pytest.mark.django_db
def test_it_shows_a_training_without_a_figure_and_never_asks_replicate(
    client: Client, alice: User, training_host: list[str]
) -> None:
    order = training_order(alice)
    client.force_login(alice)

    pages = [client.get(order_url(order, "order_status")), client.get(order_url(order))]

    for page in pages:
        content = page.content.decode()
        assert page.status_code == 200
        assert 'data-status="training"' in content
        assert '<progress id="training-progress" max="100"></progress>' in content  # no figure
        assert "%" not in content.split('id="order-live"')[1].split("</section>")[0]
    assert training_host == []  # the page read the cache, not Replicate


@pytest.mark.django_db
def test_it_shows_the_progress_the_worker_poll_stored(
    client: Client, alice: User, training_host: list[str]
) -> None:
    order = training_order(alice)
    client.force_login(alice)

    assert polling.order_poll(order_id=order.pk) == ([], True)  # the worker's turn
    partial = client.get(order_url(order, "order_status")).content.decode()

    assert training_host == ["GET /v1/trainings/t-1"]  # the poll's, and only it
    assert 'value="40"' in partial
    assert "40 %" in partial


def test_it_polls_often_while_training_and_backs_off_otherwise(settings: Any) -> None:
    settings.REPLICATE_POLL_SECONDS, settings.REPLICATE_POLL_MAX_SECONDS = 30, 120
    settings.REPLICATE_PROGRESS_SECONDS = 10

    assert polling.next_poll_seconds(30, moved=False, training=True) == 10
    assert polling.next_poll_seconds(10, moved=True, training=True) == 10
    assert polling.next_poll_seconds(30, moved=False, training=False) == 60


def poll_status(client: Client, order: Order) -> str:
    """One poll of the live partial."""
    response = client.get(order_url(order, "order_status"))
    assert response.status_code == 200
    return response.content.decode()


def worker_poll(order: Order) -> None:
    """What `poll_replicate` does on the worker: ask Replicate, enqueue what follows."""
    followups, _again = polling.order_poll(order_id=order.pk)
    tasks.enqueue_followups(followups)


def test_it_moves_on_when_the_worker_poll_finds_the_training_finished(
    replicate: Any, client: Client, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_never=True)  # as if a restart had lost every webhook
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.TRAINING)
    client.force_login(dora)
    wait_for(lambda: emulator_training(replicate)["status"] == "succeeded", timeout=30)

    assert 'data-status="training"' in poll_status(client, order)  # a page moves nothing
    assert status_of(order) == Status.TRAINING
    worker_poll(order)

    order.refresh_from_db()
    assert order.status == Status.GENERATING
    assert order.replicate_version_id.startswith(f"headshots/headshots-{order.uuid}:")
    assert order.events.filter(stage=Stage.TRAINING).count() == 1
    assert order.predictions.count() == 2  # the follow-up ran: headshots are being made
    assert not WebhookDelivery.objects.exists()  # no webhook, no sync_replicate: the poll did it
    assert 'data-status="generating"' in poll_status(client, order)


def test_it_fails_and_refunds_when_the_worker_poll_finds_the_training_failed(
    replicate: Any, client: Client, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.set_faults(webhooks_never=True, fail_trainings=1)
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.TRAINING)
    client.force_login(dora)
    wait_for(lambda: emulator_training(replicate)["status"] == "failed", timeout=30)

    assert 'data-status="training"' in poll_status(client, order)
    worker_poll(order)

    order.refresh_from_db()
    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.TRAINING)
    assert credit_balance(dora) == 1
    assert order.events.filter(stage=Stage.TRAINING).count() == 1
    assert 'data-status="failed"' in poll_status(client, order)


def emulator_training(emulator: Any) -> dict[str, Any]:
    (training,) = emulator_state(emulator)["trainings"]
    return dict(training)


@pytest.mark.django_db
def test_it_cancels_an_order_in_progress_and_refunds(
    client: Client, alice: User, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TRAINING_CREDIT_COST = 1
    order = Order.objects.create(
        user=alice, name="P", package="professional", subject_type="man", status=Status.QUEUED
    )
    from accounts.credits import credits_grant

    credits_grant(user=alice, amount=1, reason="t")
    credits_spend_for_order(user=alice, cost=1, order_uuid=order.uuid)
    client.force_login(alice)

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(order_url(order, "order_cancel"))
        again = client.post(order_url(order, "order_cancel"), follow=True)

    assert Order.objects.get(pk=order.pk).status == Status.CANCELED
    assert credit_balance(alice) == 1
    assert len(callbacks) == 1  # the remote clean-up, once
    assert "ya ha terminado" in again.content.decode()


@pytest.mark.django_db
def test_it_lists_orders_with_a_fixed_number_of_queries(client: Client, alice: User) -> None:
    client.force_login(alice)

    def queries_for(count: int) -> int:
        for index in range(count):
            Order.objects.create(
                user=alice, name=f"O{index}", package="professional", subject_type="man"
            )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("training:order_list")).status_code == 200
        return len(captured)

    assert queries_for(1) == queries_for(10)


def test_it_sends_an_anonymous_visitor_to_sign_in(ready_order: Order, live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}{order_url(ready_order, 'order_download')}")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/code/")


def test_it_refuses_expired_tampered_or_reused_links_and_never_serves_media_raw(
    client: Client, ready_order: Order, dora: User, settings: Any
) -> None:
    first, second = list(ready_order.headshots.all())[:2]
    client.force_login(dora)
    link = file_link(order_uuid=ready_order.uuid, headshot_id=first.pk, variant="image")
    other_file = link.replace(f"/headshots/{first.pk}/", f"/headshots/{second.pk}/")
    preview_instead = link.replace("/image/", "/preview/")

    assert client.get(link).status_code == 200
    assert client.get(link[:-3] + "abc").status_code == 403
    assert client.get(other_file).status_code == 403
    assert client.get(preview_instead).status_code == 403
    assert client.get(f"/media/{first.image.name}").status_code == 404
    settings.IMAGE_URL_TTL_SECONDS = 1
    time.sleep(2)
    expired = client.get(link)
    assert expired.status_code == 403
    assert "ha caducado" in expired.content.decode()
