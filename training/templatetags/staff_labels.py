"""Words for the staff pages: an order's status, stage and package as the staff member's
language says them, not their stored values ("canceled", "upload", "professional")."""

from __future__ import annotations

from django import template
from django.utils.functional import Promise

from training.models import Stage, Status
from training.packages import package_title

register = template.Library()


@register.filter
def status_label(value: str) -> str | Promise:
    return Status(value).label if value in Status.values else value


@register.filter
def stage_label(value: str) -> str | Promise:
    return Stage(value).label if value in Stage.values else value


@register.filter
def package_label(value: str) -> str | Promise:
    return package_title(value)
