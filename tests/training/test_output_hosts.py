"""Headshots are downloaded from Replicate's delivery hosts only: an output URL (or a redirect)
naming any other server fails the order without a single request to that server."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from accounts.credits import credit_balance
from accounts.models import User
from tests.training.ordering import place_order, reaches
from training.models import Headshot, Stage, Status
from training.outputs import output_url_allowed

pytestmark = pytest.mark.timeout(120)


class Elsewhere:
    """A loopback server that is not Replicate: it serves a fine image and notes each request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        image = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(image, "WEBP")
        body, paths = image.getvalue(), self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/webp")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    other = Elsewhere()
    thread = threading.Thread(target=other.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield other
    other.server.shutdown()
    other.server.server_close()


def test_it_fetches_nothing_from_an_output_url_on_another_host(
    replicate: Any,
    dora: User,
    tmp_path: Path,
    settings: Any,
    elsewhere: Elsewhere,
    caplog: pytest.LogCaptureFixture,
) -> None:
    replicate.set_faults(prediction_output_url=f"{elsewhere.url}/internal/secret.webp")
    caplog.set_level(logging.WARNING, logger="training")
    order = place_order(dora, tmp_path / "uploads", settings)

    order = reaches(order, Status.FAILED, Status.READY)

    assert elsewhere.paths == []
    assert (order.status, order.failure_stage) == (Status.FAILED, Stage.COMPLETION)
    assert "not a Replicate delivery URL" in order.error_detail
    assert "output refused: not a Replicate delivery URL" in caplog.text
    assert not Headshot.objects.filter(order=order).exists()
    assert credit_balance(dora) == 1  # refunded


def test_it_does_not_follow_a_redirect_to_another_host(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, elsewhere: Elsewhere
) -> None:
    replicate.set_faults(output_redirect_to=f"{elsewhere.url}/internal/secret.webp")
    order = place_order(dora, tmp_path / "uploads", settings)

    order = reaches(order, Status.FAILED, Status.READY)

    assert elsewhere.paths == []
    assert order.failure_stage == Stage.COMPLETION
    assert f"not a Replicate delivery URL: {elsewhere.url}/internal" in order.error_detail


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://replicate.delivery/pbxt/abc/out-0.webp", True),
        ("https://pbxt.replicate.delivery/abc/out-0.webp", True),
        ("https://PBXT.Replicate.Delivery./abc/out-0.webp", True),
        ("http://replicate.delivery/pbxt/abc/out-0.webp", False),  # https only
        ("https://replicate.delivery:8443/abc/out-0.webp", False),
        ("https://replicate.delivery.example.com/out-0.webp", False),
        ("https://evilreplicate.delivery/out-0.webp", False),
        ("https://replicate.delivery@example.com/out-0.webp", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("file:///etc/passwd", False),
        ("http://127.0.0.1:8787/_emulator/outputs/x/out-0.webp", True),  # the emulator in use
        ("http://127.0.0.1:8788/_emulator/outputs/x/out-0.webp", False),  # not its port
        ("https://127.0.0.1:8787/_emulator/outputs/x/out-0.webp", False),
    ],
)
def test_it_allows_only_replicates_delivery_hosts(url: str, allowed: bool, settings: Any) -> None:
    settings.REPLICATE_USES_EMULATOR = True
    settings.REPLICATE_BASE_URL = "http://127.0.0.1:8787/v1"

    assert output_url_allowed(url) is allowed


def test_it_allows_no_plain_http_host_in_production(settings: Any) -> None:
    settings.REPLICATE_USES_EMULATOR = False
    settings.REPLICATE_BASE_URL = "http://127.0.0.1:8787/v1"

    assert not output_url_allowed("http://127.0.0.1:8787/_emulator/outputs/x/out-0.webp")
    assert output_url_allowed("https://replicate.delivery/x/out-0.webp")


def test_it_reads_the_hosts_from_the_setting(settings: Any) -> None:
    settings.REPLICATE_OUTPUT_HOSTS = ["images.example.net"]

    assert output_url_allowed("https://images.example.net/out-0.webp")
    assert not output_url_allowed("https://replicate.delivery/out-0.webp")
