"""axe-core (vendored in tests/e2e/vendor, run inside the page) finds no serious or critical
WCAG 2.1 A/AA problem on the main pages, signed out and signed in, on a desktop and a phone:
contrast, names of buttons and links, labels, landmarks, the language of the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from accounts.models import User
from tests.conftest import make_user, wait_for
from tests.e2e.conftest import signed_in_context
from tests.training.ordering import place_order, reaches
from training.models import Order, Status

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
SIGNED_OUT = ["/", "/accounts/login/code/", "/accounts/signup/", "/no-such-page/"]
SIGNED_IN = ["/", "/studio/", "/studio/new/?package=professional", "/studio/models/",
             "/account/tokens/"]  # fmt: skip


def serious_problems(page: Page) -> list[str]:
    """axe's serious and critical violations on the page, one line each with where they are."""
    page.evaluate(AXE)
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES
    )
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def visit_all(context: BrowserContext, base: str, paths: list[str]) -> list[str]:
    page = context.new_page()
    problems = []
    for path in paths:
        page.goto(base + path)
        problems += serious_problems(page)
    return problems


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", ["es-ES", "en-GB"])
def test_the_pages_a_visitor_sees_have_no_serious_problem(
    browser: Browser, live_server: Any, viewport: str, locale: str
) -> None:
    context = browser.new_context(locale=locale, viewport=VIEWPORTS[viewport], bypass_csp=True)
    assert visit_all(context, live_server.url, SIGNED_OUT) == []
    context.close()


@pytest.fixture
def fran(transactional_db: None) -> User:
    return make_user("fran@example.com")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_pages_of_a_signed_in_person_have_no_serious_problem(
    browser: Browser,
    live_server: Any,
    replicate: Any,
    fran: User,
    viewport: str,
    tmp_path: Path,
    settings: Any,
) -> None:
    order = reaches(place_order(fran, tmp_path, settings), Status.READY)
    wait_for(replicate.webhooks_idle)
    context = signed_in_context(
        browser, live_server, fran, viewport=VIEWPORTS[viewport], bypass_csp=True
    )
    problems = visit_all(context, live_server.url, [*SIGNED_IN, order.get_absolute_url()])
    assert Order.objects.get(pk=order.pk).headshots.exists()  # the gallery was checked
    assert problems == [], "\n".join(problems)
    context.close()


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two CSS colours given as `rgb(r, g, b)`."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_step_numbers_are_readable(browser: Browser, live_server: Any) -> None:
    """axe does not see text drawn by CSS (`::before`): the landing's step numbers are checked
    here."""
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.goto(live_server.url + "/")
    colours = page.evaluate(
        "() => [...document.querySelectorAll('.steps li')].map((step) => {"
        " const style = getComputedStyle(step, '::before');"
        " return [style.color, style.backgroundColor]; })"
    )
    assert len(colours) == 4
    assert all(contrast(text, background) >= 4.5 for text, background in colours)
    context.close()
