"""The pages of a finished order's headshots: each image, the ZIP, favourites, the rating.

Every file is served only to its owner, through a signed link that expires (`links.py`), and
the ZIP is streamed as it is written (`photos/zip_writing.py`).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lib.files import made_file_response, private_file_response
from lib.ratelimits import rate_limit
from training import downloads, feedback
from training.forms import RatingForm
from training.links import link_is_valid
from training.models import Headshot
from training.photos.zip_writing import stream_zip
from training.views import SignedInRequest, get_order_for_user, order_context


@login_required
@require_GET
def headshot_file(
    request: SignedInRequest, order_uuid: UUID, headshot_id: int, variant: str
) -> HttpResponseBase:
    """One of the person's images: the preview, or the full headshot; downloaded (with
    ?download=1) as ?format=jpg (the default), png or linkedin (`downloads.py`)."""
    order = get_order_for_user(request, order_uuid)
    headshot = get_object_or_404(Headshot.objects.shown(), pk=headshot_id, order=order)
    if variant not in ("preview", "image"):
        raise Http404
    if not link_is_valid(request.GET.get("t", ""), headshot_id=headshot.pk, variant=variant):
        return HttpResponseForbidden(_("This link has expired. Reload the page to get a new one."))
    if variant == "preview":
        name = f"{headshot.download_stem}-preview.webp"
        return private_file_response(str(headshot.preview.name), name, download=False)
    download = request.GET.get("download") == "1"
    try:
        wanted = downloads.headshot_download(
            headshot=headshot, file_format=request.GET.get("format", downloads.DEFAULT_FORMAT)
        )
    except downloads.UnknownFormat:
        return HttpResponseBadRequest(_(downloads.UNKNOWN_FORMAT))
    if wanted.stored_name:
        return private_file_response(wanted.stored_name, wanted.filename, download=download)
    return made_file_response(
        wanted.content, wanted.filename, wanted.content_type, download=download
    )


@login_required
@require_GET
@rate_limit(per_user="RATE_LIMIT_DOWNLOADS", method="GET")
def order_download(request: SignedInRequest, order_uuid: UUID) -> HttpResponseBase:
    """Every headshot of the order (or, with ?only=favourites, the favourites) in one ZIP,
    streamed as it is written."""
    order = get_order_for_user(request, order_uuid)
    headshots = order.headshots.shown().select_related("prediction")
    favourites_only = request.GET.get("only") == "favourites"
    if favourites_only:
        headshots = headshots.filter(is_favourite=True)
    entries = downloads.zip_entries(list(headshots))
    if not entries:
        raise Http404
    response = StreamingHttpResponse(
        stream_zip(entries, storage=default_storage), content_type="application/zip"
    )
    suffix = "-favourites" if favourites_only else ""
    response["Content-Disposition"] = f'attachment; filename="headshots-{order.uuid}{suffix}.zip"'
    return response


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_FEEDBACK")
def headshot_favourite(
    request: SignedInRequest, order_uuid: UUID, headshot_id: int
) -> HttpResponseBase:
    """Mark or unmark a favourite; htmx gets the new button (and the new download link)."""
    order = get_order_for_user(request, order_uuid)
    headshot = get_object_or_404(Headshot.objects.shown(), pk=headshot_id, order=order)
    value = request.POST.get("favourite")
    if value not in ("0", "1"):
        return HttpResponseBadRequest(_("Say whether this headshot is a favourite (1 or 0)."))
    feedback.favourite_set(headshot=headshot, favourite=value == "1")
    if request.headers.get("HX-Request"):
        context = {
            "order": order,
            "headshot": headshot,
            "favourite_count": order.headshots.shown().filter(is_favourite=True).count(),
            "swap_download_link": True,
        }
        return render(request, "training/_favourite.html", context)
    return redirect(f"{order.get_absolute_url()}#headshot-{headshot.pk}")


@login_required
@require_POST
@rate_limit(per_user="RATE_LIMIT_FEEDBACK")
def order_rating(request: SignedInRequest, order_uuid: UUID) -> HttpResponse:
    """Rate a finished order from 1 to 5, with an optional comment."""
    order = get_order_for_user(request, order_uuid)
    form = RatingForm(request.POST)
    if not form.is_valid():
        context = order_context(order, rating_form=form)
        return render(request, "training/order_detail.html", context, status=422)
    try:
        feedback.order_rate(
            order=order, stars=form.cleaned_data["stars"], comment=form.cleaned_data["comment"]
        )
    except feedback.RatingRefused as refused:
        messages.error(request, str(refused))
        return redirect(order)
    messages.success(request, _("Thank you for your rating."))
    return redirect(f"{order.get_absolute_url()}#rating")
