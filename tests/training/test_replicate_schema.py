"""What the app itself sends to Replicate during a whole order, and what it gets back, matches
Replicate's published OpenAPI description (request and response schemas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from accounts.models import User
from tests.replicate.test_schema import check_exchange, load_spec
from tests.training.ordering import place_order, reaches
from training import generation, lifecycle, sync, trainings
from training.models import Status
from training.replicate import client as replicate_client
from training.styles import order_styles


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

    for module in (trainings, generation, lifecycle, sync):
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


def test_it_sends_the_trainer_and_the_trained_model_exactly_these_inputs(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, app_exchanges: list[Any]
) -> None:
    # Unusual values, so an input read from the wrong setting (or a constant) shows.
    settings.TRAINING_STEPS, settings.TRAINING_LORA_RANK = 1234, 37
    settings.TRAINING_LEARNING_RATE, settings.HEADSHOTS_PER_STYLE = 0.00031, 3
    settings.HEADSHOT_ASPECT_RATIO, settings.HEADSHOT_OUTPUT_FORMAT = "4:5", "png"
    settings.HEADSHOT_OUTPUT_QUALITY = 77

    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)

    assert order.status == Status.READY
    trainings_sent = sent(app_exchanges, "POST", "/trainings")
    assert [body["input"] for body in trainings_sent] == [
        {
            "input_images": order.training_input_url,
            "trigger_word": "ohwx",
            "steps": 1234,
            "lora_rank": 37,
            "learning_rate": 0.00031,
            "autocaption": True,
        }
    ]
    predictions_sent = [body["input"] for body in sent(app_exchanges, "POST", "/predictions")]
    styles = order_styles(order.package)
    assert all(style.prompt("woman").startswith("portrait of ohwx woman") for style in styles)
    assert sorted(predictions_sent, key=lambda data: data["prompt"]) == sorted(
        (
            {
                "prompt": style.prompt("woman"),
                "num_outputs": 3,
                "aspect_ratio": "4:5",
                "output_format": "png",
                "output_quality": 77,
                **style.inputs,
            }
            for style in styles
        ),
        key=lambda data: str(data["prompt"]),
    )
    assert order.headshots.count() == 3 * len(styles)


def sent(exchanges: list[Any], method: str, path_end: str) -> list[dict[str, Any]]:
    """The JSON bodies of the requests the app made with this method to a path ending so."""
    return [
        json.loads(request.content)
        for request, _ in exchanges
        if request.method == method and request.url.path.endswith(path_end)
    ]
