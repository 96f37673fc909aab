"""Where uploads go while a request is read: always a temporary file, never memory.

`upload_temp_folder` is the one place that makes FILE_UPLOAD_TEMP_DIR: at start-up (the app's
`ready`), before each upload, and before each photo set or API ZIP is unpacked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


def upload_temp_folder() -> Path:
    """FILE_UPLOAD_TEMP_DIR, made if missing.

    A fresh machine has no such folder, and temp cleaners (systemd-tmpfiles, cron, a tmpfs
    emptied at boot) may remove it while the site runs: nothing may fail because of that.
    """
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class TemporaryFolderUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, which also (re)creates FILE_UPLOAD_TEMP_DIR.

    Temp cleaners (systemd-tmpfiles, cron) may remove an empty folder; an upload must not fail
    because of it.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        upload_temp_folder()
        super().new_file(*args, **kwargs)
