from django.apps import AppConfig


class HeadshotsConfig(AppConfig):
    """The project package as an app: site pages, the health check, shared commands."""

    name = "headshots"

    def ready(self) -> None:
        from headshots import checks  # noqa: F401 - registers the deployment checks
