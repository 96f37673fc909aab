"""Standard Webhooks signatures: the published test vector and every way a webhook can be bad."""

from __future__ import annotations

import pytest

from training.replicate.signatures import (
    InvalidWebhookSignature,
    StaleWebhookTimestamp,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WEBHOOK_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(**changes: str) -> dict[str, str]:
    headers = {
        "webhook-id": WEBHOOK_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": SIGNATURE,
    }
    return {**headers, **changes}


def test_it_signs_the_published_test_vector() -> None:
    headers = sign_webhook(secret=SECRET, webhook_id=WEBHOOK_ID, timestamp=TIMESTAMP, body=BODY)
    assert headers == vector_headers()


def test_it_verifies_the_published_test_vector() -> None:
    verify_webhook(secret=SECRET, headers=vector_headers(), body=BODY, now=TIMESTAMP + 10)


def test_it_reads_headers_in_any_case() -> None:
    headers = {key.title(): value for key, value in vector_headers().items()}
    verify_webhook(secret=SECRET, headers=headers, body=BODY, now=TIMESTAMP)


def test_it_rejects_a_tampered_body() -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(
            secret=SECRET, headers=vector_headers(), body=b'{"test": 2432232315}', now=TIMESTAMP
        )


def test_it_rejects_a_wrong_secret() -> None:
    other = "whsec_" + "A" * 32
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(secret=other, headers=vector_headers(), body=BODY, now=TIMESTAMP)


def test_it_rejects_a_secret_that_is_not_base64() -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(secret="whsec_", headers=vector_headers(), body=BODY, now=TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_it_rejects_missing_headers(missing: str) -> None:
    headers = {key: value for key, value in vector_headers().items() if key != missing}
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(secret=SECRET, headers=headers, body=BODY, now=TIMESTAMP)


def test_it_rejects_a_changed_webhook_id() -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(
            secret=SECRET,
            headers=vector_headers(**{"webhook-id": "msg_other"}),
            body=BODY,
            now=TIMESTAMP,
        )


def test_it_rejects_a_timestamp_that_is_not_a_number() -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(
            secret=SECRET,
            headers=vector_headers(**{"webhook-timestamp": "yesterday"}),
            body=BODY,
            now=TIMESTAMP,
        )


def test_it_rejects_a_stale_timestamp() -> None:
    with pytest.raises(StaleWebhookTimestamp):
        verify_webhook(secret=SECRET, headers=vector_headers(), body=BODY, now=TIMESTAMP + 301)


def test_it_rejects_a_timestamp_from_the_future() -> None:
    with pytest.raises(StaleWebhookTimestamp):
        verify_webhook(secret=SECRET, headers=vector_headers(), body=BODY, now=TIMESTAMP - 301)


def test_it_honours_a_custom_tolerance() -> None:
    verify_webhook(
        secret=SECRET,
        headers=vector_headers(),
        body=BODY,
        now=TIMESTAMP + 3000,
        tolerance_seconds=3600,
    )


def test_it_uses_the_real_clock_by_default() -> None:
    with pytest.raises(StaleWebhookTimestamp):
        verify_webhook(secret=SECRET, headers=vector_headers(), body=BODY)


def test_it_accepts_one_good_signature_among_several() -> None:
    several = f"v1,bm90IGEgc2lnbmF0dXJl v2,whatever broken {SIGNATURE}"
    headers = vector_headers(**{"webhook-signature": several})
    verify_webhook(secret=SECRET, headers=headers, body=BODY, now=TIMESTAMP)


def test_it_rejects_when_none_of_several_signatures_match() -> None:
    several = (
        "v1,bm90IGEgc2lnbmF0dXJl v1,!!!notbase64 v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(
            secret=SECRET,
            headers=vector_headers(**{"webhook-signature": several}),
            body=BODY,
            now=TIMESTAMP,
        )


def test_it_rejects_a_body_that_is_not_utf8() -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(secret=SECRET, headers=vector_headers(), body=b"\xff\xfe", now=TIMESTAMP)


def test_it_groups_both_failures_under_one_error() -> None:
    assert issubclass(InvalidWebhookSignature, WebhookVerificationError)
    assert issubclass(StaleWebhookTimestamp, WebhookVerificationError)


def test_it_round_trips_its_own_signatures() -> None:
    headers = sign_webhook(secret=SECRET, webhook_id="msg_1", timestamp=1_700_000_000, body=b"{}")
    verify_webhook(secret=SECRET, headers=headers, body=b"{}", now=1_700_000_100)


@pytest.mark.parametrize(
    "timestamp", ["¹²³", "١٢٣", "9" * 5000, "-5", "1e9", " 1614265330", "1614265330\n", ""]
)
def test_it_rejects_a_timestamp_int_would_choke_on_or_read_loosely(timestamp: str) -> None:
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook(
            secret=SECRET,
            headers=vector_headers(**{"webhook-timestamp": timestamp}),
            body=BODY,
            now=TIMESTAMP,
        )
