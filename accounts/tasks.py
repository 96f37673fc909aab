"""Background work about people (the queue boundary: thin tasks that take ids)."""

from __future__ import annotations

from django.tasks import task

from accounts.models import User
from lib.emails import send_templated_email


@task()
def send_welcome_email(user_id: int) -> str:
    """Greet a new person in their language and tell them how an order works."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return "skipped: no such active user"
    send_templated_email(
        to=user.email, template="welcome", context={"user": user}, language=user.language
    )
    return f"sent to user {user.pk}"
