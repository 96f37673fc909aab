"""The JSON API: upload a ZIP of photos, order a model from it, follow the order.

Thin like the pages: parse, call the stage modules (`zip_uploads`, `orders`), answer. The spec's
`POST /api/replicate/train-model` keeps its path and body; `openapi.py` describes all of it.
"""

from __future__ import annotations

import math
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from lib.api import ApiError, ApiRequest, api_endpoint, json_object
from lib.ratelimits import rate_limit, rate_limit_spend
from privacy.consent import consent_now
from training import local_uploads, zip_uploads
from training.forms import TrainModelForm
from training.models import Order
from training.openapi import openapi_description
from training.orders import OrderRefused, order_create_from_upload
from training.packages import PROFESSIONAL, orderable_package
from training.tasks import enqueue_followups

# The status an order refusal answers with, by OrderRefused.reason.
REFUSAL_STATUS = {
    "photos": 422,
    "credits": 403,
    "storage": 403,
    "cooldown": 429,
    "active_orders": 429,
    "unavailable": 503,
}


@api_endpoint(methods=("POST",))
@rate_limit(per_user="RATE_LIMIT_UPLOADS")
def upload_create(request: ApiRequest) -> HttpResponse:
    """A short-lived URL to PUT one ZIP to, and the zipUrl that names it afterwards."""
    try:
        slot = zip_uploads.upload_slot_create(user=request.user)
    except zip_uploads.TooManyPendingUploads:
        raise too_many_pending() from None
    except zip_uploads.StorageUnavailable:
        raise storage_unavailable() from None
    body = {
        "uploadUrl": slot.upload_url,
        "method": "PUT",
        "headers": slot.headers,
        "zipUrl": slot.zip_url,
        "expiresAt": slot.expires_at.isoformat(),
        "maxBytes": slot.max_bytes,
    }
    return JsonResponse(body, status=201)


@api_endpoint(methods=("PUT",), public=True)
def upload_put(request: HttpRequest, user_id: str, upload_id: str) -> HttpResponse:
    """The signed local upload URL (local storage only; with S3 the PUT goes to the bucket)."""
    name = zip_uploads.upload_name(user_id=int(user_id), upload_id=upload_id)
    if zip_uploads.uses_s3():
        raise ApiError(404, "not_found", _("Not found."))
    if not local_uploads.local_upload_allowed(name=name, token=request.GET.get("t", "")):
        raise ApiError(
            403,
            "upload_url_invalid",
            _("This upload URL is not valid or has expired."),
            detail=_("Ask for a new one with POST /api/uploads."),
            stage="upload",
        )
    length = announced_length(request)
    try:
        size = local_uploads.local_upload_store(name=name, read=request.read, length=length)
    except zip_uploads.UploadTooLarge:
        raise zip_too_large() from None
    except zip_uploads.StorageUnavailable:
        raise storage_unavailable() from None
    except local_uploads.UploadExists:  # also once it was used and deleted: a URL takes one PUT
        raise ApiError(
            409,
            "upload_exists",
            _("Something was already uploaded to this URL."),
            detail=_("Ask for a new one with POST /api/uploads."),
            stage="upload",
        ) from None
    return JsonResponse({"zipUrl": zip_uploads.zip_url_for(name), "size": size}, status=201)


