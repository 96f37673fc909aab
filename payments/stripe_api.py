"""The adapter to Stripe: the official `stripe` library, bounded, with small answers out.

Everything else in the app speaks to Stripe through these functions, with plain arguments in
and dataclasses out (no model is imported here). `STRIPE_API_BASE` points the library at the
emulator on a development machine. Every create carries an idempotency key, so the library's
one retry, or a person trying again, never makes a second session or refund.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


class StripeUnavailable(Exception):
    """Stripe could not be reached or failed on its side: nothing happened, try again later."""


class StripeRefused(Exception):
    """Stripe answered and refused the request (a bug of ours or a state that forbids it)."""


class InvalidSignature(Exception):
    """A webhook whose signature, or timestamp, does not check out."""


@dataclass(frozen=True)
class CheckoutSession:
    """What we use of a Checkout Session."""

    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent: str
    metadata: dict[str, str]


def client() -> stripe.StripeClient:
    """A client pointed at STRIPE_API_BASE, every call bounded by STRIPE_TIMEOUT_SECONDS."""
    return stripe.StripeClient(
        str(settings.STRIPE_SECRET_KEY),
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        max_network_retries=1,
    )


def checkout_session_create(
    *,
    idempotency_key: str,
    product_name: str,
    amount_cents: int,
    currency: str,
    email: str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
) -> CheckoutSession:
    """A Checkout Session for one item at our price, paid on Stripe's page."""
    params: Any = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount_cents,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "customer_email": email,
        "client_reference_id": metadata.get("purchase", ""),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }
    with _translated_errors():
        session = client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return _session(session)


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    with _translated_errors():
        return _session(client().v1.checkout.sessions.retrieve(session_id))


def checkout_session_expire(session_id: str) -> CheckoutSession:
    with _translated_errors():
        return _session(client().v1.checkout.sessions.expire(session_id))


def refund_create(*, payment_intent: str, idempotency_key: str) -> str:
    """Refund a whole payment; returns the refund's id."""
    with _translated_errors():
        refund = client().v1.refunds.create(
            params={"payment_intent": payment_intent},
            options={"idempotency_key": idempotency_key},
        )
    return str(refund.id)


def event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event in a webhook body, only once its Stripe-Signature and timestamp check out."""
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature(str(error)) from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidSignature("signed, but not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise InvalidSignature("signed, but not an event")
    return event


def _session(session: Any) -> CheckoutSession:
    return CheckoutSession(
        id=str(session.id),
        url=str(session.url or ""),
        status=str(session.status),
        payment_status=str(session.payment_status),
        payment_intent=_id_of(session.payment_intent),
        metadata={
            str(key): str(value)
            for key, value in (session.metadata.to_dict() if session.metadata else {}).items()
        },
    )


def _id_of(value: Any) -> str:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if value is None:
        return ""
    return str(value) if isinstance(value, str) else str(value.id)


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn the library's errors into ours: unavailable (try again later) or refused."""
    try:
        yield
    except stripe.StripeError as error:
        logger.warning("stripe call failed: %s", error.__class__.__name__)
        message = str(error.user_message or error)
        retryable = isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
            isinstance(error, stripe.APIError) and (error.http_status or 500) >= 500
        )
        if retryable:
            raise StripeUnavailable(message) from error
        raise StripeRefused(message) from error
