from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """What a person may know, keep, take away and erase: consent, retention, export, erasure."""

    name = "privacy"
