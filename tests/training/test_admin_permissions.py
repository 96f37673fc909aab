"""Each order action needs its own permission: a staff member who may only look can do nothing.

The permitted side of each action runs against the emulator in test_admin_console.py (its staff
member holds exactly the order permissions); here the refusals, and which action each
permission unlocks.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from accounts.credits import credit_balance, credits_grant, credits_spend_for_order
from accounts.models import User
from tests.conftest import make_staff
from training.links import staff_file_link
from training.models import Headshot, Order, Prediction, Stage, Status

ORDERS = "/admin/training/order/"
ACTIONS = {
    "training.retry_order": "retry_orders",
    "training.cancel_order": "cancel_orders",
    "training.refund_order": "refund_orders",
    "training.delete_order": "delete_orders_with_files",
}


def browser(*permissions: str) -> Client:
    """The browser, in English, of a new staff member holding exactly these permissions."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(make_staff(f"staff-{uuid.uuid4().hex[:8]}@example.com", *permissions))
    return client


@pytest.fixture
def viewer(db: None) -> Client:
    """A staff member who may view orders and nothing more."""
    return browser("training.view_order")


def make_order(user: User, name: str, **fields: Any) -> Order:
    defaults = {"package": "professional", "subject_type": "woman", "status": Status.READY}
    return Order.objects.create(user=user, name=name, **{**defaults, **fields})


def offered(client: Client) -> set[str]:
    page = client.get(ORDERS).content.decode()
    return {action for action in ACTIONS.values() if f'value="{action}"' in page}


@pytest.mark.django_db
def test_it_offers_a_view_only_staff_member_no_action(viewer: Client, alice: User) -> None:
    make_order(alice, "Alpha")

    response = viewer.get(ORDERS)

    assert response.status_code == 200
    assert "Alpha" in response.content.decode()
    assert offered(viewer) == set()
    assert 'name="action"' not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("permission", "action"), ACTIONS.items())
def test_it_offers_each_action_only_with_its_permission(
    alice: User, permission: str, action: str
) -> None:
    make_order(alice, "Alpha")  # the admin shows no actions over an empty list

    assert offered(browser("training.view_order", permission)) == {action}


def forge(client: Client, action: str, order: Order, **extra: str) -> Any:
    data = {"action": action, "_selected_action": [order.pk], "index": "0", **extra}
    return client.post(ORDERS, data, follow=True)


@pytest.mark.django_db
def test_it_refunds_nothing_for_a_view_only_staff_member(viewer: Client, alice: User) -> None:
    credits_grant(user=alice, amount=1, reason="welcome")
    order = make_order(alice, "Alpha", status=Status.FAILED, failure_stage=Stage.TRAINING)
    credits_spend_for_order(user=alice, cost=1, order_uuid=order.uuid)

    response = forge(viewer, "refund_orders", order)

    assert response.status_code == 200
    assert "refunded" not in response.content.decode()
    assert credit_balance(alice) == 0
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_it_cancels_nothing_for_a_view_only_staff_member(viewer: Client, alice: User) -> None:
    order = make_order(alice, "Alpha", status=Status.QUEUED)

    forge(viewer, "cancel_orders", order)

    assert Order.objects.get(pk=order.pk).status == Status.QUEUED
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_it_retries_nothing_for_a_view_only_staff_member(viewer: Client, alice: User) -> None:
    order = make_order(
        alice, "Alpha", status=Status.FAILED, failure_stage=Stage.COMPLETION,
        replicate_version_id="v3rs10n", error="No headshots came out.",
    )  # fmt: skip  # trained, so a retry would make the headshots again at once

    forge(viewer, "retry_orders", order)

    order.refresh_from_db()
    assert (order.status, order.error) == (Status.FAILED, "No headshots came out.")
    assert not LogEntry.objects.exists()


@pytest.fixture
def order_with_files(alice: User) -> Order:
    order = make_order(alice, "Alpha")
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="a portrait")
    Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, content_type="image/png",
        image=default_storage.save(f"headshots/{order.uuid}/0-0.png", ContentFile(b"full")),
        preview=default_storage.save(f"headshots/{order.uuid}/0-0.webp", ContentFile(b"small")),
    )  # fmt: skip
    return order


@pytest.mark.django_db
def test_it_deletes_nothing_for_a_view_only_staff_member(
    viewer: Client, order_with_files: Order
) -> None:
    confirmation = forge(viewer, "delete_orders_with_files", order_with_files)
    response = forge(viewer, "delete_orders_with_files", order_with_files, post="yes")

    assert "Yes, delete them" not in confirmation.content.decode()
    assert "order deleted" not in response.content.decode()
    order = Order.objects.get(pk=order_with_files.pk)
    assert order.deleted_at is None
    assert default_storage.exists(str(order.headshots.get().image.name))


@pytest.mark.django_db
def test_it_shows_images_and_the_dashboard_only_to_staff_who_may_view_orders(
    order_with_files: Order,
) -> None:
    headshot = order_with_files.headshots.get()
    image = staff_file_link(headshot_id=headshot.pk, variant="image")
    nothing = Client()
    nothing.force_login(make_staff("nothing@example.com"))  # staff, but no permission at all

    assert nothing.get(image).status_code == 403
    assert nothing.get("/admin/dashboard/").status_code == 403
    assert "/admin/dashboard/" not in nothing.get("/admin/").content.decode()

    viewer = browser("training.view_order")
    assert viewer.get(image).getvalue() == b"full"
    assert viewer.get("/admin/dashboard/").status_code == 200
    assert "/admin/dashboard/" in viewer.get("/admin/").content.decode()
