"""Every action on the admin site, ours or a library's, names the permission it needs.

An action without `allowed_permissions` is offered to any staff member who may open the list,
however little else they may do; this walks the whole site so a new one cannot slip in.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin


def actions_of(model_admin: Any) -> list[Any]:
    """Every action the admin has, before the viewer's permissions filter them."""
    return list(model_admin._get_base_actions())


def actions_without_permissions() -> list[str]:
    return [
        f"{model._meta.label}.{action.name}"
        for model, model_admin in admin.site._registry.items()
        for action in actions_of(model_admin)
        if not getattr(action.func, "allowed_permissions", None)
    ]


def test_it_finds_every_action_guarded_by_a_permission() -> None:
    assert actions_without_permissions() == []


def test_it_walks_our_actions_and_the_libraries_ones() -> None:
    names = {
        f"{model._meta.label}.{action.name}"
        for model, model_admin in admin.site._registry.items()
        for action in actions_of(model_admin)
    }

    assert {
        "accounts.User.grant_credits",
        "training.Order.delete_orders_with_files",
        "account.EmailAddress.make_verified",
        "auth.Group.delete_selected",
    } <= names


def test_it_keeps_django_s_delete_selected_behind_the_delete_permission() -> None:
    for model_admin in admin.site._registry.values():
        [delete] = [a for a in actions_of(model_admin) if a.name == "delete_selected"]
        assert list(delete.func.allowed_permissions) == ["delete"]
