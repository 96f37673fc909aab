"""The studio's pages: pick a package, order, follow an order. Thin: parse, call, render."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.credits import credit_balance
from accounts.models import User
from lib.ratelimits import rate_limit, rate_limit_spend
from payments.packs import packs_offer
from privacy.consent import consent_now
from training import estimates, lifecycle, topups, trainings
from training.forms import OrderForm, RatingForm
from training.held_photos import HeldPhotosGone, HeldSet, held_photos, photos_hold
from training.links import file_link
from training.models import Headshot, Order, Status
from training.my_orders import order_rows
from training.orders import CreatedOrder, OrderRefused, order_create
from training.orders import order_delete as order_delete_workflow
from training.packages import Package, available_packages, orderable_package, package_title
from training.quotas import MB, quota_notice, storage_used
from training.styles import catalogue_position, style_title
from training.tasks import enqueue_followups

ORDERS_LIMIT, ORDERS_LIMIT_PER_IP = "RATE_LIMIT_ORDERS", "RATE_LIMIT_ORDERS_PER_IP"

logger = logging.getLogger(__name__)


class SignedInRequest(HttpRequest):
    """What a view behind @login_required receives."""

    user: User


def get_order_for_user(request: SignedInRequest, order_uuid: UUID) -> Order:
    """The signed-in person's order, or 404 (also for someone else's)."""
    return get_object_or_404(Order, uuid=order_uuid, user=request.user, deleted_at__isnull=True)


@login_required
@require_GET
def studio(request: SignedInRequest) -> HttpResponse:
    """The package picker."""
    return render(request, "training/studio.html", {"packages": available_packages()})


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit(per_user="RATE_LIMIT_ORDER_ATTEMPTS", per_ip="RATE_LIMIT_ORDER_ATTEMPTS_PER_IP")
@rate_limit(per_user=ORDERS_LIMIT, per_ip=ORDERS_LIMIT_PER_IP, spend=False)  # spent on orders made
def order_new(request: SignedInRequest) -> HttpResponse:
    """The order form; on success, the new order's page. "Continue without the refused photos"
    posts the form again with the token of the photos the server kept (`held`), no files."""
    package = orderable_package(request.GET.get("package"))
    if package is None:
        messages.error(request, _("That package cannot be ordered. Choose one of these."))
        return redirect("training:studio")
    token = request.POST.get("held", "")
    if not token:
        return order_form_answer(request, package, request.FILES or None)
    try:
        with held_photos(user_id=request.user.pk, token=token) as photos:
            return order_form_answer(request, package, MultiValueDict({"photos": photos}))
    except HeldPhotosGone:
        gone = _("We no longer keep those photos. Choose them again, please.")
        return order_form_answer(request, package, None, problem=gone)


def order_form_answer(
    request: SignedInRequest,
    package: Package,
    files: MultiValueDict[str, UploadedFile] | None,
    problem: str | None = None,
) -> HttpResponse:
    """Check the form, make the order or say why not (as a page, or as JSON for the script)."""
    form = OrderForm(request.POST or None, files)
    problems: list[tuple[str | None, str]] = [(None, problem)] if problem else []
    held = None
    if request.method == "POST" and form.is_valid() and not problem:
        try:
            created = order_create(
                user=request.user,
                package=package,
                consent=consent_now(),
                **form.order_arguments(),
            )
        except OrderRefused as refusal:
            problems = [(name, str(message)) for name, message in refusal.problems]
            held = hold_quietly(request.user.pk, form.cleaned_data["photos"], problems)
        else:
            rate_limit_spend(
                request, per_user="RATE_LIMIT_ORDERS", per_ip="RATE_LIMIT_ORDERS_PER_IP"
            )
            return order_created_response(request, created)
    form.add_refusal(problems)
    if request.method == "POST" and wants_json(request):
        photos = [{"name": name, "message": message} for name, message in problems if name]
        body = {"errors": form.errors.get_json_data(), "photos": photos, "held": held_json(held)}
        return JsonResponse(body, status=422)
    context = {"form": form, "package": package, "held": held, **order_form_facts(request.user)}
    return render(request, "training/order_new.html", context, status=422 if form.errors else 200)


def hold_quietly(
    user_id: int, uploads: list[UploadedFile], problems: list[tuple[str | None, str]]
) -> HeldSet | None:
    """The accepted photos kept for "continue without the refused ones", or None when storage
    fails: the person still reads why the photos were refused, and can upload them again."""
    try:
        return photos_hold(user_id=user_id, uploads=uploads, problems=problems)
    except Exception:
        logger.warning("the accepted photos could not be held", exc_info=True)
        return None


def held_json(held: HeldSet | None) -> dict[str, object] | None:
    return {"token": held.token, "count": held.count} if held else None


def order_form_facts(user: User) -> dict[str, object]:
    """What the form says before any upload: the price, the packs when credits are short, the
    limits, and what stops an order now."""
    balance, cost = credit_balance(user), settings.TRAINING_CREDIT_COST
    return {
        "credit_cost": cost,
        "credit_balance": balance,
        "packs_offer": packs_offer(balance=balance, cost=cost),
        "quota_notice": quota_notice(user),
        "settings_limits": {
            "photos_min": settings.PHOTOS_MIN,
            "photos_max": settings.PHOTOS_MAX,
            "photo_max_mb": settings.PHOTO_MAX_MB,
            "total_max_mb": settings.PHOTOS_TOTAL_MAX_MB,
            "cooldown_minutes": settings.TRAINING_COOLDOWN_MINUTES,
            "active_max": settings.MAX_ACTIVE_ORDERS_PER_USER,
            "storage_mb": settings.STORAGE_QUOTA_MB,
            "storage_used_mb": math.ceil(storage_used(user) / MB),
        },
    }


def wants_json(request: HttpRequest) -> bool:
    """The form's script sends the photos with XHR and asks for JSON answers."""
    return "application/json" in request.headers.get("Accept", "")


