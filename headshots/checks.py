"""Deployment checks of our own (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_cache(**kwargs: Any) -> list[checks.CheckMessage]:
    """Rate limits and the training-progress cache only work across processes on a shared cache."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PER_PROCESS_CACHES:
        return [
            checks.Error(
                f"The cache ({backend}) is not shared between processes: rate limits fail.",
                hint="Set CACHE_URL or REDIS_URL to a Redis server.",
                id="headshots.E001",
            )
        ]
    return []
