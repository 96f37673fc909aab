"""Everything our gateway sends and the emulator answers, checked against Replicate's OpenAPI.

The spec says OpenAPI 3.1 but still marks nullable fields the 3.0 way (`nullable: true`), which
JSON Schema 2020-12 ignores; we translate it to `type: [..., "null"]` before validating, as
Replicate itself sends `"error": null`. Formats (date-time) are checked too.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.replicate.conftest import WebhookReceiver, wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.emulator import ReplicateEmulator

# A committed copy of Replicate's published description (shared/replicate/openapi.json).
SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "replicate-openapi.json"
SPEC_URI = "urn:replicate-openapi"


def load_spec() -> dict[str, Any]:
    return translate_nullable(json.loads(SPEC_PATH.read_text()))


def translate_nullable(node: Any) -> Any:
    """Turn OpenAPI 3.0 `nullable: true` into the JSON Schema 2020-12 spelling."""
    if isinstance(node, list):
        return [translate_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: translate_nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    return node


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture
def exchanges(gateway: ReplicateGateway) -> list[tuple[httpx.Request, httpx.Response]]:
    """Every request the gateway makes with its response, seen from inside its HTTP client."""
    seen: list[tuple[httpx.Request, httpx.Response]] = []

    def remember(response: httpx.Response) -> None:
        response.read()
        seen.append((response.request, response))

    gateway._client._client.event_hooks["response"].append(remember)
    return seen


def operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The OpenAPI operation whose path template matches a concrete /v1 path."""
    relative = path.removeprefix("/v1")
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, relative) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"no OpenAPI operation for {method} {path}")


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(SPEC_URI, resource)
    rooted = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    rooted = json.loads(json.dumps(rooted).replace('"#/components', f'"{SPEC_URI}#/components'))
    return Draft202012Validator(
        rooted, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def check_exchange(spec: dict[str, Any], request: httpx.Request, response: httpx.Response) -> None:
    op = operation(spec, request.method, request.url.path)
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body and request.content:
        validator(spec, body["schema"]).validate(json.loads(request.content))
    answer = op["responses"].get(str(response.status_code))
    assert answer is not None, f"{request.method} {request.url.path} -> {response.status_code}"
    content = answer.get("content", {}).get("application/json")
    if content:
        validator(spec, content["schema"]).validate(response.json())


def test_it_speaks_replicates_schema_through_a_whole_order(
    spec: dict[str, Any],
    exchanges: list[tuple[httpx.Request, httpx.Response]],
    gateway: ReplicateGateway,
    start_training: Callable[..., Any],
    webhook_receiver: WebhookReceiver,
) -> None:
    gateway.create_model(owner="headshots", name="schema-check")
    gateway.get_model(owner="headshots", name="schema-check")
    training = start_training()
    gateway.get_training(training.id)
    done = wait_until(lambda: (t := gateway.get_training(training.id)).is_terminal and t)
    list(gateway.list_trainings())
    prediction = gateway.create_prediction(
        version=done.version,
        input={"prompt": "portrait of ohwx woman", "megapixels": "0.25", "num_outputs": 1},
        webhook=webhook_receiver.url,
        webhook_events_filter=["completed"],
    )
    wait_until(lambda: gateway.get_prediction(prediction.id).is_terminal)
    assert [p.id for p in gateway.list_predictions()] == [prediction.id]
    assert prediction.created_at is not None
    list(gateway.list_predictions(created_after=prediction.created_at))
    gateway.cancel_prediction(prediction.id)
    gateway.cancel_training(training.id)
    gateway.get_webhook_secret()
    gateway.delete_model(owner="headshots", name="schema-check")

    assert len(exchanges) > 10
    for request, response in exchanges:
        check_exchange(spec, request, response)


def test_it_speaks_replicates_schema_for_files(
    spec: dict[str, Any],
    exchanges: list[tuple[httpx.Request, httpx.Response]],
    gateway: ReplicateGateway,
) -> None:
    empty_zip = io.BytesIO(b"PK\x05\x06" + b"\0" * 18)
    uploaded = gateway.upload_file(empty_zip, filename="a.zip")
    gateway.delete_file(uploaded.id)

    for request, response in exchanges:
        check_exchange(spec, request, response)


def test_it_sends_webhook_bodies_in_the_get_shape(
    spec: dict[str, Any],
    start_training: Callable[..., Any],
    webhook_receiver: WebhookReceiver,
) -> None:
    training_id = start_training().id
    webhook_receiver.wait_for_status(training_id, "succeeded")
    schema = operation(spec, "GET", f"/v1/trainings/{training_id}")["responses"]["200"]

    check = validator(spec, schema["content"]["application/json"]["schema"])
    for delivery in webhook_receiver.for_object(training_id):
        check.validate(delivery.payload)


def test_it_answers_problems_with_title_detail_and_status(emulator: ReplicateEmulator) -> None:
    response = httpx.get(f"{emulator.base_url}/trainings/nothing", headers={"Authorization": "x"})

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.json()) >= {"title", "detail", "status"}
