"""Stage "completion", second half: each finished prediction's images copied into our storage
at once (Replicate deletes them after an hour) as headshots with previews, and the order made
ready when every style has its headshots.
"""

from __future__ import annotations

import io
import logging

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_noop as _
from PIL import Image

from lib.storage import delete_quietly, save_whole
from training.followups import FollowUp, Next
from training.lifecycle import order_fail, seconds_between
from training.models import (
    Headshot,
    Order,
    Prediction,
    Stage,
    Status,
    TrainingEvent,
)
from training.outputs import EXTENSIONS, OutputHostRefused, OutputRefused, download_output
from training.styles import order_styles

logger = logging.getLogger(__name__)


PREVIEW_SIDE = 480
DOWNLOAD_FAILED = _(
    "We could not save your headshots. Nothing was charged; please start a new order."
)


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
            delete_quietly(name)
        raise


def make_preview(content: bytes) -> tuple[int, int, bytes]:
    """The image's size, and a small WebP for the gallery."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=80)
    return width, height, buffer.getvalue()


def expected_predictions(order: Order) -> dict[int, str]:
    """The predictions this order must finish before it is ready: slot (`prompt_index`) → style.

    One slot per style of the order (`styles.order_styles`, written as rows when generation
    begins), and any slot added later (a likeness top-up is a row with a slot of its own). A
    slot is done when its latest attempt succeeded and its images are stored.
    """
    rows = dict(order.predictions.filter(attempt=1).values_list("prompt_index", "style"))
    if rows:  # planned all at once when generation began: a later change of settings is moot
        return rows
    return {index: style.slug for index, style in enumerate(order_styles(order.package))}


def finish_if_complete(order: Order) -> list[FollowUp]:
    """Ready when every expected prediction's latest attempt succeeded and its images are stored."""
    latest: dict[int, Prediction] = {}
    for prediction in order.predictions.all():
        latest[prediction.prompt_index] = prediction  # ordered by attempt
    for slot in expected_predictions(order):
        done = latest.get(slot)
        if done is None or done.status != Prediction.State.SUCCEEDED or not done.outputs_stored:
            return []
    with transaction.atomic(savepoint=False):
        if not order.move_to(Status.READY):
            return []
        order.record_spend()
        prediction_seconds = sum(p.predict_time or 0.0 for p in order.predictions.all())
        TrainingEvent.record(
            order=order,
            stage=Stage.COMPLETION,
            status=TrainingEvent.Outcome.SUCCESS,
            duration=seconds_between(order.training_finished_at, order.ready_at),
            metadata={"headshots": order.headshots.count(), "predict_time": prediction_seconds},
        )
    return [FollowUp(Next.NOTIFY_READY, order.pk)]
