"""CREDIT_PACKS: the operator's packs, read strictly; a wrong value stops start-up in one line."""

from __future__ import annotations

import pytest
from django.utils import translation

from payments.packs import CreditPack, parse_packs
from tests.conftest import TEST_PACKS, run_manage
from tests.headshots.test_settings import PRODUCTION


def test_it_reads_packs_with_euros_by_default() -> None:
    one, three = parse_packs(TEST_PACKS)

    assert one == CreditPack("one", "1 sesión", "1 session", 1, 1900, "eur")
    assert (three.credits, three.price_cents) == (3, 4900)
    with translation.override("es"):
        assert (three.name, three.price) == ("3 sesiones", "49,00 €")
    with translation.override("en"):
        assert (three.name, three.price) == ("3 sessions", "€49.00")


def test_no_packs_means_nothing_on_sale() -> None:
    assert parse_packs("") == ()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("one:1:1900", "is not JSON"),
        ('{"slug": "one"}', "must be a JSON list"),
        ('[{"slug": "One!", "name_es": "a", "name_en": "b", "credits": 1, "price_cents": 100}]',
         "slug must be"),
        ('[{"slug": "one", "name_es": "", "name_en": "b", "credits": 1, "price_cents": 100}]',
         "name_es and name_en are required"),
        ('[{"slug": "one", "name_es": "a", "name_en": "b", "credits": 0, "price_cents": 100}]',
         "credits must be"),
        ('[{"slug": "one", "name_es": "a", "name_en": "b", "credits": 1, "price_cents": 1.5}]',
         "price_cents must be"),
        ('[{"slug": "one", "name_es": "a", "name_en": "b", "credits": 1, "price_cents": 100,'
         ' "currency": "btc"}]', "currency must be"),
        ('[{"slug": "one", "name_es": "a", "name_en": "b", "credits": 1, "price_cents": 100,'
         ' "price": 1}]', "unknown fields: price"),
        ('[{"slug": "one", "name_es": "a", "name_en": "b", "credits": 1, "price_cents": 100},'
         ' {"slug": "one", "name_es": "a", "name_en": "b", "credits": 2, "price_cents": 200}]',
         "same slug twice"),
    ],
)  # fmt: skip
def test_it_refuses_a_malformed_pack_saying_what_is_wrong(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_packs(raw)


def test_a_malformed_value_stops_start_up_in_one_line() -> None:
    result = run_manage("check", env={"CREDIT_PACKS": "[{}]"})

    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("headshots: CREDIT_PACKS pack 1")


EMULATOR_IN_USE = (
    "settings.STRIPE_USES_EMULATOR, settings.PAYMENTS_ENABLED, "
    "'stripe_emulator' in settings.INSTALLED_APPS"
)


def show(expression: str) -> str:
    """Code for `manage.py shell -c` printing the values, comma-separated, on the last line."""
    return f"from django.conf import settings; print(*({expression},), sep=',')"


def test_production_never_sells_through_the_emulator() -> None:
    result = run_manage("shell", "-c", show(EMULATOR_IN_USE), env=PRODUCTION)

    assert result.stdout.split()[-1] == "False,False,False"


def test_production_with_packs_needs_the_key_and_the_webhook_secret() -> None:
    env = {**PRODUCTION, "CREDIT_PACKS": TEST_PACKS, "STRIPE_SECRET_KEY": "sk_live_x"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET is not set" in result.stderr


def test_production_with_packs_and_keys_sells_through_stripe() -> None:
    env = {
        **PRODUCTION,
        "CREDIT_PACKS": TEST_PACKS,
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    form_actions = "*settings.SECURE_CSP['form-action'][1:]"
    code = show(f"settings.STRIPE_API_BASE, settings.PAYMENTS_ENABLED, {form_actions}")

    result = run_manage("shell", "-c", code, env=env)

    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.split(",") == [
        "https://api.stripe.com",
        "True",
        "https://accounts.google.com",
        "https://checkout.stripe.com",  # the buy button's redirect, and no emulator
    ], result.stderr
