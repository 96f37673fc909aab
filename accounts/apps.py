from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: the User model with e-mail as the identifier, sign-in glue, credits."""

    name = "accounts"

    def ready(self) -> None:
        from accounts import welcome

        welcome.connect()
