"""The landing page sells what an order really gives: the number of headshots and the styles
from the catalogue and the settings, the time from delivered orders, the price from the
settings, an example picture per style; signed in, it shows the person's own orders."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from payments.packs import parse_packs
from tests.conftest import TEST_PACKS, make_user
from training.models import Order, Status
from training.styles import STYLES

pytestmark = pytest.mark.django_db

STATIC_DIR = Path(django_settings.BASE_DIR) / "static"


def fact(html: str, name: str) -> str:
    """The text of one of the page's facts (`data-fact`), tags and spacing removed."""
    found = re.search(rf'<(li|ul)[^>]*data-fact="{name}">(.*?)</\1>', html, re.S)
    assert found, f"no fact {name!r} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def landing(client: Client, language: str = "en") -> str:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def delivered(hours_ago: int, minutes: int, number: int) -> Order:
    """A ready order that took `minutes` from order to gallery: a minute in the queue, the
    training, then four minutes of headshots."""
    user = make_user(f"delivered{number}@example.com")
    order = Order.objects.create(user=user, name="x", package="professional", subject_type="man")
    created = timezone.now() - timedelta(hours=hours_ago)
    Order.objects.filter(pk=order.pk).update(
        status=Status.READY,
        created_at=created,
        training_started_at=created + timedelta(minutes=1),
        training_finished_at=created + timedelta(minutes=minutes - 4),
        ready_at=created + timedelta(minutes=minutes),
    )
    return order


def test_it_counts_the_headshots_and_styles_an_order_gives(client: Client, settings: Any) -> None:
    settings.ORDER_STYLES = ["grey-studio", "library", "warm-cafe"]
    settings.HEADSHOTS_PER_STYLE = 3
    html = landing(client)

    assert fact(html, "headshots") == "9 headshots"
    assert fact(html, "styles") == "3 styles"
    shown = re.findall(r'<li data-style="([a-z-]+)">', html)
    assert shown == ["grey-studio", "library", "warm-cafe"]


def test_every_style_of_the_catalogue_has_its_example_picture(
    client: Client, settings: Any
) -> None:
    settings.ORDER_STYLES = []  # the whole catalogue
    html = landing(client)

    for style in STYLES:
        assert (STATIC_DIR / "examples" / f"{style.slug}.webp").is_file(), (
            f"no example for {style.slug}: run bin/make-example-images"
        )
        assert f"/static/examples/{style.slug}." in html
    assert html.count('<span class="badge">Example</span>') == len(STYLES)


def test_the_time_is_the_setting_until_enough_orders_were_delivered(
    client: Client, settings: Any
) -> None:
    settings.TYPICAL_ORDER_MINUTES = 45
    for number, minutes in enumerate((20, 22, 26, 90)):  # four: too few to measure
        delivered(hours_ago=5, minutes=minutes, number=number)

    assert fact(landing(client), "time") == "about 45 minutes from upload to gallery"


def test_the_time_is_the_median_of_recently_delivered_orders(client: Client, settings: Any) -> None:
    settings.TYPICAL_ORDER_MINUTES = 45
    for number, minutes in enumerate((20, 22, 25, 26, 90)):
        delivered(hours_ago=5, minutes=minutes, number=number)
    delivered(hours_ago=24 * 40, minutes=600, number=9)  # older than the window: not counted

    text = fact(landing(client), "time")
    assert text == "about 25 minutes from upload to gallery, the median of recent orders"


def test_the_price_comes_from_the_credit_cost(client: Client, settings: Any) -> None:
    settings.TRAINING_CREDIT_COST = 0
    assert fact(landing(client), "price") == "Free no payment needed"
    settings.TRAINING_CREDIT_COST = 2
    assert fact(landing(client), "price") == "2 credits per order"
    assert fact(landing(client, "es"), "price") == "2 créditos por pedido"


def test_with_packs_on_sale_it_says_what_credits_cost_in_money(
    client: Client, settings: Any
) -> None:
    settings.CREDIT_PACKS = parse_packs(TEST_PACKS)
    settings.PAYMENTS_ENABLED = True
    settings.TRAINING_CREDIT_COST = 1

    spanish = fact(landing(client, "es"), "packs")
    english = fact(landing(client, "en"), "packs")

    assert "1 sesión: 1 crédito por 19,00 €" in spanish
    assert "3 sesiones: 3 créditos por" in spanish
    assert "1 session: 1 credit for €19.00" in english
    settings.TRAINING_CREDIT_COST = 0  # free orders: nothing to sell
    assert 'data-fact="packs"' not in landing(client)


def test_it_speaks_spanish(client: Client, settings: Any) -> None:
    settings.ORDER_STYLES = ["grey-studio", "library"]
    settings.HEADSHOTS_PER_STYLE = 4
    html = landing(client, "es")

    assert fact(html, "headshots") == "8 retratos"
    assert "¿Puedo borrarlo todo?" in html
    assert "Ejemplo del estilo" in html


def test_signed_in_it_shows_the_person_s_orders_and_the_way_to_new_ones(
    client: Client,
) -> None:
    dana = make_user("dana@example.com")
    other = make_user("other@example.com")
    Order.objects.create(user=dana, name="Mi perfil", package="professional", subject_type="woman")
    Order.objects.create(user=other, name="Ajeno", package="professional", subject_type="man")
    client.force_login(dana)
    html = landing(client, "es")

    assert "Mi perfil" in html
    assert "Ajeno" not in html
    assert 'href="/studio/"' in html
    assert "Crear mis retratos" in html
    assert "Get started" not in html
    assert "Empieza" not in html


def test_signed_in_without_orders_it_says_what_comes_next(client: Client) -> None:
    client.force_login(make_user("new@example.com"))
    html = landing(client, "en")

    assert "You have no orders yet." in html
    assert "Create my headshots" in html
