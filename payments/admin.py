"""Purchases and Stripe events for staff: read-only, with links to Stripe's dashboard and a
refund action that asks Stripe (credits leave when Stripe's `charge.refunded` arrives)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from payments.models import Purchase, StripeEvent
from payments.refunds import NotRefundable, purchase_refund
from payments.stripe_api import StripeRefused, StripeUnavailable


def stripe_dashboard_link(kind: str, object_id: str) -> SafeString | str:
    """A link to the object in Stripe's dashboard (its test mode for a test key)."""
    if not object_id:
        return "—"
    mode = "test/" if str(settings.STRIPE_SECRET_KEY or "").startswith("sk_test") else ""
    url = f"https://dashboard.stripe.com/{mode}{kind}/{object_id}"
    return format_html('<a href="{}" rel="noopener" target="_blank">{}</a>', url, object_id)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the payment flow: staff look, never edit by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "email", "pack_slug", "credits", "amount", "state",
                    "session_link", "payment_link", "credits_owed")  # fmt: skip
    list_filter = ("state", "pack_slug", "currency")
    search_fields = ("email", "stripe_session_id", "stripe_payment_intent_id", "uuid")
    readonly_fields = ("uuid", "user", "email", "pack_slug", "pack_name_es", "pack_name_en",
                       "credits", "amount", "state", "session_link", "payment_link",
                       "refunded_cents", "credits_removed", "credits_owed", "created_at",
                       "paid_at", "refunded_at")  # fmt: skip
    exclude = ("checkout_url", "stripe_session_id", "stripe_payment_intent_id", "amount_cents")
    actions = ("refund_purchases",)

    @admin.display(description=_("amount"))
    def amount(self, purchase: Purchase) -> str:
        return purchase.price

    @admin.display(description=_("Stripe Checkout Session"))
    def session_link(self, purchase: Purchase) -> SafeString | str:
        return stripe_dashboard_link("checkout/sessions", purchase.stripe_session_id or "")

    @admin.display(description=_("Stripe payment"))
    def payment_link(self, purchase: Purchase) -> SafeString | str:
        return stripe_dashboard_link("payments", purchase.stripe_payment_intent_id)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.refund_purchase")

    @admin.action(description=_("Refund the selected payments with Stripe"), permissions=["refund"])
    def refund_purchases(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        """Ask Stripe to refund each paid purchase; the credits go when Stripe confirms."""
        for purchase in queryset:
            try:
                refund_id = purchase_refund(purchase=purchase)
            except NotRefundable:
                message = _("%(purchase)s is not a paid purchase: not refunded.")
                self.message_user(request, message % {"purchase": purchase}, messages.WARNING)
            except (StripeUnavailable, StripeRefused) as error:
                message = _("Stripe did not refund %(purchase)s: %(error)s")
                self.message_user(
                    request, message % {"purchase": purchase, "error": error}, messages.ERROR
                )
            else:
                self.log_change(request, purchase, f"Refund {refund_id} asked of Stripe.")
                message = _("Refund %(refund)s asked for %(purchase)s; its credits are removed "
                            "when Stripe confirms it.")  # fmt: skip
                self.message_user(
                    request, message % {"refund": refund_id, "purchase": purchase}, messages.SUCCESS
                )


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "type", "event_id", "stripe_object_id", "outcome", "note")
    list_filter = ("outcome", "type")
    search_fields = ("event_id", "stripe_object_id")
    readonly_fields = ("event_id", "type", "stripe_object_id", "outcome", "note", "payload",
                       "received_at")  # fmt: skip
