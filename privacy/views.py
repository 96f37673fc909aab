"""The privacy pages and the account's privacy actions. Thin: parse, call, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from privacy.policy import policy_facts


@require_GET
def privacy_page(request: HttpRequest, language: str) -> HttpResponse:
    """/privacidad/ in Spanish, /privacy/ in English, whatever the visitor's language."""
    with translation.override(language):
        response = render(request, "privacy/privacy.html", policy_facts())
    response.headers["Content-Language"] = language
    return response
