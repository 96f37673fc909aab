"""The staff dashboard and `/metrics`: the spec's figures, from the rows we keep."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from training.metrics import percentiles, window_figures
from training.models import Order, Stage, Status, TrainingEvent, WebhookDelivery


def order(user: User, status: Status, *, cost: str = "0", zip_size: int = 0) -> Order:
    return Order.objects.create(
        user=user,
        name="O",
        package="professional",
        subject_type="man",
        status=status,
        cost=Decimal(cost),
        zip_size=zip_size,
        training_zip="training-sets/x.zip" if zip_size else "",
    )


def event(target: Order, stage: Stage, ok: bool, duration: float = 0) -> None:
    TrainingEvent.objects.create(
        order=target,
        stage=stage,
        status=TrainingEvent.Outcome.SUCCESS if ok else TrainingEvent.Outcome.FAILURE,
        duration=duration,
    )


@pytest.fixture
def history(alice: User, bob: User) -> None:
    now = timezone.now()
    ready = order(alice, Status.READY, cost="1.50")
    failed = order(bob, Status.FAILED, cost="0.25")
    running = order(alice, Status.TRAINING, zip_size=3 * 1024 * 1024)
    event(ready, Stage.UPLOAD, True, 2)
    event(ready, Stage.TRAINING, True, 1200)
    event(failed, Stage.UPLOAD, True, 3)
    event(failed, Stage.TRAINING, False, 50)
    event(running, Stage.UPLOAD, True, 1)
    old = order(bob, Status.READY, cost="9")
    Order.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=20))
    for index, seconds in enumerate([0.2, 0.4, 0.6, 0.8, 5.0]):
        WebhookDelivery.objects.create(
            webhook_id=f"msg_{index}",
            event_completed_at=now - timedelta(seconds=seconds + 1),
            processed_at=now,
        )
    WebhookDelivery.objects.update(received_at=now - timedelta(seconds=0.01))


@pytest.mark.django_db
def test_it_computes_the_figures_of_a_window(history: None) -> None:
    week = window_figures(7)
    month = window_figures(30)

    assert week.orders_by_status == {"ready": 1, "failed": 1, "training": 1}
    assert month.orders_by_status["ready"] == 2
    assert week.training_seconds_mean == 1200
    assert week.failure_rate(Stage.TRAINING) == 0.5
    assert week.failure_rate(Stage.UPLOAD) == 0.0
    assert week.spend == Decimal("1.75")
    assert month.spend == Decimal("10.75")
    assert week.webhook_latency_p50 == pytest.approx(1.6, abs=0.05)
    assert week.webhook_latency_p95 == pytest.approx(6.0, abs=0.05)
    assert week.webhook_processing_p95 == pytest.approx(0.01, abs=0.005)
    usage = {row.email: row for row in week.usage}
    assert usage["alice@example.com"].orders == 2
    assert usage["alice@example.com"].storage_bytes == 3 * 1024 * 1024
    assert usage["bob@example.com"].spend == Decimal("0.25")


def test_it_takes_nearest_rank_percentiles() -> None:
    assert percentiles([]) == (None, None)
    assert percentiles([3.0]) == (3.0, 3.0)
    assert percentiles([float(n) for n in range(1, 101)]) == (50.0, 95.0)


@pytest.mark.django_db
def test_it_shows_the_dashboard_to_staff_only(
    client: Client, history: None, staff: User, alice: User
) -> None:
    client.force_login(alice)
    assert client.get("/admin/dashboard/").status_code == 302

    client.force_login(staff)
    page = client.get("/admin/dashboard/").content.decode()

    assert "Últimos 7 días" in page
    assert "Últimos 30 días" in page
    assert "1,75 US$" in page  # Spanish decimals, dollars as Spanish writes them
    assert "50,0 %" in page  # the training stage's failure rate
    assert "3,0 MB" in page  # held in temporary files
    assert "/admin/dashboard/" in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_it_serves_prometheus_metrics_behind_a_token(
    client: Client, history: None, settings: Any
) -> None:
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})

    assert response.status_code == 200
    text = response.content.decode()
    assert 'headshots_orders{status="ready",window="7d"} 1' in text
    assert 'headshots_stage_events{stage="training",outcome="failure",window="7d"} 1' in text
    assert "headshots_temporary_storage_bytes 3145728" in text
    assert 'headshots_webhook_latency_seconds{quantile="0.95",window="7d"}' in text


@pytest.mark.django_db
def test_it_hides_metrics_when_no_token_is_set(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = None

    assert client.get("/metrics").status_code == 404
