from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class HeadshotsConfig(AppConfig):
    """The project package as an app: site pages, the health check, shared commands."""

    name = "headshots"

    def ready(self) -> None:
        # Django writes uploads there and does not create the folder itself.
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
