"""Checks of our own: the settings that must agree with the code (`manage.py check`, run at
every start), and the deployment ones (`manage.py check --deploy`)."""

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


@checks.register()
def check_order_styles(**kwargs: Any) -> list[checks.CheckMessage]:
    """ORDER_STYLES names styles of the catalogue: a typo would quietly drop a style."""
    from training.styles import STYLES  # the catalogue needs the apps loaded

    unknown = sorted(set(settings.ORDER_STYLES) - {style.slug for style in STYLES})
    if unknown:
        return [
            checks.Error(
                f"ORDER_STYLES names styles that do not exist: {', '.join(unknown)}.",
                hint="Use the slugs listed in docs/prompts.md, or leave it unset for all.",
                id="headshots.E002",
            )
        ]
    return []
