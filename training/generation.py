"""Stage "completion", first half: one prediction per style of the order with the trained model,
and what Replicate says about each (`completion.py` stores the images and finishes the order).

The predictions are created side by side by a few threads (PREDICTION_CREATE_THREADS), paced
under Replicate's creates-per-minute limit (`replicate/pacing.py`). A failed prediction is
tried once more; a style that fails twice fails the order.

Each row gets at most one Replicate prediction, even when a create is not answered (a dropped
connection, a killed worker): Replicate's prediction is known by the order's trained version
and the row's prompt, so after an unclear answer, or when sync finds a `starting` row without an
id, we list recent predictions and adopt that one; only when none exists is it created again.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_noop as _

from training.followups import FollowUp, Next
from training.lifecycle import order_fail
from training.models import (
    Order,
    Prediction,
    Stage,
    Status,
)
from training.replicate.backoff import CREATE_ATTEMPTS, with_backoff
from training.replicate.client import ReplicateGateway, client_from_settings
from training.replicate.errors import ReplicateAmbiguous, ReplicateGatewayError
from training.replicate.pacing import wait_for_create_slot
from training.replicate.payloads import PredictionInfo
from training.styles import order_styles, style_named

logger = logging.getLogger(__name__)
# Our clock and Replicate's may disagree: a lookup reaches this far before the row was made.
LOOKUP_MARGIN = timedelta(minutes=5)
GENERATION_FAILED = _(
    "We could not create your headshots. Nothing was charged; please start a new order."
)


def start_predictions(*, order_id: int, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Create the rows for every style (once), then a Replicate prediction for each pending row."""
    order = Order.objects.select_related("user").get(pk=order_id)
    if order.status != Status.GENERATING:
        return []
    if not order.predictions.exists():
        plan_predictions(order)
    gateway = gateway or client_from_settings()
    pending = list(order.predictions.filter(status=Prediction.State.PENDING))
    return submit_predictions(order, pending, gateway)


def plan_predictions(order: Order) -> None:
    """One row per style of the order (its first attempt), all or none, so that the order's
    expected predictions are known before any of them can finish, and a change of ORDER_STYLES
    touches only orders whose generation has not begun."""
    with transaction.atomic():
        for index, style in enumerate(order_styles(order.package)):
            Prediction.objects.get_or_create(
                order=order,
                prompt_index=index,
                attempt=1,
                defaults={"prompt": style.prompt(order.subject_type), "style": style.slug},
            )


def submit_predictions(
    order: Order, predictions: list[Prediction], gateway: ReplicateGateway
) -> list[FollowUp]:
    """Submit the rows side by side; each is still claimed (pending → starting) before its
    create, so a row is created once however many threads and workers try."""
    if len(predictions) < 2 or connection.in_atomic_block:
        # Inside a transaction, other threads could not see its rows: one after another.
        return [step for p in predictions for step in submit_prediction(order, p, gateway)]

    def submit_in_thread(prediction: Prediction) -> list[FollowUp]:
        try:
            return submit_prediction(order, prediction, gateway)
        finally:
            connections.close_all()  # this thread's own connection, as a finished request does

    threads = min(settings.PREDICTION_CREATE_THREADS, len(predictions))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="prediction-create") as pool:
        return [step for steps in pool.map(submit_in_thread, predictions) for step in steps]


def submit_prediction(
    order: Order, prediction: Prediction, gateway: ReplicateGateway
) -> list[FollowUp]:
    """Claim the row (pending → starting) so no other worker submits it, then create it once."""
    if not prediction.move_to(Prediction.State.STARTING):
        return []
    try:
        info = create_prediction(order, prediction, gateway)
    except ReplicateAmbiguous as error:
        # It may exist: the row stays `starting` for sync to look up, never created blindly.
        logger.warning("order %s: prediction %s unclear: %r", order.uuid, prediction.pk, error)
        return []
    except ReplicateGatewayError as error:
        logger.warning("order %s: prediction %s not created: %r", order.uuid, prediction.pk, error)
        prediction.move_to(Prediction.State.FAILED, error=repr(error))
        return prediction_failed(prediction)
    return adopt_prediction(info=info, prediction=prediction, gateway=gateway)


