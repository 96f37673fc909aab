"""`{% privacy_path %}`: the privacy page in the language being rendered (pages and e-mails)."""

from __future__ import annotations

from django import template
from django.conf import settings

from privacy.policy import privacy_path as path_in_language

register = template.Library()


@register.simple_tag
def privacy_path() -> str:
    return path_in_language()


@register.simple_tag
def privacy_url() -> str:
    """The page's full address, for e-mails (SITE_URL first)."""
    return f"{settings.SITE_URL.rstrip('/')}{path_in_language()}"
