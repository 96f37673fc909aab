"""Site pages that belong to no app: the landing page and the health check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from headshots.health import check_health

RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what the product does, and the way in."""
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part answers, 503 naming the parts that do not."""
    checks = check_health()
    failing = [part for part, state in checks.items() if state != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": checks, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


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
