"""The user model in the staff console."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.forms import UserCreateForm, UserEditForm
from accounts.models import CreditMovement, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Users by e-mail; there is no username."""

    form = UserEditForm
    add_form = UserCreateForm

    ordering = ("-date_joined",)
    list_display = ("email", "first_name", "last_name", "language", "is_staff", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "language")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(CreditMovement)
class CreditMovementAdmin(admin.ModelAdmin):
    """The credit ledger: staff add grants; spends and refunds come from orders, kept as written."""

    list_display = ("created_at", "user", "kind", "amount", "reason", "order_uuid", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("user__email", "reason", "order_uuid")
    list_select_related = ("user", "created_by")
    autocomplete_fields = ("user",)
    fields = ("user", "amount", "reason")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        """Whatever was posted, an added line is a grant by the signed-in staff member."""
        obj.kind = CreditMovement.Kind.GRANT
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
