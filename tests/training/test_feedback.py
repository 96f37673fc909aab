"""Feedback: favourite headshots (and downloading only those), a 1 to 5 rating with a comment per
order, and the ratings staff read on the dashboard."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone, translation

from accounts.models import User
from training.models import Headshot, Order, OrderRating, Prediction, Status
from training.packages import package_title


def finished_order(user: User, *, images: int = 4, package: str = "professional") -> Order:
    """A ready order with `images` stored headshots (one prompt per two images)."""
    order = Order.objects.create(
        user=user, name="Perfil", package=package, subject_type="woman", status=Status.READY
    )
    for index in range(images):
        prediction, _ = Prediction.objects.get_or_create(
            order=order, prompt_index=index // 2, defaults={"prompt": "p"}
        )
        name = f"headshots/{order.uuid}/{index}.webp"
        default_storage.save(name, ContentFile(f"image {index}".encode()))
        Headshot.objects.create(
            order=order,
            prediction=prediction,
            output_index=index % 2,
            image=name,
            preview=name,
            jpeg=name,
            content_type="image/webp",
        )
    return order


def page(client: Client, order: Order) -> str:
    return client.get(order.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def favourite_url(order: Order, headshot: Headshot) -> str:
    return f"{order.get_absolute_url()}headshots/{headshot.pk}/favourite/"


def rating_url(order: Order) -> str:
    return f"{order.get_absolute_url()}rating/"


# --- Favourites ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_person_marks_and_unmarks_a_favourite(client: Client, alice: User) -> None:
    order = finished_order(alice)
    first = order.headshots.first()
    assert first is not None
    client.force_login(alice)
    assert "Download 1 favourite" not in page(client, order)

    marked = client.post(favourite_url(order, first), {"favourite": "1"})

    assert marked.status_code == 302
    assert marked["Location"].endswith(f"#headshot-{first.pk}")
    shown = page(client, order)
    assert re.search(rf'id="favourite-{first.pk}".*?aria-pressed="true"', shown, re.DOTALL)
    assert "Download 1 favourite" in shown
    client.post(favourite_url(order, first), {"favourite": "0"})
    assert not Headshot.objects.get(pk=first.pk).is_favourite
    assert "Download 1 favourite" not in page(client, order)


@pytest.mark.django_db
def test_htmx_gets_the_new_button_and_the_new_download_link(client: Client, alice: User) -> None:
    order = finished_order(alice)
    headshots = list(order.headshots.all())
    client.force_login(alice)
    client.post(favourite_url(order, headshots[0]), {"favourite": "1"})

    response = client.post(
        favourite_url(order, headshots[1]),
        {"favourite": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    fragment = response.content.decode()
    assert response.status_code == 200
    assert f'id="favourite-{headshots[1].pk}"' in fragment
    assert 'aria-pressed="true"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "Download 2 favourites" in fragment


@pytest.mark.django_db
def test_downloading_favourites_zips_exactly_the_favourites(client: Client, alice: User) -> None:
    order = finished_order(alice)
    headshots = list(order.headshots.select_related("prediction"))
    client.force_login(alice)
    download = f"{order.get_absolute_url()}download/?only=favourites"
    assert client.get(download).status_code == 404  # nothing marked yet
    for chosen in (headshots[0], headshots[3]):
        client.post(favourite_url(order, chosen), {"favourite": "1"})

    response = client.get(download)

    assert response.status_code == 200
    assert "favourites.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    assert archive.namelist() == [headshots[0].download_name, headshots[3].download_name]
    assert archive.read(headshots[3].download_name) == b"image 3"


@pytest.mark.django_db
def test_nobody_marks_or_rates_someone_elses_order(client: Client, alice: User, bob: User) -> None:
    alices = finished_order(alice)
    bobs = finished_order(bob)
    alices_headshot = alices.headshots.first()
    assert alices_headshot is not None
    client.force_login(bob)

    assert (
        client.post(favourite_url(alices, alices_headshot), {"favourite": "1"}).status_code == 404
    )
    assert client.post(favourite_url(bobs, alices_headshot), {"favourite": "1"}).status_code == 404
    assert client.post(rating_url(alices), {"stars": "1"}).status_code == 404
    assert not Headshot.objects.filter(is_favourite=True).exists()
    assert not OrderRating.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "yes", "2"])
def test_a_favourite_needs_one_or_zero(client: Client, alice: User, value: str) -> None:
    order = finished_order(alice)
    headshot = order.headshots.first()
    assert headshot is not None
    client.force_login(alice)

    response = client.post(favourite_url(order, headshot), {"favourite": value})

    assert response.status_code == 400
    assert not Headshot.objects.filter(is_favourite=True).exists()


# --- Ratings ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rating_is_saved_shown_and_can_be_changed(client: Client, alice: User) -> None:
    order = finished_order(alice)
    client.force_login(alice)

    sent = client.post(rating_url(order), {"stars": "4", "comment": "  Muy naturales  "})

    assert sent.status_code == 302
    assert sent["Location"].endswith("#rating")
    rating = OrderRating.objects.get(order=order)
    assert (rating.stars, rating.comment) == (4, "Muy naturales")
    shown = page(client, order)
    assert "you gave this order 4 of 5 stars" in shown
    assert re.search(r'value="4"[^>]*checked', shown)
    assert re.search(r">\s*Muy naturales</textarea>", shown)
    client.post(rating_url(order), {"stars": "2", "comment": ""})
    assert list(OrderRating.objects.values_list("stars", "comment")) == [(2, "")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"stars": "0"}, "Choose from 1 to 5 stars."),
        ({"stars": "6"}, "Choose from 1 to 5 stars."),
        ({"stars": "abc"}, "Choose from 1 to 5 stars."),
        ({"comment": "no stars"}, "Choose from 1 to 5 stars."),
        ({"stars": "3", "comment": "x" * 1001}, "at most 1000 characters"),
    ],
    ids=["zero", "six", "text", "missing", "long-comment"],
)
def test_a_bad_rating_is_explained_in_the_page_and_not_saved(
    client: Client, alice: User, form: dict[str, str], message: str
) -> None:
    order = finished_order(alice)
    client.force_login(alice)

    response = client.post(rating_url(order), form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not OrderRating.objects.exists()


@pytest.mark.django_db
def test_an_order_in_progress_cannot_be_rated(client: Client, alice: User) -> None:
    order = finished_order(alice, images=0)
    Order.objects.filter(pk=order.pk).update(status=Status.TRAINING)
    client.force_login(alice)

    response = client.post(
        rating_url(order), {"stars": "5"}, HTTP_ACCEPT_LANGUAGE="en", follow=True
    )

    assert "You can rate an order once its headshots are ready." in response.content.decode()
    assert not OrderRating.objects.exists()


# --- The dashboard ------------------------------------------------------------------------------


def rate(order: Order, stars: int, comment: str = "", *, weeks_ago: int = 0) -> None:
    rating = OrderRating.objects.create(order=order, stars=stars, comment=comment)
    when = timezone.now() - timedelta(weeks=weeks_ago)
    OrderRating.objects.filter(pk=rating.pk).update(updated_at=when)


def table(html: str, css_class: str) -> list[list[str]]:
    """The body rows of a table of the page, as lists of cell texts."""
    body = re.search(rf'<table class="{css_class}">.*?<tbody>(.*?)</tbody>', html, re.DOTALL)
    assert body, css_class
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
        ]
        for row in rows
    ]


@pytest.mark.django_db
def test_staff_see_ratings_per_package_per_week_and_the_worst_with_comments(
    client: Client, alice: User, bob: User, staff: User, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"
    rate(finished_order(alice, images=0), 5, "Great", weeks_ago=0)
    rate(finished_order(alice, images=0), 4, weeks_ago=0)
    rate(finished_order(bob, images=0), 1, "They do not look like me", weeks_ago=2)
    rate(finished_order(bob, images=0), 2, "Too smooth", weeks_ago=2)
    rate(finished_order(bob, images=0), 1, weeks_ago=20)  # too old for the weeks; no comment
    rate(finished_order(alice, images=0, package="coming-soon"), 3, "Fine", weeks_ago=0)
    client.force_login(staff)

    html = client.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    by_package = {row[0]: row[1:] for row in table(html, "ratings-by-package")}
    with translation.override("en"):
        professional, coming_soon = package_title("professional"), package_title("coming-soon")
    assert by_package == {
        str(professional): ["5", f"{(5 + 4 + 1 + 2 + 1) / 5:.2f}"],
        str(coming_soon): ["1", "3.00"],
    }
    weeks = table(html, "ratings-by-week")
    assert [row[1:] for row in weeks] == [["3", "4.00"], ["2", "1.50"]]
    lowest = table(html, "lowest-ratings")
    assert [(row[0], row[1], row[2]) for row in lowest] == [
        ("1", "They do not look like me", "bob@example.com"),
        ("2", "Too smooth", "bob@example.com"),
        ("3", "Fine", "alice@example.com"),
        ("5", "Great", "alice@example.com"),
    ]


@pytest.mark.django_db
def test_people_who_are_not_staff_do_not_see_the_dashboard(client: Client, alice: User) -> None:
    rate(finished_order(alice, images=0), 1, "Secret complaint")
    client.force_login(alice)

    response = client.get("/admin/dashboard/")

    assert response.status_code == 302
    assert "Secret complaint" not in response.content.decode()
