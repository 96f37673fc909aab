"""Pages about the signed-in person."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers the choice for this person's e-mails."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        request.user.set_language(language)
    return response
