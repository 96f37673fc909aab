from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """People: the User model with e-mail as the identifier, sign-in glue, credits."""

    name = "accounts"
    # allauth's app is "Cuentas" in the admin already: one section of that name, not two.
    verbose_name = _("People and credits")

    def ready(self) -> None:
        from accounts import welcome

        welcome.connect()
