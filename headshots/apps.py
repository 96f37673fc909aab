from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class HeadshotsConfig(AppConfig):
    """The project package as an app: site pages, the health check, shared commands."""

    name = "headshots"

    def ready(self) -> None:
        from headshots import checks  # noqa: F401 - registers the deployment checks
        from lib.uploads import upload_temp_folder

        try:  # made at start-up, not by hand: a fresh machine has no such folder
            upload_temp_folder()
        except OSError as error:
            folder = settings.FILE_UPLOAD_TEMP_DIR
            raise ImproperlyConfigured(f"FILE_UPLOAD_TEMP_DIR={folder!r}: {error}") from None
