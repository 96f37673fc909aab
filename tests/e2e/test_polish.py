"""Polish a buyer notices: a skip link first in the tab order, the language switch without its
no-JavaScript button, a header that stays one line on a phone (the account's links in a menu),
and no page scrolling sideways on a 390 px phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from accounts.models import User
from tests.conftest import make_user
from tests.e2e.conftest import signed_in_context

PHONE = ViewportSize(width=390, height=844)
PAGES = [
    "/",
    "/studio/",
    "/studio/new/?package=professional",
    "/studio/models/",
    "/account/tokens/",
    "/no-such-page/",
]


@pytest.fixture
def fay(transactional_db: None) -> User:
    return make_user("fay.with.a.rather.long.address@example.com")


def test_it_skips_to_the_content_and_hides_the_language_button(
    browser: Browser, live_server: Any, fay: User
) -> None:
    context = signed_in_context(browser, live_server, fay)
    page = context.new_page()
    page.goto(f"{live_server.url}/studio/")

    expect(page.locator(".language-switch button")).to_be_hidden()
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.click(".account-menu summary")
    page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(
    browser: Browser, live_server: Any, fay: User, path: str
) -> None:
    context = signed_in_context(browser, live_server, fay)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{path}")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


@pytest.mark.parametrize("language", ["es-ES", "en-GB"])
def test_the_header_is_one_line_on_a_phone_with_the_account_in_a_menu(
    browser: Browser, live_server: Any, fay: User, language: str
) -> None:
    context = signed_in_context(browser, live_server, fay, locale=language, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/studio/")
    header = page.locator(".site-header").bounding_box()
    brand = page.locator(".brand").bounding_box()
    assert header
    assert brand
    assert header["height"] < brand["height"] * 2 + 40  # one row: brand, orders, account
    menu = page.locator(".account-menu .menu")
    expect(menu).to_be_hidden()

    page.click(".account-menu summary")

    expect(menu).to_be_visible()
    expect(menu).to_contain_text(fay.email)
    for link in ("/account/tokens/", "/account/privacy/"):
        expect(menu.locator(f'a[href="{link}"]')).to_be_visible()
    expect(menu.locator("#language-select")).to_be_visible()
    expect(menu.locator("form[action$='/logout/'] button")).to_be_visible()
    box = menu.bounding_box()
    assert box
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    context.close()
