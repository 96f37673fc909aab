"""Signed webhook deliveries from the emulator, with Replicate's retry rules and our faults.

One sender thread works through a schedule ordered by due time, so late deliveries and retries
never hold up the clock of a training. As on Replicate, only the terminal (`completed`) webhook
is retried; `start`, `logs` and `output` are sent once whatever happens.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from replicate_emulator.store import EmulatorState, JobRecord, job_json, new_id
from training.replicate.signatures import sign_webhook

logger = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
OUT_OF_ORDER_GAP_SECONDS = 0.05
ANSWER_BYTES = 200  # of each answer to a webhook, kept in the delivery log


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as the final answer, as Replicate's webhook sender does."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxies from the environment and no redirects: Replicate does not follow them either.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(order=True)
class Delivery:
    """One POST to make; retries of a delivery keep its webhook id."""

    due: float
    order: int
    url: str = field(compare=False)
    webhook_id: str = field(compare=False)
    event: str = field(compare=False)
    job_id: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    """A background thread that POSTs due deliveries and reschedules failed terminal ones."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._queue: list[Delivery] = []
        self._posting = 0  # deliveries taken off the queue and not yet logged
        self._wakeup = threading.Condition()
        self._counter = itertools.count()
        self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._wakeup.notify_all()
        self._thread.join(timeout=5)

    def idle(self) -> bool:
        """Nothing queued or being posted: every webhook emitted so far has landed or given up.

        So a test can prove that a webhook was never sent without sleeping on the clock.
        """
        with self._wakeup:
            return not self._queue and not self._posting

    def emit(self, job: JobRecord, event: str) -> None:
        """Queue the webhook for `event` per the job's filter and fault plan; caller holds lock."""
        if not job.webhook or event not in job.events or job.plan.never:
            return
        body = json.dumps(job_json(self._state, job)).encode()
        if job.plan.out_of_order and event != "completed":
            job.held_webhooks.append((event, body))
            return
        delay = job.plan.delay_seconds
        self._schedule(job, job.webhook, event, body, delay)
        for position, (held_event, held_body) in enumerate(job.held_webhooks, start=1):
            gap = position * OUT_OF_ORDER_GAP_SECONDS
            self._schedule(job, job.webhook, held_event, held_body, delay + gap)
        job.held_webhooks.clear()

    def _schedule(self, job: JobRecord, url: str, event: str, body: bytes, delay: float) -> None:
        """Queue one delivery (twice, with the same id, when the job's plan says so)."""
        webhook_id = f"msg_{new_id()}"
        copies = 2 if job.plan.twice else 1
        for _ in range(copies):
            delivery = Delivery(
                due=time.monotonic() + delay,
                order=next(self._counter),
                url=url,
                webhook_id=webhook_id,
                event=event,
                job_id=job.id,
                body=body,
            )
            self._push(delivery)

    def _push(self, delivery: Delivery) -> None:
        with self._wakeup:
            heapq.heappush(self._queue, delivery)
            self._wakeup.notify_all()

    def _run(self) -> None:
        while not self._state.stopping.is_set():
            delivery = self._next_due()
            if delivery is not None:
                self._deliver(delivery)

    def _next_due(self) -> Delivery | None:
        """The earliest delivery once it is due, or None after a short wait."""
        with self._wakeup:
            if not self._queue:
                self._wakeup.wait(timeout=0.5)
                return None
            wait = self._queue[0].due - time.monotonic()
            if wait > 0:
                self._wakeup.wait(timeout=min(wait, 0.5))
                return None
            self._posting += 1
            return heapq.heappop(self._queue)

    def _deliver(self, delivery: Delivery) -> None:
        """Post it, counted as posting until its retry (if any) is queued, so idle() is true."""
        try:
            self._post_and_log(delivery)
        finally:
            with self._wakeup:
                self._posting -= 1

    def _post_and_log(self, delivery: Delivery) -> None:
        """POST once, log the outcome, and retry a terminal webhook that did not land."""
        outcome, answer = self._post(delivery)
        with self._state.lock:
            self._state.deliveries.append(
                {
                    "webhook_id": delivery.webhook_id,
                    "event": delivery.event,
                    "job_id": delivery.job_id,
                    "url": delivery.url,
                    "attempt": delivery.attempt,
                    "outcome": outcome,
                    "answer": answer,
                }
            )
        failed = not (isinstance(outcome, int) and 200 <= outcome < 300)
        retry = delivery.event == "completed" and delivery.attempt <= len(RETRY_BACKOFF_SECONDS)
        if failed and retry:
            delivery.due = time.monotonic() + RETRY_BACKOFF_SECONDS[delivery.attempt - 1]
            delivery.attempt += 1
            delivery.order = next(self._counter)
            self._push(delivery)

    def _post(self, delivery: Delivery) -> tuple[int | str, str]:
        """The HTTP status (or the connection error as text) and the start of the answer.

        The answer is kept, as Replicate's webhook log shows it, so that a test can see what the
        receiver made of each copy (for example, that it knew a repeated one for a duplicate).
        """
        headers = sign_webhook(
            secret=self._state.config.webhook_secret,
            webhook_id=delivery.webhook_id,
            timestamp=int(time.time()),
            body=delivery.body,
        )
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "Replicate-Webhooks/emulator"
        request = urllib.request.Request(  # noqa: S310  # the URL is the caller's webhook
            delivery.url, data=delivery.body, headers=headers, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=5) as response:
                return int(response.status), _answer(response.read(ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            return int(error.code), _answer(error.read(ANSWER_BYTES))
        except (OSError, ValueError) as error:
            logger.info("webhook %s to %s failed: %s", delivery.event, delivery.url, error)
            return f"error: {error}", ""


def _answer(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")
