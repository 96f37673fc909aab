"""Stage "completion": one prediction per prompt with the trained model, each finished
prediction's images copied into our storage at once (Replicate deletes them after an hour),
and the order made ready when every prompt has its headshots.

A failed prediction is tried once more; a prompt that fails twice fails the order.

Each row gets at most one Replicate prediction, even when a create is not answered (a dropped
connection, a killed worker): Replicate's prediction is known by the order's trained version
and the row's prompt, so after an unclear answer, or when sync finds a `starting` row without an
id, we list recent predictions and adopt that one; only when none exists is it created again.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop as _
from PIL import Image

from headshots.storage import save_whole
from training.followups import FollowUp, Next
from training.models import (
    Headshot,
    HeadshotModel,
    Prediction,
    Stage,
    Status,
    TrainingEvent,
)
from training.outputs import EXTENSIONS, OutputHostRefused, OutputRefused, download_output
from training.prompts import prompts_for
from training.replicate.client import (
    PredictionInfo,
    ReplicateAmbiguous,
    ReplicateGateway,
    ReplicateGatewayError,
    client_from_settings,
)
from training.trainings import CREATE_ATTEMPTS, order_fail, seconds_between, with_backoff

logger = logging.getLogger(__name__)

PREVIEW_SIDE = 480
# Our clock and Replicate's may disagree: a lookup reaches this far before the row was made.
LOOKUP_MARGIN = timedelta(minutes=5)
GENERATION_FAILED = _(
    "We could not create your headshots. Nothing was charged; please start a new order."
)
DOWNLOAD_FAILED = _(
    "We could not save your headshots. Nothing was charged; please start a new order."
)


def start_predictions(*, order_id: int, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Create the rows for every prompt (once), then a Replicate prediction for each pending row."""
    order = HeadshotModel.objects.select_related("user").get(pk=order_id)
    if order.status != Status.GENERATING:
        return []
    for index, prompt in enumerate(
        prompts_for(package=order.package, subject_type=order.subject_type)
    ):
        Prediction.objects.get_or_create(
            order=order, prompt_index=index, attempt=1, defaults={"prompt": prompt}
        )
    gateway = gateway or client_from_settings()
    followups: list[FollowUp] = []
    for prediction in order.predictions.filter(status=Prediction.State.PENDING):
        followups += submit_prediction(order, prediction, gateway)
    return followups


