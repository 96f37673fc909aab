"""`manage.py stripe_emulator` (what `make run` starts without a key): it serves with the app's
own emulator key, signs events with the app's secret, and its switches change the deliveries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from payments import stripe_api
from tests.conftest import PROJECT_DIR, free_port, wait_for


class Receiver(ThreadingHTTPServer):
    """A stand-in webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.received: list[tuple[str, bytes]] = []


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers["Stripe-Signature"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def command(receiver: Receiver, settings: Any) -> Iterator[str]:
    """The command in its own process, events twice, posting to the receiver."""
    port = free_port()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/webhooks/stripe/"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DJANGO_"))}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "stripe_emulator", "--port", str(port),
         "--webhook-url", hook, "--events-twice"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(f"STRIPE_API_BASE=http://127.0.0.1:{port}")
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
        yield settings.STRIPE_API_BASE
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_sells_with_the_apps_own_key_and_signs_with_the_apps_secret(
    command: str, receiver: Receiver, settings: Any
) -> None:
    session = stripe_api.checkout_session_create(
        idempotency_key="command-1", product_name="1 sesión", amount_cents=1900, currency="eur",
        email="alice@example.com", success_url="http://127.0.0.1/ok", cancel_url="http://127.0.0.1/no",
        metadata={"purchase": "p"},
    )  # fmt: skip

    requests.post(f"{session.url}/pay", allow_redirects=False, timeout=10)

    wait_for(lambda: len(receiver.received) == 2)
    (first_signature, first), (_, second) = receiver.received
    assert first == second  # the same event, twice
    event = stripe.Webhook.construct_event(first, first_signature, settings.STRIPE_WEBHOOK_SECRET)
    assert event["data"]["object"]["id"] == session.id
    assert json.loads(first)["type"] == "checkout.session.completed"
