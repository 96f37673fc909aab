"""The staff console for orders: find them, look inside, retry, cancel, refund, delete with files.

Staff read the console in English here (Accept-Language), so the assertions do not depend on
which strings have been translated yet.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.credits import credit_balance, credits_grant, credits_spend_for_order
from accounts.models import CreditMovement, User
from tests.conftest import make_staff
from tests.training.ordering import emulator_state, place_order, reaches
from training.links import staff_file_link
from training.models import (
    Headshot,
    Order,
    Prediction,
    Stage,
    Status,
    TrainingEvent,
    WebhookDelivery,
)

ORDERS = "/admin/training/order/"


CONSOLE_PERMISSIONS = (
    "training.view_order", "training.retry_order", "training.cancel_order",
    "training.refund_order", "training.delete_order", "training.view_webhookdelivery",
)  # fmt: skip


@pytest.fixture
def console(transactional_db: None) -> Client:
    """The browser, in English, of a staff member (not a superuser) allowed every order action."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(make_staff("staff@example.com", *CONSOLE_PERMISSIONS))
    return client


def make_order(user: User, name: str, **fields: Any) -> Order:
    defaults = {"package": "professional", "subject_type": "woman", "status": Status.READY}
    return Order.objects.create(user=user, name=name, **{**defaults, **fields})


def act(client: Client, action: str, *orders: Order, **extra: str) -> Any:
    selected = [order.pk for order in orders]
    data = {"action": action, "_selected_action": selected, **extra}
    return client.post(ORDERS, data, follow=True)


def listed(response: Any) -> set[str]:
    assert response.status_code == 200
    return {order.name for order in response.context["cl"].result_list}


def test_it_filters_orders_by_status_failure_stage_package_and_date(
    console: Client, alice: User, bob: User
) -> None:
    make_order(alice, "Alpha", status=Status.FAILED, failure_stage=Stage.COMPLETION)
    make_order(alice, "Bravo", status=Status.FAILED, failure_stage=Stage.TRAINING)
    make_order(bob, "Charlie", package="coming-soon")
    old = make_order(bob, "Delta")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    last_week = {  # as the admin's "Past 7 days" link has them
        "created_at__gte": str(today - timedelta(days=7)),
        "created_at__lt": str(today + timedelta(days=1)),
    }

    assert listed(console.get(ORDERS, {"status": "failed"})) == {"Alpha", "Bravo"}
    assert listed(console.get(ORDERS, {"failure_stage": "completion"})) == {"Alpha"}
    assert listed(console.get(ORDERS, {"package": "coming-soon"})) == {"Charlie"}
    assert listed(console.get(ORDERS, last_week)) == {"Alpha", "Bravo", "Charlie"}
    assert listed(console.get(ORDERS)) == {"Alpha", "Bravo", "Charlie", "Delta"}


def test_it_finds_orders_by_email_name_and_uuid(console: Client, alice: User, bob: User) -> None:
    make_order(alice, "Alpha")
    bravo = make_order(bob, "Bravo")

    assert listed(console.get(ORDERS, {"q": "alice@example"})) == {"Alpha"}
    assert listed(console.get(ORDERS, {"q": "bravo"})) == {"Bravo"}
    assert listed(console.get(ORDERS, {"q": str(bravo.uuid)})) == {"Bravo"}
    assert listed(console.get(ORDERS, {"q": "nobody@example.com"})) == set()


@pytest.fixture
def trained_order(alice: User) -> Order:
    """A ready order with its history: an event, a prediction on Replicate and one headshot."""
    order = make_order(
        alice,
        "Alpha",
        replicate_training_id="tr4in1ng",
        replicate_model_id="headshots-owner/headshots-alpha",
        replicate_version_id="v3rs10n",
    )
    TrainingEvent.objects.create(
        order=order, stage=Stage.TRAINING, status=TrainingEvent.Outcome.SUCCESS, duration=61.5
    )
    prediction = Prediction.objects.create(
        order=order, prompt_index=0, prompt="a portrait", replicate_prediction_id="pr3d1ct10n",
        status=Prediction.State.SUCCEEDED,
    )  # fmt: skip
    Headshot.objects.create(
        order=order,
        prediction=prediction,
        output_index=0,
        image=default_storage.save(f"headshots/{order.uuid}/0-0.png", ContentFile(b"full")),
        preview=default_storage.save(f"headshots/{order.uuid}/0-0.webp", ContentFile(b"small")),
        content_type="image/png",
    )
    return order


