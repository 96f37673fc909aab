"""Pacing prediction creates under Replicate's limit (600 a minute per account), across every
worker process and thread, counted in the shared cache.

Time is cut into short windows and each window gets a share of the minute's budget. A fixed
one-minute window would let a burst at the end of one minute and another at the start of the
next double the rate; with windows of `WINDOW_SECONDS`, any sixty seconds touch at most
`60 / WINDOW_SECONDS + 1` of them, so each gets `per_minute * WINDOW / (60 + WINDOW)` and no
sliding minute ever holds more than `per_minute` creates. A caller past the window's share
waits for the next window (a few seconds at most); Replicate's own 429 stays handled by
`backoff.py` in case another app shares the account.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import cache

WINDOW_SECONDS = 6
KEY = "replicate-prediction-creates"


def window_share(per_minute: int) -> int:
    """Creates allowed in one window so that any sixty seconds hold at most `per_minute`."""
    return max(1, per_minute * WINDOW_SECONDS // (60 + WINDOW_SECONDS))


def wait_for_create_slot(
    *,
    per_minute: int,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Take one create from the current window's share, waiting for a later window when it is
    spent; returns the seconds waited (0 almost always)."""
    share = window_share(per_minute)
    waited = 0.0
    while True:
        now = clock()
        window = int(now // WINDOW_SECONDS)
        if taken_in(window) <= share:
            return waited
        pause = (window + 1) * WINDOW_SECONDS - now + 0.01
        sleep(pause)
        waited += pause


def taken_in(window: int) -> int:
    """Count one more create in this window (atomic on Redis); the window's new count."""
    key = f"{KEY}:{window}"
    cache.add(key, 0, timeout=3 * WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr: this create is the window's first
        cache.add(key, 1, timeout=3 * WINDOW_SECONDS)
        return 1
