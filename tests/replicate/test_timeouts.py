"""Every outgoing call has a bounded wait: a frozen Replicate (a real emulator process stopped
with SIGSTOP: it accepts connections and never answers), a stalled image host, a silent order.

Each call runs in a thread that the test waits for with a generous limit, so a call without a
timeout shows as a failure instead of hanging the suite.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.db import connection

from accounts.models import User
from tests.conftest import PROJECT_DIR, free_port, wait_for
from training import outputs
from training.followups import FollowUp, Next
from training.models import Order, Stage, Status
from training.replicate.client import ReplicateGateway, client_from_settings
from training.replicate.errors import ReplicateAmbiguous, ReplicateRateLimited, ReplicateUnavailable
from training.trainings import SERVICE_DOWN, submit_training

BOUND = 1.0  # the gateway's timeout in these tests
LIMIT = 20.0  # what the test waits before calling a call unbounded (generous: a busy machine)
VERSION = "headshots/headshots-x:" + "a" * 64

pytestmark = pytest.mark.timeout(180)


def finishes_within(call: Callable[[], Any], limit: float = LIMIT) -> tuple[float, Any]:
    """Run `call` in a thread; (seconds taken, what it returned or raised); fail past `limit`."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()  # a thread's own connection, as a separate worker's would be

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit} s: the call has no timeout"
    return time.monotonic() - started, outcome[0]


@pytest.fixture(scope="module")
def frozen_emulator() -> Iterator[str]:
    """One frozen emulator for many calls: once its listen backlog is full, connecting times
    out instead of reading; a bounded wait either way."""
    with frozen_emulator_process() as base_url:
        yield base_url


@pytest.fixture
def fresh_frozen_emulator() -> Iterator[str]:
    with frozen_emulator_process() as base_url:
        yield base_url


@contextmanager
def frozen_emulator_process() -> Iterator[str]:
    """A real emulator process, started, then stopped with SIGSTOP; yields its base URL."""
    port = free_port()
    command = [sys.executable, "manage.py", "replicate_emulator", "--port", str(port)]
    process = subprocess.Popen(  # our own manage.py
        command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(lambda: _answers(base_url), timeout=60)
        os.kill(process.pid, signal.SIGSTOP)
        yield base_url
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=30)


