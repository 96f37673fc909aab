"""A real browser (Debian's Chromium driven by Playwright, which downloads nothing), live server."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from accounts.models import User
from tests.training.conftest import face_jpeg

# What a person waits for, at most, before an expectation fails: Playwright's 5 s default was
# short for a page of forty previews on 2 cores running three test workers.
expect.set_options(timeout=10_000)

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


def signed_in_context(
    browser: Browser, live_server: Any, user: User, **options: Any
) -> BrowserContext:
    """A browser context (Spanish, like most of our users; a desktop unless `options` say
    otherwise) already signed in as `user`."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        **{"locale": "es-ES", "viewport": {"width": 1280, "height": 900}, **options}
    )
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


DROP_FILES = """
([zoneId, files]) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.b64), (char) => char.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: file.type }));
  }
  const zone = document.getElementById(zoneId);
  const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
  zone.dispatchEvent(drop);
}
"""


def drop_files(page: Page, files: list[tuple[str, bytes]]) -> None:
    """Drop files on the form's drop zone, as a person dragging them from their desktop would."""
    payload = [
        {"name": name, "type": "image/jpeg", "b64": base64.b64encode(content).decode()}
        for name, content in files
    ]
    page.evaluate(DROP_FILES, ["dropzone", payload])


def photo_files(folder: Path) -> list[Path]:
    paths = []
    for index in range(5):
        path = folder / f"selfie{index + 1}.jpg"
        path.write_bytes(face_jpeg(index, long_side=1600))
        paths.append(path)
    return paths
