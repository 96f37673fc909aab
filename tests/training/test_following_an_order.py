"""The order page follows its order: a state change reloads the whole page (actions and
messages included), cancelling asks first and ends with one message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from training.models import Order, Status


def an_order(user: User, status: Status) -> Order:
    return Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="man", status=status
    )


def status_url(order: Order, shown: str) -> str:
    url = reverse("training:order_status", kwargs={"order_uuid": order.uuid})
    return f"{url}?shown={shown}"


@pytest.mark.django_db
def test_it_reloads_the_whole_page_when_the_order_moved_on(client: Client, alice: User) -> None:
    order = an_order(alice, Status.READY)
    client.force_login(alice)

    response = client.get(status_url(order, "training"), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


@pytest.mark.django_db
def test_it_swaps_only_the_status_while_the_order_stays_where_it_was(
    client: Client, alice: User
) -> None:
    order = an_order(alice, Status.TRAINING)
    client.force_login(alice)

    response = client.get(status_url(order, "training"))

    assert response.status_code == 200
    assert "HX-Refresh" not in response
    assert "?shown=training" in response.content.decode()  # the next poll says what it shows


@pytest.mark.django_db
def test_it_never_shows_someone_elses_order_status(client: Client, bob: User, alice: User) -> None:
    order = an_order(alice, Status.READY)
    client.force_login(bob)

    assert client.get(status_url(order, "training")).status_code == 404


@pytest.mark.django_db
def test_it_asks_before_cancelling(client: Client, alice: User) -> None:
    order = an_order(alice, Status.QUEUED)
    client.force_login(alice)

    page = client.get(order.get_absolute_url()).content.decode()

    assert '<details class="confirm-cancel">' in page
    assert "Sí, cancelarlo" in page


@pytest.mark.django_db
def test_it_ends_a_cancel_with_one_message(client: Client, alice: User) -> None:
    order = an_order(alice, Status.QUEUED)
    client.force_login(alice)
    url = reverse("training:order_cancel", kwargs={"order_uuid": order.uuid})

    page = client.post(url, follow=True).content.decode()

    assert Order.objects.get(pk=order.pk).status == Status.CANCELED
    assert page.count('class="message') == 1
    assert "Has cancelado este pedido" in page
    assert "Cancelar este pedido" not in page
