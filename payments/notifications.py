"""The e-mails of payments: the buyer's confirmation, and staff told of a refund's debt."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from accounts.credits import credit_balance
from accounts.models import User
from lib.emails import send_templated_email
from payments.models import Purchase


def purchase_confirmation_send(purchase: Purchase) -> None:
    """Tell the buyer, in their language, what they bought and their balance now."""
    if purchase.user is None:
        return
    send_templated_email(
        to=purchase.user.email,
        template="purchase-confirmed",
        context={
            "purchase": purchase,
            "balance": credit_balance(purchase.user),
            "order_url": f"{settings.SITE_URL}{reverse('training:studio')}",
        },
        language=purchase.user.language,
    )


def refund_debt_tell_staff(purchase: Purchase) -> None:
    """A refund took back fewer credits than it paid for: the staff who see purchases decide."""
    staff = [
        person
        for person in User.objects.filter(is_active=True, is_staff=True)
        if person.has_perm("payments.view_purchase")
    ]
    admin_url = reverse("admin:payments_purchase_change", args=[purchase.pk])
    for person in staff:
        send_templated_email(
            to=person.email,
            template="refund-debt",
            context={"purchase": purchase, "admin_url": f"{settings.SITE_URL}{admin_url}"},
            language=person.language,
        )
