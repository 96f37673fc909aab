"""`manage.py replicate_check` and `check_replicate_setup`, against the emulator over real HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import TRAINER, TRAINER_VERSION
from training.replicate.client import ReplicateGateway
from training.replicate_setup import Finding, Level, check_replicate_setup, is_public_host

PUBLIC_SITE = "https://headshots.example.com"


def check(gateway: ReplicateGateway, **overrides: Any) -> dict[str, Finding]:
    arguments: dict[str, Any] = {
        "owner": "headshots",
        "trainer": TRAINER,
        "trainer_version": TRAINER_VERSION,
        "webhook_secret": None,
        "site_url": PUBLIC_SITE,
    }
    findings = check_replicate_setup(gateway, **{**arguments, **overrides})
    return {finding.check: finding for finding in findings}


@pytest.fixture
def full_emulator() -> Iterator[ReplicateEmulator]:
    """An emulator of its own, whose account is called "headshots"."""
    with ReplicateEmulator(account="headshots") as emulator:
        yield emulator


def test_all_good_against_the_emulator(
    emulator: ReplicateEmulator, gateway: ReplicateGateway
) -> None:
    findings = check(gateway, webhook_secret=emulator.webhook_secret)

    assert not [finding for finding in findings.values() if finding.is_problem]
    assert findings["token"].level == Level.OK
    assert findings["webhook secret"].level == Level.OK
    assert findings["SITE_URL"].level == Level.OK
    assert findings["owner"].level == Level.OK
    assert findings["trainer"].level == Level.OK


def test_all_good_where_the_api_answers_every_check(full_emulator: ReplicateEmulator) -> None:
    gateway = ReplicateGateway(api_token=full_emulator.token, base_url=full_emulator.base_url)

    findings = check(gateway)

    assert {name: finding.level for name, finding in findings.items()} == {
        "token": Level.OK,
        "owner": Level.OK,
        "trainer": Level.OK,
        "webhook secret": Level.OK,
        "SITE_URL": Level.OK,
    }


def test_a_wrong_owner_and_an_unknown_trainer_version(full_emulator: ReplicateEmulator) -> None:
    gateway = ReplicateGateway(api_token=full_emulator.token, base_url=full_emulator.base_url)

    findings = check(gateway, owner="someone-else", trainer_version="0" * 64)

    assert findings["owner"].level == Level.WARNING
    assert "set REPLICATE_OWNER=headshots" in findings["owner"].message
    assert findings["trainer"].level == Level.PROBLEM
    assert "is not a version of ostris/flux-dev-lora-trainer" in findings["trainer"].message


def test_a_malformed_trainer_version_is_a_problem(gateway: ReplicateGateway) -> None:
    findings = check(gateway, trainer_version="latest")

    assert findings["trainer"].level == Level.PROBLEM
    assert "is not a version id" in findings["trainer"].message


def test_a_bad_token(emulator: ReplicateEmulator) -> None:
    gateway = ReplicateGateway(api_token="r8_not-a-real-token", base_url=emulator.base_url)

    findings = check(gateway)

    assert findings["token"].level == Level.PROBLEM
    assert findings["token"].message == (
        "The API token was refused: create one at replicate.com/account/api-tokens and set "
        "REPLICATE_API_TOKEN."
    )
    assert set(findings) == {"token", "SITE_URL"}  # nothing else can be asked without a token


def test_an_unreachable_api() -> None:
    gateway = ReplicateGateway(api_token="t", base_url="http://127.0.0.1:9/v1", timeout=2)

    findings = check(gateway)

    assert findings["token"].level == Level.PROBLEM
    assert "could not be reached" in findings["token"].message


def test_a_wrong_webhook_secret(gateway: ReplicateGateway) -> None:
    findings = check(gateway, webhook_secret="whsec_c29tZXRoaW5nIGVsc2UgZW50aXJlbHk=")

    assert findings["webhook secret"].level == Level.PROBLEM
    assert findings["webhook secret"].message.startswith(
        "REPLICATE_WEBHOOK_SECRET is not the account's signing secret: webhooks would be refused"
    )
    assert "whsec_" not in findings["webhook secret"].message  # never echo a secret


@pytest.mark.parametrize(
    "site_url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://192.168.1.20",
        "http://10.0.0.5:8000",
        "https://web",
        "http://headshots.local",
    ],
)
def test_a_local_site_url_is_a_warning_about_sync_replicate(
    gateway: ReplicateGateway, site_url: str
) -> None:
    findings = check(gateway, site_url=site_url)

    assert findings["SITE_URL"].level == Level.WARNING
    assert "cannot be reached from the internet" in findings["SITE_URL"].message
    assert "sync_replicate" in findings["SITE_URL"].message


def test_a_public_http_site_url_is_a_warning_about_https(gateway: ReplicateGateway) -> None:
    findings = check(gateway, site_url="http://headshots.example.com")

    assert findings["SITE_URL"].level == Level.WARNING
    assert "not https" in findings["SITE_URL"].message


def test_public_hosts() -> None:
    assert is_public_host("headshots.example.com")
    assert is_public_host("93.184.216.34")
    assert not is_public_host("172.16.0.1")
    assert not is_public_host("::1")


def point_at(settings: Any, emulator: ReplicateEmulator, **extra: Any) -> None:
    settings.REPLICATE_BASE_URL = emulator.base_url
    settings.REPLICATE_API_TOKEN = emulator.token
    settings.REPLICATE_USES_EMULATOR = False
    settings.REPLICATE_OWNER = "headshots"
    settings.REPLICATE_WEBHOOK_SECRET = None
    settings.SITE_URL = PUBLIC_SITE
    for name, value in extra.items():
        setattr(settings, name, value)


def test_the_command_says_all_is_well(settings: Any, emulator: ReplicateEmulator) -> None:
    point_at(settings, emulator, REPLICATE_WEBHOOK_SECRET=emulator.webhook_secret)
    out = io.StringIO()

    call_command("replicate_check", stdout=out, no_color=True)

    text = out.getvalue()
    assert f"Checking the Replicate set-up at {emulator.base_url}" in text
    assert "ok       token: The API token was accepted." in text
    assert "No problems (0 warning(s))." in text


def test_the_command_fails_on_a_bad_token(settings: Any, emulator: ReplicateEmulator) -> None:
    point_at(settings, emulator, REPLICATE_API_TOKEN="r8_wrong")
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"1 problem\(s\)"):
        call_command("replicate_check", stdout=out, no_color=True)

    assert "PROBLEM  token: The API token was refused" in out.getvalue()


def test_the_command_fails_on_a_wrong_webhook_secret(
    settings: Any, emulator: ReplicateEmulator
) -> None:
    point_at(settings, emulator, REPLICATE_WEBHOOK_SECRET="whsec_d3Jvbmc=")
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("replicate_check", stdout=out, no_color=True)

    assert "PROBLEM  webhook secret: " in out.getvalue()


def test_the_command_warns_about_a_local_site_url(
    settings: Any, emulator: ReplicateEmulator
) -> None:
    point_at(settings, emulator, SITE_URL="http://127.0.0.1:8000")
    out = io.StringIO()

    call_command("replicate_check", stdout=out, no_color=True)

    assert "warning  SITE_URL: SITE_URL=http://127.0.0.1:8000 cannot be reached" in out.getvalue()
