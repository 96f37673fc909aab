"""Delete my account: every object and row that names the person goes, on S3 and on Replicate
(the emulator); the accounting rows stay anonymous; a failure half-way is finished later; the
person cannot sign back in; another person's data is untouched."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import ApiToken, CreditMovement, User
from accounts.tokens import token_create
from payments.models import Purchase, PurchaseState
from privacy.erasure import (
    ERASURE_LEASE,
    account_erase,
    account_erasure_request,
    unfinished_erasures,
)
from privacy.models import AccountErasure
from tests.accounts.test_sign_in import CODE_LINE
from tests.conftest import break_storage
from tests.training.ordering import emulator_state, place_order, reaches
from training.models import Headshot, Order, OrderRating, Prediction, Status

ACCOUNT = reverse("privacy_account")
DELETE = reverse("privacy_account_delete")


def bucket_keys(bucket: str, s3_server: str) -> list[str]:
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    listing = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def someone_elses_order(user: User) -> Order:
    """Charlie's delivered order with a stored headshot: it must survive Dora's erasure."""
    order = Order.objects.create(
        user=user, name="Charlie", package="professional", subject_type="man",
        status=Status.READY, face_embeddings=[[0.5] * 128],
    )  # fmt: skip
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="p")
    name = default_storage.save(f"headshots/{order.uuid}/c.png", ContentFile(b"charlie"))
    Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, image=name, content_type="image/png"
    )
    return order


def test_it_erases_everything_of_the_person_and_keeps_the_accounts_anonymous(
    client: Client, replicate: Any, dora: User, charlie: User, tmp_path: Path,
    settings: Any, s3_storage: str, s3_server: str,
) -> None:  # fmt: skip
    theirs = someone_elses_order(charlie)
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY)
    assert order.status == Status.READY, order.error_detail
    OrderRating.objects.create(order=order, stars=4, comment="Me encanta, soy Dora")
    order.headshots.update(is_favourite=True)
    default_storage.save(f"uploads/{dora.pk}/unused.zip", ContentFile(b"zip"))
    # Photos kept for "continue without the refused ones", and a pack she bought.
    default_storage.save(f"held-photos/{dora.pk}/a1b2/selfie1.jpg", ContentFile(b"jpg"))
    purchase = Purchase.objects.create(
        user=dora, email=dora.email, pack_slug="one", pack_name_es="1 sesión",
        pack_name_en="1 session", credits=1, amount_cents=1900, currency="eur",
        state=PurchaseState.PAID,
    )  # fmt: skip
    token_create(user=dora, name="script")
    model = order.replicate_model_id
    assert model in emulator_state(replicate)["models"]
    assert any(
        key.startswith(f"headshots/{order.uuid}/") for key in bucket_keys(s3_storage, s3_server)
    )
    other_browser = Client()
    other_browser.force_login(dora)
    client.force_login(dora)
    page = client.get(ACCOUNT).content.decode()
    assert "1 pedido" in page
    assert "1 token de API" in page

    response = client.post(DELETE, {"email": "DORA@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    keys = bucket_keys(s3_storage, s3_server)
    assert [key for key in keys if str(order.uuid) in key or f"/{dora.pk}/" in key] == []
    assert any(key.startswith(f"headshots/{theirs.uuid}/") for key in keys)
    assert model not in emulator_state(replicate)["models"]
    assert not User.objects.filter(email="dora@example.com").exists()
    assert not EmailAddress.objects.filter(email="dora@example.com").exists()
    assert not ApiToken.objects.filter(name="script").exists()
    assert not any(
        session.get_decoded().get("_auth_user_id") == str(dora.pk)
        for session in Session.objects.all()
    )
    kept = Order.objects.get(pk=order.pk)
    assert (kept.user, kept.name, kept.face_embeddings) == (None, "", [])
    assert (kept.status, kept.package, kept.cost) == (Status.READY, "professional", order.cost)
    assert not kept.headshots.exists()
    assert OrderRating.objects.get(order=kept).comment == ""
    assert CreditMovement.objects.filter(user__isnull=True, order_uuid=order.uuid).exists()
    paid = Purchase.objects.get(pk=purchase.pk)  # kept for the accounts, without her address
    assert (paid.user, paid.email, paid.amount_cents) == (None, "", 1900)
    assert Order.objects.get(pk=theirs.pk).face_embeddings == [[0.5] * 128]
    assert [message.to for message in mail.outbox][-1] == ["dora@example.com"]
    assert mail.outbox[-1].subject == "Hemos borrado tu cuenta"
    assert client.get(ACCOUNT).status_code == 302  # signed out
    assert other_browser.get(ACCOUNT).status_code == 302  # everywhere
    assert client.get(order.get_absolute_url()).status_code == 302


@pytest.mark.django_db
def test_asking_twice_starts_one_erasure_and_the_admins_history_forgets_the_name(
    alice: User, staff: User
) -> None:
    order = someone_elses_order(alice)
    LogEntry.objects.log_actions(
        user_id=staff.pk, queryset=[order], action_flag=CHANGE, change_message="renamed"
    )

    first = account_erasure_request(user=alice)
    second = account_erasure_request(user=User.objects.get(pk=alice.pk))
    account_erase(erasure_id=first.pk)
    account_erase(erasure_id=first.pk)

    assert first.pk == second.pk
    assert AccountErasure.objects.count() == 1
    assert LogEntry.objects.get().object_repr == str(order.uuid)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_wrong_confirmation_deletes_nothing(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.post(DELETE, {"email": "someone@example.com"})

    assert response.status_code == 422
    assert "No es la dirección de esta cuenta. No hemos borrado nada." in response.content.decode()
    assert User.objects.get(pk=alice.pk).is_active
    assert not AccountErasure.objects.exists()


@pytest.mark.django_db
def test_only_a_signed_in_post_deletes(client: Client, alice: User) -> None:
    assert client.post(DELETE, {"email": "alice@example.com"}).status_code == 302
    client.force_login(alice)
    assert client.get(DELETE).status_code == 405
    assert User.objects.get(pk=alice.pk).is_active


@pytest.mark.django_db(transaction=True)
def test_a_failure_half_way_is_finished_later_and_the_person_cannot_sign_in(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    from tests.conftest import make_user

    erin = make_user("erin@example.com")
    order = someone_elses_order(erin)
    stored = [str(h.image.name) for h in order.headshots.all()]
    working_storage = settings.STORAGES
    client.force_login(erin)
    break_storage(settings, tmp_path)  # storage is down when the worker starts

    client.post(DELETE, {"email": "erin@example.com"})

    erasure = AccountErasure.objects.get()
    assert erasure.finished_at is None
    assert erasure.attempts == 1
    assert User.objects.filter(pk=erin.pk, is_active=False).exists()
    assert mail.outbox == []  # no goodbye before everything is gone
    signin = Client()
    signin.post(reverse("account_request_login_code"), {"email": "erin@example.com"})
    codes = [m.group(1) for msg in mail.outbox if (m := CODE_LINE.search(str(msg.body)))]
    for code in codes:  # should a code go out, it opens nothing
        signin.post(reverse("account_confirm_login_code"), {"code": code})
    mail.outbox.clear()
    assert signin.get(ACCOUNT).status_code == 302

    settings.STORAGES = working_storage
    call_command("cleanup_temp_files", stdout=StringIO())  # cron resumes the erasure

    assert AccountErasure.objects.get().finished_at is not None
    assert AccountErasure.objects.get().email == ""
    assert not User.objects.filter(pk=erin.pk).exists()
    assert not any(default_storage.exists(name) for name in stored)
    assert Order.objects.get(pk=order.pk).user is None
    assert [message.to for message in mail.outbox] == [["erin@example.com"]]
    call_command("cleanup_temp_files", stdout=StringIO())
    assert len(mail.outbox) == 1  # done once


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_erasure_send_one_goodbye() -> None:
    from tests.conftest import make_user, run_at_once

    frank = make_user("frank@example.com")
    for _ in range(3):
        someone_elses_order(frank)
    erasure = account_erasure_request(user=frank)

    outcomes = run_at_once(lambda: account_erase(erasure_id=erasure.pk), times=3)

    assert AccountErasure.objects.get().finished_at is not None
    assert not User.objects.filter(pk=frank.pk).exists()
    assert [message.to for message in mail.outbox] == [["frank@example.com"]]
    assert True in outcomes  # one of them did it; the others found it taken or done


@pytest.mark.django_db
def test_cron_leaves_an_erasure_under_way_alone_until_its_worker_is_lost(alice: User) -> None:
    erasure = account_erasure_request(user=alice)
    assert erasure.claim(lease=ERASURE_LEASE)  # a worker is on it

    assert unfinished_erasures() == []
    with freeze_time(timezone.now() + ERASURE_LEASE + timedelta(seconds=1)):  # it died
        assert unfinished_erasures() == [erasure.pk]
        assert account_erase(erasure_id=erasure.pk)

    assert AccountErasure.objects.get().finished_at is not None


@pytest.mark.django_db
def test_a_worker_whose_lease_ran_out_can_neither_finish_nor_free_the_erasure(
    alice: User,
) -> None:
    erasure = account_erasure_request(user=alice)
    started = timezone.now()
    with freeze_time(started):
        first = erasure.claim(lease=ERASURE_LEASE)
    with freeze_time(started + ERASURE_LEASE + timedelta(minutes=1)):  # the first seems lost
        second = erasure.claim(lease=ERASURE_LEASE)
        assert first is not None
        assert second is not None

        assert erasure.renew(first, lease=ERASURE_LEASE) is None
        erasure.release(first)
        assert not erasure.finish(first)
        assert erasure.claim(lease=ERASURE_LEASE) is None  # still the second worker's
        assert erasure.finish(second)

    assert AccountErasure.objects.get().finished_at is not None
