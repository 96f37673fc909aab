"""The README's screenshots, taken along one real journey in Spanish: the landing page (desktop
and phone), the package picker, the order form with its previews and a refused photo, the order
training with its progress bar, the gallery (desktop and phone), and the "ready" e-mail.

This is a tool, not a check: it runs only with HEADSHOTS_SCREENSHOTS=1, and then rewrites the
PNGs in docs/screenshots/. An ordinary run (`make test`) reports it as skipped, on purpose: what
the journey passes through is proved by tests/e2e/test_journey.py, test_order_form.py and the
order page, studio and e-mail tests, and 40 s of a 15-second training are not worth repeating.

    HEADSHOTS_SCREENSHOTS=1 .venv/bin/pytest tests/e2e/test_screenshots.py -q -p no:logging
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from playwright.sync_api import Browser, Page, ViewportSize, expect

from accounts.models import User
from tests.conftest import PROJECT_DIR, make_user
from tests.e2e.conftest import drop_files, photo_files, signed_in_context
from training import polling, tasks
from training.models import Order, Status

pytestmark = pytest.mark.skipif(
    os.environ.get("HEADSHOTS_SCREENSHOTS") != "1",
    reason="an opt-in tool: HEADSHOTS_SCREENSHOTS=1 takes the README's screenshots again",
)

SCREENSHOTS = PROJECT_DIR / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
MAX_PNG_BYTES = 350 * 1024

# The e-mail as a mail reader shows it: the headers, then the HTML body in its own frame.
MAIL_READER = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #eef1f5; color: #1d2330; }}
  .mail {{ max-width: 760px; margin: 40px auto; background: #fff; border-radius: 12px;
           box-shadow: 0 2px 12px rgba(0, 0, 0, .08); overflow: hidden; }}
  dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0;
        padding: 20px 28px; border-bottom: 1px solid #dde2ea; font-size: 15px; }}
  dt {{ color: #5b6577; }} dd {{ margin: 0; }} .subject {{ font-weight: 600; }}
  iframe {{ display: block; width: 100%; height: 200px; border: 0; padding: 8px 20px;
            box-sizing: border-box; }}
</style></head><body><div class="mail">
  <dl><dt>De</dt><dd>{sender}</dd><dt>Para</dt><dd>{to}</dd>
      <dt>Asunto</dt><dd class="subject">{subject}</dd></dl>
  <iframe title="e-mail" srcdoc="{body}"></iframe>
</div></body></html>
"""


