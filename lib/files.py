"""Private files (a person's photos and headshots, staff previews) handed to one reader, and
files made for one request (a PNG or a crop of a headshot).

The view has already decided who may read the file; this only chooses how the bytes travel.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect


def private_file_response(name: str, filename: str, *, download: bool) -> HttpResponseBase:
    """S3: a redirect to a short-lived presigned URL. Local files: streamed by us."""
    if hasattr(default_storage, "bucket_name"):
        disposition = f'{"attachment" if download else "inline"}; filename="{filename}"'
        url = default_storage.url(  # type: ignore[call-arg]
            name,
            parameters={"ResponseContentDisposition": disposition},
            expire=settings.IMAGE_URL_TTL_SECONDS,
        )
        return redirect(url)
    response = FileResponse(
        default_storage.open(name, "rb"), as_attachment=download, filename=filename
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


def made_file_response(
    content: bytes, filename: str, content_type: str, *, download: bool
) -> HttpResponse:
    """Bytes made for this request (a PNG, a crop): sent by us with either storage."""
    response = HttpResponse(content, content_type=content_type)
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
