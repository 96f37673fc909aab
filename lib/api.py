"""The JSON API's plumbing: who is calling, and every answer in the spec's error shape.

A caller is a person with a personal API token (`Authorization: Bearer hs_…`), or a signed-in
browser session, which must then carry its CSRF token like any form. Every refusal is JSON,
`{"error", "detail", "stage", "code", "problems"}`, in the caller's language (Accept-Language,
else the person's own), never an HTML page and never a 500 for anything a caller sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.exceptions import Ratelimited

from accounts.models import User
from accounts.tokens import user_for_token
from lib.ratelimits import retry_minutes

logger = logging.getLogger(__name__)

Message = str | Promise
ApiView = Callable[..., HttpResponseBase]


class ApiError(Exception):
    """A refusal with its status, a stable code and a sentence for the person."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Message,
        *,
        detail: Message = "",
        problems: Sequence[tuple[str | None, Message]] = (),
        stage: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.problems = problems
        self.stage = stage
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {
            "error": str(self.message),
            "detail": str(self.detail),
            "code": self.code,
            "stage": self.stage,
            "problems": [
                {"file": name, "message": str(message)} for name, message in self.problems
            ],
        }
        response = JsonResponse(body, status=self.status)
        for header, value in self.headers.items():
            response[header] = value
        return response


class ApiRequest(HttpRequest):
    """What an API view receives: `user` is always a signed-in person."""

    user: User


def api_endpoint(*, methods: Sequence[str], public: bool = False) -> Callable[[ApiView], ApiView]:
    """Make a view an API endpoint: CSRF handled here, caller authenticated (unless `public`),
    every refusal turned into the JSON error shape."""

    def decorator(view: ApiView) -> ApiView:
        @csrf_exempt  # token callers have no cookie; session callers are checked below
        @wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if request.method not in methods:
                    raise method_not_allowed(methods)
                if not public:
                    authenticate(request)
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            except Ratelimited:
                return too_many_requests(request).response()
            except Http404:
                return not_found().response()
            except RequestDataTooBig:
                return ApiError(413, "too_large", _("The request is too large.")).response()
            except Exception:
                logger.exception("API %s %s failed", request.method, request.path)
                return ApiError(
                    500,
                    "internal_error",
                    _("Something went wrong on our side. Nothing was charged; try again later."),
                ).response()

        return endpoint

    return decorator


def authenticate(request: HttpRequest) -> User:
    """The caller, by API token or by session (with CSRF); else ApiError 401/403."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _space, secret = header.partition(" ")
        user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(
                401,
                "invalid_token",
                _("This API token is not valid or was revoked."),
                detail=_("Create a new token on your account page, under API tokens."),
                headers={"WWW-Authenticate": 'Bearer realm="headshots"'},
            )
        request.user = user
        if "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate(user.language)
        return user
    if request.user.is_authenticated:
        if not csrf_token_valid(request):
            raise ApiError(
                403,
                "csrf_failed",
                _("This request from a signed-in browser lacks its CSRF token."),
                detail=_("Send the csrftoken cookie's value in an X-CSRFToken header."),
            )
        return request.user
    raise ApiError(
        401,
        "not_authenticated",
        _("Sign in, or send a personal API token."),
        detail=_("Add the header 'Authorization: Bearer <token>'."),
        headers={"WWW-Authenticate": 'Bearer realm="headshots"'},
    )


def csrf_token_valid(request: HttpRequest) -> bool:
    """Django's own CSRF check, run for a view that is exempt from the middleware."""
    checker = CsrfViewMiddleware(lambda _request: HttpResponse())
    return checker.process_view(request, csrf_checked_view, (), {}) is None


def csrf_checked_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("only passed to CsrfViewMiddleware.process_view")


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or ApiError 400 saying what is wrong with it."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RawPostDataException):  # UnicodeDecodeError is a ValueError
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "invalid_json",
            _("The request body must be a JSON object."),
            detail=_('Send Content-Type: application/json and a body such as {"name": …}.'),
        )
    return body


def method_not_allowed(methods: Sequence[str]) -> ApiError:
    return ApiError(
        405,
        "method_not_allowed",
        _("This address does not accept this method."),
        headers={"Allow": ", ".join(methods)},
    )


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Not found."))


def too_many_requests(request: HttpRequest) -> ApiError:
    minutes = retry_minutes(request)
    return ApiError(
        429,
        "rate_limited",
        translation.ngettext(
            "You have done this too often. Please try again in %(minutes)d minute.",
            "You have done this too often. Please try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        headers={"Retry-After": str(minutes * 60)},
    )
