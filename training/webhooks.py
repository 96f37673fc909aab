"""`POST /webhooks/replicate/`: Replicate's signed news about trainings and predictions.

The signature is checked before the body is parsed; each `webhook-id` is recorded once, so a
repeated delivery changes nothing; the status goes through the stage modules (whose state
machines never move backwards), and the slow rest is enqueued. The view answers in
milliseconds.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from training import generation, trainings
from training.followups import FollowUp
from training.models import WebhookDelivery
from training.replicate.client import client_from_settings
from training.replicate.payloads import parse_prediction, parse_training
from training.replicate.signatures import WebhookVerificationError, verify_webhook
from training.tasks import enqueue_followups

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SECRET_CACHE_KEY = "replicate:webhook-secret"  # noqa: S105 - a cache key, not a secret


def webhook_secret() -> str:
    """The signing secret: from settings, or fetched once from Replicate and cached for a day."""
    if settings.REPLICATE_WEBHOOK_SECRET:
        return str(settings.REPLICATE_WEBHOOK_SECRET)
    secret: str | None = cache.get(SECRET_CACHE_KEY)
    if secret is None:
        secret = client_from_settings().get_webhook_secret()
        cache.set(SECRET_CACHE_KEY, secret, 24 * 3600)
    return secret


@csrf_exempt
@require_POST
def replicate_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, record once, apply, enqueue."""
    if any(header not in request.headers for header in SIGNATURE_HEADERS):
        return JsonResponse({"error": "missing webhook signature headers"}, status=400)
    body = request.body
    try:
        secret = webhook_secret()
    except Exception:  # the secret could not be fetched: Replicate will deliver again
        logger.exception("webhook secret unavailable")
        return JsonResponse({"error": "try again later"}, status=503)
    # Only a refusal is caught here: anything else in the check is our bug, not a missing secret.
    try:
        verify_webhook(secret=secret, headers=request.headers, body=body)
    except WebhookVerificationError as refusal:
        logger.warning("webhook %s refused: %s", request.headers["webhook-id"], refusal)
        return JsonResponse({"error": "invalid signature"}, status=401)
    try:
        payload = json.loads(body)
        object_id = str(payload["id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "the body is not a Replicate object"}, status=400)
    try:
        outcome = record_and_apply(request.headers["webhook-id"], object_id, payload)
    except (KeyError, TypeError, ValueError):  # signed, but not shaped like Replicate's objects
        logger.warning("webhook %s has an unexpected shape", request.headers["webhook-id"])
        return JsonResponse({"error": "the body is not a Replicate object"}, status=400)
    return JsonResponse({"outcome": outcome})


def record_and_apply(webhook_id: str, object_id: str, payload: dict[str, Any]) -> str:
    """Record the delivery and apply it in one transaction; a known id is answered as such."""
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id,
                object_id=object_id,
                event_status=str(payload.get("status", ""))[:16],
                event_completed_at=parse_datetime(str(payload.get("completed_at") or "")),
            )
            outcome, followups = apply_payload(payload)
            delivery.outcome = outcome
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["outcome", "processed_at"])
            enqueue_followups(followups)
    except IntegrityError:
        return "duplicate"
    if outcome == WebhookDelivery.Outcome.UNKNOWN:
        logger.info("webhook %s about unknown object %s", webhook_id, object_id)
    return outcome


def apply_payload(payload: dict[str, Any]) -> tuple[str, list[FollowUp]]:
    """Hand the news to the stage that owns it: a training (of our trainer) or a prediction."""
    if payload.get("model") == settings.REPLICATE_TRAINER:
        training = parse_training(payload)
        order = trainings.order_for_training(training)
        if order is None:
            return WebhookDelivery.Outcome.UNKNOWN, []
        return WebhookDelivery.Outcome.APPLIED, trainings.apply_training_update(
            info=training, order=order
        )
    followups = generation.apply_prediction_update(info=parse_prediction(payload))
    if followups is None:
        return WebhookDelivery.Outcome.UNKNOWN, []
    return WebhookDelivery.Outcome.APPLIED, followups
