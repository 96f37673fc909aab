"""Read typed settings from the environment, failing with one line that names the variable.

django-environ parses URLs well but is lenient elsewhere ("maybe" is a false boolean) and its
errors do not always name the variable. Every reader here does both: strict parsing, and an
error whose message starts with the variable's name, so a bad deployment says exactly what
to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ImproperlyConfigured):
    """A missing or malformed environment variable; the message is one line for a person."""


def read_optional(name: str) -> str | None:
    """The variable as text, or None when it is unset or blank.

    Blank counts as unset everywhere: docker-compose passes `${NAME:-}` as an empty string.
    """
    value = os.environ.get(name, "").strip()
    return value or None


def read_str(name: str, default: str) -> str:
    """The variable as text, or the default when it is unset."""
    return read_optional(name) or default


def read_bool(name: str, default: bool) -> bool:
    """A yes/no variable; anything but the usual words is refused rather than read as false."""
    raw = read_optional(name)
    if raw is None:
        return default
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false.")


def read_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number at least `minimum` (and at most `maximum`, when there is one)."""
    raw = read_optional(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number.") from None
    check_range(name, raw, value, minimum=minimum, maximum=maximum)
    return value


def read_float(
    name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    """A decimal number at least `minimum` (and at most `maximum`, when there is one)."""
    raw = read_optional(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None
    check_range(name, raw, value, minimum=minimum, maximum=maximum)
    return value


def check_range(
    name: str, raw: str, value: float, *, minimum: float, maximum: float | None
) -> None:
    """Refuse at start-up a value a peer would refuse later, e.g. Replicate's input ranges:
    a bad variable then stops the deployment instead of failing every order with a 422."""
    if maximum is not None and not minimum <= value <= maximum:
        raise SettingsError(f"{name}={raw!r} must be between {minimum} and {maximum}.")
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}.")


def read_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of a fixed set of words."""
    value = read_str(name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


def read_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list."""
    raw = read_optional(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme is one we know how to use."""
    value = read_str(name, default)
    scheme, separator, _ = value.partition("://")
    if not separator or scheme.lower() not in schemes:
        raise SettingsError(
            f"{name}={value!r} is not a URL starting with {' or '.join(schemes)}://."
        )
    return value


def read_database(name: str, default: str) -> dict[str, Any]:
    """A database URL (postgres://, sqlite:///) turned into Django's DATABASES entry."""
    value = read_url(name, default, schemes=("postgres", "postgresql", "pgsql", "sqlite"))
    try:
        return environ.Env.db_url_config(value)
    except Exception as error:  # environ raises several types for bad URLs
        raise SettingsError(f"{name} is not a valid database URL ({error}).") from None


def read_cache(name: str, value: str) -> dict[str, Any]:
    """A cache URL (locmem://, redis://) turned into Django's CACHES entry."""
    try:
        return environ.Env.cache_url_config(value)
    except Exception as error:  # environ raises several types for bad URLs
        raise SettingsError(f"{name} is not a valid cache URL ({error}).") from None


def with_query_defaults(url: str, defaults: Mapping[str, object]) -> str:
    """`url` with each of `defaults` added to its query string, unless the URL names it already."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    merged = {**{name: str(value) for name, value in defaults.items()}, **query}
    return urlunsplit(parts._replace(query=urlencode(merged)))


def read_email_url(name: str, value: str) -> dict[str, Any]:
    """An SMTP URL (smtp://user:pass@host:port) turned into the SMTP backend's options."""
    try:
        config = environ.Env.email_url_config(value)
    except Exception as error:  # environ raises several types for bad URLs
        raise SettingsError(f"{name} is not a valid e-mail URL ({error}).") from None
    return {
        "host": config["EMAIL_HOST"],
        "port": config["EMAIL_PORT"],
        "username": config.get("EMAIL_HOST_USER") or None,
        "password": config.get("EMAIL_HOST_PASSWORD") or None,
        "use_tls": bool(config.get("EMAIL_USE_TLS")),
        "use_ssl": bool(config.get("EMAIL_USE_SSL")),
    }
