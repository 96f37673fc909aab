"""The credit ledger: grants, spends and refunds; the balance is the sum of the movements.

Only server code changes credits. A spend locks the person's row so that two orders sent at
the same moment cannot both spend the last credit.
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Sum, When

from accounts.models import CreditMovement, User


class NotEnoughCredits(Exception):
    """The person's balance does not cover the cost."""

    def __init__(self, *, balance: int, cost: int) -> None:
        super().__init__(f"balance {balance} < cost {cost}")
        self.balance = balance
        self.cost = cost


def credit_balance(user: User) -> int:
    """Credits available now: grants, refunds and purchases minus spends and removals."""
    signed = Case(
        When(
            kind__in=(CreditMovement.Kind.SPEND, CreditMovement.Kind.REMOVAL),
            then=F("amount") * -1,
        ),
        default=F("amount"),
        output_field=IntegerField(),
    )
    total = CreditMovement.objects.filter(user=user).aggregate(total=Sum(signed))["total"]
    return int(total or 0)


def credits_grant(*, user: User, amount: int, reason: str, granted_by: User | None = None) -> None:
    """Give a person credits (staff in the admin, or the sign-up gift)."""
    if amount <= 0:
        raise ValueError("A grant must be a positive number of credits.")
    CreditMovement.objects.create(
        user=user,
        kind=CreditMovement.Kind.GRANT,
        amount=amount,
        reason=reason,
        created_by=granted_by,
    )


def credits_spend_for_order(*, user: User, cost: int, order_uuid: UUID) -> None:
    """Spend `cost` credits on an order or raise NotEnoughCredits (inside the order transaction)."""
    if cost <= 0:
        return
    with transaction.atomic():
        User.objects.select_for_update().filter(
            pk=user.pk
        ).first()  # serialise this person's spends
        balance = credit_balance(user)
        if balance < cost:
            raise NotEnoughCredits(balance=balance, cost=cost)
        CreditMovement.objects.create(
            user=user, kind=CreditMovement.Kind.SPEND, amount=cost, order_uuid=order_uuid
        )


def credits_refund_order(*, user: User, order_uuid: UUID, reason: str) -> bool:
    """Give back what an order spent, once; returns False when there is nothing (more) to refund."""
    spend = CreditMovement.objects.filter(
        user=user, order_uuid=order_uuid, kind=CreditMovement.Kind.SPEND
    ).first()
    if spend is None:
        return False
    try:
        with transaction.atomic():
            CreditMovement.objects.create(
                user=user,
                kind=CreditMovement.Kind.REFUND,
                amount=spend.amount,
                order_uuid=order_uuid,
                reason=reason,
            )
    except IntegrityError:  # already refunded: the unique constraint settles races
        return False
    return True


def credits_add_purchase(*, user: User, amount: int, reference: str, reason: str) -> bool:
    """Add a paid pack's credits, once per `reference` (the Checkout Session's id).

    Returns False when that reference was already granted: the unique constraint on
    (reference, kind) is the last guard, whatever raced past the purchase's own state.
    """
    if amount <= 0 or not reference:
        raise ValueError("A purchase needs a positive amount and a reference.")
    try:
        with transaction.atomic():
            CreditMovement.objects.create(
                user=user,
                kind=CreditMovement.Kind.PURCHASE,
                amount=amount,
                reference=reference,
                reason=reason,
            )
    except IntegrityError:
        return False
    return True


def credits_remove_refunded(
    *, user: User, amount: int, reference: str, reason: str
) -> tuple[int, int] | None:
    """Take back a refunded purchase's credits, never below zero: (removed, owed).

    What was already spent cannot be taken back; it is returned as owed, for staff. None when
    this reference was already removed (the unique constraint settles it).
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # serialise with spends
        removed = max(0, min(amount, credit_balance(user)))
        if removed == 0:
            return 0, amount
        try:
            with transaction.atomic():
                CreditMovement.objects.create(
                    user=user,
                    kind=CreditMovement.Kind.REMOVAL,
                    amount=removed,
                    reference=reference,
                    reason=reason,
                )
        except IntegrityError:
            return None
    return removed, amount - removed
