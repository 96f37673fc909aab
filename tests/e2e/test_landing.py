"""The landing page and the photo guide in a real browser, on a desktop and on a phone, in
Spanish and English: the offer's figures, every example picture loaded, no sideways scrolling,
and the good and bad photo examples above the photo picker."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from accounts.models import User
from tests.conftest import make_user
from tests.e2e.conftest import signed_in_context
from training.styles import STYLES

VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
LANGUAGES = {
    "es": ("es-ES", "40 retratos", "10 estilos"),
    "en": ("en-GB", "40 headshots", "10 styles"),
}


def scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def broken_images(page: Page, selector: str) -> list[str]:
    """The sources of the images under `selector` that do not load (or load empty).

    They are lazy: asked for at once here, as scrolling past each of them would.
    """
    page.evaluate(
        "(selector) => document.querySelectorAll(selector).forEach((image) => {"
        " image.loading = 'eager'; })",
        selector,
    )
    page.wait_for_function(
        "(selector) => [...document.querySelectorAll(selector)].every((image) => image.complete)",
        arg=selector,
        timeout=15_000,
    )
    return list(
        page.evaluate(
            "(selector) => [...document.querySelectorAll(selector)]"
            ".filter((image) => !image.naturalWidth).map((image) => image.src)",
            selector,
        )
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_landing_shows_the_offer_and_every_style(
    browser: Browser, live_server: Any, settings: Any, viewport: str, language: str
) -> None:
    settings.ORDER_STYLES = []
    settings.HEADSHOTS_PER_STYLE = 4
    locale, headshots, styles = LANGUAGES[language]
    context = browser.new_context(locale=locale, viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(f"{live_server.url}/")

    expect(page.locator("[data-fact=headshots]")).to_have_text(headshots)
    expect(page.locator("[data-fact=styles]")).to_have_text(styles)
    expect(page.locator(".example-gallery li")).to_have_count(len(STYLES))
    assert broken_images(page, ".example-gallery img") == []
    assert not scrolls_sideways(page)
    context.close()


@pytest.fixture
def erin(transactional_db: None) -> User:
    return make_user("erin@example.com")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_photo_guide_comes_before_the_picker(
    browser: Browser, live_server: Any, erin: User, viewport: str
) -> None:
    context = signed_in_context(browser, live_server, erin)
    page = context.new_page()
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{live_server.url}/")
    page.click("text=Crear mis retratos")
    page.click("a[data-package=professional]")

    guide = page.locator(".photo-guide")
    expect(guide.locator(".guide-pictures li.good")).to_have_count(2)
    expect(guide.locator(".guide-pictures li.bad")).to_have_count(4)
    expect(guide).to_contain_text("Otra persona en la foto")
    assert broken_images(page, ".guide-pictures img") == []
    guide_box, picker_box = guide.bounding_box(), page.locator(".dropzone").bounding_box()
    assert guide_box
    assert picker_box
    if viewport == "phone":  # one column: the guide is read first
        assert guide_box["y"] + guide_box["height"] <= picker_box["y"]
    else:  # two columns: the guide on the left of the picker
        assert guide_box["x"] + guide_box["width"] <= picker_box["x"]
    assert not scrolls_sideways(page)
    context.close()
