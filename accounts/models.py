"""The User: identified by e-mail (no username), with the language their e-mails are written in."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailUserManager(UserManager["User"]):
    """Creates users from an e-mail address; there is no username."""

    def _create_user_object(self, email: str | None, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password) if password else user.set_unusable_password()
        return user

    def create_user(  # type: ignore[override]
        self, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self._create_user_object(email, password, **extra)
        user.save(using=self._db)
        return user

    def create_superuser(  # type: ignore[override]
        self, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.update(is_staff=True, is_superuser=True)
        user = self._create_user_object(email, password, **extra)
        user.save(using=self._db)
        return user


class User(AbstractUser):
    """A person who orders headshots. The e-mail address is the identifier and is unique."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language of the e-mails this person receives."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[EmailUserManager] = EmailUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Staff actions that no built-in permission describes (see docs/operations.md).
        permissions = (("grant_credits", _("Can grant credits")),)

    def __str__(self) -> str:
        return self.email

    def set_language(self, language: str) -> None:
        """Remember the language chosen on the site, for the e-mails sent later."""
        if language in dict(settings.LANGUAGES) and language != self.language:
            self.language = language
            self.save(update_fields=["language"])


class CreditMovement(models.Model):
    """One line of a person's credit ledger. The balance is derived from these, never stored.

    Rows are only ever added (grants by staff or at sign-up, spends by orders, refunds when an
    order fails, purchases and their removal when a payment is refunded); a spend and a refund
    name their order, and each order has at most one of each. A movement with a `reference`
    (a purchase, say) exists at most once per kind. When a person deletes their account the rows
    stay for the accounts, without the person (`user` becomes empty).
    """

    class Kind(models.TextChoices):
        GRANT = "grant", _("grant")
        SPEND = "spend", _("spend")
        REFUND = "refund", _("refund")
        PURCHASE = "purchase", _("purchase")
        REMOVAL = "removal", _("removal")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="credit_movements",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount = models.PositiveIntegerField(_("credits"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    order_uuid = models.UUIDField(_("order"), null=True, blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=120,
        blank=True,
        default="",
        help_text=_("What this movement answers to, such as a purchase; unique per kind."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit movement")
        verbose_name_plural = _("credit ledger")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=("order_uuid", "kind"),
                condition=models.Q(order_uuid__isnull=False),
                name="one_spend_and_one_refund_per_order",
            ),
            models.UniqueConstraint(
                fields=("reference", "kind"),
                condition=~models.Q(reference=""),
                name="one_movement_per_reference_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} · {self.user}"


class ApiToken(models.Model):
    """A personal token for the JSON API. Only its SHA-256 is kept: the secret is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=50)
    prefix = models.CharField(_("starts with"), max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
