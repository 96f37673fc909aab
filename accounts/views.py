"""Pages about the signed-in person."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from accounts.models import User
from accounts.tokens import TooManyTokens, token_create, token_revoke


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers the choice for this person's e-mails."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        request.user.set_language(language)
    return response


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the new token"),
        max_length=50,
        strip=True,
        help_text=gettext_lazy("Where you will use it, e.g. “my script”."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The person's API tokens; a new one's secret is shown on this page, once."""
    user: User = request.user  # type: ignore[assignment]
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = token_create(user=user, name=form.cleaned_data["name"])
        except TooManyTokens:
            form.add_error(None, _("You have too many tokens: revoke one you no longer use."))
        else:
            form = TokenForm()
    tokens = user.api_tokens.all()
    context = {"form": form, "tokens": tokens, "secret": secret, "site_url": settings.SITE_URL}
    return render(request, "accounts/api_tokens.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the person's tokens (someone else's is 404)."""
    if not token_revoke(user=request.user, token_id=token_id):  # type: ignore[arg-type]
        raise Http404
    messages.success(request, _("The token was revoked: it no longer works."))
    return redirect("api_tokens")
