from django.apps import AppConfig


class HeadshotsConfig(AppConfig):
    """The project package as an app: site pages, the health check, shared commands."""

    name = "headshots"
