"""Following an order in a real browser: when it is ready the whole page follows (no cancel
button, no "we received your photos" left beside the gallery), and the gallery's lightbox works
from the keyboard: open, next, favourite, close, focus back where it was.
On a desktop in Spanish and a phone in English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, ViewportSize, expect

from accounts.models import User
from tests.conftest import make_user
from tests.training.ordering import place_order
from training.models import Headshot

CASES = [
    (
        ViewportSize(width=1280, height=900),
        "es-ES",
        {"cancel": "Cancelar este pedido", "received": "Hemos recibido"},
    ),
    (
        ViewportSize(width=390, height=844),
        "en-US",
        {"cancel": "Cancel this order", "received": "We received"},
    ),
]


@pytest.fixture
def erin(transactional_db: None) -> User:
    return make_user("erin@example.com")


@pytest.mark.parametrize(("viewport", "locale", "words"), CASES, ids=["desktop-es", "phone-en"])
def test_it_refreshes_the_whole_status_and_browses_the_gallery_by_keyboard(
    browser: Browser,
    live_server: Any,
    replicate: Any,
    erin: User,
    tmp_path: Path,
    settings: Any,
    viewport: ViewportSize,
    locale: str,
    words: dict[str, str],
) -> None:
    replicate.state.config.training_seconds = 4  # long enough to see the order in progress
    order = place_order(erin, tmp_path / "uploads", settings)
    client = Client()
    client.force_login(erin)
    context = browser.new_context(locale=locale, viewport=viewport)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    expect(page.get_by_text(words["cancel"])).to_be_visible()
    page.evaluate("window.loadedWhileInProgress = true")

    thumbnails = page.locator("#order-live .gallery a[data-lightbox]")
    expect(thumbnails).to_have_count(4, timeout=40_000)
    assert page.evaluate("window.loadedWhileInProgress === undefined")  # the page was reloaded
    expect(page.get_by_text(words["cancel"])).to_have_count(0)
    expect(page.locator("#order-live")).not_to_contain_text(words["received"])
    if viewport["width"] < 500:  # a phone: two headshots a row, nothing wider than the screen
        tops = [box["y"] for box in (t.bounding_box() for t in thumbnails.all()[:2]) if box]
        assert len(tops) == 2
        assert tops[0] == tops[1]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    thumbnails.first.focus()
    page.keyboard.press("Enter")
    lightbox = page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(page.locator("#lightbox-caption")).to_contain_text("1 / 4")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#lightbox-caption")).to_contain_text("2 / 4")
    expect(page.locator("#lightbox-image")).to_have_attribute(
        "src", re.compile(r"variant=image|/image")
    )
    second = Headshot.objects.get(pk=int(thumbnails.nth(1).get_attribute("data-headshot") or 0))
    page.locator("#lightbox-favourite").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lightbox-favourite")).to_have_attribute("aria-pressed", "true")
    assert Headshot.objects.get(pk=second.pk).is_favourite
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    assert page.evaluate(
        "document.activeElement === document.querySelector('#order-live .gallery a[data-lightbox]')"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()
