"""Retention with time moved forward: face data, headshots (one reminder, one "keep them"),
and temporary files go on schedule; nothing not yet due is ever deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import User
from privacy.models import RetentionDeletion
from training.models import Headshot, Order, Prediction, Status

DELIVERED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def delivered_order(user: User, *, ready_at: datetime = DELIVERED, **fields: Any) -> Order:
    """A ready order with one stored headshot and face descriptors."""
    order = Order.objects.create(
        user=user, name="Perfil", package="professional", subject_type="woman",
        status=Status.READY, ready_at=ready_at, face_embeddings=[[0.1] * 128], **fields,
    )  # fmt: skip
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="p")
    names = [
        default_storage.save(f"headshots/{order.uuid}/{kind}.png", ContentFile(b"img"))
        for kind in ("image", "preview", "jpeg")
    ]
    Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, content_type="image/png",
        image=names[0], preview=names[1], jpeg=names[2],
    )  # fmt: skip
    return order


def running_order(user: User) -> Order:
    """An order making its headshots, with the person's face descriptors."""
    return Order.objects.create(
        user=user, name="R", package="professional", subject_type="man",
        status=Status.GENERATING, face_embeddings=[[0.3] * 128],
    )  # fmt: skip


def cron(at: datetime) -> str:
    out = StringIO()
    with freeze_time(at):
        call_command("cleanup_temp_files", stdout=out)
    return out.getvalue()


def files_of(order: Order) -> list[str]:
    try:
        return default_storage.listdir(f"headshots/{order.uuid}")[1]
    except FileNotFoundError:
        return []


@pytest.mark.django_db
def test_face_data_goes_when_the_order_is_delivered_or_fails(alice: User) -> None:
    ready = delivered_order(alice)
    failed = Order.objects.create(
        user=alice, name="F", package="professional", subject_type="man", status=Status.FAILED,
        failed_at=DELIVERED, face_embeddings=[[0.2] * 128],
    )  # fmt: skip
    running = running_order(alice)

    cron(DELIVERED + timedelta(minutes=5))
    failed_kept = Order.objects.get(pk=failed.pk).face_embeddings  # for a staff retry
    cron(DELIVERED + timedelta(hours=24, minutes=1))  # TEMP_RETENTION_HOURS: its photos' time

    assert Order.objects.get(pk=ready.pk).face_embeddings == []
    assert failed_kept == [[0.2] * 128]
    assert Order.objects.get(pk=failed.pk).face_embeddings == []
    assert Order.objects.get(pk=running.pk).face_embeddings == [[0.3] * 128]
    assert files_of(ready) != []  # the headshots are not due yet
    counted = RetentionDeletion.objects.filter(rule="face_data").order_by("day")
    next_day = (DELIVERED + timedelta(days=1)).date()
    assert [(row.day, row.count) for row in counted] == [(DELIVERED.date(), 1), (next_day, 1)]


@pytest.mark.django_db
@pytest.mark.parametrize("final", [Status.READY, Status.CANCELED])
def test_face_data_goes_the_moment_the_order_ends_without_waiting_for_cron(
    alice: User, final: Status
) -> None:
    order = running_order(alice)

    assert order.move_to(final)

    assert Order.objects.get(pk=order.pk).face_embeddings == []


@pytest.mark.django_db
def test_a_failed_order_keeps_its_face_data_for_a_retry_and_the_page_says_how_long(
    alice: User, client: Client
) -> None:
    order = running_order(alice)

    assert order.move_to(Status.FAILED)

    assert Order.objects.get(pk=order.pk).face_embeddings == [[0.3] * 128]
    page = client.get(reverse("privacy")).content.decode()
    assert "se borran en cuanto te entregamos los retratos." in page
    assert "Si el pedido falla, se guardan con tus fotos" in page
    assert "como mucho 24 horas." in page


@pytest.mark.django_db
def test_a_setting_keeps_face_data_for_some_days_after_the_order_ends(
    alice: User, settings: Any
) -> None:
    settings.FACE_DATA_RETENTION_DAYS = 10
    order = running_order(alice)
    with freeze_time(DELIVERED):
        order.move_to(Status.READY)

    cron(DELIVERED + timedelta(days=9, hours=23))
    kept = Order.objects.get(pk=order.pk).face_embeddings
    cron(DELIVERED + timedelta(days=10, minutes=1))

    assert kept == [[0.3] * 128]
    assert Order.objects.get(pk=order.pk).face_embeddings == []


