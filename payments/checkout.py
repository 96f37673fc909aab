"""Stage "checkout": a purchase for one attempt, its Checkout Session, the way back.

One purchase per attempt: the buy button carries an attempt id made when the page was drawn,
so a double click or a resent form finds the same purchase and the same idempotency key
(`checkout-<attempt>`), and Stripe answers with the same session. Two tabs are two attempts.
The price is the pack's, read from settings, never from the request.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from payments.models import Purchase, PurchaseState
from payments.packs import CreditPack
from payments.stripe_api import (
    CheckoutSession,
    StripeRefused,
    StripeUnavailable,
    checkout_session_create,
    checkout_session_expire,
    checkout_session_retrieve,
)

logger = logging.getLogger(__name__)


class CheckoutUnavailable(Exception):
    """No Checkout Session could be made now; nothing was charged."""


class AttemptUsed(Exception):
    """This attempt id belongs to someone else, or its purchase is already settled."""


def purchase_start(*, user: User, pack: CreditPack, attempt: UUID) -> Purchase:
    """The purchase of `attempt` with an open Checkout Session, or CheckoutUnavailable.

    The purchase's row stays locked while Stripe is asked (a call bounded by
    STRIPE_TIMEOUT_SECONDS): a double click's second request waits, then finds the session.
    """
    with transaction.atomic():
        purchase = _purchase_for_attempt(user=user, pack=pack, attempt=attempt)
        if purchase.state == PurchaseState.OPEN:
            return purchase  # a double click: the session already made
        if purchase.state not in (PurchaseState.STARTED, PurchaseState.UNAVAILABLE):
            raise AttemptUsed(str(attempt))
        try:
            session = _create_session(purchase)
        except (StripeUnavailable, StripeRefused) as error:
            logger.warning("checkout for purchase %s failed: %s", purchase.uuid, error)
            purchase.mark_unavailable()
            failed = True
        else:
            purchase.mark_open(session_id=session.id, checkout_url=session.url)
            failed = False
    if failed:
        raise CheckoutUnavailable(str(purchase.uuid))
    return purchase


def _purchase_for_attempt(*, user: User, pack: CreditPack, attempt: UUID) -> Purchase:
    """The attempt's purchase, locked (it serialises a double click's two requests)."""
    purchase, _created = Purchase.objects.get_or_create(
        uuid=attempt,
        defaults={
            "user": user,
            "email": user.email,
            "pack_slug": pack.slug,
            "pack_name_es": pack.name_es,
            "pack_name_en": pack.name_en,
            "credits": pack.credits,
            "amount_cents": pack.price_cents,
            "currency": pack.currency,
        },
    )
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if purchase.user_id != user.pk or purchase.pack_slug != pack.slug:
        raise AttemptUsed(str(attempt))
    return purchase


def _create_session(purchase: Purchase) -> CheckoutSession:
    done = reverse("payments:checkout_done", args=[purchase.uuid])
    back = reverse("payments:checkout_canceled", args=[purchase.uuid])
    return checkout_session_create(
        idempotency_key=f"checkout-{purchase.uuid}",
        product_name=f"Headshots · {purchase.pack_name_es} / {purchase.pack_name_en}",
        amount_cents=purchase.amount_cents,
        currency=purchase.currency,
        email=purchase.email,
        # Stripe puts the session's id in place of {CHECKOUT_SESSION_ID}.
        success_url=f"{settings.SITE_URL}{done}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{settings.SITE_URL}{back}",
        metadata={
            "purchase": str(purchase.uuid),
            "user": str(purchase.user_id),
            "pack": purchase.pack_slug,
        },
    )


def session_look_up(purchase: Purchase) -> CheckoutSession | None:
    """What Stripe says of the purchase's session now, or None when it cannot be asked."""
    if not purchase.stripe_session_id:
        return None
    try:
        return checkout_session_retrieve(purchase.stripe_session_id)
    except (StripeUnavailable, StripeRefused) as error:
        logger.info("session of purchase %s not read: %s", purchase.uuid, error)
        return None


def purchase_abandon(purchase: Purchase) -> None:
    """The person came back without paying: close the session so it cannot be paid later."""
    if purchase.state != PurchaseState.OPEN or not purchase.stripe_session_id:
        return
    try:
        checkout_session_expire(purchase.stripe_session_id)
    except (StripeUnavailable, StripeRefused) as error:  # paid meanwhile, or Stripe away
        logger.info("session of purchase %s not expired: %s", purchase.uuid, error)
        return
    purchase.mark_expired()
