"""The package catalogue: what a person can order, per training service (TUNE_TYPE).

With Replicate there is one real package, "Foto Profesional", and a greyed-out "Próximamente"
card that cannot be ordered. Adding a package means adding a `Package` here and its styles in
`styles.py` (docs/prompts.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Package:
    """One card of the package picker."""

    slug: str
    title: str | Promise
    description: str | Promise
    active: bool


PROFESSIONAL = Package(
    slug="professional",
    title="Foto Profesional",  # the product's name, the same in every language
    description=_(
        "Studio-quality business portraits: suit, neutral background, soft light. "
        "For LinkedIn, your CV and your website."
    ),
    active=True,
)
COMING_SOON = Package(
    slug="coming-soon",
    title=_("Coming soon"),
    description=_("More styles are on their way."),
    active=False,
)

CATALOGUE: dict[str, tuple[Package, ...]] = {
    "replicate": (PROFESSIONAL, COMING_SOON),
}


def available_packages() -> tuple[Package, ...]:
    """The cards to show for the configured training service."""
    return CATALOGUE[settings.TUNE_TYPE]


def orderable_package(slug: str | None) -> Package | None:
    """The active package with this slug, or None for unknown, inactive or missing slugs."""
    for package in available_packages():
        if package.slug == slug and package.active:
            return package
    return None


def package_title(slug: str) -> str | Promise:
    """The title of a package by its slug (an order stores the slug)."""
    for package in available_packages():
        if package.slug == slug:
            return package.title
    return slug