def _answers(base_url: str) -> bool:
    headers = {"Authorization": "Bearer emulator-token"}
    try:
        return httpx.get(f"{base_url}/account", headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


CALLS: dict[str, Callable[[ReplicateGateway], Any]] = {
    "create_prediction": lambda g: g.create_prediction(
        version=VERSION,
        input={"prompt": "x"},
        webhook="http://127.0.0.1:9/",
        webhook_events_filter=["completed"],
    ),
    "upload_file": lambda g: g.upload_file(
        io.BytesIO(b"PK\x05\x06" + b"\0" * 18), filename="a.zip"
    ),
    "create_training": lambda g: g.create_training(
        destination="headshots/headshots-x",
        trainer="ostris/flux-dev-lora-trainer",
        trainer_version="e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497",
        input={"input_images": "http://127.0.0.1:9/a.zip"},
        webhook="http://127.0.0.1:9/",
        webhook_events_filter=["completed"],
    ),
    "create_model": lambda g: g.create_model(owner="headshots", name="headshots-x"),
    "get_model": lambda g: g.get_model(owner="headshots", name="headshots-x"),
    "get_account_name": lambda g: g.get_account_name(),
    "has_model_version": lambda g: g.has_model_version(model="headshots/x", version_id="a" * 64),
    "delete_model": lambda g: g.delete_model(owner="headshots", name="headshots-x"),
    "get_training": lambda g: g.get_training("t1"),
    "list_trainings": lambda g: list(g.list_trainings()),
    "cancel_training": lambda g: g.cancel_training("t1"),
    "get_prediction": lambda g: g.get_prediction("p1"),
    "cancel_prediction": lambda g: g.cancel_prediction("p1"),
    "get_webhook_secret": lambda g: g.get_webhook_secret(),
    "delete_file": lambda g: g.delete_file("f1"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_it_gives_up_on_a_frozen_replicate_within_the_timeout(
    frozen_emulator: str, name: str
) -> None:
    gateway = ReplicateGateway(api_token="emulator-token", base_url=frozen_emulator, timeout=BOUND)

    seconds, outcome = finishes_within(lambda: CALLS[name](gateway))

    assert isinstance(outcome, ReplicateUnavailable | ReplicateAmbiguous), outcome
    assert seconds < 10 * BOUND


def test_it_reads_the_timeout_from_settings(fresh_frozen_emulator: str, settings: Any) -> None:
    settings.REPLICATE_BASE_URL = fresh_frozen_emulator
    settings.REPLICATE_TIMEOUT_SECONDS = BOUND

    seconds, outcome = finishes_within(lambda: CALLS["create_prediction"](client_from_settings()))

    assert isinstance(outcome, ReplicateAmbiguous)  # sent, never answered: may exist
    assert seconds < 10 * BOUND


def test_it_fails_an_order_clearly_when_replicate_is_frozen(
    fresh_frozen_emulator: str, transactional_db: None, alice: User, settings: Any
) -> None:
    settings.REPLICATE_BASE_URL = fresh_frozen_emulator
    settings.REPLICATE_TIMEOUT_SECONDS = BOUND
    order = Order.objects.create(
        user=alice, name="Perfil", package="professional", subject_type="woman",
        status=Status.QUEUED, training_zip="training-sets/x.zip",
    )  # fmt: skip

    seconds, followups = finishes_within(lambda: submit_training(order_id=order.pk))

    order.refresh_from_db()
    assert (order.status, order.failure_stage, order.error) == (
        Status.FAILED,
        Stage.TRAINING,
        SERVICE_DOWN,
    )
    assert order.replicate_training_id == ""
    assert followups == [FollowUp(Next.ROLL_BACK, order.pk)]  # refund, e-mail: the usual failure
    assert seconds < LIMIT


@pytest.fixture
def stalled_image_host(settings: Any) -> Iterator[str]:
    """An "output host" that sends the headers of an image, then a byte every 0.2 s."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/webp")
            self.end_headers()
            try:
                for _ in range(600):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    settings.REPLICATE_USES_EMULATOR = True  # so that this local host counts as Replicate's
    settings.REPLICATE_BASE_URL = f"{root}/v1"
    yield root
    server.shutdown()
    server.server_close()


def test_it_stops_an_output_download_that_drips(
    stalled_image_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outputs, "DOWNLOAD_SECONDS", 1.0)

    seconds, outcome = finishes_within(lambda: outputs.fetch_image(f"{stalled_image_host}/a.webp"))

    assert isinstance(outcome, outputs.OutputRefused)
    assert "longer than" in str(outcome)
    assert seconds < 10


@pytest.fixture
def throttling_replicate() -> Iterator[str]:
    """A "Replicate" that answers every GET 429 and asks for an hour's patience."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"title": "Request was throttled", "status": 429, "detail": "slow down"}'
            self.send_response(429)
            self.send_header("Retry-After", "3600")
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_it_does_not_sleep_an_hour_when_a_get_is_throttled(
    throttling_replicate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cap (2 s) at 1 s: ten retries take 10 s instead of 20, and an hour is still an hour.
    monkeypatch.setattr("training.replicate.transport.RETRY_AFTER_CAP_SECONDS", 1.0)
    gateway = ReplicateGateway(api_token="t", base_url=throttling_replicate, timeout=BOUND)

    seconds, outcome = finishes_within(lambda: gateway.get_training("t1"), limit=60)

    assert isinstance(outcome, ReplicateRateLimited)  # the caller's back-off decides what next
    assert seconds < 25  # the official client's own retries, each after at most the cap
