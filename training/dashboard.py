"""Staff monitoring: the dashboard page (linked from the admin) and `/metrics` for Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from payments.revenue import revenue_figures
from privacy.retention import retention_figures
from training.feedback import rating_figures
from training.likeness_figures import likeness_figures
from training.metrics import WINDOWS, prometheus_text, temporary_storage_bytes, window_figures


@staff_member_required
@permission_required("training.view_order", raise_exception=True)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The figures of the last 7 and 30 days, the likeness check's, the people's ratings, and
    revenue per day and per pack beside Replicate spend (the margin per order).

    Orders, their people and their ratings, so only for staff who may view orders.
    """
    context = {
        **admin.site.each_context(request),  # the site's header, not "Django administration"
        "windows": [window_figures(days) for days in WINDOWS],
        "temporary_bytes": temporary_storage_bytes(),
        "price_per_second": settings.REPLICATE_PRICE_PER_SECOND,
        "ratings": rating_figures(),
        "likeness": likeness_figures(),
        "retention": retention_figures(),
        "revenue": revenue_figures(),
    }
    return render(request, "training/dashboard.html", context)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, behind `Authorization: Bearer METRICS_TOKEN` (off when unset)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(prometheus_text(), content_type="text/plain; version=0.0.4")