@pytest.mark.django_db
def test_headshots_go_after_one_reminder_and_never_before(
    alice: User, bob: User, settings: Any
) -> None:
    settings.SITE_URL = "https://headshots.example"
    order = delivered_order(alice)
    later = delivered_order(bob, ready_at=DELIVERED + timedelta(days=30))

    cron(DELIVERED + timedelta(days=82))  # 8 days before: no reminder yet
    assert mail.outbox == []
    cron(DELIVERED + timedelta(days=83, hours=1))  # inside the 7 days
    cron(DELIVERED + timedelta(days=84))  # a second run sends nothing more
    assert len(mail.outbox) == 1
    reminder = mail.outbox[0]
    assert reminder.to == ["alice@example.com"]
    assert f"https://headshots.example/studio/models/{order.uuid}/" in reminder.body
    assert f"https://headshots.example/account/orders/{order.uuid}/keep/" in reminder.body
    assert "se borrarán pronto" in reminder.subject  # Spanish, the person's language
    assert "se borrarán el 30 de mayo de 2026" in reminder.body
    assert files_of(order) != []

    cron(DELIVERED + timedelta(days=90, minutes=1))

    assert files_of(order) == []
    assert not Headshot.objects.filter(order=order).exists()
    assert Order.objects.get(pk=order.pk).headshots_deleted_at is not None
    assert files_of(later) != []
    assert Headshot.objects.filter(order=later).exists()
    day = (DELIVERED + timedelta(days=90)).date()
    assert RetentionDeletion.objects.get(rule="headshots", day=day).count == 1


@pytest.mark.django_db
def test_keep_them_extends_once(client: Client, alice: User, charlie: User) -> None:
    order = delivered_order(alice)
    url = reverse("headshots_keep", kwargs={"order_uuid": order.uuid})
    client.force_login(charlie)
    assert client.post(url).status_code == 404  # not hers to keep
    client.force_login(alice)

    with freeze_time(DELIVERED + timedelta(days=85)):
        page = client.get(url)
        first = client.post(url, follow=True)
        second = client.post(url, follow=True)

    assert "se borrarán el" in page.content.decode()
    assert Order.objects.get(pk=order.pk).headshots_kept_until == DELIVERED + timedelta(days=180)
    assert "más tiempo" in first.content.decode()
    assert "Ya guardaste estos retratos una vez" in second.content.decode()
    cron(DELIVERED + timedelta(days=91))
    assert files_of(order) != []
    cron(DELIVERED + timedelta(days=180, minutes=1))
    assert files_of(order) == []


@pytest.mark.django_db
def test_the_dashboard_shows_what_each_rule_deleted_per_day(
    client: Client, alice: User, staff: User
) -> None:
    delivered_order(alice)
    cron(DELIVERED + timedelta(days=91))
    client.force_login(staff)

    with freeze_time(DELIVERED + timedelta(days=92)):
        page = client.get(reverse("staff_dashboard")).content.decode()

    assert 'id="retention"' in page
    row = page[page.index('id="retention"') :]
    assert "<td>2026-05-31</td><td>retratos</td><td>1</td>" in row
    assert "<td>2026-05-31</td><td>datos faciales</td><td>1</td>" in row


def ask_for_a_code(email: str) -> None:
    """ "Entrar" with an address, in a browser of its own; the code is never entered."""
    Client().post(reverse("account_request_login_code"), {"email": email})


@pytest.mark.django_db
def test_an_address_whose_sign_in_code_was_never_entered_goes_after_two_days(
    alice: User,
) -> None:
    asked = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with freeze_time(asked):
        ask_for_a_code("typo@example.com")
        ask_for_a_code("buyer@example.com")
        ask_for_a_code("blocked@example.com")
        made_by_staff = User.objects.create_user(
            email="staff-made@example.com", password="a-password-staff-chose-42"
        )
        EmailAddress.objects.create(user=made_by_staff, email=made_by_staff.email)
    User.objects.filter(email="blocked@example.com").update(is_active=False)  # staff blocked it
    typo = User.objects.get(email="typo@example.com")  # asking made the account, unconfirmed
    buyer = User.objects.get(email="buyer@example.com")
    Order.objects.create(
        user=buyer, name="P", package="professional", subject_type="man", status=Status.FAILED
    )
    with freeze_time(asked + timedelta(hours=1)):
        ask_for_a_code("late@example.com")

    cron(asked + timedelta(days=1, hours=23))
    kept_early = User.objects.filter(pk=typo.pk).exists()
    cron(asked + timedelta(days=2, minutes=1))

    assert kept_early
    assert not User.objects.filter(pk=typo.pk).exists()
    assert not EmailAddress.objects.filter(email="typo@example.com").exists()
    # Not yet two days old, holding an order, confirmed (alice), blocked by staff (the block
    # stays) or made by staff with a password: kept.
    assert set(User.objects.values_list("email", flat=True)) == {
        "alice@example.com", "buyer@example.com", "late@example.com", "blocked@example.com",
        "staff-made@example.com",
    }  # fmt: skip
    counted = RetentionDeletion.objects.get(rule="unconfirmed")
    assert counted.count == 1


@pytest.mark.django_db
def test_the_order_page_says_until_when_the_headshots_are_kept_and_offers_to_keep_them(
    client: Client, alice: User
) -> None:
    order = delivered_order(alice)  # delivered on 1 March 2026, kept 90 days
    keep = reverse("headshots_keep", kwargs={"order_uuid": order.uuid})
    client.force_login(alice)

    with freeze_time(DELIVERED + timedelta(days=3)):
        before = client.get(order.get_absolute_url()).content.decode()
        client.post(keep)
        after = client.get(order.get_absolute_url()).content.decode()

    assert "Guardamos estos retratos hasta el 30 de mayo de 2026" in before
    assert f'href="{keep}"' in before
    assert "Guardamos estos retratos hasta el 28 de agosto de 2026" in after
    assert f'href="{keep}"' not in after  # kept once already