def announced_length(request: HttpRequest) -> int:
    """Content-Length, which an upload must send and which must not be zero."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        raise ApiError(
            411,
            "length_required",
            _("Send the ZIP as the request body, with its Content-Length."),
            stage="upload",
        )
    return length


def too_many_pending() -> ApiError:
    held = settings.UPLOAD_URL_TTL_SECONDS + zip_uploads.SLOT_GRACE_SECONDS
    return ApiError(
        429,
        "too_many_uploads",
        _("You have %(count)d upload URLs or uploaded ZIPs that no order used yet.")
        % {"count": zip_uploads.MAX_PENDING_UPLOADS},
        detail=_(
            "Order from one of them, or wait: an upload URL left unused frees its place "
            "%(minutes)d minutes after it was given, an uploaded ZIP after a day."
        )
        % {"minutes": math.ceil(held / 60)},
        stage="upload",
    )


def storage_unavailable() -> ApiError:
    return ApiError(
        503,
        "unavailable",
        _("We could not store or read your ZIP just now. Nothing was charged: try again."),
        stage="upload",
        headers={"Retry-After": "60"},
    )


def zip_too_large() -> ApiError:
    return ApiError(
        413,
        "zip_too_big",
        _("The ZIP is larger than %(mb)s MB.") % {"mb": settings.MAX_ZIP_MB},
        stage="upload",
    )


@api_endpoint(methods=("POST",))
@rate_limit(per_user="RATE_LIMIT_ORDER_ATTEMPTS", per_ip="RATE_LIMIT_ORDER_ATTEMPTS_PER_IP")
@rate_limit(per_user="RATE_LIMIT_ORDERS", per_ip="RATE_LIMIT_ORDERS_PER_IP", spend=False)
def train_model(request: ApiRequest) -> HttpResponse:
    """The spec's endpoint: an order from an uploaded ZIP, under the form's rules. As on the
    form, only an order made spends the order budget; refused calls answer to the higher
    attempts limit."""
    form = TrainModelForm(json_object(request))
    if not form.is_valid():
        raise ApiError(
            400,
            "invalid_request",
            _("Some fields are missing or wrong."),
            problems=[
                (field, str(error)) for field, errors in form.errors.items() for error in errors
            ],
            stage="upload",
        )
    package = orderable_package(form.cleaned_data["package"] or PROFESSIONAL.slug)
    if package is None:
        raise ApiError(400, "invalid_request", _("That package cannot be ordered."), stage="upload")
    upload_name = usable_upload(form.cleaned_data["zipUrl"], request)
    try:
        created = order_create_from_upload(
            user=request.user,
            package=package,
            name=form.cleaned_data["name"],
            subject_type=form.cleaned_data["type"],
            upload_name=upload_name,
            consent=consent_now(),
        )
    except zip_uploads.UploadTooLarge:
        raise zip_too_large() from None
    except zip_uploads.UploadNotUsable:
        raise upload_not_found() from None
    except zip_uploads.StorageUnavailable:
        raise storage_unavailable() from None
    except OrderRefused as refusal:
        raise order_refused(refusal) from None
    rate_limit_spend(request, per_user="RATE_LIMIT_ORDERS", per_ip="RATE_LIMIT_ORDERS_PER_IP")
    enqueue_followups(created.followups)
    body = order_body(created.order)
    body["warnings"] = [f"{name}: {warning}" for name, warning in created.warnings]
    return JsonResponse(body, status=201)


def usable_upload(zip_url: str, request: ApiRequest) -> str:
    try:
        return zip_uploads.upload_name_from_url(zip_url, user=request.user)
    except zip_uploads.StorageUnavailable:
        raise storage_unavailable() from None
    except zip_uploads.UploadNotUsable as refusal:
        if refusal.code == "not_found":
            raise upload_not_found() from None
        raise ApiError(
            422,
            "zip_url_not_accepted",
            _("zipUrl must be the zipUrl that POST /api/uploads gave you."),
            detail=_("We never download from other addresses."),
            stage="upload",
        ) from None


def upload_not_found() -> ApiError:
    return ApiError(
        404,
        "upload_not_found",
        _("There is no upload of yours at this zipUrl (it may have expired or been used)."),
        detail=_("Upload the ZIP again: POST /api/uploads, then PUT it to uploadUrl."),
        stage="upload",
    )


def order_refused(refusal: OrderRefused) -> ApiError:
    general = [str(message) for name, message in refusal.problems if name is None]
    per_file = [(name, message) for name, message in refusal.problems if name is not None]
    first = general[0] if general else _("Some photos in the ZIP cannot be used.")
    return ApiError(
        REFUSAL_STATUS.get(refusal.reason, 422),
        refusal.reason,
        first,
        detail=" ".join(general[1:]),
        problems=per_file,
        stage="upload",
    )


@api_endpoint(methods=("GET",))
def model_detail(request: ApiRequest, order_uuid: UUID) -> HttpResponse:
    """One of the caller's orders, to follow it until it is ready."""
    order = get_object_or_404(Order, uuid=order_uuid, user=request.user, deleted_at__isnull=True)
    return JsonResponse(order_body(order))


def order_body(order: Order) -> dict[str, object]:
    return {
        "id": str(order.uuid),
        "status": order.status,
        "url": settings.SITE_URL + order.get_absolute_url(),
        "name": order.name,
        "type": order.subject_type,
        "package": order.package,
        "error": _(order.error) if order.error else "",
        "headshots": order.headshots.shown().count(),
        "createdAt": order.created_at.isoformat(),
    }


@api_endpoint(methods=("GET",), public=True)
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 description of this API."""
    return JsonResponse(openapi_description(), json_dumps_params={"ensure_ascii": False})


@api_endpoint(methods=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"), public=True)
def unknown(request: HttpRequest) -> HttpResponse:
    """Anything else under /api/: a JSON 404, not the site's HTML page."""
    raise ApiError(404, "not_found", _("There is no such API address. See /api/openapi.json."))
