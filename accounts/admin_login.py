"""The admin's password form (`/admin/login/`), limited per account tried and per address.

allauth's rate limits guard its own sign-in pages, not Django's admin login, where anybody could
otherwise guess a staff password for ever. Every attempt counts, right or wrong, for an account
that exists or not, so the refusal tells nothing about the account; it is a 429 page that says
when to try again. The address is the one every other rate limit uses (`lib.ratelimits`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited

from lib.ratelimits import rate_limit, retry_minutes

ACCOUNT_GROUP = "ratelimit:RATE_LIMIT_ADMIN_LOGIN:account"


def account_tried(group: str, request: HttpRequest) -> str:
    """The account as the form matches it: other cases and spaces make no fresh budget."""
    return request.POST.get("username", "").strip().lower()


@rate_limit(per_user="RATE_LIMIT_ADMIN_LOGIN_PER_IP", per_ip="RATE_LIMIT_ADMIN_LOGIN_PER_IP")
def limited_login(request: HttpRequest) -> HttpResponseBase:
    """Django's admin login, once the address (above) and the account tried have budget left."""
    rate = settings.RATE_LIMIT_ADMIN_LOGIN
    if rate and is_ratelimited(
        request, group=ACCOUNT_GROUP, key=account_tried, rate=rate, method="POST", increment=True
    ):
        request.rate_limit_period = rate.split("/", 1)[1]  # type: ignore[attr-defined]
        raise Ratelimited
    return admin.site.login(request)


@never_cache
def admin_login(request: HttpRequest) -> HttpResponseBase:
    """The admin login, or a 429 page in the person's language once either limit is reached."""
    try:
        return limited_login(request)
    except Ratelimited:
        return too_many_attempts(request)


def too_many_attempts(request: HttpRequest) -> HttpResponse:
    minutes = retry_minutes(request)
    message = ngettext(
        "Too many sign-in attempts. Please try again in %(minutes)d minute.",
        "Too many sign-in attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