def create_prediction(
    order: Order, prediction: Prediction, gateway: ReplicateGateway
) -> PredictionInfo:
    """Create the row's prediction; after an unclear answer, look for it before creating again."""
    for _attempt in range(CREATE_ATTEMPTS):
        try:
            wait_for_create_slot(per_minute=settings.PREDICTION_CREATES_PER_MINUTE)
            return with_backoff(lambda: gateway.create_prediction(
                version=order.replicate_version_id,
                input=prediction_input(prediction),
                webhook=f"{settings.SITE_URL}/webhooks/replicate/",
                webhook_events_filter=["start", "completed"],
            ))  # fmt: skip
        except ReplicateAmbiguous:
            logger.warning("order %s: prediction %s create unclear; looking it up", order.uuid,
                           prediction.pk)  # fmt: skip
            try:
                found = find_prediction_for(order, prediction, gateway)
            except ReplicateGatewayError as error:
                raise ReplicateAmbiguous(f"and the lookup failed: {error!r}") from error
            if found:
                return found
    raise ReplicateAmbiguous("the prediction create never got a clear answer")


def find_prediction_for(
    order: Order, prediction: Prediction, gateway: ReplicateGateway
) -> PredictionInfo | None:
    """Replicate's prediction for this row: the order's trained version, the row's prompt, made
    since the row was, and not already another row's."""
    version = bare_version(order.replicate_version_id)
    taken = set(
        order.predictions.exclude(pk=prediction.pk)
        .exclude(replicate_prediction_id="")
        .values_list("replicate_prediction_id", flat=True)
    )
    for info in gateway.list_predictions(created_after=prediction.created_at - LOOKUP_MARGIN):
        if (
            info.version == version
            and info.input.get("prompt") == prediction.prompt
            and info.id not in taken
        ):
            return info
    return None


def bare_version(reference: str) -> str:
    """`owner/name:hash` (or a bare hash) to the hash Replicate shows on a prediction."""
    return reference.rpartition(":")[2]


def adopt_prediction(
    *, info: PredictionInfo, prediction: Prediction, gateway: ReplicateGateway
) -> list[FollowUp]:
    """Record Replicate's id on the row once; a second prediction for one row is canceled."""
    adopted = Prediction.objects.filter(
        pk=prediction.pk, replicate_prediction_id__in=("", info.id)
    ).update(replicate_prediction_id=info.id)
    if not adopted:
        logger.warning("prediction %s has another id already; canceling %s", prediction.pk, info.id)
        try:
            gateway.cancel_prediction(info.id)
        except ReplicateGatewayError:  # best effort: it ends on its own anyway
            logger.warning("prediction %s: could not cancel %s", prediction.pk, info.id)
        return []
    prediction.replicate_prediction_id = info.id
    return apply_prediction_update(info=info, prediction=prediction) or []


def prediction_input(prediction: Prediction) -> dict[str, object]:
    """What Replicate is asked for: the row's prompt, the settings, and the style's own inputs."""
    style = style_named(prediction.style)
    return {
        "prompt": prediction.prompt,
        "num_outputs": prediction.num_outputs or settings.HEADSHOTS_PER_STYLE,
        "aspect_ratio": settings.HEADSHOT_ASPECT_RATIO,
        "output_format": settings.HEADSHOT_OUTPUT_FORMAT,
        "output_quality": settings.HEADSHOT_OUTPUT_QUALITY,
        **(style.inputs if style else {}),
    }


def apply_prediction_update(
    *, info: PredictionInfo, prediction: Prediction | None = None
) -> list[FollowUp] | None:
    """Record what Replicate says about a prediction (None: not one of ours)."""
    found = prediction.pk if prediction else None
    # Lock the row: a `processing` and a `succeeded` arriving together must not race.
    locked = Prediction.objects.select_for_update(of=("self",)).select_related("order")
    with transaction.atomic(savepoint=False):
        prediction = (
            locked.filter(pk=found).first()
            if found
            else locked.filter(replicate_prediction_id=info.id).first()
            or adopt_waiting(locked, info)
        )
        if prediction is None:
            return None
        return [] if prediction.is_final else apply_prediction_status(prediction, info)


