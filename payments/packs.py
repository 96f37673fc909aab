"""The credit packs on sale, as the operator sets them in `CREDIT_PACKS`.

Packs are settings, not rows: what a person is charged is configuration reviewed and deployed
like every other value (no admin click changes a price under a running checkout), they are few
and rarely change, and each purchase keeps a snapshot of the pack it bought, so changing or
removing a pack never rewrites the past. Amounts are read only from here, never from a request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from uuid import UUID, uuid4

from django.conf import settings
from django.utils.translation import get_language

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CURRENCIES = ("eur", "usd", "gbp")
MAX_PRICE_CENTS = 1_000_000
EXAMPLE = (
    '[{"slug": "one", "name_es": "1 sesión", "name_en": "1 session", '
    '"credits": 1, "price_cents": 1900}]'
)


@dataclass(frozen=True)
class CreditPack:
    """One pack: its stable slug, its names in Spanish and English, credits and price."""

    slug: str
    name_es: str
    name_en: str
    credits: int
    price_cents: int
    currency: str = "eur"

    @property
    def name(self) -> str:
        """The name in the language of the page or e-mail being made."""
        return self.name_en if (get_language() or "es").startswith("en") else self.name_es

    @property
    def price(self) -> str:
        """The price for people: `19,00 €` in Spanish, `€19.00` in English."""
        return format_price(self.price_cents, self.currency)


def format_price(cents: int, currency: str) -> str:
    """An amount in cents as a person reads it in the current language."""
    symbol = {"eur": "€", "usd": "$", "gbp": "£"}.get(currency, currency.upper())
    whole = f"{cents / 100:.2f}"
    if (get_language() or "es").startswith("en"):
        return f"{symbol}{whole}"
    return f"{whole.replace('.', ',')} {symbol}"


def parse_packs(raw: str) -> tuple[CreditPack, ...]:
    """The packs of `CREDIT_PACKS` (a JSON list), or ValueError saying what is wrong."""
    if not raw.strip():
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        raise ValueError(f"is not JSON; write it like {EXAMPLE}") from None
    if not isinstance(items, list):
        raise ValueError(f"must be a JSON list of packs, like {EXAMPLE}")
    packs = tuple(_pack(item, index) for index, item in enumerate(items))
    if len({pack.slug for pack in packs}) != len(packs):
        raise ValueError("names the same slug twice")
    return packs


def _pack(item: object, index: int) -> CreditPack:
    where = f"pack {index + 1}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is not an object")
    unknown = set(item) - {"slug", "name_es", "name_en", "credits", "price_cents", "currency"}
    if unknown:
        raise ValueError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    slug, currency = str(item.get("slug", "")), str(item.get("currency", "eur")).lower()
    names = (str(item.get("name_es", "")).strip(), str(item.get("name_en", "")).strip())
    credits, price = item.get("credits"), item.get("price_cents")
    if not SLUG.match(slug):
        raise ValueError(f"{where}: slug must be lowercase letters, digits and hyphens")
    if not all(names) or max(len(name) for name in names) > 60:
        raise ValueError(f"{where}: name_es and name_en are required (up to 60 characters)")
    if not _whole(credits, 1, 1000):
        raise ValueError(f"{where}: credits must be a whole number from 1 to 1000")
    if not _whole(price, 50, MAX_PRICE_CENTS):  # Stripe's smallest charge is about 0.50
        raise ValueError(f"{where}: price_cents must be whole, from 50 to {MAX_PRICE_CENTS}")
    if currency not in CURRENCIES:
        raise ValueError(f"{where}: currency must be one of {', '.join(CURRENCIES)}")
    return CreditPack(slug, names[0], names[1], int(credits), int(price), currency)  # type: ignore[arg-type]


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def available_packs() -> tuple[CreditPack, ...]:
    """The packs on sale now; none when payments are off (no packs, or no Stripe key)."""
    return settings.CREDIT_PACKS if settings.PAYMENTS_ENABLED else ()


def pack_by_slug(slug: str | None) -> CreditPack | None:
    """The pack on sale with this slug, or None (also for a slug no longer on sale)."""
    return next((pack for pack in available_packs() if pack.slug == slug), None)


def packs_offer(*, balance: int, cost: int) -> list[tuple[CreditPack, UUID]]:
    """The packs to offer beside an order that `balance` does not cover, each with a fresh
    attempt id for its buy button (one purchase per attempt: see payments/checkout.py)."""
    if cost <= 0 or balance >= cost:
        return []
    return [(pack, uuid4()) for pack in available_packs()]
