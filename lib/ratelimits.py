"""Rate limits on costly views: django-ratelimit per person and per IP, on the shared cache.

The limits are named settings, read at each request; views that name the same setting share
one budget (cancelling and deleting, say). A refusal remembers which window it hit so that the
429 page can say when to try again. "The address" is the visitor's as read through our trusted
proxies (lib/client_ip.py, django-ratelimit's RATELIMIT_IP_META_KEY), never the proxy's.
`rate_limited` is django-ratelimit's RATELIMIT_VIEW: the 429 answer, page or JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited

from lib.client_ip import client_ip

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]
RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_limit(
    *, per_user: str, per_ip: str | None = None, method: str = "POST"
) -> Callable[[View], View]:
    """Limit a view by the settings named `per_user` (the person) and `per_ip` (the address)."""

    def decorator(view: View) -> View:
        group = f"ratelimit:{per_user}"  # views naming the same limit share one budget

        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            for key, setting in (("user_or_ip", per_user), ("ip", per_ip)):
                rate = getattr(settings, setting) if setting else None
                if rate and is_ratelimited(
                    request,
                    group=f"{group}:{key}",
                    key=key,
                    rate=rate,
                    method=method,
                    increment=True,
                ):
                    request.rate_limit_period = rate.split("/", 1)[1]  # type: ignore[attr-defined]
                    logger.warning("rate limit %s hit by %s", setting, client_ip(request))
                    raise Ratelimited
            return view(request, *args, **kwargs)

        return limited

    return decorator


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's refusal: a 429 page (or JSON) saying when to try again."""
    minutes = retry_minutes(request)
    message = ngettext(
        "You have done this too often. Please try again in %(minutes)d minute.",
        "You have done this too often. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"errors": {"__all__": [message]}}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def retry_minutes(request: HttpRequest) -> int:
    """The window of the limit that was hit, in minutes (at least one)."""
    rate = getattr(request, "rate_limit_period", "") or "1h"
    unit = rate[-1]
    count = int(rate[:-1] or 1)
    return max(1, count * RATE_PERIODS.get(unit, 3600) // 60)
