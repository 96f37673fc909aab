"""Privacy in a real browser: Eve orders (consenting), exports her data, deletes her account;
afterwards her old pages, images and export link answer 404 to anyone signed in, and her own
browser is signed out."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import User
from tests.conftest import make_user
from tests.e2e.conftest import signed_in_context
from tests.training.conftest import face_jpeg
from tests.training.ordering import emulator_state
from training.models import Order


@pytest.fixture
def eve(transactional_db: None, settings: Any) -> User:
    from accounts.credits import credits_grant

    settings.TRAINING_CREDIT_COST = 1
    user = make_user("eve@example.com")
    credits_grant(user=user, amount=1, reason="test")
    return user


def test_eve_orders_exports_her_data_and_deletes_her_account(
    browser: Browser, live_server: Any, replicate: Any, eve: User, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    photos = []
    for index in range(4):
        path = tmp_path / f"selfie{index + 1}.jpg"
        path.write_bytes(face_jpeg(index, long_side=1200))
        photos.append(path)
    page = signed_in_context(browser, live_server, eve).new_page()

    page.goto(f"{live_server.url}/studio/new/?package=professional")
    expect(page.locator(".consent a")).to_have_attribute("href", "/privacidad/")
    page.fill("#id_name", "Eve")
    page.check("input[name=subject_type][value=woman]")
    page.set_input_files("#id_photos", [str(p) for p in photos])
    page.click("#order-submit")  # without consent: refused, said next to the checkbox
    expect(page.locator(".consent .errorlist")).to_contain_text("Necesitamos tu consentimiento")
    assert not Order.objects.filter(user=eve).exists()
    page.check("#id_consent")
    page.click("#order-submit")
    page.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"))
    expect(page.locator("#order-live .gallery img")).to_have_count(4, timeout=60_000)
    order_page = page.url
    image_link = live_server.url + str(
        page.locator("#order-live .gallery img").first.get_attribute("src")
    )
    order = Order.objects.get(user=eve)
    assert order.consent_version

    page.goto(f"{live_server.url}/account/privacy/")
    page.click("#export-request")
    expect(page.locator("#export-download")).to_be_visible()
    export_link = live_server.url + str(page.locator("#export-download").get_attribute("href"))
    with page.expect_download() as download:
        page.click("#export-download")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert json.loads(archive.read("data.json"))["orders"][0]["id"] == str(order.uuid)
    assert len([name for name in archive.namelist() if name.startswith("headshots/")]) == 4

    expect(page.locator("#delete")).to_contain_text("1 pedido")
    page.fill("#id_email", "eve@example.com")
    page.click("#delete-account")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Estamos borrando tu cuenta")

    assert not User.objects.filter(email="eve@example.com").exists()
    assert order.replicate_model_id not in emulator_state(replicate)["models"]
    page.goto(order_page)
    assert "/accounts/" in page.url  # her browser is signed out: the sign-in page
    frank = make_user("frank@example.com")
    someone = signed_in_context(browser, live_server, frank).new_page()
    for old in (order_page, image_link, export_link):
        answer = someone.goto(old)
        assert answer is not None
        assert answer.status == 404, old
