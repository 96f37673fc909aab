"""Buying credits in a real browser: Dora has none; the order form offers the packs, she pays on
the (emulated) Stripe page, comes back with her credit, places her order with it and sees its
gallery."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from accounts.credits import credit_balance
from accounts.models import CreditMovement, User
from payments.models import Purchase, PurchaseState
from tests.conftest import make_user
from tests.e2e.conftest import photo_files, signed_in_context
from training.models import Order, Status

ORDER_FORM = "/studio/new/?package=professional"


@pytest.fixture
def dora(transactional_db: None) -> User:
    return make_user("dora@example.com")


def test_dora_buys_a_pack_on_the_order_form_and_orders_with_it(
    browser: Browser,
    live_server: Any,
    replicate: Any,
    stripe_emulator: Any,
    dora: User,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    page = signed_in_context(browser, live_server, dora).new_page()

    page.goto(f"{live_server.url}/studio/")
    page.click("a[data-package=professional]")
    packs = page.locator("#credit-packs")
    expect(packs).to_contain_text("3 sesiones")
    packs.locator("li[data-pack=one] button").click()  # "Comprar por 19,00 €"

    page.wait_for_url(re.compile(rf"^{re.escape(stripe_emulator.url)}/checkout/cs_test_"))
    expect(page.locator("#amount")).to_have_text("19.00 EUR")
    page.click("#pay")

    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}/done/"))
    expect(page.locator("#payment-result")).to_contain_text("Pagado, ¡gracias!")
    expect(page.locator("#credit-balance")).to_have_text("Tienes 1 crédito.")
    page.click("#continue-order")

    page.wait_for_url(f"{live_server.url}{ORDER_FORM}")
    expect(page.locator("#credit-packs")).to_have_count(0)
    page.fill("#id_name", "Con mi crédito")
    page.check("input[name=subject_type][value=woman]")
    page.check("#id_consent")
    page.set_input_files("#id_photos", [str(path) for path in photo_files(tmp_path)])
    page.click("#order-submit")
    page.wait_for_url(re.compile(r"/studio/models/[0-9a-f-]{36}/$"), timeout=60_000)

    # Paid for, the order goes on through the Replicate emulator up to its gallery.
    expect(page.locator("#order-live .gallery img")).to_have_count(4, timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-live .gallery img')]"
        ".every(image => image.complete && image.naturalWidth > 0)",
        timeout=15_000,
    )
    order = Order.objects.get(user=dora)
    assert order.status == Status.READY
    assert Purchase.objects.get(user=dora).state == PurchaseState.PAID
    kinds = list(CreditMovement.objects.filter(user=dora).values_list("kind", "amount"))
    assert sorted(kinds) == [("purchase", 1), ("spend", 1)]
    assert CreditMovement.objects.get(kind="spend").order_uuid == order.uuid
    assert credit_balance(dora) == 0
    page.context.close()


def test_dora_goes_back_from_the_stripe_page_without_paying(
    browser: Browser, live_server: Any, stripe_emulator: Any, dora: User
) -> None:
    page = signed_in_context(browser, live_server, dora).new_page()

    page.goto(f"{live_server.url}{ORDER_FORM}")
    page.locator("#credit-packs li[data-pack=three] button").click()
    page.wait_for_url(re.compile(rf"^{re.escape(stripe_emulator.url)}/checkout/"))
    page.click("#cancel")

    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}/canceled/"))
    expect(page.locator("#payment-result")).to_contain_text(
        "No has pagado y no se ha cobrado nada."
    )
    page.click("text=Volver a mi pedido")
    expect(page.locator("#credit-packs")).to_be_visible()
    assert Purchase.objects.get(user=dora).state == PurchaseState.EXPIRED
    assert credit_balance(dora) == 0
    page.context.close()  # its kept-alive connections hold the live server's database sessions
