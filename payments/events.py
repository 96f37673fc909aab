"""Stage "events": a verified Stripe event, recorded once and applied once.

The event's id is unique in `StripeEvent`: a repeated delivery (Stripe retries, or sends the
same event twice) finds it and changes nothing. Recording and applying happen in one
transaction, so an event whose application failed is not recorded and Stripe's retry applies
it. Events we do not use are recorded as ignored and answered 200, as Stripe asks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from payments.fulfilment import Fulfilment, purchase_fulfil
from payments.models import Purchase, StripeEvent
from payments.refunds import Removal, refund_apply
from payments.stripe_api import CheckoutSession, event_verify

logger = logging.getLogger(__name__)

GRANTING = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
Outcome = StripeEvent.Outcome


@dataclass
class EventResult:
    """What became of one delivery, and the e-mails to send (purchase ids) once committed."""

    duplicate: bool = False
    outcome: str = ""
    confirmations: list[int] = field(default_factory=list)
    debts: list[int] = field(default_factory=list)


def event_receive(*, payload: bytes, signature: str | None) -> EventResult:
    """Verify (InvalidSignature otherwise), record once, apply; see the module docstring."""
    event = event_verify(payload=payload, signature=signature)
    obj: dict[str, Any] = event["data"].get("object") or {}
    result = EventResult()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(
                    event_id=str(event.get("id", ""))[:255],
                    type=str(event.get("type", ""))[:100],
                    stripe_object_id=str(obj.get("id", ""))[:255],
                    payload=event,
                )
        except IntegrityError:  # a repeat: a concurrent copy waited here for the first's commit
            return EventResult(duplicate=True)
        record.outcome, record.note = _apply(str(event.get("type")), obj, result)
        record.save(update_fields=["outcome", "note"])
    result.outcome = record.outcome
    return result


def _apply(kind: str, obj: dict[str, Any], result: EventResult) -> tuple[str, str]:
    if kind in GRANTING:
        return _grant(obj, result)
    if kind == "checkout.session.expired":
        purchase = Purchase.objects.filter(stripe_session_id=str(obj.get("id"))).first()
        if purchase is None:
            return Outcome.UNMATCHED, "no purchase has this session"
        return (Outcome.APPLIED, "") if purchase.mark_expired() else (Outcome.IGNORED, "")
    if kind == "charge.refunded":
        return _remove(obj, result)
    return Outcome.IGNORED, "not an event we use"


def _grant(obj: dict[str, Any], result: EventResult) -> tuple[str, str]:
    session = CheckoutSession(
        id=str(obj.get("id", "")),
        url="",
        status=str(obj.get("status", "")),
        payment_status=str(obj.get("payment_status", "")),
        payment_intent=str(obj.get("payment_intent") or ""),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
    )
    fulfilled = purchase_fulfil(session=session)
    if fulfilled.outcome == Fulfilment.UNKNOWN:
        return Outcome.UNMATCHED, "no purchase has this session: nothing granted"
    if fulfilled.outcome == Fulfilment.GRANTED and fulfilled.purchase_id:
        result.confirmations.append(fulfilled.purchase_id)
        return Outcome.APPLIED, "credits granted"
    return Outcome.IGNORED, f"nothing to do: {fulfilled.outcome}"


def _remove(obj: dict[str, Any], result: EventResult) -> tuple[str, str]:
    removal = refund_apply(
        payment_intent=str(obj.get("payment_intent") or ""),
        amount=_cents(obj.get("amount")),
        amount_refunded=_cents(obj.get("amount_refunded")),
    )
    if removal.outcome == Removal.UNKNOWN:
        return Outcome.UNMATCHED, "no purchase has this payment"
    if removal.outcome == Removal.ALREADY:
        return Outcome.IGNORED, "already refunded"
    if removal.outcome == Removal.OWED and removal.purchase_id:
        result.debts.append(removal.purchase_id)
        return Outcome.APPLIED, "credits removed; some were spent: owed"
    return Outcome.APPLIED, "credits removed"


def _cents(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
