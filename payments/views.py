"""The buyer's pages: start a checkout, come back from it. Thin: parse, call, render."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.credits import credit_balance
from accounts.models import User
from lib.ratelimits import rate_limit
from payments import checkout
from payments.fulfilment import Fulfilment, purchase_fulfil
from payments.models import Purchase, PurchaseState
from payments.packs import pack_by_slug
from payments.tasks import enqueue_confirmation


class SignedInRequest(HttpRequest):
    user: User


def get_purchase_for_user(request: SignedInRequest, purchase_uuid: UUID) -> Purchase:
    """The signed-in person's purchase, or 404 (also for someone else's)."""
    return get_object_or_404(Purchase, uuid=purchase_uuid, user=request.user)


def back_to(request: HttpRequest) -> str:
    """Where the buy button was (the order form), if it is a page of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("training:studio")


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_CHANGES")
def checkout_start(request: SignedInRequest) -> HttpResponse:
    """Send the person to Stripe's page for the pack they chose (the price is ours)."""
    pack = pack_by_slug(request.POST.get("pack"))
    try:
        attempt = UUID(request.POST.get("attempt", ""))
    except ValueError:
        attempt = None
    if pack is None or attempt is None:
        messages.error(request, _("That pack is not on sale. Choose one of these."))
        return redirect(back_to(request))
    try:
        purchase = checkout.purchase_start(user=request.user, pack=pack, attempt=attempt)
    except checkout.CheckoutUnavailable:
        messages.error(
            request,
            _("We could not reach the payment service. Nothing was charged: try again soon."),
        )
        return redirect(back_to(request))
    except checkout.AttemptUsed:
        messages.error(request, _("That purchase was already settled. Choose a pack again."))
        return redirect(back_to(request))
    request.session[f"purchase-{purchase.uuid}-next"] = back_to(request)
    answer = HttpResponseRedirect(purchase.checkout_url)  # to Stripe's own page
    answer.status_code = 303  # "see other": a GET there, whatever this POST was
    return answer


@login_required
@require_GET
def checkout_done(request: SignedInRequest, purchase_uuid: UUID) -> HttpResponse:
    """Back from paying: confirm with Stripe now (the webhook may come later) and say so."""
    purchase = get_purchase_for_user(request, purchase_uuid)
    if purchase.state == PurchaseState.OPEN:
        session = checkout.session_look_up(purchase)
        if session is not None:
            result = purchase_fulfil(session=session)
            if result.outcome == Fulfilment.GRANTED and result.purchase_id:
                enqueue_confirmation(result.purchase_id)
            purchase.refresh_from_db()
    return render(request, "payments/checkout_done.html", page_context(request, purchase))


@login_required
@require_GET
def checkout_canceled(request: SignedInRequest, purchase_uuid: UUID) -> HttpResponse:
    """Back without paying: the session is closed, nothing was charged."""
    purchase = get_purchase_for_user(request, purchase_uuid)
    checkout.purchase_abandon(purchase)
    return render(request, "payments/checkout_canceled.html", page_context(request, purchase))


def page_context(request: SignedInRequest, purchase: Purchase) -> dict[str, object]:
    return {
        "purchase": purchase,
        "paid": purchase.state in (PurchaseState.PAID, PurchaseState.REFUNDED),
        "balance": credit_balance(request.user),
        "next_url": request.session.get(
            f"purchase-{purchase.uuid}-next", reverse("training:studio")
        ),
    }
