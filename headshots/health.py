"""The health of the parts the site cannot work without: database, cache and storage.

Each probe is the smallest real round trip that shows a connection or permission problem before
a user meets it: a query, a cache write and read, and a read of the storage (a HEAD of the S3
bucket, or the media folder made and found writable). Nothing is written to storage: `/healthz`
answers anyone, and every S3 write is billed. Each part's answer is kept for
HEALTHZ_CACHE_SECONDS in this process, so a flood of probes costs one round trip per part per
window; a change of settings (tests, mostly) forgets them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver

logger = logging.getLogger(__name__)

FORGETTING_SETTINGS = frozenset({"DATABASES", "CACHES", "STORAGES", "HEALTHZ_CACHE_SECONDS"})


def probe_database() -> None:
    """Run a trivial query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def probe_cache() -> None:
    """Write a value and read it back."""
    cache.set("healthz:probe", "ok", timeout=10)
    if cache.get("healthz:probe") != "ok":
        raise RuntimeError("the cache did not return the value just written")


def probe_storage() -> None:
    """Read, never write: the bucket answers a HEAD, or the media folder exists and is writable."""
    storage: Any = default_storage
    if getattr(storage, "bucket_name", None):  # S3 (boto3 is imported only where it is used)
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    elif isinstance(storage, FileSystemStorage):
        folder = Path(storage.location)
        folder.mkdir(parents=True, exist_ok=True)  # what the first upload would do anyway
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"{folder} is not writable")
    else:
        storage.exists("healthz/probe.txt")


PROBES: dict[str, Callable[[], None]] = {
    "database": probe_database,
    "cache": probe_cache,
    "storage": probe_storage,
}

_answers: dict[str, tuple[float, str]] = {}  # part -> (when, "ok" | "unavailable")
_locks = {part: threading.Lock() for part in PROBES}


def check_health() -> dict[str, str]:
    """Map each part to "ok" or "unavailable" (details go to the log only)."""
    return {part: part_health(part) for part in PROBES}


def part_health(part: str) -> str:
    """A part's answer from the last HEALTHZ_CACHE_SECONDS, else a new probe (one at a time).

    While another request's probe is running (perhaps hung on a silent server), the answer is
    the last one known, or "unavailable": a request never queues behind a probe, so a stuck
    part cannot tie up every worker that a load balancer's probes reach.
    """
    known = _answers.get(part)
    if known and time.monotonic() - known[0] < settings.HEALTHZ_CACHE_SECONDS:
        return known[1]
    if not _locks[part].acquire(blocking=False):
        return known[1] if known else "unavailable"
    try:
        answer = run_probe(part)
        _answers[part] = (time.monotonic(), answer)
        return answer
    finally:
        _locks[part].release()


def run_probe(part: str) -> str:
    try:
        PROBES[part]()
    except Exception:  # any failure means the part is down; the log keeps the reason
        logger.exception("health check: %s is unavailable", part)
        return "unavailable"
    return "ok"


@receiver(setting_changed)
def forget_answers(*, setting: str, **kwargs: Any) -> None:
    """Answers about a database, cache or storage that is no longer configured are void."""
    if setting in FORGETTING_SETTINGS:
        _answers.clear()
