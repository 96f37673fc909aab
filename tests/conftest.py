"""Shared fixtures: three people (alice, bob, charlie), an S3 server, the test database's URL.

Tests talk to real parts: PostgreSQL (make test picks it), a real S3 HTTP server (moto in
server mode), a real Redis, and real worker processes.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from moto.server import ThreadedMotoServer

from accounts.models import User

PROJECT_DIR = Path(__file__).resolve().parent.parent


def worker_redis_url() -> str:
    """TEST_REDIS_URL, with one Redis database per pytest-xdist worker (gw0 takes the given
    number, gw1 the one below, ...): tests that flush Redis must not flush another's."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    parts = urlsplit(base)
    database = (int(parts.path.strip("/") or 0) - int(worker[2:])) % 16
    return urlunsplit(parts._replace(path=f"/{database}"))


REDIS_URL = worker_redis_url()
# The styles of every test order (the catalogue has ten; a test that needs them all says so).
TEST_STYLES = ["grey-studio", "modern-office"]
# The packs on sale in the payments tests.
TEST_PACKS = (
    '[{"slug": "one", "name_es": "1 sesión", "name_en": "1 session", "credits": 1,'
    ' "price_cents": 1900},'
    ' {"slug": "three", "name_es": "3 sesiones", "name_en": "3 sessions", "credits": 3,'
    ' "price_cents": 4900}]'
)


@pytest.fixture(autouse=True)
def _isolated_settings(settings: Any, tmp_path: Path) -> None:
    """Each test gets its own media folder, a clean cache, and tasks run at once in-process."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.ORDER_STYLES = TEST_STYLES  # two predictions per order keep the suite quick
    cache.clear()  # rate-limit counters must not leak from one test into the next
    translation.activate(settings.LANGUAGE_CODE)  # nor the language a request left active


@pytest.fixture
def unwritable_storage(settings: Any, tmp_path: Path) -> None:
    """Local storage whose folder cannot exist (a file stands in its place): every write fails."""
    break_storage(settings, tmp_path)


def break_storage(settings: Any, tmp_path: Path) -> None:
    """From now on, the default storage fails every write and listing (see unwritable_storage)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "media"},
        },
    }


def make_user(email: str, *, language: str = "es", **extra: Any) -> User:
    """A person with a verified e-mail address, as after a completed sign-up."""
    user = User.objects.create_user(email=email, language=language, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_staff(email: str, *permissions: str, **extra: Any) -> User:
    """A staff member (not a superuser) holding exactly these "app_label.codename" permissions."""
    user = make_user(email, is_staff=True, **extra)
    for permission in permissions:
        app_label, codename = permission.split(".", 1)
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def alice(db: None) -> User:
    return make_user("alice@example.com")


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob@example.com", language="en")


@pytest.fixture
def charlie(db: None) -> User:
    return make_user("charlie@example.com")


@pytest.fixture
def staff(db: None) -> User:
    return make_user("staff@example.com", is_staff=True, is_superuser=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto in server mode) on a free local port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings: Any, s3_server: str, request: pytest.FixtureRequest) -> str:
    """Point the default storage at a fresh bucket on the S3 server; returns the bucket name."""
    bucket = f"test-{request.node.name.lower().replace('_', '-')[:40]}-{free_port()}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": "private",
                "file_overwrite": False,
                "addressing_style": "path",
            },
        },
    }
    return bucket


def test_database_url() -> str:
    """The URL of the database this test runs on, for a worker process to share it."""
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{config['USER']}{password}@{host}:{port}/{config['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a separate process with exactly the given extra environment."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def replicate(settings: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """The Replicate emulator on a free port, the app pointed at it, webhooks to the live server.

    Trainings take half a second and predictions a fifth of one, so a whole order runs in a
    few seconds through the official client, real HTTP and real signed webhooks; a test that
    needs a longer training sets `replicate.state.config.training_seconds` itself. Every output
    shows the person (a test of the likeness gate sets `state.config.wrong_face_share`).
    """
    from replicate_emulator.server import ReplicateEmulator

    emulator = ReplicateEmulator(training_seconds=0.5, prediction_seconds=0.2, wrong_face_share=0)
    emulator.start()
    settings.REPLICATE_BASE_URL = emulator.base_url
    settings.REPLICATE_API_TOKEN = emulator.token
    settings.REPLICATE_WEBHOOK_SECRET = None  # fetched from the API, as in production
    settings.SITE_URL = live_server.url
    settings.HEADSHOTS_PER_STYLE = 2
    yield emulator
    emulator.stop()


@pytest.fixture
def stripe_emulator(settings: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """The Stripe emulator on a free port, the app pointed at it, its events to the live server.

    Two packs are on sale (TEST_PACKS) and an order costs a credit: the official `stripe`
    library → the emulator → signed events → `/webhooks/stripe/`, all over real HTTP.
    """
    from payments.packs import parse_packs
    from stripe_emulator.server import StripeEmulator

    emulator = StripeEmulator(
        webhook_secret=f"whsec_{secrets.token_hex(16)}",
        webhook_url=f"{live_server.url}/webhooks/stripe/",
    )
    emulator.start()
    settings.STRIPE_API_BASE = emulator.url
    settings.STRIPE_SECRET_KEY = emulator.api_key
    settings.STRIPE_WEBHOOK_SECRET = emulator.webhook_secret
    settings.CREDIT_PACKS = parse_packs(TEST_PACKS)
    settings.PAYMENTS_ENABLED = True
    settings.TRAINING_CREDIT_COST = 1
    settings.SITE_URL = live_server.url
    # The buy button's answer redirects to the emulator's page: the browser must allow it.
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], emulator.url],
    }
    yield emulator
    emulator.stop()


def wait_for(condition: Any, *, timeout: float = 20.0) -> Any:
    """Poll until `condition()` is truthy; fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout} s")


def run_twice_at_once(attempt: Any) -> list[str]:
    """Run `attempt` in two threads released together; return their outcomes, sorted."""
    return sorted(run_at_once(attempt, times=2))


def run_at_once(attempt: Any, *, times: int) -> list[Any]:
    """Run `attempt` in `times` threads released together; return their outcomes in order of
    arrival (each thread closes its own database connection, as a separate web worker would)."""
    import threading

    outcomes: list[Any] = []
    barrier = threading.Barrier(times)

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(attempt())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