def headshot_url(order: Order, variant: str) -> str:
    headshot = order.headshots.get()
    return staff_file_link(headshot_id=headshot.pk, variant=variant)


def test_it_shows_events_predictions_thumbnails_and_links_to_replicate(
    console: Client, trained_order: Order
) -> None:
    response = console.get(reverse("admin:training_order_change", args=(trained_order.pk,)))

    assert response.status_code == 200
    page = response.content.decode()
    assert "61.5" in page  # the training event
    for url in [
        "https://replicate.com/p/tr4in1ng",
        "https://replicate.com/headshots-owner/headshots-alpha",
        "https://replicate.com/p/pr3d1ct10n",
    ]:
        assert f'<a href="{url}" target="_blank" rel="noopener">' in page, url
    assert ">tr4in1ng</a>" in page  # the id itself, as Replicate names it
    # The thumbnail's signed link (its signature carries the second it was made, so compare
    # the path and open the link the page gave).
    path = headshot_url(trained_order, "preview").split("?")[0]
    shown = re.search(rf'src="({re.escape(path)}\?t=[^"]+)"', page)
    assert shown
    assert console.get(shown.group(1)).getvalue() == b"small"
    assert 'name="replicate_training_id"' not in page  # read-only, not a field to edit


def test_it_shows_staff_any_order_s_images(console: Client, trained_order: Order) -> None:
    preview = console.get(headshot_url(trained_order, "preview"))
    image = console.get(headshot_url(trained_order, "image"))

    assert (preview.status_code, preview.getvalue(), preview["Content-Type"]) == (
        200, b"small", "image/webp",
    )  # fmt: skip
    assert (image.status_code, image.getvalue()) == (200, b"full")
    assert console.get(headshot_url(trained_order, "other")).status_code == 404


def test_it_redirects_staff_to_a_presigned_url_when_images_are_on_s3(
    console: Client, alice: User, s3_storage: str
) -> None:
    order = make_order(alice, "Alpha")
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="a portrait")
    headshot = Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, content_type="image/png",
        image=default_storage.save("headshots/a.png", ContentFile(b"full")),
        preview=default_storage.save("headshots/a.webp", ContentFile(b"small")),
    )  # fmt: skip

    response = console.get(staff_file_link(headshot_id=headshot.pk, variant="preview"))

    assert response.status_code == 302
    assert f"/{s3_storage}/headshots/a.webp?" in response["Location"]
    assert "Signature" in response["Location"]