def order_created_response(request: HttpRequest, created: CreatedOrder) -> HttpResponse:
    """Redirect to the new order (or tell the script where), carrying the photos' warnings."""
    messages.success(request, _("Your photos are in. We are preparing your model."))
    for photo_name, warning in created.warnings:
        messages.warning(request, f"{photo_name}: {warning}")
    enqueue_followups(created.followups)
    url = created.order.get_absolute_url()
    if wants_json(request):
        return JsonResponse({"url": url}, status=201)
    return redirect(url)


@login_required
@require_GET
def order_list(request: SignedInRequest) -> HttpResponse:
    """The person's orders, newest first."""
    return render(request, "training/order_list.html", {"rows": order_rows(request.user)})


@login_required
@require_GET
def order_detail(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """One order's page: its status while it is made, then its gallery and downloads."""
    order = get_order_for_user(request, order_uuid)
    return render(request, "training/order_detail.html", order_context(order))


@login_required
@require_GET
def order_status(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """The live part of the order page, polled by htmx until the order is final.

    When the order has moved on from the status the page shows (`shown`), htmx reloads the whole
    page: its actions and messages belong to the old status too (a cancel button, "we received
    your photos") and must not stay beside a ready order."""
    order = get_order_for_user(request, order_uuid)
    if request.GET.get("shown", order.status) != order.status:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "training/_order_status.html", order_context(order))


def order_context(order: Order, rating_form: RatingForm | None = None) -> dict[str, object]:
    progress = trainings.training_progress(order)  # the cache only: never Replicate
    headshots = list(order.headshots.shown().select_related("prediction"))
    gallery = [gallery_item(order, headshot) for headshot in headshots]
    return {
        "order": order,
        "package_title": package_title(order.package),
        "progress": progress,
        "minutes_left": estimates.minutes_left(order, progress),
        "timeline": estimates.timeline(order),
        "gallery": gallery,
        "gallery_groups": by_style(gallery),
        "promised": topups.promised(order) if order.status == Status.READY else 0,
        "favourite_count": sum(headshot.is_favourite for headshot in headshots),
        "rating": getattr(order, "rating", None),
        "rating_form": rating_form or rating_form_for(order),
    }


def rating_form_for(order: Order) -> RatingForm:
    """The rating form, filled in with the person's earlier rating if there is one."""
    rating = getattr(order, "rating", None)
    initial = {"stars": rating.stars, "comment": rating.comment} if rating else {}
    return RatingForm(initial=initial)


@dataclass(frozen=True)
class GalleryItem:
    """One headshot with fresh signed links for the template."""

    headshot: Headshot
    preview_url: str
    image_url: str
    download_url: str  # the print-ready JPEG
    png_url: str
    linkedin_url: str


@dataclass(frozen=True)
class StyleGroup:
    """The headshots of one style, under the style's name."""

    slug: str
    name: str | Promise
    items: list[GalleryItem]


def by_style(gallery: list[GalleryItem]) -> list[StyleGroup]:
    """The gallery cut into its styles, in the catalogue's order; within a style the headshots
    keep the gallery's order (`Headshot.objects.shown()`: the closest likeness first)."""
    groups: dict[str, list[GalleryItem]] = {}
    for item in gallery:
        groups.setdefault(item.headshot.prediction.style, []).append(item)
    ordered = sorted(groups.items(), key=lambda group: catalogue_position(group[0]))
    return [StyleGroup(slug, style_title(slug), items) for slug, items in ordered]


def gallery_item(order: Order, headshot: Headshot) -> GalleryItem:
    def link(variant: str, *, download: bool = False) -> str:
        return file_link(
            order_uuid=order.uuid, headshot_id=headshot.pk, variant=variant, download=download
        )

    download = link("image", download=True)
    return GalleryItem(
        headshot, link("preview"), link("image"), download,
        png_url=f"{download}&format=png", linkedin_url=f"{download}&format=linkedin",
    )  # fmt: skip


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_CHANGES")
def order_cancel(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """Stop an order in progress; its credit comes back."""
    order = get_order_for_user(request, order_uuid)
    followups = lifecycle.order_cancel(order)
    enqueue_followups(followups)
    if not followups:  # when it was canceled, the status area says so: one message, not two
        messages.error(request, _("This order has already finished: there is nothing to cancel."))
    return redirect(order)


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_CHANGES")
def order_delete(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """Delete an order with its photos, headshots and trained model."""
    order = get_order_for_user(request, order_uuid)
    enqueue_followups(order_delete_workflow(order))
    messages.success(request, _("Your order and all its files are being deleted."))
    return redirect("training:order_list")
