"""Standard Webhooks signatures, as Replicate signs its webhooks.

The HMAC and the secret decoding come from the `standardwebhooks` package; the header parsing and
the clock check are ours, because the package's `verify()` reads the wall clock with a fixed
five-minute window and crashes on malformed signature entries, and we want a clock we can set in
tests and a tolerance from settings.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

# Seconds since the epoch, in ASCII digits: twelve are enough until the year 33658.
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(Exception):
    """A webhook that must not be trusted; the message says why (never the secret)."""


class InvalidWebhookSignature(WebhookVerificationError):
    """Headers missing or malformed, or no signature matches the body."""


class StaleWebhookTimestamp(WebhookVerificationError):
    """The signed timestamp is too far from now: a replay, or a badly wrong clock."""


def sign_webhook(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a sender attaches, so the emulator and tests sign like Replicate."""
    signature = _expected_signature(
        secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(signature).decode()}",
    }


def verify_webhook(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> None:
    """Raise unless `body` was signed with `secret` recently; call it before parsing the body."""
    lowered = {key.lower(): value for key, value in headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (webhook_id and raw_timestamp and signatures):
        raise InvalidWebhookSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    timestamp = _parse_timestamp(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise StaleWebhookTimestamp(f"webhook timestamp {timestamp} is outside the tolerance")
    expected = _expected_signature(
        secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body
    )
    if not any(hmac.compare_digest(expected, given) for given in _v1_signatures(signatures)):
        raise InvalidWebhookSignature("no webhook signature matches")


def _expected_signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> bytes:
    """The raw HMAC-SHA256 of `{id}.{timestamp}.{body}`, computed by standardwebhooks."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidWebhookSignature("webhook body is not UTF-8") from error
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    try:
        header = Webhook(secret).sign(msg_id=webhook_id, timestamp=when, data=text)
    except (binascii.Error, ValueError, EmptyWebhookSecretError) as error:
        raise InvalidWebhookSignature("the webhook secret is not a whsec_ base64 key") from error
    return base64.b64decode(header.split(",", 1)[1])


def _parse_timestamp(raw: str) -> int:
    """Whole seconds since the epoch; anything else is a forged or broken header.

    ASCII digits only, and few of them: `str.isdigit()` also accepts "¹²³", and `int()` refuses
    thousands of digits, either of which would escape as a ValueError instead of a refusal.
    """
    if TIMESTAMP.fullmatch(raw) is None:
        raise InvalidWebhookSignature("webhook-timestamp is not a Unix timestamp")
    return int(raw)


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded `v1,` entries of a space-separated signature header; others are skipped."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return found
