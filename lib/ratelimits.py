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
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited

from lib.client_ip import client_ip

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]
RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_limit(
    *, per_user: str, per_ip: str | None = None, method: str = "POST", spend: bool = True
) -> Callable[[View], View]:
    """Limit a view by the settings named `per_user` (the person) and `per_ip` (the address).

    With `spend=False` a request is refused once the budget is spent, but only spends it when
    the view calls `rate_limit_spend`: the order form spends its budget on orders made, not on
    submissions it refused (those answer to a higher abuse limit of their own).
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == method and budget_spent(
                request, per_user=per_user, per_ip=per_ip, method=method, spend=spend
            ):
                raise Ratelimited
            return view(request, *args, **kwargs)

        return limited

    return decorator


def _budgets(per_user: str, per_ip: str | None) -> list[tuple[str, str, str]]:
    """(group, key, rate) of each limit that is set; views naming the same limit share one."""
    budgets = []
    for key, setting in (("user_or_ip", per_user), ("ip", per_ip)):
        rate = getattr(settings, setting) if setting else None
        if rate:
            budgets.append((f"ratelimit:{per_user}:{key}", key, rate))
    return budgets


def budget_spent(
    request: HttpRequest, *, per_user: str, per_ip: str | None, method: str, spend: bool
) -> bool:
    """Whether a limit refuses this request; it spends one unit of each budget when `spend`."""
    for group, key, rate in _budgets(per_user, per_ip):
        usage = get_usage(request, group=group, key=key, rate=rate, method=method, increment=spend)
        if usage is None:
            continue
        if usage["should_limit"] if spend else usage["count"] >= usage["limit"]:
            request.rate_limit_period = rate.split("/", 1)[1]  # type: ignore[attr-defined]
            logger.warning("rate limit %s (%s) hit by %s", per_user, key, client_ip(request))
            return True
    return False


def rate_limit_spend(
    request: HttpRequest, *, per_user: str, per_ip: str | None = None, method: str = "POST"
) -> None:
    """Spend one unit of a `spend=False` limit, once the view knows the request counts."""
    for group, key, rate in _budgets(per_user, per_ip):
        get_usage(request, group=group, key=key, rate=rate, method=method, increment=True)


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
