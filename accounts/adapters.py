"""Glue between django-allauth and our User: the language and the sign-up gift of a new account,
and the visitor's address for allauth's rate limits.

The welcome e-mail waits for a verified address (accounts/welcome.py).
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from accounts.credits import credits_grant
from accounts.models import User
from lib.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """Records the language a person signed up in, and gives the sign-up credits."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user.language = translation.get_language() or user.language
        saved: User = super().save_user(request, user, form, commit=commit)
        if commit and settings.SIGNUP_CREDITS:
            credits_grant(user=saved, amount=settings.SIGNUP_CREDITS, reason="sign-up gift")
        return saved

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's rate limits key on the visitor seen through our trusted proxies."""
        return client_ip(request)
