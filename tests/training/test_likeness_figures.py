"""What staff read of the likeness check: the share hidden per style, the distances per week,
and each headshot's score on the order's admin page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from training.models import Headshot, Order, Prediction, Status

from .test_feedback import table


def scored_headshots(user: User, style: str, scores: list[tuple[int, float | None, bool]]) -> None:
    """One order's headshots of one style: (faces found, distance, hidden) each."""
    order = Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="woman",
        status=Status.READY,
    )  # fmt: skip
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="p", style=style)
    for index, (face_count, likeness, hidden) in enumerate(scores):
        Headshot.objects.create(
            order=order, prediction=prediction, output_index=index, image=f"h/{index}.png",
            content_type="image/png", face_count=face_count, likeness=likeness, hidden=hidden,
        )  # fmt: skip


@pytest.mark.django_db
def test_staff_see_the_share_hidden_per_style_worst_first(
    client: Client, alice: User, staff: User
) -> None:
    scored_headshots(alice, "grey-studio", [(1, 0.31, False), (1, 0.42, False), (1, 0.8, True)])
    scored_headshots(alice, "city-street", [(0, None, True), (2, None, True), (1, 0.5, False)])
    scored_headshots(alice, "city-street", [(1, 0.7, True), (1, 0.2, False)])
    client.force_login(staff)

    html = client.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert table(html, "likeness-by-style") == [
        ["city-street", "5", "3", "60.0 %", "1", "1", "1"],
        ["grey-studio", "3", "1", "33.3 %", "0", "0", "1"],
    ]


@pytest.mark.django_db
def test_staff_see_the_distances_per_week_in_buckets(
    client: Client, alice: User, staff: User
) -> None:
    scored_headshots(alice, "white-studio", [(1, 0.25, False), (1, 0.35, False), (1, 0.65, True)])
    scored_headshots(alice, "white-studio", [(1, 0.45, False), (0, None, True)])
    Headshot.objects.filter(likeness=0.45).update(created_at=timezone.now() - timedelta(weeks=2))
    client.force_login(staff)

    html = client.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Newest week first; unscored headshots (no face) are not in the distances.
    weeks = [row[1:] for row in table(html, "likeness-by-week")]
    assert weeks == [["3", "1", "1", "0", "0", "1"], ["1", "0", "0", "1", "0", "0"]]


@pytest.mark.django_db
def test_the_order_admin_shows_each_headshots_faces_distance_and_whether_hidden(
    client: Client, alice: User, staff: User, settings: Any
) -> None:
    scored_headshots(alice, "grey-studio", [(1, 0.3123, False), (2, None, True)])
    order = Order.objects.get()
    client.force_login(staff)

    html = client.get(f"/admin/training/order/{order.pk}/change/").content.decode()

    assert re.search(r'class="field-likeness">\s*<p>0[.,]3123</p>', html), "the distance"
    assert 'class="field-likeness"' in html
    assert 'class="field-hidden"' in html
