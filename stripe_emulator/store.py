"""The Stripe emulator's state: Checkout Sessions, their payments and refunds, and its faults.

Objects are kept as the JSON Stripe would send (ids with Stripe's prefixes, amounts in cents),
so what the endpoints answer and what the events carry are the same dicts.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SESSION_LIFETIME_SECONDS = 24 * 3600


def new_id(prefix: str) -> str:
    """An id in Stripe's test-mode shape, such as `cs_test_a1B2...`."""
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"


@dataclass
class Faults:
    """What goes wrong next. Counters are spent as they happen; switches stay on."""

    # The next N API calls answer 500, as Stripe does in an outage.
    server_errors: int = 0
    # Every event posted twice (same event id), as Stripe's retries can.
    events_twice: bool = False
    # A payment's events posted newest first (async_payment_succeeded before completed).
    events_reversed: bool = False
    # Payments that settle later: `completed` unpaid, then (at `settle_payments()`) paid and
    # `async_payment_succeeded`.
    async_payments: bool = False
    # Events kept back until `release_events()`: a test then posts them itself.
    hold_events: bool = False


@dataclass
class EmulatorConfig:
    api_key: str
    webhook_secret: str
    webhook_url: str
    root: str = ""  # set when the server binds its port


@dataclass
class EmulatorState:
    """Everything the endpoints share, behind one lock."""

    config: EmulatorConfig
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # by payment intent id
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Delayed payments not yet settled: (session id, its `completed` event if held back).
    unsettled: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    # Idempotency-Key -> (the request's parameters, the answer given), as Stripe keeps for 24 h.
    idempotent: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)

    def take_server_error(self) -> bool:
        """Whether this API call fails with a 500 (spending one of `server_errors`)."""
        with self.lock:
            if self.faults.server_errors > 0:
                self.faults.server_errors -= 1
                return True
            return False


def session_json(*, form: dict[str, Any], root: str, amount: int, currency: str) -> dict[str, Any]:
    """A new open Checkout Session from the create call's parameters."""
    session_id = new_id("cs_test")
    now = int(time.time())
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": form.get("mode", "payment"),
        "status": "open",
        "payment_status": "unpaid",
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": currency,
        "customer_email": form.get("customer_email"),
        "client_reference_id": form.get("client_reference_id"),
        "metadata": form.get("metadata") or {},
        "success_url": form.get("success_url"),
        "cancel_url": form.get("cancel_url"),
        "url": f"{root}/checkout/{session_id}",
        "payment_intent": None,
        "line_items_summary": _line_names(form),
        "created": now,
        "expires_at": now + SESSION_LIFETIME_SECONDS,
        "livemode": False,
    }


def _line_names(form: dict[str, Any]) -> list[str]:
    names = []
    for item in form.get("line_items") or []:
        product = (item.get("price_data") or {}).get("product_data") or {}
        names.append(f"{item.get('quantity', '1')} x {product.get('name', '')}")
    return names


def charge_json(session: dict[str, Any]) -> dict[str, Any]:
    """The charge of a paid session (what `charge.refunded` carries)."""
    return {
        "id": new_id("ch_test"),
        "object": "charge",
        "amount": session["amount_total"],
        "amount_refunded": 0,
        "currency": session["currency"],
        "payment_intent": session["payment_intent"],
        "refunded": False,
        "paid": True,
        "status": "succeeded",
        "metadata": session["metadata"],
        "created": int(time.time()),
        "livemode": False,
    }
