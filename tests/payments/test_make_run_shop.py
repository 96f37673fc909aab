"""`make run` alone opens a shop: a person without credits buys a pack on the Stripe emulator's
page, the emulator's signed event reaches the site, and the order form takes the order, paid
with that credit (the rest of the journey, training to gallery, is the Replicate emulator's and
is followed by tests/e2e)."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.conftest import run_manage, wait_for
from tests.headshots.test_run_local import MakeRun, make_run, wait_until_serving
from tests.training.conftest import face_jpeg

__all__ = ["make_run"]  # the fixture, shared with the `make run` tests

NEW_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
user = User.objects.create_user(email="newcomer@example.com")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print("SESSION", session.session_key)
"""


def signed_in_browser(tmp_path: Path) -> requests.Session:
    """A session cookie for a new person, written into make run's own database."""
    made = run_manage(
        "shell", "-c", NEW_SESSION, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    )
    key = re.search(r"SESSION (\S+)", made.stdout)
    assert key, made.stderr
    browser = requests.Session()
    browser.cookies.set("sessionid", key.group(1))
    return browser


def press_buy(browser: requests.Session, site: str) -> requests.Response:
    form = browser.get(f"{site}/studio/new/?package=professional", timeout=30).text
    fields = dict(re.findall(r'name="(csrfmiddlewaretoken|attempt)" value="([^"]+)"', form))
    data = {**fields, "pack": "one", "next": "/studio/new/?package=professional"}
    return browser.post(
        f"{site}/payments/checkout/", data=data, headers={"Referer": f"{site}/"},
        allow_redirects=False, timeout=60,
    )  # fmt: skip


def to_stripe(answer: requests.Response) -> str:
    """The hosted page the buy button sent the person to, or "" (sent back to the form)."""
    location = answer.headers.get("Location", "")
    return location if "/checkout/cs_test_" in location else ""


def test_make_run_alone_sells_a_pack_and_the_order_form_then_takes_the_order(
    make_run: MakeRun, tmp_path: Path
) -> None:
    wait_until_serving(make_run)
    site = f"http://127.0.0.1:{make_run.port}"
    browser = signed_in_browser(tmp_path)
    form = browser.get(f"{site}/studio/new/?package=professional", timeout=30).text
    assert "Este pedido cuesta 1 crédito." in form
    assert "Comprar por 19,00 €" in form

    # The emulator may still be starting: until then the site says so and charges nothing.
    hosted = wait_for(lambda: to_stripe(press_buy(browser, site)), timeout=60)
    assert ">Pagar</button>" in requests.get(hosted, timeout=10).text
    back = requests.post(f"{hosted}/pay", allow_redirects=False, timeout=10).headers["Location"]

    done = browser.get(back, timeout=30).text
    assert "Tienes 1 crédito." in done, (tmp_path / "make-run.log").read_text()[-4000:]
    form = browser.get(f"{site}/studio/new/?package=professional", timeout=30).text
    assert 'id="credit-packs"' not in form
    assert "Tienes 1." in form

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token
    photos = [
        ("photos", (f"selfie{n}.jpg", face_jpeg(n, long_side=900), "image/jpeg")) for n in range(5)
    ]
    fields = {
        "csrfmiddlewaretoken": token.group(1),
        "name": "Mi pedido",
        "subject_type": "woman",
        "consent": "on",
    }
    order = browser.post(
        f"{site}/studio/new/?package=professional",
        data=fields,
        files=photos,
        headers={"Referer": f"{site}/"},
        allow_redirects=False,
        timeout=120,
    )
    assert order.status_code == 302, order.text[:500]
    assert re.fullmatch(r"/studio/models/[0-9a-f-]{36}/", order.headers["Location"])
    assert "Tienes 0." in browser.get(f"{site}/studio/new/?package=professional", timeout=30).text
