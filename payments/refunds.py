"""Stage "refunds": staff ask Stripe for a refund; Stripe's `charge.refunded` takes the credits.

Credits leave in one place only, when Stripe says the charge was refunded (whether staff
clicked here or refunded in Stripe's dashboard), so a refund is never counted twice. The
balance never goes below zero: what was already spent is recorded as owed and staff are told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from accounts.credits import credits_remove_refunded
from payments.models import Purchase, PurchaseState
from payments.stripe_api import refund_create

logger = logging.getLogger(__name__)


class NotRefundable(Exception):
    """Only a paid purchase can be refunded."""


def purchase_refund(*, purchase: Purchase) -> str:
    """Ask Stripe to refund the whole payment (once: the key is the purchase's); its refund id.

    Raises StripeUnavailable or StripeRefused from the adapter; nothing changes here then.
    """
    if purchase.state != PurchaseState.PAID or not purchase.stripe_payment_intent_id:
        raise NotRefundable(str(purchase.uuid))
    return refund_create(
        payment_intent=purchase.stripe_payment_intent_id,
        idempotency_key=f"refund-{purchase.uuid}",
    )


class Removal(StrEnum):
    REMOVED = "removed"  # every refunded credit taken back
    OWED = "owed"  # some were already spent: a debt, staff told
    ALREADY = "already"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RemovalResult:
    outcome: Removal
    purchase_id: int | None = None


def refund_apply(*, payment_intent: str, amount: int, amount_refunded: int) -> RemovalResult:
    """Take back the credits of a refunded charge: all of them, or its share if partial."""
    with transaction.atomic():
        purchase = (
            Purchase.objects.select_for_update()
            .filter(stripe_payment_intent_id=payment_intent)
            .exclude(stripe_payment_intent_id="")
            .first()
        )
        if purchase is None:
            return RemovalResult(Removal.UNKNOWN)
        refundable = purchase.state in (PurchaseState.PAID, PurchaseState.REFUNDED)
        if not refundable or amount_refunded <= purchase.refunded_cents:
            return RemovalResult(Removal.ALREADY, purchase.pk)  # a repeat, or older news
        # Stripe's amount_refunded is the running total: take back what it adds.
        share = purchase.credits * min(amount_refunded, amount) // max(amount, 1)
        due = share - purchase.credits_removed - purchase.credits_owed
        removed, owed = _take_back(purchase, due, refunded_cents=amount_refunded)
        purchase.mark_refunded(
            refunded_cents=amount_refunded,
            removed=purchase.credits_removed + removed,
            owed=purchase.credits_owed + owed,
        )
    if owed:
        logger.warning("purchase %s refunded: %d credits already spent", purchase.uuid, owed)
        return RemovalResult(Removal.OWED, purchase.pk)
    return RemovalResult(Removal.REMOVED, purchase.pk)


def _take_back(purchase: Purchase, credits: int, *, refunded_cents: int) -> tuple[int, int]:
    """Remove `credits` from the person's balance; each refund of a purchase is its own ledger
    line: the session id for the first, with the running total refunded for later ones."""
    if purchase.user is None or credits <= 0:  # the account is gone: nothing to take back
        return 0, 0
    reference = purchase.stripe_session_id or str(purchase.uuid)
    if purchase.refunded_cents:
        reference = f"{reference}:{refunded_cents}"
    taken = credits_remove_refunded(
        user=purchase.user,
        amount=credits,
        reference=reference,
        reason=f"refund of {purchase.pack_name_es}",
    )
    return taken if taken is not None else (0, 0)
