"""Deleting an order erases its files and its model at once and keeps an anonymous record; a
purge that storage made fail half-way is finished by cron."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import break_storage, make_user
from training.models import Headshot, Order, Prediction, Status


def delivered_order(user: Any) -> Order:
    order = Order.objects.create(
        user=user, name="Mi perfil", package="professional", subject_type="woman",
        status=Status.READY, cost=1.25,
    )  # fmt: skip
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="p")
    name = default_storage.save(f"headshots/{order.uuid}/a.png", ContentFile(b"png"))
    Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, image=name, content_type="image/png"
    )
    return order


@pytest.mark.django_db(transaction=True)
def test_a_purge_that_failed_half_way_is_finished_by_cron(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    fran = make_user("fran@example.com")
    order = delivered_order(fran)
    stored = [str(h.image.name) for h in order.headshots.all()]
    working_storage = settings.STORAGES
    client.force_login(fran)
    break_storage(settings, tmp_path)  # storage is down when the purge runs

    client.post(reverse("training:order_delete", kwargs={"order_uuid": order.uuid}))

    waiting = Order.objects.get(pk=order.pk)
    assert waiting.user == fran  # not erased yet...
    assert client.get(order.get_absolute_url()).status_code == 404  # ...but gone for her
    settings.STORAGES = working_storage
    assert all(default_storage.exists(name) for name in stored)
    call_command("cleanup_temp_files", stdout=StringIO())
    assert Order.objects.get(pk=order.pk).user == fran  # its purge task may still be on its way

    Order.objects.filter(pk=order.pk).update(deleted_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("cleanup_temp_files", stdout=out)

    assert "order purges resumed: 1." in out.getvalue()
    kept = Order.objects.get(pk=order.pk)
    assert (kept.user, kept.name, kept.status, float(kept.cost)) == (None, "", Status.READY, 1.25)
    assert not any(default_storage.exists(name) for name in stored)
    assert not kept.headshots.exists()
