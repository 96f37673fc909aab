"""The queue boundary of payments: e-mails sent after the transaction that earned them."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.tasks import task

from payments import notifications
from payments.events import EventResult
from payments.models import Purchase


@task()
def send_purchase_confirmation(purchase_id: int) -> None:
    purchase = Purchase.objects.select_related("user").filter(pk=purchase_id).first()
    if purchase is not None:
        notifications.purchase_confirmation_send(purchase)


@task()
def tell_staff_of_debt(purchase_id: int) -> None:
    purchase = Purchase.objects.filter(pk=purchase_id).first()
    if purchase is not None:
        notifications.refund_debt_tell_staff(purchase)


def enqueue_event_followups(result: EventResult) -> None:
    """The e-mails an event earned, each enqueued once its transaction has committed."""
    for purchase_id in result.confirmations:
        enqueue_confirmation(purchase_id)
    for purchase_id in result.debts:
        transaction.on_commit(partial(tell_staff_of_debt.enqueue, purchase_id))


def enqueue_confirmation(purchase_id: int) -> None:
    transaction.on_commit(partial(send_purchase_confirmation.enqueue, purchase_id))
