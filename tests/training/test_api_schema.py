"""The API against its own OpenAPI 3.1 description, with schemathesis: property-based calls to
the running app (a live server, real HTTP), signed in with a real API token. No answer may be a
server error, and every answer must match what /api/openapi.json promises (status codes,
content types, headers, bodies); data the description forbids must be refused with a 4xx.

Each operation runs as its own test with schemathesis' strategies under Hypothesis' `@given`
(schemathesis' lazy pytest fixture does not run under pytest 9)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode

from accounts.tokens import token_create
from tests.conftest import make_user
from training.openapi import openapi_description

pytestmark = pytest.mark.timeout(300)

OPERATIONS = [
    pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
    for path, methods in openapi_description()["paths"].items()
    for method in methods
    if path != "/api/openapi.json"  # schemathesis leaves out the description's own address
]
# The ZIP upload's body is bytes, sent as they are.
schemathesis.serializer.alias("application/zip", "application/octet-stream")


@pytest.fixture
def api_schema(live_server: Any, transactional_db: None, settings: Any, tmp_path: Any) -> Any:
    settings.SITE_URL = live_server.url
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    for limit in ("RATE_LIMIT_ORDERS", "RATE_LIMIT_ORDERS_PER_IP", "RATE_LIMIT_UPLOADS"):
        setattr(settings, limit, "100000/h")  # explore the API, not its rate limits
    return schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")


@pytest.fixture
def token(transactional_db: None) -> str:
    return token_create(user=make_user("schema@example.com"), name="schemathesis")[1]


def operation_of(schema: Any, method: str, path: str) -> Any:
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) == (method, path):
            return operation
    found = [(op.ok().method, op.ok().path) for op in schema.get_all_operations()]
    raise AssertionError(f"{method} {path} is not in the description: {found}")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_keeps_the_promises_of_its_description(
    api_schema: Any, token: str, method: str, path: str, mode: GenerationMode
) -> None:
    operation = operation_of(api_schema, method, path)
    calls: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
        calls.append(response.status_code)

    call()

    assert calls, "schemathesis made no call"


def test_the_description_is_served_as_openapi_3_1(client: Any) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    description = response.json()
    assert description["openapi"] == "3.1.0"
    assert set(description["paths"]) >= {"/api/uploads", "/api/replicate/train-model"}
