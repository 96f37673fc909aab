"""Staff see a person's headshots only through the admin's signed links; each view is recorded
and shown on the order's history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from privacy.models import StaffView
from tests.conftest import make_staff
from tests.privacy.test_retention import delivered_order
from training.links import file_link, staff_file_link


@pytest.mark.django_db
def test_each_view_through_a_signed_link_is_recorded_on_the_order(alice: User) -> None:
    order = delivered_order(alice)
    headshot = order.headshots.get()
    viewer = Client(headers={"Accept-Language": "en"})
    viewer.force_login(make_staff("vera@example.com", "training.view_order"))
    unsigned = reverse("admin:training_headshot_file", args=(headshot.pk, "image"))
    persons_link = file_link(order_uuid=order.uuid, headshot_id=headshot.pk, variant="image")

    assert viewer.get(unsigned).status_code == 403
    assert viewer.get(f"{unsigned}?{persons_link.split('?')[1]}").status_code == 403
    assert not StaffView.objects.exists()
    page = viewer.get(reverse("admin:training_order_change", args=(order.pk,))).content.decode()
    signed = staff_file_link(headshot_id=headshot.pk, variant="image")
    assert viewer.get(signed).status_code == 200

    seen = StaffView.objects.get()
    assert (seen.order_id, seen.staff_email, seen.headshot_id, seen.variant) == (
        order.pk, "vera@example.com", headshot.pk, "image",
    )  # fmt: skip
    assert "?t=" in page  # the order's page hands out signed links only
    history = viewer.get(reverse("admin:training_order_change", args=(order.pk,)))
    assert "Staff views of the headshots" in history.content.decode()
    assert "vera@example.com" in history.content.decode()


@pytest.mark.django_db
def test_staff_without_the_permission_see_nothing_and_leave_no_trace(alice: User) -> None:
    order = delivered_order(alice)
    headshot = order.headshots.get()
    outsider = Client()
    outsider.force_login(make_staff("nobody@example.com"))

    response = outsider.get(staff_file_link(headshot_id=headshot.pk, variant="image"))

    assert response.status_code == 403
    assert not StaffView.objects.exists()
