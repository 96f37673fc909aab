"""The e-mails about an order, each in its owner's language: ready, or failed (with what to do)."""

from __future__ import annotations

from django.conf import settings

from lib.emails import send_templated_email
from training.models import Order
from training.topups import promised


def order_url(order: Order) -> str:
    return f"{settings.SITE_URL}{order.get_absolute_url()}"


def notify_order_ready(order: Order) -> None:
    """Tell the person their headshots are ready, with a link to the gallery."""
    if order.user is None:
        return  # the person erased their account
    send_templated_email(
        to=order.user.email,
        template="order-ready",
        context={
            "order": order,
            "order_url": order_url(order),
            "count": order.headshots.shown().count(),
            "promised": promised(order),
        },
        language=order.user.language,
    )


def notify_order_failed(order: Order) -> None:
    """Tell the person what went wrong, that nothing was charged, and what to do next."""
    if order.user is None:
        return
    send_templated_email(
        to=order.user.email,
        template="order-failed",
        context={"order": order, "order_url": order_url(order)},
        language=order.user.language,
    )
