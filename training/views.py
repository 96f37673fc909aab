"""The studio's pages: pick a package, order, follow an order. Thin: parse, call, render."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.credits import credit_balance
from accounts.models import User
from lib.ratelimits import rate_limit
from payments.packs import packs_offer
from privacy.consent import consent_now
from training import lifecycle, topups, trainings
from training.forms import OrderForm, RatingForm
from training.links import file_link
from training.models import Headshot, Order, Status
from training.my_orders import order_rows
from training.orders import CreatedOrder, OrderRefused, order_create
from training.orders import order_delete as order_delete_workflow
from training.packages import available_packages, orderable_package, package_title
from training.styles import catalogue_position, style_title
from training.tasks import enqueue_followups


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
@rate_limit(per_user="RATE_LIMIT_ORDERS", per_ip="RATE_LIMIT_ORDERS_PER_IP")
def order_new(request: SignedInRequest) -> HttpResponse:
    """The order form; on success, the new order's page."""
    package = orderable_package(request.GET.get("package"))
    if package is None:
        messages.error(request, _("That package cannot be ordered. Choose one of these."))
        return redirect("training:studio")
    form = OrderForm(request.POST or None, request.FILES or None)
    problems: list[tuple[str | None, str]] = []
    if request.method == "POST" and form.is_valid():
        try:
            created = order_create(
                user=request.user,
                package=package,
                name=form.cleaned_data["name"],
                subject_type=form.cleaned_data["subject_type"],
                photos=form.cleaned_data["photos"],
                consent=consent_now(),
            )
        except OrderRefused as refusal:
            problems = [(name, str(message)) for name, message in refusal.problems]
            form.add_refusal(problems)
        else:
            return order_created_response(request, created)
    if request.method == "POST" and wants_json(request):
        photos = [{"name": name, "message": message} for name, message in problems if name]
        return JsonResponse({"errors": form.errors.get_json_data(), "photos": photos}, status=422)
    balance, cost = credit_balance(request.user), settings.TRAINING_CREDIT_COST
    context = {
        "form": form,
        "package": package,
        "credit_cost": cost,
        "credit_balance": balance,
        "packs_offer": packs_offer(balance=balance, cost=cost),
        "settings_limits": {
            "photos_min": settings.PHOTOS_MIN,
            "photos_max": settings.PHOTOS_MAX,
            "photo_max_mb": settings.PHOTO_MAX_MB,
            "total_max_mb": settings.PHOTOS_TOTAL_MAX_MB,
        },
    }
    return render(request, "training/order_new.html", context, status=422 if form.errors else 200)


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
    """The live part of the order page, polled by htmx until the order is final."""
    order = get_order_for_user(request, order_uuid)
    return render(request, "training/_order_status.html", order_context(order))


def order_context(order: Order, rating_form: RatingForm | None = None) -> dict[str, object]:
    progress = trainings.training_progress(order)  # the cache only: never Replicate
    headshots = list(order.headshots.shown().select_related("prediction"))
    gallery = [gallery_item(order, headshot) for headshot in headshots]
    return {
        "order": order,
        "package_title": package_title(order.package),
        "progress": progress,
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
    if followups:
        messages.success(request, _("Your order was canceled. Nothing was charged."))
    else:
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