def submit_prediction(
    order: HeadshotModel, prediction: Prediction, gateway: ReplicateGateway
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
    order: HeadshotModel, prediction: Prediction, gateway: ReplicateGateway
) -> PredictionInfo:
    """Create the row's prediction; after an unclear answer, look for it before creating again."""
    for _attempt in range(CREATE_ATTEMPTS):
        try:
            return with_backoff(lambda: gateway.create_prediction(
                version=order.replicate_version_id,
                input=prediction_input(prediction.prompt),
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
    order: HeadshotModel, prediction: Prediction, gateway: ReplicateGateway
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


def prediction_input(prompt: str) -> dict[str, object]:
    return {
        "prompt": prompt,
        "num_outputs": settings.HEADSHOTS_PER_PROMPT,
        "aspect_ratio": settings.HEADSHOT_ASPECT_RATIO,
        "output_format": settings.HEADSHOT_OUTPUT_FORMAT,
        "output_quality": settings.HEADSHOT_OUTPUT_QUALITY,
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
        return [FollowUp(Next.STORE_HEADSHOTS, prediction.pk)] if moved else []
    failed = info.status in ("failed", "canceled")
    if failed and prediction.move_to(
        info.status, error=info.error or "", predict_time=info.predict_time
    ):
        return prediction_failed(prediction)
    return []


def prediction_failed(prediction: Prediction) -> list[FollowUp]:
    """Try the prompt once more, or fail the order when it was already the second try."""
    order = HeadshotModel.objects.select_related("user").get(pk=prediction.order_id)
    if prediction.attempt >= 2 or order.status != Status.GENERATING:
        return order_fail(
            order, stage=Stage.COMPLETION, error=GENERATION_FAILED, detail=prediction.error
        )
    Prediction.objects.get_or_create(
        order=order,
        prompt_index=prediction.prompt_index,
        attempt=prediction.attempt + 1,
        defaults={"prompt": prediction.prompt},
    )
    return [FollowUp(Next.GENERATE_HEADSHOTS, order.pk)]


def store_outputs(*, prediction_id: int) -> list[FollowUp]:
    """Copy a finished prediction's images into our storage, then see if the order is done."""
    prediction = Prediction.objects.select_related("order", "order__user").get(pk=prediction_id)
    order = prediction.order
    if order.status != Status.GENERATING:
        return []
    if not prediction.outputs_stored:
        try:
            for index, url in enumerate(prediction.output_urls):
                store_output(prediction, index, url)
        except OutputRefused as refusal:
            if isinstance(refusal, OutputHostRefused):
                logger.warning("order %s: output refused: %s", order.uuid, refusal)
            return order_fail(
                order, stage=Stage.COMPLETION, error=DOWNLOAD_FAILED, detail=str(refusal)
            )
        Prediction.objects.filter(pk=prediction.pk).update(outputs_stored=True)
    return finish_if_complete(order)


def store_output(prediction: Prediction, index: int, url: str) -> None:
    """One image: downloaded (capped, typed), stored with a small preview, recorded once.

    Each file is saved whole (`save_whole`); when anything on the way fails (a full disk), the
    files already saved go too: no file is left that no row points to.
    """
    if Headshot.objects.filter(prediction=prediction, output_index=index).exists():
        return
    content, content_type = download_output(url)
    folder = f"headshots/{prediction.order.uuid}"
    stem = f"{prediction.prompt_index + 1}-{prediction.attempt}-{index + 1}"
    image_name = f"{folder}/{stem}.{EXTENSIONS[content_type]}"
    stored: list[str] = []
    try:
        stored.append(save_whole(default_storage, image_name, io.BytesIO(content)))
        width, height, preview = make_preview(content)
        preview_name = f"{folder}/previews/{stem}.webp"
        stored.append(save_whole(default_storage, preview_name, io.BytesIO(preview)))
        Headshot.objects.create(
            order=prediction.order, prediction=prediction, output_index=index,
            image=stored[0], preview=stored[1], content_type=content_type,
            width=width, height=height, size_bytes=len(content),
        )  # fmt: skip
    except Exception:
        for name in stored:
            default_storage.delete(name)
        raise


def make_preview(content: bytes) -> tuple[int, int, bytes]:
    """The image's size, and a small WebP for the gallery."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=80)
    return width, height, buffer.getvalue()


def finish_if_complete(order: HeadshotModel) -> list[FollowUp]:
    """Ready when every prompt's latest attempt succeeded and its images are stored."""
    latest: dict[int, Prediction] = {}
    for prediction in order.predictions.all():
        latest[prediction.prompt_index] = prediction  # ordered by attempt
    expected = len(prompts_for(package=order.package, subject_type=order.subject_type))
    done = [
        p for p in latest.values() if p.status == Prediction.State.SUCCEEDED and p.outputs_stored
    ]
    if len(done) < expected:
        return []
    prediction_seconds = order.predictions.aggregate(total=Sum("predict_time"))["total"] or 0.0
    with transaction.atomic(savepoint=False):
        total_seconds = (order.predict_time or 0.0) + prediction_seconds
        if not order.move_to(
            Status.READY, cost=round(total_seconds * settings.REPLICATE_PRICE_PER_SECOND, 4)
        ):
            return []
        TrainingEvent.record(
            order=order,
            stage=Stage.COMPLETION,
            status=TrainingEvent.Outcome.SUCCESS,
            duration=seconds_between(order.training_finished_at, order.ready_at),
            metadata={"headshots": order.headshots.count(), "predict_time": prediction_seconds},
        )
    return [FollowUp(Next.NOTIFY_READY, order.pk)]


def sync_quiet_predictions(*, gateway: ReplicateGateway | None = None) -> list[FollowUp]:
    """Predictions with no news for SYNC_AFTER_MINUTES are looked up; stored outputs resumed;
    unanswered creates adopted or made again; generations that never began begun."""
    quiet_since = timezone.now() - timedelta(minutes=settings.SYNC_AFTER_MINUTES)
    gateway = gateway or client_from_settings()
    followups = recover_unanswered_creates(gateway=gateway, quiet_since=quiet_since)
    followups += restart_empty_generations(quiet_since=quiet_since)
    running = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status__in=[Prediction.State.STARTING, Prediction.State.PROCESSING],
        updated_at__lt=quiet_since,
    ).exclude(replicate_prediction_id="")
    for prediction in running.select_related("order"):
        try:
            info = gateway.get_prediction(prediction.replicate_prediction_id)
        except Exception:  # one unreachable prediction must not stop the others
            logger.exception("prediction %s: sync could not read it", prediction.pk)
            continue
        followups += apply_prediction_update(info=info, prediction=prediction) or []
    unstored = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status=Prediction.State.SUCCEEDED,
        outputs_stored=False,
        updated_at__lt=quiet_since,
    )
    followups += [
        FollowUp(Next.STORE_HEADSHOTS, pk) for pk in unstored.values_list("pk", flat=True)
    ]
    pending = HeadshotModel.objects.filter(
        status=Status.GENERATING,
        predictions__status=Prediction.State.PENDING,
        predictions__updated_at__lt=quiet_since,
    ).distinct()
    followups += [
        FollowUp(Next.GENERATE_HEADSHOTS, pk) for pk in pending.values_list("pk", flat=True)
    ]
    return followups


def recover_unanswered_creates(
    *, gateway: ReplicateGateway, quiet_since: datetime
) -> list[FollowUp]:
    """Rows left `starting` without an id (the creating worker died or never heard back): adopt
    what Replicate has for them, or, when it has nothing, hand them back to be created."""
    abandoned = Prediction.objects.filter(
        order__status=Status.GENERATING,
        status=Prediction.State.STARTING,
        replicate_prediction_id="",
        updated_at__lt=quiet_since,
    ).select_related("order")
    followups: list[FollowUp] = []
    for prediction in abandoned:
        try:
            info = find_prediction_for(prediction.order, prediction, gateway)
        except Exception:  # one unreachable lookup must not stop the others
            logger.exception("prediction %s: sync could not look it up", prediction.pk)
            continue
        if info is not None:
            followups += adopt_prediction(info=info, prediction=prediction, gateway=gateway)
        elif prediction.release():
            followups.append(FollowUp(Next.GENERATE_HEADSHOTS, prediction.order_id))
    return followups


def restart_empty_generations(*, quiet_since: datetime) -> list[FollowUp]:
    """Orders generating without a single prediction row: the task that makes them died first."""
    empty = HeadshotModel.objects.filter(
        status=Status.GENERATING, updated_at__lt=quiet_since, predictions__isnull=True
    )
    return [FollowUp(Next.GENERATE_HEADSHOTS, pk) for pk in empty.values_list("pk", flat=True)]
