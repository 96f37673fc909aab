"""Stage "fulfilment": a paid Checkout Session becomes credits, exactly once.

The webhook (`checkout.session.completed`, `...async_payment_succeeded`) and the success page
both call `purchase_fulfil`, in any order and at the same time. The purchase's row is locked
and moved OPEN → PAID by a conditional update; the ledger's unique (reference, kind) is the
last guard. Only the first caller grants; the others learn it was done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from accounts.credits import credits_add_purchase
from payments.models import Purchase
from payments.stripe_api import CheckoutSession

logger = logging.getLogger(__name__)

PAID_STATUSES = ("paid", "no_payment_required")


class Fulfilment(StrEnum):
    GRANTED = "granted"
    ALREADY = "already"  # granted before, by another delivery or the success page
    UNPAID = "unpaid"  # the money has not arrived yet (a delayed payment method)
    UNKNOWN = "unknown"  # no purchase of ours has this session


@dataclass(frozen=True)
class FulfilResult:
    outcome: Fulfilment
    purchase_id: int | None = None


def purchase_fulfil(*, session: CheckoutSession) -> FulfilResult:
    """Grant the session's pack once it is paid; see the module docstring for the races."""
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().filter(stripe_session_id=session.id).first()
        if purchase is None:
            logger.warning("paid session %s matches no purchase", session.id)
            return FulfilResult(Fulfilment.UNKNOWN)
        if session.payment_status not in PAID_STATUSES:
            return FulfilResult(Fulfilment.UNPAID, purchase.pk)
        if not purchase.mark_paid(payment_intent=session.payment_intent):
            return FulfilResult(Fulfilment.ALREADY, purchase.pk)
        if purchase.user is None or not credits_add_purchase(
            user=purchase.user,
            amount=purchase.credits,
            reference=session.id,
            reason=f"{purchase.pack_name_es} ({purchase.price})",
        ):
            logger.error("purchase %s paid but not granted (no person, or granted)", purchase.uuid)
            return FulfilResult(Fulfilment.ALREADY, purchase.pk)
    logger.info("purchase %s paid: %d credits granted", purchase.uuid, purchase.credits)
    return FulfilResult(Fulfilment.GRANTED, purchase.pk)
