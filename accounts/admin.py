"""The user model, the credit ledger and e-mail addresses in the staff console.

Granting credits, by the action or by a ledger line added by hand, needs the `grant_credits`
permission; marking an address verified, or adding one, needs "change e-mail address". A staff
member who may only look is offered none of these and can forge none. Only superusers hand out
staff status and permissions, and only they change the accounts of staff and superusers, so
"change user" cannot be turned into more rights than it grants.
"""

from __future__ import annotations

from typing import cast

from allauth.account import admin as allauth_admin
from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.credits import credits_grant
from accounts.forms import UserCreateForm, UserEditForm
from accounts.models import CreditMovement, User


class GrantCreditsForm(forms.Form):
    """What a grant needs besides the people: how many credits, and why (kept in the ledger)."""

    amount = forms.IntegerField(label=_("Credits"), min_value=1, max_value=1000)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Kept in the credit ledger, for example “apology for a failed order”."),
    )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Users by e-mail; there is no username."""

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        """Never here: deleting the row would leave the person's orders, files and models
        behind. An account goes through the erasure (privacy/erasure.py), which erases them."""
        return False

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
    actions = ("grant_credits",)
    rights_fields = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        """Whoever may hand out rights could give them to themselves: that is for superusers."""
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return readonly + self.rights_fields

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        """A new e-mail or password on a staff account hands over its rights: superusers only."""
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_grant_credits_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.grant_credits")

    @admin.action(
        description=_("Grant credits to the selected users"), permissions=["grant_credits"]
    )
    def grant_credits(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        """Ask how many credits and why, then add one grant per person, by this staff member."""
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self.grant_credits_form(request, queryset, form)
        amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
        staff = cast(User, request.user)  # the admin site lets only signed-in staff this far
        with transaction.atomic():  # everybody or nobody
            for user in queryset:
                credits_grant(user=user, amount=amount, reason=reason, granted_by=staff)
        count = len(queryset)
        credits = ngettext("%d credit", "%d credits", amount) % amount
        message = ngettext(
            "%(count)d user received %(credits)s.",
            "%(count)d users received %(credits)s each.",
            count,
        )
        self.message_user(request, message % {"count": count, "credits": credits}, messages.SUCCESS)
        return None

    def grant_credits_form(
        self, request: HttpRequest, queryset: QuerySet[User], form: GrantCreditsForm
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Grant credits"),
            "intro": _("Each of these people receives the credits, in one ledger line each:"),
            "submit_label": _("Grant credits"),
            "objects": queryset,
            "form": form,
            "action": "grant_credits",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirm_field": "apply",
        }
        return TemplateResponse(request, "admin/action_confirmation.html", context)


@admin.register(CreditMovement)
class CreditMovementAdmin(admin.ModelAdmin):
    """The credit ledger: staff add grants; spends and refunds come from orders, kept as written."""

    list_display = ("created_at", "user", "kind", "amount", "reason", "order_uuid", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("user__email", "reason", "order_uuid")
    list_select_related = ("user", "created_by")
    autocomplete_fields = ("user",)
    fields = ("user", "amount", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """A line added here is a grant, so it needs the right to grant credits as well."""
        return super().has_add_permission(request) and request.user.has_perm(
            "accounts.grant_credits"
        )

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        """Whatever was posted, an added line is a grant by the signed-in staff member."""
        obj.kind = CreditMovement.Kind.GRANT
        obj.created_by = request.user
        super().save_model(request, obj, form, change)


admin.site.unregister(EmailAddress)  # allauth's own admin lets anyone who can look verify


@admin.register(EmailAddress)
class EmailAddressAdmin(allauth_admin.EmailAddressAdmin):
    """allauth's e-mail addresses, with "mark verified" only for staff who may change them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Any address on an account, verified or not, receives its login codes: it is a key.

        So adding one is as strong as verifying one and needs "change e-mail address" too.
        """
        return super().has_add_permission(request) and self.has_change_permission(request)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        """A staff account's addresses are its keys, and with them its rights: superusers only."""
        if obj is not None and staff_account(obj.user) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is not None and staff_account(obj.user) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmailAddress]:
        """A bulk action ("mark verified", delete) reaches only the accounts its user may edit."""
        addresses = super().get_queryset(request)
        if request.user.is_superuser or request.method == "GET":
            return addresses
        return addresses.exclude(user__is_staff=True).exclude(user__is_superuser=True)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        """A new address goes only to an account its adder may edit (not a staff account)."""
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(is_staff=False, is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(
        description=allauth_admin.EmailAddressAdmin.make_verified.short_description,
        permissions=["change"],
    )
    def make_verified(self, request: HttpRequest, queryset: QuerySet[EmailAddress]) -> None:
        super().make_verified(request, queryset)


def staff_account(user: User) -> bool:
    return bool(user.is_staff or user.is_superuser)
