"""What the app itself sends to Replicate during a whole order, and what it gets back, matches
Replicate's published OpenAPI description (request and response schemas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from accounts.models import User
from tests.replicate.test_schema import check_exchange, load_spec
from tests.training.ordering import place_order, reaches
from training import headshots, trainings
from training.models import Status
from training.replicate import client as replicate_client


@pytest.fixture
def app_exchanges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[httpx.Request, httpx.Response]]:
    """Observe (not replace) every gateway the app builds: each exchange is recorded."""
    seen: list[tuple[httpx.Request, httpx.Response]] = []
    build = replicate_client.client_from_settings

    def observed_gateway() -> replicate_client.ReplicateGateway:
        gateway = build()

        def remember(response: httpx.Response) -> None:
            response.read()
            seen.append((response.request, response))

        gateway._client._client.event_hooks["response"].append(remember)
        return gateway

    for module in (trainings, headshots):
        monkeypatch.setattr(module, "client_from_settings", observed_gateway)
    return seen


def test_it_speaks_replicates_schema_for_a_whole_order(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, app_exchanges: list[Any]
) -> None:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)

    assert order.status == Status.READY
    paths = {(request.method, request.url.path.split("/")[2]) for request, _ in app_exchanges}
    assert {("POST", "models"), ("POST", "files"), ("POST", "predictions")} <= paths
    spec = load_spec()
    for request, response in app_exchanges:
        if request.url.path.startswith("/v1/files"):
            continue  # multipart upload: no JSON body to check
        check_exchange(spec, request, response)
