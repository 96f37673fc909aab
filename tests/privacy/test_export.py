"""Export my data: a ZIP made by the worker holding exactly the person's data, with a signed
link that expires and that nobody else can use."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.credits import credits_grant
from accounts.models import User
from privacy.models import DataExport
from tests.privacy.test_retention import delivered_order
from training.models import Headshot, OrderRating

ACCOUNT = reverse("privacy_account")
EXPORT = reverse("privacy_export_create")


def request_export(client: Client, capture: Any, **extra: Any) -> Any:
    """POST the request; the worker's task runs when the request's transaction commits."""
    with capture(execute=True):
        return client.post(EXPORT, **extra)


def export_link(client: Client) -> str:
    page = client.get(ACCOUNT).content.decode()
    start = page.index('id="export-download" href="') + len('id="export-download" href="')
    return page[start : page.index('"', start)].replace("&amp;", "&")


def zip_of(response: Any) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db
def test_the_zip_holds_exactly_the_persons_data(
    client: Client,
    alice: User,
    charlie: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SITE_URL = "https://headshots.example"
    credits_grant(user=alice, amount=3, reason="welcome")
    mine = delivered_order(alice)
    hidden = delivered_order(alice)
    hidden.headshots.update(hidden=True)  # failed the likeness check: never shown to her
    theirs = delivered_order(charlie)
    OrderRating.objects.create(order=mine, stars=5, comment="¡Genial!")
    OrderRating.objects.create(order=theirs, stars=1, comment="charlie's secret")
    mine.headshots.update(is_favourite=True)
    client.force_login(alice)

    response = request_export(client, django_capture_on_commit_callbacks, follow=True)

    assert "Estamos preparando tus datos" in response.content.decode()
    assert mail.outbox[-1].to == ["alice@example.com"]
    assert "https://headshots.example/account/privacy/" in mail.outbox[-1].body
    archive = zip_of(client.get(export_link(client)))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "alice@example.com"
    assert [c["amount"] for c in data["account"]["credits"]] == [3]
    assert sorted(o["id"] for o in data["orders"]) == sorted([str(mine.uuid), str(hidden.uuid)])
    assert data["ratings"] == [{"order": str(mine.uuid), "stars": 5, "comment": "¡Genial!"}]
    shown = Headshot.objects.get(order=mine)
    expected = f"headshots/{mine.uuid}/{str(shown.image.name).rsplit('/', 1)[-1]}"
    assert data["favourites"] == [{"order": str(mine.uuid), "file": expected}]
    assert sorted(archive.namelist()) == ["data.json", expected]
    assert archive.read(expected) == default_storage.open(str(shown.image.name)).read()
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode(errors="ignore")
    for foreign in ("charlie", str(theirs.uuid), "replicate_model_id", "face_embeddings"):
        assert foreign not in everything


@pytest.mark.django_db
def test_the_link_is_refused_to_anyone_else_and_when_tampered(
    client: Client, alice: User, charlie: User, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(alice)
    request_export(client, django_capture_on_commit_callbacks)
    link = export_link(client)
    made = DataExport.objects.get(user=alice)

    client.force_login(charlie)
    assert client.get(link).status_code == 404
    client.force_login(alice)
    assert client.get(link.replace("?t=", "?t=x")).status_code == 404
    other = reverse("privacy_export_download", kwargs={"export_uuid": made.uuid})
    assert client.get(other).status_code == 404  # no token at all
    assert client.get(link).status_code == 200
    assert Client().get(link).status_code == 302  # signed out: to the sign-in page


@pytest.mark.django_db
def test_the_link_expires_and_cron_deletes_the_zip(
    client: Client, alice: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DATA_EXPORT_TTL_HOURS = 2
    client.force_login(alice)
    request_export(client, django_capture_on_commit_callbacks)
    link = export_link(client)
    name = str(DataExport.objects.get(user=alice).file.name)

    with freeze_time(timezone.now() + timedelta(hours=2, minutes=1)):
        refused = client.get(link)
        call_command("cleanup_temp_files", stdout=StringIO())

    assert refused.status_code == 404
    assert not DataExport.objects.exists()
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_exporting_needs_a_signed_in_post(client: Client, alice: User) -> None:
    assert client.post(EXPORT).status_code == 302
    client.force_login(alice)
    assert client.get(EXPORT).status_code == 405
    assert not DataExport.objects.exists()
