"""The health of the parts the site cannot work without: database, cache and storage.

Each probe does the smallest real round trip (a query, a cache write and read, a file written
and deleted) so that a permission or connection problem shows here before a user meets it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

logger = logging.getLogger(__name__)

PROBE_FILE_NAME = "healthz/probe.txt"


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
    """Write a tiny file and delete it: proves the storage answers and accepts writes."""
    stored_name = default_storage.save(PROBE_FILE_NAME, ContentFile(b"ok"))
    default_storage.delete(stored_name)


PROBES: dict[str, Callable[[], None]] = {
    "database": probe_database,
    "cache": probe_cache,
    "storage": probe_storage,
}


def check_health() -> dict[str, str]:
    """Run every probe; map each part to "ok" or "unavailable" (details go to the log only)."""
    results: dict[str, str] = {}
    for part, probe in PROBES.items():
        try:
            probe()
        except Exception:  # any failure means the part is down; the log keeps the reason
            logger.exception("health check: %s is unavailable", part)
            results[part] = "unavailable"
        else:
            results[part] = "ok"
    return results
