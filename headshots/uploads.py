"""Where uploads go while a request is read: always a temporary file, never memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class TemporaryFolderUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, which also (re)creates FILE_UPLOAD_TEMP_DIR.

    Temp cleaners (systemd-tmpfiles, cron) may remove an empty folder; an upload must not fail
    because of it.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        super().new_file(*args, **kwargs)
