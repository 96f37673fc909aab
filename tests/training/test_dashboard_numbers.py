"""The staff dashboard writes every number one way: the staff member's (a decimal comma in
Spanish, a point in English), its own filters included, as Django's `floatformat` does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from training.templatetags.humanize_bytes import dollars, megabytes, percent, seconds


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", ["1,5 MB", "2,5 min", "0,25 s", "12,5 %", "1,98 US$", "1,98"]),
        ("en", ["1.5 MB", "2.5 min", "0.25 s", "12.5 %", "$1.98", "1.98"]),
    ],
)
def test_every_figure_uses_the_language_s_number_format(language: str, expected: list[str]) -> None:
    with translation.override(language):
        django_own = Template("{{ value|floatformat:2 }}").render(Context({"value": 1.98}))
        shown = [
            megabytes(1_572_864),
            seconds(150),
            seconds(0.25),
            percent(0.125),
            dollars(Decimal("1.98")),
            django_own,
        ]
    assert shown == expected
