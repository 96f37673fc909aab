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

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import WebhookReceiver, wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.errors import ReplicateRejected

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

    for client in (gateway._client._client, gateway._http):  # official calls, raw JSON reads
        client.event_hooks["response"].append(remember)
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


# --- Inputs: the emulator refuses what the trainer's published schema refuses --------------
BAD_TRAINING_INPUTS = [
    ({"steps": 2}, ("input.steps", "number_gte", "Must be greater than or equal to 3")),
    ({"steps": 6001}, ("input.steps", "number_lte", "Must be less than or equal to 6000")),
    ({"steps": "1000"}, ("input.steps", "invalid_type",
                         "Invalid type. Expected: integer, given: string")),
    ({"steps": 12.5}, ("input.steps", "invalid_type",
                       "Invalid type. Expected: integer, given: number")),
    ({"lora_rank": 0}, ("input.lora_rank", "number_gte", "Must be greater than or equal to 1")),
    ({"lora_rank": 129}, ("input.lora_rank", "number_lte", "Must be less than or equal to 128")),
    ({"autocaption": "yes"}, ("input.autocaption", "invalid_type",
                              "Invalid type. Expected: boolean, given: string")),
    ({"learning_rate": "fast"}, ("input.learning_rate", "invalid_type",
                                 "Invalid type. Expected: number, given: string")),
    ({"caption_dropout_rate": 1.5}, ("input.caption_dropout_rate", "number_lte",
                                     "Must be less than or equal to 1")),
    ({"optimizer": "sgd"}, ("input.optimizer", "enum", 'must be one of the following: "prodigy", '
                            '"adam8bit", "adamw8bit", "lion8bit", "adam", "adamw", "lion", '
                            '"adagrad", "adafactor"')),
    ({"trigger": "ohwx"}, ("input", "additional_property_not_allowed",
                           "Additional property trigger is not allowed")),
    ({"input_images": "photos.zip"}, ("input.input_images", "format",
                                      "Does not match format 'uri'")),
]  # fmt: skip


@pytest.mark.parametrize(("change", "problem"), BAD_TRAINING_INPUTS)
def test_it_refuses_a_training_input_the_trainer_would_refuse(
    emulator: ReplicateEmulator,
    start_training: Callable[..., Any],
    change: dict[str, Any],
    problem: tuple[str, str, str],
) -> None:
    field, kind, description = problem
    base = {"input_images": "https://example.com/photos.zip", "trigger_word": "ohwx"}

    with pytest.raises(ReplicateRejected) as caught:
        start_training(input={**base, **change})

    assert (caught.value.status, caught.value.title) == (422, "Input validation failed")
    assert caught.value.detail == f"- {field}: {description}\n"
    assert list(caught.value.invalid_fields) == [
        {"type": kind, "field": field, "description": description}
    ]
    assert emulator.state.jobs == {}  # refused before anything ran


def test_it_lists_every_problem_of_a_training_input_at_once(
    start_training: Callable[..., Any],
) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        start_training(input={"steps": 0, "lora_rank": "16"})

    assert caught.value.detail == (
        "- input: input_images is required\n"
        "- input.steps: Must be greater than or equal to 3\n"
        "- input.lora_rank: Invalid type. Expected: integer, given: string\n"
    )


def test_it_accepts_every_published_training_input_at_its_edges(
    gateway: ReplicateGateway, start_training: Callable[..., Any], zip_server: Callable[..., str]
) -> None:
    edges = {
        "input_images": zip_server("photos.zip"), "trigger_word": "ohwx", "autocaption": False,
        "autocaption_prefix": "a photo of ohwx,", "autocaption_suffix": "in a studio",
        "steps": 3, "learning_rate": 0.0004, "batch_size": 1, "resolution": "512,768,1024",
        "lora_rank": 128, "caption_dropout_rate": 0, "optimizer": "prodigy",
        "cache_latents_to_disk": True, "gradient_checkpointing": False,
        "layers_to_optimize_regex": "transformer.single_transformer_blocks.(7|12).proj_out",
    }  # fmt: skip

    training = start_training(input=edges)

    assert gateway.get_training(training.id).input == edges


BAD_PREDICTION_INPUTS = [
    ({"num_outputs": 5}, ("input.num_outputs", "number_lte", "Must be less than or equal to 4")),
    ({"num_outputs": 0}, ("input.num_outputs", "number_gte",
                          "Must be greater than or equal to 1")),
    ({"output_quality": 101}, ("input.output_quality", "number_lte",
                               "Must be less than or equal to 100")),
    ({"output_format": "gif"}, ("input.output_format", "enum",
                                'must be one of the following: "webp", "jpg", "png"')),
    ({"aspect_ratio": "1:2"}, ("input.aspect_ratio", "enum", 'must be one of the following: '
                               '"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", '
                               '"4:3", "9:16", "9:21", "custom"')),
    ({"lora_scale": 2.5}, ("input.lora_scale", "number_lte", "Must be less than or equal to 2")),
    ({"guidance_scale": -1}, ("input.guidance_scale", "number_gte",
                              "Must be greater than or equal to 0")),
    ({"num_inference_steps": 51}, ("input.num_inference_steps", "number_lte",
                                   "Must be less than or equal to 50")),
    ({"prompt": 7}, ("input.prompt", "invalid_type",
                     "Invalid type. Expected: string, given: integer")),
    ({"quality": 90}, ("input", "additional_property_not_allowed",
                       "Additional property quality is not allowed")),
]  # fmt: skip


def predict(
    gateway: ReplicateGateway, version: str, receiver: WebhookReceiver, data: dict[str, Any]
) -> Any:
    return gateway.create_prediction(
        version=version, input=data, webhook=receiver.url, webhook_events_filter=["completed"]
    )


@pytest.fixture
def trained(gateway: ReplicateGateway, start_training: Callable[..., Any]) -> str:
    training_id = start_training().id
    done = wait_until(lambda: (t := gateway.get_training(training_id)).is_terminal and t)
    assert done.version
    return str(done.version)


@pytest.mark.parametrize(("change", "problem"), BAD_PREDICTION_INPUTS)
def test_it_refuses_a_prediction_input_the_trained_model_would_refuse(
    gateway: ReplicateGateway,
    trained: str,
    webhook_receiver: WebhookReceiver,
    change: dict[str, Any],
    problem: tuple[str, str, str],
) -> None:
    field, kind, description = problem

    with pytest.raises(ReplicateRejected) as caught:
        predict(gateway, trained, webhook_receiver, {"prompt": "ohwx", **change})

    assert (caught.value.status, caught.value.title) == (422, "Input validation failed")
    assert caught.value.detail == f"- {field}: {description}\n"
    assert list(caught.value.invalid_fields) == [
        {"type": kind, "field": field, "description": description}
    ]
    assert list(gateway.list_predictions()) == []


def test_it_refuses_a_prediction_without_a_prompt(
    gateway: ReplicateGateway, trained: str, webhook_receiver: WebhookReceiver
) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        predict(gateway, trained, webhook_receiver, {"num_outputs": 1})

    assert caught.value.detail == "- input: prompt is required\n"
