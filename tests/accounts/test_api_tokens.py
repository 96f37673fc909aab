"""Personal API tokens: named, shown once, stored hashed, revocable; nobody else's to touch."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, User
from accounts.tokens import user_for_token

URL = "/account/tokens/"


def create(client: Client, name: str = "my script") -> str:
    response = client.post(URL, {"name": name})
    assert response.status_code == 200
    match = re.search(r'<code class="secret">(hs_[\w-]+)</code>', response.content.decode())
    assert match, "the new secret is on the page"
    return match.group(1)


@pytest.mark.django_db
def test_it_shows_a_new_token_once_and_keeps_only_its_hash(client: Client, alice: User) -> None:
    client.force_login(alice)

    secret = create(client)

    token = ApiToken.objects.get(user=alice)
    assert token.name == "my script"
    assert secret not in str(ApiToken.objects.values().get())  # no column holds the secret
    assert secret[:10] == token.prefix
    assert secret not in client.get(URL).content.decode()  # never shown again
    assert user_for_token(secret) == alice
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db
def test_it_revokes_a_token_which_then_no_longer_works(client: Client, alice: User) -> None:
    client.force_login(alice)
    secret = create(client)
    token = ApiToken.objects.get(user=alice)

    response = client.post(reverse("api_token_revoke", kwargs={"token_id": token.pk}), follow=True)

    assert "El token se ha revocado" in response.content.decode()
    assert user_for_token(secret) is None


@pytest.mark.django_db
def test_it_refuses_to_revoke_someone_elses_token(
    client: Client, alice: User, charlie: User
) -> None:
    client.force_login(alice)
    secret = create(client)
    token = ApiToken.objects.get(user=alice)
    client.force_login(charlie)

    response = client.post(reverse("api_token_revoke", kwargs={"token_id": token.pk}))

    assert response.status_code == 404
    assert user_for_token(secret) == alice
    assert "my script" not in client.get(URL).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 51])
def test_it_needs_a_reasonable_name(client: Client, alice: User, name: str) -> None:
    client.force_login(alice)

    response = client.post(URL, {"name": name})

    assert response.status_code == 422
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_it_recognises_no_made_up_token(alice: User) -> None:
    assert user_for_token("hs_" + "A" * 43) is None
    assert user_for_token("Bearer something") is None
    assert user_for_token("") is None


@pytest.mark.django_db
def test_the_page_shows_how_to_use_a_token(client: Client, alice: User, settings: Any) -> None:
    settings.SITE_URL = "https://headshots.example.com"
    client.force_login(alice)

    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "curl -X POST https://headshots.example.com/api/replicate/train-model" in page
    assert 'href="https://headshots.example.com/api/openapi.json"' in page