def adopt_waiting(locked: QuerySet[Prediction], info: PredictionInfo) -> Prediction | None:
    """News about a prediction whose create has not answered yet (its id is not saved): the
    row waiting for it, known by trained version and prompt, takes the id now.

    Only a prediction made since the row was (as `find_prediction_for` asks): a late one of a
    retried order's deleted rows has the same prompts. Replicate always sends `created_at`;
    news without it is left to the sync, which looks the row's prediction up by time.
    """
    prompt = info.input.get("prompt")
    if not info.version or not isinstance(prompt, str) or info.created_at is None:
        return None
    same_version = Q(order__replicate_version_id=info.version) | Q(
        order__replicate_version_id__endswith=f":{info.version}"
    )
    waiting = locked.filter(
        same_version,
        order__status=Status.GENERATING,
        status__in=[Prediction.State.PENDING, Prediction.State.STARTING],
        replicate_prediction_id="",
        prompt=prompt,
        created_at__lte=info.created_at + LOOKUP_MARGIN,
    ).first()
    if waiting is None:
        return None
    Prediction.objects.filter(pk=waiting.pk).update(replicate_prediction_id=info.id)
    waiting.replicate_prediction_id = info.id
    return waiting


def apply_prediction_status(prediction: Prediction, info: PredictionInfo) -> list[FollowUp]:
    """Move the (locked) prediction as its status says; success and failure have follow-ups."""
    if prediction.status == Prediction.State.PENDING:  # adopted: its create did reach Replicate
        prediction.move_to(Prediction.State.STARTING)
    if info.status == "processing":
        prediction.move_to(Prediction.State.PROCESSING)
        return []
    if info.status == "succeeded":
        moved = prediction.move_to(
            Prediction.State.SUCCEEDED,
            output_urls=list(info.output),
            predict_time=info.predict_time,
        )
        if moved:
            spend_recorded(prediction.order)
        return [FollowUp(Next.STORE_HEADSHOTS, prediction.pk)] if moved else []
    failed = info.status in ("failed", "canceled")
    if failed and prediction.move_to(
        info.status, error=info.error or "", predict_time=info.predict_time
    ):
        spend_recorded(prediction.order)  # a failed run is billed for the time it ran
        return prediction_failed(prediction)
    return []


def spend_recorded(order: Order) -> None:
    """The order's spend, written once this transaction has committed: here the prediction's
    row is locked, and writing the order's row too would deadlock with a worker failing the
    order (which locks them the other way round)."""
    transaction.on_commit(order.record_spend)


def prediction_failed(prediction: Prediction) -> list[FollowUp]:
    """Try the style once more, or fail the order when it was already the second try."""
    order = Order.objects.select_related("user").get(pk=prediction.order_id)
    if prediction.is_top_up and prediction.attempt >= 2 and order.status == Status.GENERATING:
        # Extra headshots that would not come: the order goes on with what it has.
        Prediction.objects.filter(pk=prediction.pk).update(outputs_stored=True)
        return [FollowUp(Next.STORE_HEADSHOTS, prediction.pk)]
    if prediction.attempt >= 2 or order.status != Status.GENERATING:
        return order_fail(
            order, stage=Stage.COMPLETION, error=GENERATION_FAILED, detail=prediction.error
        )
    Prediction.objects.get_or_create(
        order=order,
        prompt_index=prediction.prompt_index,
        attempt=prediction.attempt + 1,
        defaults={
            "prompt": prediction.prompt,
            "style": prediction.style,
            "is_top_up": prediction.is_top_up,
            "num_outputs": prediction.num_outputs,
        },
    )
    return [FollowUp(Next.GENERATE_HEADSHOTS, order.pk)]
