"""A real browser (Debian's Chromium driven by Playwright, which downloads nothing), live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from accounts.models import User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    # Playwright's sync API runs an event loop; Django must still allow its ORM in the test thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def signed_in_context(browser: Browser, live_server: Any, user: User) -> BrowserContext:
    """A browser context (Spanish, like most of our users) already signed in as `user`."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    """The live server serves static files from the app folders; their names must not be hashed."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
