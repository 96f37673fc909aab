"""The whole journey in a real browser with two people: Carol orders (a photo refused and replaced
on the way), follows her default order to the gallery through the emulator (40 headshots under
their 10 styles' names), downloads one headshot and then all of them; Bob, signed in too, can see
none of it."""

from __future__ import annotations

import io
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
from training.models import Headshot, Order, Status


@pytest.fixture
def carol(transactional_db: None) -> User:
    return make_user("carol@example.com")


@pytest.fixture
def bob(transactional_db: None) -> User:
    return make_user("bob@example.com")


def test_it_takes_carol_from_her_photos_to_her_headshots_and_hides_them_from_bob(
    browser: Browser,
    live_server: Any,
    replicate: Any,
    carol: User,
    bob: User,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    settings.ORDER_STYLES, settings.HEADSHOTS_PER_STYLE = [], 4  # a default order: 40 headshots
    # As under `make run`: one emulated output in eight shows a stranger or nobody.
    replicate.state.config.wrong_face_share = 0.125
    photos = []
    for index in range(4):
        path = tmp_path / f"selfie{index + 1}.jpg"
        path.write_bytes(face_jpeg(index, long_side=1400))
        photos.append(path)
    screenshot = tmp_path / "captura.jpg"  # a PDF with a photo's name
    screenshot.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\n")
    replacement = tmp_path / "selfie5.jpg"
    replacement.write_bytes(face_jpeg(4, long_side=1400))
    carols = signed_in_context(browser, live_server, carol).new_page()

    carols.goto(f"{live_server.url}/studio/")
    carols.click("a[data-package=professional]")
    carols.fill("#id_name", "Carol LinkedIn")
    carols.check("input[name=subject_type][value=woman]")
    carols.check("#id_consent")
    carols.set_input_files("#id_photos", [str(p) for p in [*photos, screenshot]])
    carols.click("#order-submit")
    expect(carols.locator("#previews li.refused")).to_contain_text("captura.jpg")
    carols.locator("#previews li.refused button.remove").click()
    carols.set_input_files("#id_photos", [str(replacement)])
    expect(carols.locator("#previews li")).to_have_count(5)
    carols.click("#order-submit")
    carols.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"))
    # A default order: 40 headshots, each scored for likeness, some made again (slow when busy).
    expect(carols.locator("#order-live .gallery img")).to_have_count(40, timeout=150_000)
    styles = carols.locator("#order-live .style-group")
    expect(styles).to_have_count(10)
    expect(styles.first.locator("h3")).to_contain_text("Estudio gris")
    expect(styles.first.locator(".gallery img")).to_have_count(4)

    order = Order.objects.get(user=carol)
    assert (order.status, order.image_count) == (Status.READY, 5)
    # Some outputs were a stranger or nobody: hidden, and made up for by top-ups, so the forty
    # shown are all Carol's own face.
    hidden = list(order.headshots.filter(hidden=True).select_related("prediction"))
    assert hidden
    assert {face_shown(replicate, headshot) for headshot in hidden} <= {"other", "none"}
    assert order.predictions.filter(is_top_up=True).exists()
    shown_ids = [
        int(str(item.get_attribute("id")).removeprefix("headshot-"))
        for item in carols.locator("#order-live .gallery li").all()
    ]
    shown = order.headshots.filter(pk__in=shown_ids).select_related("prediction")
    assert [face_shown(replicate, headshot) for headshot in shown] == ["own"] * 40
    with carols.expect_download() as one:
        carols.locator("#order-live .gallery a.button").first.click()
    first = order.headshots.get(pk=shown_ids[0])  # the closest likeness of the first style
    assert one.value.suggested_filename == first.download_name
    assert first.download_name.startswith("grey-studio-")
    assert first.download_name.endswith(".jpg")
    with carols.expect_download() as everything:
        carols.click("text=Descargar todos")
    archive = zipfile.ZipFile(io.BytesIO(Path(everything.value.path()).read_bytes()))
    assert len(archive.namelist()) == 40
    assert "oficina-moderna-1.jpg" not in archive.namelist()  # slugs, whatever the language
    # Four of each style, named by style; a hidden output keeps its number, so a style's four
    # may be 1, 2, 3 and 5 (names never change once given).
    modern_office = [name for name in archive.namelist() if name.startswith("modern-office-")]
    assert len(modern_office) == 4
    second = carols.locator("#order-live .gallery .favourite-toggle").nth(1)
    second.click()
    expect(second).to_have_attribute("aria-pressed", "true")  # swapped in place by htmx
    with carols.expect_download() as favourites:
        carols.click("#favourites-download a")
    archive = zipfile.ZipFile(io.BytesIO(Path(favourites.value.path()).read_bytes()))
    favourite = order.headshots.get(is_favourite=True)
    assert favourite.pk == shown_ids[1]
    assert archive.namelist() == [favourite.download_name]
    carols.check("#rating input[value='5']")
    carols.fill("#rating textarea", "¡Me encantan!")
    carols.click("#rating button[type=submit]")
    # The page comes back whole, forty previews with it: give a busy machine time.
    expect(carols.locator("#rating")).to_contain_text("5 de 5 estrellas", timeout=20_000)

    image_link = carols.locator("#order-live .gallery img").first.get_attribute("src")
    bobs = signed_in_context(browser, live_server, bob).new_page()
    for url in [
        order.get_absolute_url(),
        f"{order.get_absolute_url()}download/",
        f"{order.get_absolute_url()}status/",
        str(image_link),
    ]:
        response = bobs.goto(f"{live_server.url}{url}")
        assert response is not None
        assert response.status == 404, url
    bobs.goto(f"{live_server.url}/studio/models/")
    expect(bobs.locator("body")).not_to_contain_text("Carol LinkedIn")
    expect(bobs.locator("body")).to_contain_text("Todavía no tienes pedidos")


def face_shown(emulator: Any, headshot: Headshot) -> str:
    """What the emulator put in this output: "own", "other" (a stranger) or "none"."""
    with emulator.state.lock:
        faces = emulator.state.portraits[headshot.prediction.replicate_prediction_id]["faces"]
    return str(faces[headshot.output_index])
