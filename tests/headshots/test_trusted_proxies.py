"""Behind our proxies each visitor has a rate-limit bucket of their own; nobody else can choose
their address by sending X-Forwarded-For."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from lib.client_ip import parse_trusted_proxies
from tests.conftest import run_manage

ORDER_URL = f"{reverse('training:order_new')}?package=professional"
PROXY = "10.0.0.7"  # our load balancer
OUTSIDER = "198.51.100.9"  # anyone on the internet, connecting directly


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.RATE_LIMIT_ORDER_ATTEMPTS = "100/h"  # these refused submissions count here
    settings.RATE_LIMIT_ORDER_ATTEMPTS_PER_IP = "2/h"
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "request_login_code": "2/m/ip"}


def order_from(client: Client, remote: str, forwarded: str | None = None) -> int:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(ORDER_URL, {"name": ""}, **meta).status_code


def code_request_from(remote: str, forwarded: str, email: str) -> str:
    """ "sent", or "refused" when allauth's limit answers with its message in the page."""
    response = Client().post(
        reverse("account_request_login_code"),
        {"email": email},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    if response.status_code == 302:
        return "sent"
    assert "Demasiados intentos" in response.content.decode()
    return "refused"


@pytest.mark.django_db
def test_it_gives_two_visitors_behind_the_proxy_separate_order_buckets(
    client: Client, alice: User, bob: User
) -> None:
    client.force_login(alice)
    assert [order_from(client, PROXY, "203.0.113.1") for _ in range(3)] == [422, 422, 429]
    client.force_login(bob)

    assert order_from(client, PROXY, "203.0.113.2") == 422  # another visitor, a fresh budget
    assert order_from(client, PROXY, "192.0.2.50, 203.0.113.1") == 429  # alice again, any prefix


@pytest.mark.django_db
def test_it_ignores_x_forwarded_for_from_an_address_that_is_not_our_proxy(
    client: Client, alice: User
) -> None:
    client.force_login(alice)
    spoofed = [order_from(client, OUTSIDER, f"203.0.113.{n}") for n in range(1, 4)]

    assert spoofed == [422, 422, 429]  # a new header each time, still one bucket: the outsider's


@pytest.mark.django_db
def test_it_keys_allauths_rate_limits_on_the_visitor_behind_the_proxy() -> None:
    first = [code_request_from(PROXY, "203.0.113.1", f"a{n}@example.com") for n in range(3)]

    assert first == ["sent", "sent", "refused"]
    assert code_request_from(PROXY, "203.0.113.2", "b@example.com") == "sent"


@pytest.mark.django_db
def test_it_ignores_a_spoofed_header_in_allauths_rate_limits() -> None:
    tries = [code_request_from(OUTSIDER, f"203.0.113.{n}", f"a{n}@example.com") for n in range(3)]

    assert tries == ["sent", "sent", "refused"]


@pytest.mark.django_db
def test_it_believes_only_the_hops_our_proxies_wrote_when_given_a_count(
    client: Client, alice: User, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["1"]  # one proxy in front, whatever its address
    client.force_login(alice)

    tries = [order_from(client, "172.31.5.5", f"192.0.2.{n}, 203.0.113.1") for n in range(3)]

    assert tries == [422, 422, 429]  # the left part is the visitor's own, so it is ignored
    assert order_from(client, "172.31.9.9", "203.0.113.2") == 422


@pytest.mark.django_db
def test_it_trusts_nobody_by_default(client: Client, alice: User, settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    client.force_login(alice)

    tries = [order_from(client, PROXY, f"203.0.113.{n}") for n in range(3)]

    assert tries == [422, 422, 429]


def signup_over_http(base_url: str, *, forwarded: str, email: str) -> int:
    """A real browser's sign-up: fetch the form for its CSRF token, post it through "the proxy"."""
    with httpx.Client(base_url=base_url, headers={"X-Forwarded-For": forwarded}) as browser:
        page = browser.get(reverse("account_signup"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        response = browser.post(
            reverse("account_signup"),
            data={"email": email, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": f"{base_url}{reverse('account_signup')}"},
        )
    return response.status_code


@pytest.mark.django_db(transaction=True)
def test_it_separates_visitors_over_a_real_connection_from_the_proxy(
    live_server: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test's own connections play the proxy
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    signup = signup_over_http

    assert signup(live_server.url, forwarded="203.0.113.1", email="a1@example.com") == 302
    assert signup(live_server.url, forwarded="203.0.113.1", email="a2@example.com") == 429
    assert signup(live_server.url, forwarded="203.0.113.2", email="b1@example.com") == 302


@pytest.mark.django_db(transaction=True)
def test_it_ignores_the_header_over_a_real_connection_from_an_untrusted_address(
    live_server: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]  # 127.0.0.1 is not one of ours
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    signup = signup_over_http

    assert signup(live_server.url, forwarded="203.0.113.1", email="a1@example.com") == 302
    assert signup(live_server.url, forwarded="203.0.113.2", email="b1@example.com") == 429


@pytest.mark.parametrize("value", ["2", "10.0.0.0/8, 2001:db8::/32", "192.0.2.1"])
def test_it_reads_a_count_or_networks(value: str) -> None:
    parse_trusted_proxies(value.split(","))


def test_it_names_a_malformed_setting_in_one_line() -> None:
    result = run_manage("check", env={"TRUSTED_PROXIES": "10.0.0.0/8,the-load-balancer"})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("headshots: TRUSTED_PROXIES=")
