"""Events the emulator sends to the app's webhook, signed as Stripe signs them.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the whsec_ secret>`.
A sender thread posts them in order; faults post each twice, reverse a payment's events, or
hold them all back for a test to deliver itself (concurrently, late, or forged).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from stripe_emulator.store import EmulatorState, new_id

logger = logging.getLogger(__name__)

API_VERSION = "2025-10-29.clover"
# Stripe retries for days; the emulator a few times, quickly, so a restarted app still gets it.
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `body`, as Stripe computes it."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{stamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event_json(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An event wrapping a snapshot of `obj`, as Stripe's snapshot events do."""
    return {
        "id": new_id("evt_test"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "type": kind,
        "data": {"object": json.loads(json.dumps(obj))},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }


@dataclass
class Delivery:
    """One event to post; `answers` collects the app's status code for each attempt."""

    event: dict[str, Any]
    body: bytes


class EventSender:
    """Posts events to the webhook URL from a background thread; see the module docstring."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="stripe-events", daemon=True)
        self.held: list[Delivery] = []
        self.log: list[tuple[str, str, int | str]] = []  # (event id, type, answer)
        self._busy = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def emit(self, events: list[dict[str, Any]]) -> None:
        """Send one payment's events per the faults (the caller holds the state's lock)."""
        faults = self._state.faults
        ordered = list(reversed(events)) if faults.events_reversed else events
        for event in ordered:
            delivery = Delivery(event, json.dumps(event).encode())
            if faults.hold_events:
                self.held.append(delivery)
                continue
            for _ in range(2 if faults.events_twice else 1):
                self._busy += 1
                self._queue.put(delivery)

    def release_events(self) -> list[Delivery]:
        """The held events, taken out of the emulator's hands (a test posts them itself)."""
        with self._state.lock:
            held, self.held = self.held, []
        return held

    def idle(self) -> bool:
        """Nothing queued or being posted."""
        return self._busy == 0

    def _run(self) -> None:
        while (delivery := self._queue.get()) is not None:
            try:
                self._post_with_retries(delivery)
            finally:
                self._busy -= 1

    def _post_with_retries(self, delivery: Delivery) -> None:
        for pause in (0.0, *RETRY_SECONDS):
            time.sleep(pause)
            answer = self.post(delivery)
            self.log.append((delivery.event["id"], delivery.event["type"], answer))
            if isinstance(answer, int) and 200 <= answer < 300:
                return

    def post(self, delivery: Delivery, *, timestamp: int | None = None) -> int | str:
        """POST one delivery, freshly signed; the status, or the connection error as text."""
        config = self._state.config
        if not config.webhook_url:
            return "no webhook url"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(
                secret=config.webhook_secret, body=delivery.body, timestamp=timestamp
            ),
        }
        request = urllib.request.Request(  # noqa: S310 - the app's own webhook URL
            config.webhook_url, data=delivery.body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError as error:
            logger.info("stripe event %s not delivered: %s", delivery.event["type"], error)
            return f"error: {error}"
