"""Site pages that belong to no app: the landing page and the health check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from headshots.health import check_health
from training.my_orders import order_rows
from training.showcase import showcase

HOME_ORDERS = 5


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what an order gives (count, styles, time, price, examples), and the
    way in; signed in, the person's latest orders and the button to make new headshots."""
    context: dict[str, object] = {"offer": showcase()}
    if request.user.is_authenticated:
        context["rows"] = order_rows(request.user, limit=HOME_ORDERS)
    return render(request, "home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part answers, 503 naming the parts that do not."""
    checks = check_health()
    failing = [part for part, state in checks.items() if state != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": checks, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)
