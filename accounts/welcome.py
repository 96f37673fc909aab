"""The welcome e-mail goes out once per account, when its first address is verified.

Sending it at sign-up let anyone make the site mail any address (a sign-up needs no proof of
owning the mailbox). allauth announces a verified address with `email_confirmed` (a code entered
at sign-up or at sign-in); a Google sign-up brings an address Google already verified, announced
only by `user_signed_up`. Both land here, and only the account's first verified address counts,
so a second address or a second sign-in never welcomes anyone again.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_signed_up
from django.db import transaction

from accounts.models import User
from accounts.tasks import send_welcome_email


def user_welcome_if_first_verified(*, user_id: int) -> bool:
    """Enqueue the welcome (after commit) when the account has exactly one verified address."""
    if EmailAddress.objects.filter(user_id=user_id, verified=True).count() != 1:
        return False
    transaction.on_commit(lambda: send_welcome_email.enqueue(user_id))
    return True


def _on_email_confirmed(sender: Any, email_address: EmailAddress, **kwargs: Any) -> None:
    user_welcome_if_first_verified(user_id=email_address.user_id)


def _on_user_signed_up(sender: Any, user: User, **kwargs: Any) -> None:
    user_welcome_if_first_verified(user_id=user.pk)


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    email_confirmed.connect(_on_email_confirmed, dispatch_uid="accounts.welcome.confirmed")
    user_signed_up.connect(_on_user_signed_up, dispatch_uid="accounts.welcome.signed_up")
