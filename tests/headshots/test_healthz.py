"""/healthz: 200 when database, cache and storage answer; 503 naming the part that does not."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import REDIS_URL


@pytest.mark.django_db
def test_it_is_healthy_on_the_embedded_defaults(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "storage": "ok"},
        "failing": [],
    }


@pytest.mark.django_db
def test_it_is_healthy_on_redis_and_s3(client: Client, settings: Any, s3_storage: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["failing"] == []


@pytest.mark.django_db
def test_it_names_the_cache_when_redis_does_not_answer(client: Client, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_it_names_the_storage_when_files_cannot_be_written(
    client: Client, unwritable_storage: None
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "ok", "storage": "unavailable"},
        "failing": ["storage"],
    }


@pytest.mark.django_db
def test_it_names_the_storage_when_the_bucket_is_missing(
    client: Client, settings: Any, s3_storage: str
) -> None:
    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = "no-such-bucket"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def count_s3_calls() -> list[str]:
    """The names of the S3 operations the default storage makes from now on (in this thread)."""
    from django.core.files.storage import default_storage

    calls: list[str] = []
    events = default_storage.connection.meta.client.meta.events  # type: ignore[attr-defined]
    events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


@pytest.mark.django_db
def test_it_writes_nothing_to_the_bucket_however_often_it_is_called(
    client: Client, settings: Any, s3_storage: str, s3_server: str
) -> None:
    import boto3

    settings.HEALTHZ_CACHE_SECONDS = 60
    calls = count_s3_calls()

    answers = {client.get("/healthz").status_code for _ in range(25)}

    assert answers == {200}
    assert calls == ["HeadBucket"]  # one cheap read for the whole flood
    bucket = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).list_objects_v2(Bucket=s3_storage)  # fmt: skip
    assert bucket["KeyCount"] == 0


@pytest.mark.django_db
def test_it_names_a_bucket_that_disappears_once_the_last_answer_expires(
    client: Client, settings: Any, s3_storage: str, s3_server: str
) -> None:
    import boto3

    settings.HEALTHZ_CACHE_SECONDS = 60
    assert client.get("/healthz").status_code == 200
    boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).delete_bucket(Bucket=s3_storage)  # fmt: skip

    assert client.get("/healthz").status_code == 200  # the answer of a moment ago
    settings.HEALTHZ_CACHE_SECONDS = 0  # as if the window had passed
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


@pytest.mark.django_db
def test_it_probes_the_database_once_per_window(
    client: Client, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.HEALTHZ_CACHE_SECONDS = 60
    client.get("/healthz")

    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_it_leaves_no_probe_file_behind(client: Client, settings: Any) -> None:
    client.get("/healthz")

    assert list(Path(settings.MEDIA_ROOT).rglob("*.txt")) == []


@pytest.mark.django_db
def test_it_signs_image_links_for_the_public_s3_address(
    settings: Any, s3_storage: str, s3_server: str
) -> None:
    import httpx
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    public = s3_server.replace("127.0.0.1", "localhost")  # the address browsers use
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "lib.s3.PublicLinkS3Storage",
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "public_endpoint_url": public},
        },
    }
    name = default_storage.save("headshots/x/one.webp", ContentFile(b"image bytes"))

    link = default_storage.url(name, expire=60)  # type: ignore[call-arg]

    assert link.startswith(f"{public}/{s3_storage}/headshots/x/one.webp?")
    assert "Signature=" in link
    assert httpx.get(link).content == b"image bytes"


@pytest.mark.django_db
def test_it_answers_at_once_while_another_probe_hangs(
    client: Client, settings: Any, silent_server: Any
) -> None:
    from headshots.health import part_health

    settings.CACHES = {  # no bound of its own: the probe waits until the server goes away
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": silent_server.url,
        }
    }
    hung = threading.Thread(target=part_health, args=("cache",), daemon=True)
    hung.start()
    assert silent_server.connected.wait(timeout=10)
    started = time.monotonic()

    response = client.get("/healthz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "unavailable",
        "storage": "ok",
    }
    assert hung.is_alive()  # still waiting: nobody queued behind it
    silent_server.hang_up()
    hung.join(timeout=10)
