"""Admin forms for a user model whose identifier is the e-mail address."""

from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import User


class UserCreateForm(AdminUserCreationForm):
    """Staff create a user from an e-mail address (and an optional password)."""

    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    """Staff edit a user; the e-mail address replaces the username."""

    class Meta:
        model = User
        fields = "__all__"