def test_it_keeps_people_who_are_not_staff_out(
    client: Client, trained_order: Order, alice: User
) -> None:
    client.force_login(alice)  # the owner of the order, but not staff

    for url in [ORDERS, headshot_url(trained_order, "preview"), "/admin/training/webhookdelivery/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]
    client.post(
        ORDERS,
        {
            "action": "delete_orders_with_files",
            "_selected_action": [trained_order.pk],
            "post": "yes",
        },
    )
    assert Order.objects.filter(pk=trained_order.pk, deleted_at__isnull=True).exists()


def test_it_refunds_an_order_once(console: Client, alice: User, bob: User) -> None:
    credits_grant(user=alice, amount=1, reason="welcome")
    paid = make_order(alice, "Alpha")
    credits_spend_for_order(user=alice, cost=1, order_uuid=paid.uuid)
    free = make_order(bob, "Bravo")

    first = act(console, "refund_orders", paid, free)
    second = act(console, "refund_orders", paid)

    assert "1 order refunded." in first.content.decode()
    assert "1 order had nothing to refund" in first.content.decode()
    assert "1 order had nothing to refund" in second.content.decode()
    refunds = CreditMovement.objects.filter(kind=CreditMovement.Kind.REFUND)
    assert [(r.user, r.order_uuid, r.amount) for r in refunds] == [(alice, paid.uuid, 1)]
    assert credit_balance(alice) == 1


def test_it_does_not_cancel_a_finished_order(console: Client, alice: User) -> None:
    order = make_order(alice, "Alpha")

    response = act(console, "cancel_orders", order)

    assert "Not canceled (already finished): Alpha" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Status.READY


def test_it_offers_no_plain_delete_that_would_leave_files_behind(
    console: Client, trained_order: Order
) -> None:
    changelist = console.get(ORDERS).content.decode()
    change_url = reverse("admin:training_order_change", args=(trained_order.pk,))

    assert 'value="delete_selected"' not in changelist
    assert 'value="delete_orders_with_files"' in changelist
    assert console.post(f"{change_url}delete/", {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=trained_order.pk).exists()


def test_it_cancels_an_order_here_and_on_replicate_and_refunds_it(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, console: Client
) -> None:
    replicate.state.config.training_seconds = 60.0  # still training when staff cancel it
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.TRAINING)
    assert credit_balance(dora) == 0

    response = act(console, "cancel_orders", order)

    assert "1 order canceled." in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Status.CANCELED
    assert credit_balance(dora) == 1
    [training] = emulator_state(replicate)["trainings"]
    assert training["status"] == "canceled"


def test_it_deletes_an_order_with_its_files_and_its_model_after_confirmation(
    replicate: Any, dora: User, tmp_path: Path, settings: Any, console: Client
) -> None:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)
    assert order.status == Status.READY, order.error_detail
    files = [str(name) for h in order.headshots.all() for name in (h.image.name, h.preview.name)]
    assert len(files) == 8
    assert all(default_storage.exists(name) for name in files)

    confirmation = act(console, "delete_orders_with_files", order)

    assert "Yes, delete them" in confirmation.content.decode()
    assert Order.objects.filter(pk=order.pk, deleted_at__isnull=True).exists()

    response = act(console, "delete_orders_with_files", order, post="yes")

    assert "1 order deleted" in response.content.decode()
    kept = Order.objects.get(pk=order.pk)  # an anonymous record for the figures and accounts
    assert (kept.user, kept.name, kept.status) == (None, "", Status.READY)
    assert not any(default_storage.exists(name) for name in files)
    assert order.replicate_model_id not in emulator_state(replicate)["models"]


def test_it_shows_webhook_deliveries_but_lets_nobody_change_them(console: Client) -> None:
    completed = timezone.now() - timedelta(seconds=5)
    delivery = WebhookDelivery.objects.create(
        webhook_id="msg_2a", object_id="tr4in1ng", event_status="succeeded",
        event_completed_at=completed, processed_at=completed + timedelta(seconds=2.5),
        outcome=WebhookDelivery.Outcome.APPLIED,
    )  # fmt: skip
    deliveries = "/admin/training/webhookdelivery/"
    change_url = f"{deliveries}{delivery.pk}/change/"

    listing = console.get(deliveries)

    assert listing.status_code == 200
    page = listing.content.decode()
    assert "msg_2a" in page
    assert "tr4in1ng" in page
    assert "2.5" in page  # the latency, in seconds
    assert f"{deliveries}add/" not in page
    assert 'value="delete_selected"' not in page
    assert 'name="_save"' not in console.get(change_url).content.decode()
    assert console.get(f"{deliveries}add/").status_code == 403
    assert console.post(change_url, {"outcome": "ignored"}).status_code == 403
    assert console.post(f"{deliveries}{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookDelivery.objects.get().outcome == WebhookDelivery.Outcome.APPLIED
