"""Retrying a call that Replicate refused before accepting it (429, 5xx), for every stage.

Only refusals that promise nothing was created are retried: a timeout or a dropped connection
after the request went out is ambiguous, and the stage looks before it creates again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from training.replicate.errors import ReplicateRateLimited, ReplicateUnavailable

CREATE_ATTEMPTS = 5
MAX_WAIT_SECONDS = 30.0


def with_backoff[T](call: Callable[[], T], *, attempts: int = CREATE_ATTEMPTS) -> T:
    """Retry a call refused before acceptance (429, 5xx), honouring Retry-After."""
    delay = 1.0
    for attempt in range(attempts):
        try:
            return call()
        except ReplicateRateLimited as limited:
            if attempt == attempts - 1:
                raise
            time.sleep(min(limited.retry_after_seconds or delay, MAX_WAIT_SECONDS))
        except ReplicateUnavailable:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
        delay = min(delay * 2, MAX_WAIT_SECONDS)
    raise AssertionError("unreachable")
