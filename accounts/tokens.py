"""Personal API tokens: created with a name, shown once, stored as a SHA-256, revocable.

A token is `hs_` and 43 random URL-safe characters; its first characters are kept in clear so
that a person can tell their tokens apart, and the digest is what an API request is matched by.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User

PREFIX = "hs_"
MAX_ACTIVE_TOKENS = 10


class TooManyTokens(Exception):
    """A person may hold MAX_ACTIVE_TOKENS tokens at once."""


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token and its secret (the only time the secret exists outside the caller)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if user.api_tokens.filter(revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
            raise TooManyTokens
        secret = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user, name=name, prefix=secret[:10], digest=digest_of(secret)
        )
    return token, secret


def token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the person's tokens; False when there is no such active token."""
    revoked = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return revoked == 1


def user_for_token(secret: str) -> User | None:
    """The active person a secret belongs to, or None (unknown, revoked, or not a token)."""
    if not secret.startswith(PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
