"""Glue between django-allauth and our User: the language of a new account, the welcome e-mail."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation

from accounts.credits import credits_grant
from accounts.models import User
from accounts.tasks import send_welcome_email


class AccountAdapter(DefaultAccountAdapter):
    """Records the language a person signed up in, and welcomes them once the row exists."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user.language = translation.get_language() or user.language
        saved: User = super().save_user(request, user, form, commit=commit)
        if commit:
            if settings.SIGNUP_CREDITS:
                credits_grant(user=saved, amount=settings.SIGNUP_CREDITS, reason="sign-up gift")
            transaction.on_commit(lambda: send_welcome_email.enqueue(saved.pk))
        return saved
