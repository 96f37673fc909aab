"""The order form in a real browser: pick the package, choose and drop photos, see the previews,
have a bad photo refused by the server, remove it, watch the upload progress, land on the order,
and see the page follow the order through the emulator to the gallery."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import User
from tests.conftest import make_user
from tests.e2e.conftest import drop_files, photo_files, signed_in_context
from training.models import Order, Status


@pytest.fixture
def carol(transactional_db: None) -> User:
    return make_user("carol@example.com")


def test_it_orders_headshots_through_the_form(
    browser: Browser, live_server: Any, replicate: Any, carol: User, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    chosen = photo_files(tmp_path)
    context = signed_in_context(browser, live_server, carol)
    page = context.new_page()

    page.goto(f"{live_server.url}/studio/")
    expect(page.locator(".package-card.disabled")).to_contain_text("Próximamente")
    page.click("a[data-package=professional]")
    page.fill("#id_name", "Mi perfil")
    page.check("input[name=subject_type][value=woman]")
    page.check("#id_consent")
    page.set_input_files("#id_photos", [str(path) for path in chosen[:3]])
    dropped = [(path.name, path.read_bytes()) for path in chosen[3:]]
    drop_files(page, [*dropped, ("factura.jpg", b"%PDF-1.7 x")])

    expect(page.locator("#previews li")).to_have_count(6)
    expect(page.locator("#photo-count")).to_contain_text("6 fotos elegidas")

    page.click("#order-submit")
    refused = page.locator("#previews li.refused")
    # The server checks the five good photos too (faces found and described by dlib, whose
    # models this process loads on its first photo): seconds on a busy 2-core machine.
    expect(refused).to_have_count(1, timeout=20_000)
    expect(refused).to_contain_text("factura.jpg")
    expect(page.locator("#order-submit")).to_be_disabled()
    assert not Order.objects.exists()

    refused.locator("button.remove").click()
    expect(page.locator("#previews li")).to_have_count(5)
    page.click("#order-submit")
    expect(page.locator("#upload-progress")).to_be_visible()
    page.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"))

    order = Order.objects.get(user=carol)
    assert (order.image_count, order.name) == (5, "Mi perfil")

    # The page follows the order through the emulator, by itself, up to the gallery.
    expect(page.locator("#order-live .gallery img")).to_have_count(4, timeout=30_000)
    expect(page.locator("#order-live")).to_contain_text("Tus 4 retratos están listos")
    # Each image arrives on its own request after the gallery appears: wait for all of them.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-live .gallery img')]"
        ".every(image => image.complete && image.naturalWidth > 0)",
        timeout=15_000,
    )
    assert Order.objects.get(pk=order.pk).status == Status.READY
    context.close()
