"""Purchases of credit packs and the Stripe events received about them.

A purchase keeps a snapshot of its pack (names, credits, price), so what was bought stays true
when the operator changes the packs. Its state moves forward only through its own methods,
each a conditional update, so the webhook, the success page and staff can race safely.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from payments.packs import format_price


class PurchaseState(models.TextChoices):
    STARTED = "started", _("started")  # the row exists; Stripe not yet asked
    OPEN = "open", _("waiting for payment")  # a Checkout Session exists
    UNAVAILABLE = "unavailable", _("Stripe unreachable")  # no session could be made
    PAID = "paid", _("paid")  # credits granted
    EXPIRED = "expired", _("expired")
    REFUNDED = "refunded", _("refunded")  # credits removed (or owed)


class Purchase(models.Model):
    """One attempt to buy one pack: one Checkout Session, at most one grant of credits."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="purchases"
    )
    email = models.EmailField(_("e-mail"))  # kept for the accounts if the person goes
    pack_slug = models.CharField(_("pack"), max_length=40)
    pack_name_es = models.CharField(max_length=60)
    pack_name_en = models.CharField(max_length=60)
    credits = models.PositiveIntegerField(_("credits"))
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    state = models.CharField(
        _("state"), max_length=12, choices=PurchaseState.choices, default=PurchaseState.STARTED
    )
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, default="")
    checkout_url = models.URLField(max_length=1000, blank=True, default="")
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    credits_removed = models.PositiveIntegerField(_("credits removed"), default=0)
    credits_owed = models.PositiveIntegerField(
        _("credits owed"), default=0, help_text=_("Refunded credits already spent: a debt.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        permissions = (("refund_purchase", _("Can refund purchases")),)
        indexes = [models.Index(fields=("state", "paid_at"))]

    def __str__(self) -> str:
        return f"{self.pack_slug} · {self.email} · {self.get_state_display()}"

    @property
    def pack_name(self) -> str:
        return self.pack_name_en if (get_language() or "es").startswith("en") else self.pack_name_es

    @property
    def price(self) -> str:
        return format_price(self.amount_cents, self.currency)

    def _move(self, old: tuple[str, ...], new: str, **fields: Any) -> bool:
        """Move to `new` from one of `old`; False when someone else moved it first."""
        moved = Purchase.objects.filter(pk=self.pk, state__in=old).update(state=new, **fields)
        if moved:
            self.state = new
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(moved)

    def mark_open(self, *, session_id: str, checkout_url: str) -> bool:
        return self._move(
            (PurchaseState.STARTED, PurchaseState.UNAVAILABLE),
            PurchaseState.OPEN,
            stripe_session_id=session_id,
            checkout_url=checkout_url,
        )

    def mark_unavailable(self) -> bool:
        return self._move((PurchaseState.STARTED,), PurchaseState.UNAVAILABLE)

    def mark_paid(self, *, payment_intent: str) -> bool:
        """Paid once: an expired session can still be paid late (Stripe says so), never twice."""
        return self._move(
            (PurchaseState.OPEN, PurchaseState.EXPIRED),
            PurchaseState.PAID,
            stripe_payment_intent_id=payment_intent,
            paid_at=timezone.now(),
        )

    def mark_expired(self) -> bool:
        return self._move((PurchaseState.OPEN,), PurchaseState.EXPIRED)

    def mark_refunded(self, *, refunded_cents: int, removed: int, owed: int) -> bool:
        """Record a refund's running totals; a partial refund may be followed by more."""
        return self._move(
            (PurchaseState.PAID, PurchaseState.REFUNDED),
            PurchaseState.REFUNDED,
            refunded_cents=refunded_cents,
            credits_removed=removed,
            credits_owed=owed,
            refunded_at=timezone.now(),
        )


class StripeEvent(models.Model):
    """One event Stripe sent, verified; its id is unique, so a repeated delivery is known."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("applied")
        IGNORED = "ignored", _("ignored")  # a type we do not use, or nothing left to do
        UNMATCHED = "unmatched", _("unmatched")  # no purchase of ours: for staff to look at

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    stripe_object_id = models.CharField(max_length=255, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="")
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-received_at",)
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
