"""Sign-in for everyone: one address field and one code, whether or not the account exists yet.

allauth's code sign-in mails "unknown account" to an address without an account, which sends a
newcomer to a second form. Magic-link products instead make the account and mail the code, so
here an unknown address gets an account with an *unverified* address and the same code a known
person gets. The page answers the same either way (no account enumeration), the account is only
usable by whoever reads that mailbox, and entering the code verifies the address, which is what
sends the welcome (accounts/welcome.py). An account whose code is never entered is deleted by
cron after UNCONFIRMED_ACCOUNT_DAYS (privacy/retention.py).
"""

from __future__ import annotations

from types import SimpleNamespace

from allauth.account import signals
from allauth.account.adapter import get_adapter
from allauth.account.forms import RequestLoginCodeForm
from allauth.account.utils import setup_user_email
from allauth.core import context
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.models import User


def user_create_for_code(*, request: HttpRequest, email: str) -> User | None:
    """A new account for `email`, its address unverified; None when the address is taken
    (an account staff disabled, or a twin request that got there first)."""
    adapter = get_adapter()
    user = adapter.new_user(request)
    try:
        with transaction.atomic():
            adapter.save_user(request, user, SimpleNamespace(cleaned_data={"email": email.lower()}))
            setup_user_email(request, user, [])
    except IntegrityError:
        return None
    signals.user_signed_up.send(sender=User, request=request, user=user)
    return user


class SignInForm(RequestLoginCodeForm):
    """allauth's "send me a code" form, which signs a newcomer up instead of turning them away."""

    _user: User | None

    def clean_email(self) -> str:
        email: str = super().clean_email()  # rate limits first: a flood makes no accounts
        if email and self._user is None and not User.objects.filter(email__iexact=email).exists():
            self._user = user_create_for_code(request=context.request, email=email)
        return email
