"""Upload places: only uploaded ZIPs count, not what a PUT killed half-way left in the folder."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from accounts.models import User
from accounts.tokens import token_create
from training.zip_uploads import MAX_PENDING_UPLOADS


@pytest.mark.django_db
def test_it_does_not_count_leftovers_of_a_killed_put_as_places(client: Client, alice: User) -> None:
    for leftover in ("0123456789abcdef0123456789abcdef.zip.partial-x", ".partial-x", "notes.txt"):
        default_storage.save(f"uploads/{alice.pk}/{leftover}", ContentFile(b"half a zip"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=alice, name='script')[1]}"}

    answers = [
        client.post("/api/uploads", **auth).status_code  # type: ignore[arg-type]
        for _ in range(MAX_PENDING_UPLOADS + 1)
    ]

    assert answers == [201] * MAX_PENDING_UPLOADS + [429]
