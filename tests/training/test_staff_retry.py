"""Staff retry a failed order from the admin; an order whose photos are gone is not retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.conftest import make_staff
from tests.training.ordering import place_order, reaches
from training.models import HeadshotModel, Stage, Status


@pytest.fixture
def admin_client(transactional_db: None) -> Client:
    client = Client()
    client.force_login(
        make_staff("staff@example.com", "training.view_headshotmodel", "training.retry_order")
    )
    return client


def retry(admin_client: Client, order: HeadshotModel) -> Any:
    return admin_client.post(
        "/admin/training/headshotmodel/",
        {"action": "retry_orders", "_selected_action": [order.pk]},
        follow=True,
    )


def test_it_makes_the_headshots_again_after_a_completion_failure(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    replicate.set_faults(fail_predictions=4)  # both prompts fail, and fail again
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED, Status.READY)
    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.COMPLETION)

    response = retry(admin_client, order)

    assert "1 pedido reintentado." in response.content.decode()
    order = reaches(order, Status.READY)
    assert order.headshots.count() == 4
    assert [m.subject for m in mail.outbox][-1] == "Tus retratos están listos: Perfil"


def test_it_does_not_retry_an_order_whose_photos_are_gone(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, admin_client: Client
) -> None:
    replicate.set_faults(fail_trainings=1)
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED)
    reaches_zip_deleted = HeadshotModel.objects.get(pk=order.pk)
    from tests.conftest import wait_for

    wait_for(lambda: not HeadshotModel.objects.get(pk=order.pk).training_zip)

    response = retry(admin_client, reaches_zip_deleted)

    assert "No reintentados" in response.content.decode()
    assert HeadshotModel.objects.get(pk=order.pk).status == Status.FAILED
