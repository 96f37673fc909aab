"""Refused photos in a real browser: each reason by its own preview, the summary by the submit
button as well as at the top, and "continue without them" makes the order in one click without
sending the photos again. On a desktop in Spanish and a phone in English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, ViewportSize, expect

from accounts.models import User
from tests.conftest import make_user
from tests.e2e.conftest import drop_files, photo_files
from training.models import Order, Status

CASES = [
    (ViewportSize(width=1280, height=900), "es-ES", "Seguir con las 5 fotos aceptadas"),
    (ViewportSize(width=390, height=844), "en-US", "Continue with the 5 accepted photos"),
]


@pytest.fixture
def dana(transactional_db: None) -> User:
    return make_user("dana@example.com")


@pytest.mark.parametrize(("viewport", "locale", "go_on"), CASES, ids=["desktop-es", "phone-en"])
def test_it_goes_on_without_the_refused_photo_in_one_click(
    browser: Browser,
    live_server: Any,
    dana: User,
    tmp_path: Path,
    settings: Any,
    viewport: ViewportSize,
    locale: str,
    go_on: str,
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    # No worker here: the order waits in the queue (the immediate backend would try to train it
    # against a Replicate that is not running and spend 15 s in the back-off).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    client = Client()
    client.force_login(dana)
    context = browser.new_context(locale=locale, viewport=viewport)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/studio/new/?package=professional")
    page.fill("#id_name", "Perfil")
    page.check("input[name=subject_type][value=woman]")
    page.check("#id_consent")
    chosen = [(path.name, path.read_bytes()) for path in photo_files(tmp_path)]
    drop_files(page, [*chosen, ("factura.jpg", b"%PDF-1.7 x")])
    uploads: list[str] = []
    page.on(
        "request",
        lambda request: (
            uploads.append(request.post_data or "") if request.method == "POST" else None
        ),
    )

    page.click("#order-submit")

    refused = page.locator("#previews li.refused")
    expect(refused).to_have_count(1, timeout=30_000)
    expect(refused.locator(".preview-message")).to_contain_text("factura.jpg")
    summary = re.compile(r"(rechazado|refused) 1 (foto|photo)")
    expect(page.locator("#submit-errors")).to_contain_text(summary)  # where the eye is
    expect(page.locator("#form-errors")).to_contain_text(summary)  # and at the top
    button = page.get_by_role("button", name=go_on)
    expect(button).to_be_in_viewport()
    sent_before = len(uploads)

    button.click()

    page.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"), timeout=30_000)
    order = Order.objects.get(user=dana)
    assert (order.status, order.image_count) == (Status.QUEUED, 5)
    assert "selfie1.jpg" not in "".join(uploads[sent_before:])  # the photos were not sent again
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()