@pytest.fixture
def slow_replicate(settings: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """The `replicate` fixture's emulator, with a training slow enough to see its progress bar."""
    from replicate_emulator.server import ReplicateEmulator

    emulator = ReplicateEmulator(training_seconds=15.0, prediction_seconds=0.3)
    emulator.start()
    settings.REPLICATE_BASE_URL = emulator.base_url
    settings.REPLICATE_API_TOKEN = emulator.token
    settings.REPLICATE_WEBHOOK_SECRET = None
    settings.SITE_URL = live_server.url
    settings.HEADSHOTS_PER_STYLE = 2
    yield emulator
    emulator.stop()


@pytest.fixture
def training_poller(slow_replicate: Any) -> Iterator[None]:
    """The worker's poll, every half second, for trainings: what feeds the page's progress bar
    (the immediate task backend has no worker to defer polls to)."""
    stop = threading.Event()

    def poll() -> None:
        try:
            while not stop.wait(0.5):
                for pk in Order.objects.filter(status=Status.TRAINING).values_list("pk", flat=True):
                    tasks.enqueue_followups(polling.order_poll(order_id=pk)[0])
        finally:
            connection.close()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def lucia(transactional_db: None) -> User:
    return make_user("lucia@example.com")


def screenshot(page: Page, name: str) -> None:
    """Save the visible part of the page as docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size < MAX_PNG_BYTES, f"{path.name} is too large for the README"


def test_the_readme_screenshots_journey(
    browser: Browser,
    live_server: Any,
    slow_replicate: Any,
    training_poller: None,
    lucia: User,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    mail.outbox = []

    # 1. The landing page, for a visitor.
    visitor = browser.new_context(locale="es-ES", viewport=VIEWPORT)
    page = visitor.new_page()
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Retratos profesionales a partir de tus selfis")
    expect(page.locator(".hero .button.primary")).to_be_visible()
    screenshot(page, "landing")
    visitor.close()
    phone = browser.new_context(locale="es-ES", viewport=PHONE, device_scale_factor=1)
    page = phone.new_page()
    page.goto(f"{live_server.url}/")
    page.locator(".offer").scroll_into_view_if_needed()
    screenshot(page, "landing-phone")
    phone.close()

    # 2. The package picker, signed in.
    context = signed_in_context(browser, live_server, lucia)
    page = context.new_page()
    page.goto(f"{live_server.url}/studio/")
    expect(page.locator("h1")).to_have_text("Elige tu paquete")
    expect(page.locator("a[data-package=professional]")).to_be_visible()
    expect(page.locator(".package-card.disabled").first).to_contain_text("Próximamente")
    screenshot(page, "packages")

    # 3. The order form: chosen and dropped photos with previews, one refused by the server.
    page.click("a[data-package=professional]")
    page.fill("#id_name", "Perfil de LinkedIn")
    page.check("input[name=subject_type][value=woman]")
    page.check("#id_consent")
    chosen = photo_files(tmp_path)
    page.set_input_files("#id_photos", [str(path) for path in chosen[:3]])
    drop_files(page, [*((p.name, p.read_bytes()) for p in chosen[3:]), ("factura.jpg", b"%PDF x")])
    expect(page.locator("#previews li")).to_have_count(6)
    expect(page.locator("#photo-count")).to_contain_text("6 fotos elegidas")
    page.click("#order-submit")
    refused = page.locator("#previews li.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("factura.jpg")
    expect(page.locator("#order-submit")).to_be_disabled()
    # From "Tus fotos" down: the drop zone, the previews with the refusal, the count, the button.
    page.evaluate(
        "() => window.scrollTo(0, document.getElementById('dropzone')"
        ".getBoundingClientRect().top + window.scrollY - 70)"
    )
    screenshot(page, "order-form")

    # 4. The order training, its progress bar moving.
    refused.locator("button.remove").click()
    expect(page.locator("#previews li")).to_have_count(5)
    page.click("#order-submit")
    page.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"))
    progress = page.locator("#training-progress")
    expect(progress).to_be_visible(timeout=15_000)
    page.wait_for_function(
        "() => (document.getElementById('training-progress')?.value || 0) > 0", timeout=15_000
    )
    expect(page.locator("#order-live")).to_contain_text("Entrenamiento")
    screenshot(page, "training")

    # 5. The gallery, every headshot loaded.
    gallery = page.locator("#order-live .gallery img")
    expect(gallery).to_have_count(4, timeout=45_000)
    expect(page.locator("#order-live")).to_contain_text("Tus 4 retratos están listos")
    expect(page.locator("#order-live")).to_contain_text("Descargar todos")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-live .gallery img')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    page.locator("#order-live").scroll_into_view_if_needed()
    order = Order.objects.get(user=lucia)
    assert order.status == Status.READY
    screenshot(page, "gallery")
    context.close()
    phone = signed_in_context(browser, live_server, lucia, viewport=PHONE)
    page = phone.new_page()
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.locator("#order-live .gallery").first.scroll_into_view_if_needed()
    page.evaluate(
        "() => document.querySelectorAll('#order-live .gallery img')"
        ".forEach((image) => { image.loading = 'eager'; })"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-live .gallery img')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    screenshot(page, "gallery-phone")
    phone.close()

    # 6. The "ready" e-mail, in Spanish, rendered as a mail reader would.
    ready = mail.outbox[-1]
    assert isinstance(ready, EmailMultiAlternatives)
    assert ready.to == [lucia.email]
    assert ready.subject == "Tus retratos están listos: Perfil de LinkedIn"
    body, mimetype = ready.alternatives[0]
    assert mimetype == "text/html"
    assert f"/studio/models/{order.uuid}/" in str(body)
    reader = browser.new_context(locale="es-ES", viewport=VIEWPORT)
    page = reader.new_page()
    page.set_content(
        MAIL_READER.format(
            sender=html.escape(ready.from_email),
            to=html.escape(", ".join(ready.to)),
            subject=html.escape(ready.subject),
            body=html.escape(str(body), quote=True),
        )
    )
    message = page.frame_locator("iframe")
    expect(message.locator("body")).to_contain_text("Tus 4 retratos profesionales")
    expect(message.locator("a").first).to_have_text("Ver mis retratos")
    screenshot(page, "email")
    reader.close()
