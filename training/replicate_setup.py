"""Is the Replicate set-up right? Plain-word findings for `manage.py replicate_check`.

Every check is read-only: nothing is created on Replicate and nothing is spent. The token is
tried on the webhook-secret endpoint (which every token may read), the owner is compared with the
token's account (`GET /v1/account`), the trainer version is looked up
(`GET /v1/models/{trainer}/versions/{id}`), the configured webhook secret is compared with the
account's, and SITE_URL is judged on whether Replicate could deliver webhooks to it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from training.replicate.client import ReplicateGateway
from training.replicate.errors import (
    ReplicateGatewayError,
    ReplicateRateLimited,
    ReplicateRejected,
    ReplicateUnavailable,
)

VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
TOKEN_PAGE = "replicate.com/account/api-tokens"  # noqa: S105 - a web page, not a secret


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    """One check's verdict: what was checked, how it went, and in plain words what to do."""

    check: str
    level: Level
    message: str

    @property
    def is_problem(self) -> bool:
        return self.level == Level.PROBLEM


def check_replicate_setup(
    gateway: ReplicateGateway,
    *,
    owner: str,
    trainer: str,
    trainer_version: str,
    webhook_secret: str | None,
    site_url: str,
) -> list[Finding]:
    """Check token, owner, trainer version, webhook secret and SITE_URL; problems first-class."""
    findings: list[Finding] = []
    try:
        account_secret = gateway.get_webhook_secret()
    except ReplicateGatewayError as error:
        findings.append(token_finding(error))
        findings.append(site_url_finding(site_url))
        return findings
    findings.append(Finding("token", Level.OK, "The API token was accepted."))
    findings.append(owner_finding(gateway, owner))
    findings.append(trainer_finding(gateway, trainer, trainer_version))
    findings.append(webhook_secret_finding(webhook_secret, account_secret))
    findings.append(site_url_finding(site_url))
    return findings


def token_finding(error: ReplicateGatewayError) -> Finding:
    """Why the first call failed, as something the operator can act on."""
    if isinstance(error, ReplicateRejected) and error.status in (401, 403):
        return Finding(
            "token",
            Level.PROBLEM,
            f"The API token was refused: create one at {TOKEN_PAGE} and set REPLICATE_API_TOKEN.",
        )
    if isinstance(error, ReplicateRateLimited):
        wait = error.retry_after_seconds
        return Finding(
            "token",
            Level.PROBLEM,
            "Replicate is rate limiting this token"
            + (f"; try again in {wait:.0f} seconds." if wait is not None else "; try again later."),
        )
    if isinstance(error, ReplicateUnavailable):
        return Finding(
            "token",
            Level.PROBLEM,
            f"The Replicate API could not be reached ({error}); check REPLICATE_BASE_URL and the "
            "network, or start the emulator with `manage.py replicate_emulator`.",
        )
    return Finding("token", Level.PROBLEM, f"The Replicate API answered with an error: {error}.")


def owner_finding(gateway: ReplicateGateway, owner: str) -> Finding:
    """REPLICATE_OWNER against the account the token belongs to."""
    try:
        username = gateway.get_account_name()
    except ReplicateGatewayError as error:
        return Finding("owner", Level.PROBLEM, f"The account could not be read: {error}.")
    if username.lower() == owner.lower():
        return Finding("owner", Level.OK, f"REPLICATE_OWNER={owner} is the token's own account.")
    return Finding(
        "owner",
        Level.WARNING,
        f"REPLICATE_OWNER={owner}, but the token belongs to the account {username!r}. Trainings "
        f"can only create models under {owner!r} if that is an organisation {username!r} "
        f"belongs to; otherwise set REPLICATE_OWNER={username}.",
    )


def trainer_finding(gateway: ReplicateGateway, trainer: str, version: str) -> Finding:
    """REPLICATE_TRAINER_VERSION must be an existing version of the trainer."""
    if not VERSION_ID.match(version):
        return Finding(
            "trainer",
            Level.PROBLEM,
            f"REPLICATE_TRAINER_VERSION={version!r} is not a version id (64 lowercase hex "
            f"characters): copy one from replicate.com/{trainer}/versions.",
        )
    try:
        exists = gateway.has_model_version(model=trainer, version_id=version)
    except ReplicateGatewayError as error:
        return Finding("trainer", Level.PROBLEM, f"The trainer could not be read: {error}.")
    if not exists:
        return Finding(
            "trainer",
            Level.PROBLEM,
            f"REPLICATE_TRAINER_VERSION={version[:12]}… is not a version of {trainer}: "
            f"every training would be refused. Copy a version id from "
            f"replicate.com/{trainer}/versions.",
        )
    return Finding("trainer", Level.OK, f"{trainer}:{version[:12]}… exists.")


def webhook_secret_finding(configured: str | None, account_secret: str) -> Finding:
    """A configured secret must be the account's, or every webhook fails its signature check."""
    if not configured:
        return Finding(
            "webhook secret",
            Level.OK,
            "REPLICATE_WEBHOOK_SECRET is unset: the app fetches the account's signing secret "
            "from the API and caches it for a day.",
        )
    if configured != account_secret:
        return Finding(
            "webhook secret",
            Level.PROBLEM,
            "REPLICATE_WEBHOOK_SECRET is not the account's signing secret: webhooks would be "
            'refused ("invalid signature", HTTP 401) and orders would only move when '
            "sync_replicate runs. Leave it empty to fetch the right one, or copy it from "
            "GET /v1/webhooks/default/secret.",
        )
    return Finding(
        "webhook secret", Level.OK, "REPLICATE_WEBHOOK_SECRET is the account's signing secret."
    )


def site_url_finding(site_url: str) -> Finding:
    """Replicate delivers webhooks to SITE_URL/webhooks/replicate/: it must reach it."""
    parts = urlsplit(site_url)
    host = (parts.hostname or "").lower()
    webhook = f"{site_url.rstrip('/')}/webhooks/replicate/"
    if not is_public_host(host):
        return Finding(
            "SITE_URL",
            Level.WARNING,
            f"SITE_URL={site_url} cannot be reached from the internet, so Replicate cannot "
            f"deliver webhooks to {webhook}. Orders still finish, but only when "
            "`manage.py sync_replicate` (run it from cron every few minutes) asks Replicate "
            "about jobs with no news for SYNC_AFTER_MINUTES. Set SITE_URL to the public https "
            "address in production. (The built-in emulator runs on this machine and does reach "
            "it.)",
        )
    if parts.scheme != "https":
        return Finding(
            "SITE_URL",
            Level.WARNING,
            f"SITE_URL={site_url} is not https: with DEBUG=false the site redirects http to "
            "https, and a redirected webhook is lost. Use the https address.",
        )
    return Finding("SITE_URL", Level.OK, f"Webhooks go to {webhook}.")


def is_public_host(host: str) -> bool:
    """False for localhost, private, loopback and link-local addresses and single-label names."""
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a name like `web` only resolves inside a private network
    return address.is_global
