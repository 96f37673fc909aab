"""The admin's password form stops answering guesses: per account tried, and per address."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.conftest import make_staff

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _small_limits(settings: Any) -> None:
    settings.RATE_LIMIT_ADMIN_LOGIN = "3/h"
    settings.RATE_LIMIT_ADMIN_LOGIN_PER_IP = "6/h"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only


@pytest.fixture
def staff(db: None) -> User:
    user = make_staff("staff@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(username: str, password: str, *, address: str = "203.0.113.7", **headers: str) -> Any:
    client = Client(REMOTE_ADDR=address, headers=headers)
    response: Any = client.post(LOGIN, {"username": username, "password": password})
    response.signed_in = "_auth_user_id" in client.session
    return response


def test_it_lets_staff_in_with_the_right_password(staff: User) -> None:
    response = attempt("staff@example.com", PASSWORD)

    assert (response.status_code, response["Location"], response.signed_in) == (
        302,
        "/admin/",
        True,
    )


def test_it_refuses_even_the_right_password_after_too_many_wrong_ones(staff: User) -> None:
    for guess in range(3):
        wrong = attempt("staff@example.com", f"guess {guess}")
        assert (wrong.status_code, wrong.signed_in) == (200, False)

    refused = attempt("staff@example.com", PASSWORD)

    assert (refused.status_code, refused.signed_in) == (429, False)
    assert "Demasiados intentos de entrar. Vuelve a intentarlo dentro de 60 minutos." in (
        refused.content.decode()
    )
    assert refused["Retry-After"] == "3600"
    english = attempt("staff@example.com", PASSWORD, **{"Accept-Language": "en"})
    assert "Too many sign-in attempts. Please try again in 60 minutes." in english.content.decode()


def test_it_counts_guesses_at_one_account_from_any_address_and_in_any_case(staff: User) -> None:
    for number, spelling in enumerate(
        ["staff@example.com", " STAFF@example.com", "Staff@Example.COM"]
    ):
        attempt(spelling, "wrong", address=f"198.51.100.{number}")

    assert attempt("staff@example.com", PASSWORD, address="192.0.2.99").status_code == 429


def test_it_leaves_other_accounts_alone(staff: User, db: None) -> None:
    other = make_staff("other@example.com")
    other.set_password(PASSWORD)
    other.save()
    for _ in range(4):
        attempt("staff@example.com", "wrong")

    assert attempt("staff@example.com", PASSWORD).status_code == 429
    assert attempt("other@example.com", PASSWORD).signed_in


def test_it_stops_an_address_that_tries_many_accounts(staff: User) -> None:
    for number in range(6):
        attempt(f"guess{number}@example.com", "wrong", address="203.0.113.66")

    refused = attempt("staff@example.com", PASSWORD, address="203.0.113.66")

    assert (refused.status_code, refused.signed_in) == (429, False)
    assert attempt("staff@example.com", PASSWORD, address="203.0.113.67").signed_in


def test_it_answers_an_unknown_account_as_it_answers_a_real_one(staff: User) -> None:
    def answers(username: str, address: str) -> list[int]:
        return [attempt(username, "wrong", address=address).status_code for _ in range(4)]

    real, unknown = (
        answers("staff@example.com", "192.0.2.1"),
        answers("nobody@example.com", "192.0.2.2"),
    )

    assert real == unknown == [200, 200, 200, 429]
