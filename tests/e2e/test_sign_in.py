"""Sign-in as a newcomer does it: "Entrar", a new address, the code from the mailbox, signed in.
On a desktop and a phone, in Spanish and in English."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import Browser, ViewportSize, expect

from accounts.models import User
from tests.accounts.test_sign_in import code_from_last_mail

DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
WORDS = {
    "es-ES": {"sign_in": "Entrar", "send": "Envíame un código", "confirm": "Entrar"},
    "en-US": {"sign_in": "Sign in", "send": "Send me a code", "confirm": "Sign in"},
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("locale", ["es-ES", "en-US"])
def test_it_signs_a_new_address_up_through_entrar(
    browser: Browser, live_server: Any, transactional_db: None, viewport: ViewportSize, locale: str
) -> None:
    words = WORDS[locale]
    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()

    page.goto(live_server.url)
    page.get_by_role("link", name=words["sign_in"], exact=True).click()
    page.get_by_label("e-mail" if locale == "en-US" else "correo").fill("newcomer@example.com")
    page.get_by_role("button", name=words["send"]).click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/code/confirm/")
    assert [message.to for message in mail.outbox] == [["newcomer@example.com"]]
    page.locator("input[name=code]").fill(code_from_last_mail())
    page.get_by_role("button", name=words["confirm"]).click()

    expect(page.locator(".site-header")).to_contain_text("newcomer@example.com")
    assert EmailAddress.objects.get(user=User.objects.get(email="newcomer@example.com")).verified
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()
