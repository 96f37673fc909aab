"""`POST /webhooks/stripe/`: verified before anything is read, each event applied once."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.events import event_receive
from payments.stripe_api import InvalidSignature
from payments.tasks import enqueue_event_followups

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: 400 for a bad signature or a stale one (Stripe then retries), else 200."""
    try:
        result = event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except InvalidSignature as error:
        logger.warning("stripe webhook refused: %s", error)
        return JsonResponse({"error": "invalid signature"}, status=400)
    enqueue_event_followups(result)
    answer = {"received": True, "duplicate": result.duplicate, "outcome": result.outcome}
    return JsonResponse(answer)
