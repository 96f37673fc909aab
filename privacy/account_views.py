"""The account's privacy page: export my data, delete my account, keep my headshots.

Thin: parse, call a stage of privacy/, render or redirect. Everything is looked up through the
signed-in person; an export or order of someone else's is a 404.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from lib.files import private_file_response
from lib.ratelimits import rate_limit
from privacy import erasure, export, retention
from privacy.models import DataExport
from privacy.tasks import enqueue_erasure, enqueue_export
from training.models import Headshot, Order


class SignedInRequest(HttpRequest):
    user: User


class DeleteAccountForm(forms.Form):
    """The person types their address: deleting everything must not be one stray click."""

    email = forms.EmailField(label=gettext_lazy("Type your e-mail address to confirm"))

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"])
        if email.casefold() != self.user.email.casefold():
            raise forms.ValidationError(
                gettext_lazy("That is not the address of this account. Nothing was deleted.")
            )
        return email


@login_required
@require_GET
def privacy_account(request: SignedInRequest) -> HttpResponse:
    """What we hold, the export, and the way to delete it all."""
    return render(request, "privacy/account.html", account_context(request))


def account_context(request: SignedInRequest, form: DeleteAccountForm | None = None) -> dict:
    user = request.user
    latest = DataExport.objects.filter(user=user).first()
    link = ""
    if latest and latest.ready_at and latest.expires_at and latest.expires_at > timezone.now():
        url = reverse("privacy_export_download", kwargs={"export_uuid": latest.uuid})
        link = f"{url}?t={export.export_link_token(latest)}"
    orders = Order.objects.filter(user=user, deleted_at__isnull=True)
    return {
        "export": latest,
        "export_link": link,
        "order_count": orders.count(),
        "headshot_count": Headshot.objects.filter(order__in=orders).count(),
        "token_count": user.api_tokens.filter(revoked_at__isnull=True).count(),
        "form": form or DeleteAccountForm(user=user),
    }


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_CHANGES")
def export_create(request: SignedInRequest) -> HttpResponse:
    """Ask the worker for a ZIP of everything; the link comes by e-mail and on the page."""
    made = export.export_request(user=request.user)
    enqueue_export(made.pk)
    messages.success(request, _("We are preparing your data. We will e-mail you when it is ready."))
    return redirect("privacy_account")


@login_required
@require_GET
def export_download(request: SignedInRequest, export_uuid: UUID) -> HttpResponseBase:
    """The ZIP, for its owner only, while the signed link is fresh."""
    made = get_object_or_404(
        DataExport, uuid=export_uuid, user=request.user, ready_at__isnull=False
    )
    if not export.export_link_is_valid(made, request.GET.get("t", "")):
        raise Http404
    return private_file_response(str(made.file.name), "headshots-data.zip", download=True)


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_CHANGES")
def account_delete(request: SignedInRequest) -> HttpResponse:
    """Sign the person out for good now; the worker deletes everything and e-mails them."""
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        context = account_context(request, form)
        return render(request, "privacy/account.html", context, status=422)
    started = erasure.account_erasure_request(user=request.user)
    logout(request)
    enqueue_erasure(started.pk)
    messages.success(
        request, _("Your account is being deleted. We will e-mail you when everything is gone.")
    )
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def headshots_keep(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """ "Keep them" from the reminder: a page with a button (mail scanners open links), then
    the headshots' date moves once by the retention period."""
    order = get_object_or_404(Order, uuid=order_uuid, user=request.user, deleted_at__isnull=True)
    if request.method == "POST":
        if retention.keep_headshots(order) is None:
            messages.error(request, _("These headshots were already kept once, or are gone."))
        else:
            messages.success(request, _("Done: we will keep these headshots longer."))
        return redirect(order)
    context = {"order": order, "due_at": retention.headshots_due(order)}
    return render(request, "privacy/keep.html", context)
