"""Fixtures for the Replicate adapters: the emulator, a webhook receiver, a ZIP file server.

Everything talks real HTTP on free local ports: the official client to the emulator, the
emulator to the file server (to download the ZIP) and to the receiver (to deliver webhooks).
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from replicate_emulator.server import ReplicateEmulator
from tests.training.conftest import VARIANTS, face_jpeg
from training.replicate.client import ReplicateGateway
from training.replicate.signatures import verify_webhook

TRAINER = "ostris/flux-dev-lora-trainer"
TRAINER_VERSION = "e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497"


def wait_until(condition: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy and return it; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Collects webhook POSTs; `failures` makes the next N answer 500."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_object(self, object_id: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.payload.get("id") == object_id]

    def statuses(self, object_id: str) -> list[str]:
        return [d.payload["status"] for d in self.for_object(object_id)]

    def wait_for_status(self, object_id: str, status: str, timeout: float = 10.0) -> None:
        wait_until(lambda: status in self.statuses(object_id), timeout=timeout)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Serve on a free port; polling every 0.05 s (not 0.5) makes shutdown() that quick."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def emulator() -> Iterator[ReplicateEmulator]:
    """A fresh emulator per test on a free port, with a quick clock and tiny pages."""
    with ReplicateEmulator(training_seconds=0.6, prediction_seconds=0.3, page_size=2) as running:
        yield running


@pytest.fixture
def gateway(emulator: ReplicateEmulator) -> ReplicateGateway:
    return ReplicateGateway(api_token=emulator.token, base_url=emulator.base_url)


@pytest.fixture
def destination(gateway: ReplicateGateway) -> str:
    gateway.create_model(owner="headshots", name="headshots-order-1")
    return "headshots/headshots-order-1"


@pytest.fixture
def webhook_receiver(emulator: ReplicateEmulator) -> Iterator[WebhookReceiver]:
    """A webhook endpoint that only keeps deliveries whose signature verifies."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {key.lower(): value for key, value in self.headers.items()}
            verify_webhook(secret=emulator.webhook_secret, headers=headers, body=body)
            with receiver.lock:
                failing = receiver.failures > 0
                receiver.failures -= 1 if failing else 0
                if not failing:
                    receiver.deliveries.append(Delivery(headers, body))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server, url = _serve(Handler)
    receiver.url = f"{url}/webhooks/replicate/"
    yield receiver
    server.shutdown()
    server.server_close()


def make_photo_zip(count: int = 3, *, faces: bool = True) -> bytes:
    """A real training set: a stored (not deflated) ZIP of JPEGs of one person (skimage's
    astronaut), so that the emulator's headshots show her face and pass the likeness check; or,
    with `faces=False`, of plain colours with nobody in them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(1, count + 1):
            archive.writestr(f"image_{index}.jpg", training_photo(index, faces=faces))
    return buffer.getvalue()


def training_photo(index: int, *, faces: bool) -> bytes:
    if faces:
        return face_jpeg(index % len(VARIANTS), long_side=512)
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (40 * index, 90, 160)).save(photo, "JPEG")
    return photo.getvalue()


@pytest.fixture
def zip_server() -> Iterator[Callable[[str], str]]:
    """Serves /photos.zip (a real ZIP of JPEGs) and /broken.zip; returns a URL maker."""
    files = {"/photos.zip": make_photo_zip(), "/broken.zip": b"this is not a zip file at all"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = files.get(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server, url = _serve(Handler)
    yield lambda name: f"{url}/{name}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def start_training(
    gateway: ReplicateGateway,
    destination: str,
    zip_server: Callable[[str], str],
    webhook_receiver: WebhookReceiver,
) -> Callable[..., Any]:
    """Create a training the way our submit stage will, with overridable parts."""

    def start(**overrides: Any) -> Any:
        arguments: dict[str, Any] = {
            "destination": destination,
            "trainer": TRAINER,
            "trainer_version": TRAINER_VERSION,
            "input": {"input_images": zip_server("photos.zip"), "trigger_word": "ohwx"},
            "webhook": webhook_receiver.url,
            "webhook_events_filter": ["start", "output", "logs", "completed"],
        }
        return gateway.create_training(**{**arguments, **overrides})

    return start
