"""A missing page shows the site's own 404, with DEBUG on as under `make run` too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "path", ["/no-such-page/", "/studio/models/00000000-0000-0000-0000-000000000000/"]
)
def test_it_shows_the_sites_own_404_page(
    client: Client, alice: Any, settings: Any, debug: bool, path: str
) -> None:
    settings.DEBUG = debug
    client.force_login(alice)

    response = client.get(path)

    page = response.content.decode()
    assert response.status_code == 404
    assert "Página no encontrada" in page
    assert "URLconf" not in page  # Django's technical page lists the URL patterns


@pytest.mark.django_db
def test_it_leaves_the_apis_json_404_alone(client: Client, settings: Any) -> None:
    settings.DEBUG = True

    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
