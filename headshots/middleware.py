"""Refuse an oversized request from its Content-Length, before a byte of its body is read; and
show the site's own 404 page in DEBUG too (SiteNotFoundPageMiddleware, below).

It must sit before CsrfViewMiddleware, which reads POST bodies to find the token, and after
LocaleMiddleware, so the refusal is in the person's language.

The unread body is the server's business: runserver and gunicorn skip it (or close the
connection) before the next request on that connection is read.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class RequestTooLargeMiddleware:
    """Answers 413 to any request announcing more than UPLOAD_MAX_BYTES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if announced_length(request) > settings.UPLOAD_MAX_BYTES:
            return too_large_response(request)
        return self.get_response(request)


def announced_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def too_large_response(request: HttpRequest) -> HttpResponse:
    message = _(
        "Your photos add up to more than %(limit)d MB. Choose fewer or smaller photos and send "
        "them again."
    ) % {"limit": settings.PHOTOS_TOTAL_MAX_MB}
    if request.path.startswith("/api/"):
        limit = {"limit": settings.MAX_ZIP_MB}
        response: HttpResponse = JsonResponse(
            {
                "error": _("The request is larger than %(limit)d MB.") % limit,
                "detail": "",
                "code": "too_large",
                "stage": "upload",
                "problems": [],
            },
            status=413,
        )
    elif "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"errors": {"__all__": [message]}}, status=413)
    else:
        response = render(request, "413.html", {"message": message}, status=413)
    # No "Connection: close": a WSGI application may not send hop-by-hop headers (runserver's
    # wsgiref turns one into a 500). Closing the connection, or reading past the unread body, is
    # the server's job. A Content-Length lets the client read this answer without waiting for it.
    response["Content-Length"] = str(len(response.content))
    return response


class SiteNotFoundPageMiddleware:
    """With DEBUG on (`make run`), a missing page shows the site's own 404, not Django's.

    Django's technical 404 lists every URL pattern: useless to the person trying the product
    locally, and it hides what the real site shows. Only HTML answers are replaced; a JSON 404
    of the API stays as it is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        html = response.get("Content-Type", "").startswith("text/html")
        if settings.DEBUG and response.status_code == 404 and html:
            return render(request, "404.html", status=404)
        return response
