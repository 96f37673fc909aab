"""The staff side speaks the staff member's language: statuses, stages and packages by their
names, the site's own header, and one "Cuentas" section."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from training.models import Order, Status


@pytest.fixture
def orders(alice: User) -> list[Order]:
    return [
        Order.objects.create(
            user=alice, name=name, package="professional", subject_type="man", status=status
        )
        for name, status in (("Uno", Status.READY), ("Dos", Status.CANCELED))
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("orders")
def test_the_dashboard_names_statuses_in_spanish_under_the_sites_header(
    client: Client, staff: User
) -> None:
    client.force_login(staff)

    page = client.get(reverse("staff_dashboard")).content.decode()

    assert "<td>Listo</td>" in page
    assert "<td>Cancelado</td>" in page
    assert "<td>ready</td>" not in page
    assert "Administración de Django" not in page
    assert "Headshots" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("orders")
def test_the_order_list_names_the_package_not_its_slug(client: Client, staff: User) -> None:
    client.force_login(staff)

    page = client.get(reverse("admin:training_order_changelist")).content.decode()

    assert "Foto Profesional" in page
    assert '<td class="field-package_name">professional</td>' not in page


@pytest.mark.django_db
def test_the_admin_has_one_section_called_cuentas(client: Client, staff: User) -> None:
    client.force_login(staff)

    page = client.get(reverse("admin:index")).content.decode()

    assert page.count(">Cuentas<") == 1
    assert "Personas y créditos" in page
