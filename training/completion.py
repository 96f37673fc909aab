"""Stage "completion", second half: each finished prediction's images copied into our storage
at once (Replicate deletes them after an hour) as headshots with previews, and the order made
ready when every style has its headshots.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_noop as _
from PIL import Image

from lib import print_ready
from lib.storage import delete_quietly, save_whole
from training.followups import FollowUp, Next
from training.lifecycle import order_fail, seconds_between
from training.likeness import assess, reference_descriptor
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
from training.topups import plan_top_ups, promised

logger = logging.getLogger(__name__)


PREVIEW_SIDE = 480
NO_LIKENESS = _(
    "None of the headshots looked enough like you, so we are not delivering them. Your credit "
    "is back; try again with sharper photos of your face, each of you alone."
)
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
        reference = reference_descriptor(order)
        try:
            for index, url in enumerate(prediction.output_urls):
                store_output(prediction, index, url, reference)
        except OutputRefused as refusal:
            if isinstance(refusal, OutputHostRefused):
                logger.warning("order %s: output refused: %s", order.uuid, refusal)
            return order_fail(
                order, stage=Stage.COMPLETION, error=DOWNLOAD_FAILED, detail=str(refusal)
            )
        Prediction.objects.filter(pk=prediction.pk).update(outputs_stored=True)
    return finish_if_complete(order)


def store_output(
    prediction: Prediction, index: int, url: str, reference: Sequence[float] | None = None
) -> None:
    """One image: downloaded (capped, typed), scored against the person's face (`likeness.py`),
    stored with a small preview and a print-ready JPEG (`lib/print_ready.py`), recorded once.

    Each file is saved whole (`save_whole`); when anything on the way fails (a full disk), the
    files already saved go too: no file is left that no row points to.
    """
    if Headshot.objects.filter(prediction=prediction, output_index=index).exists():
        return
    content, content_type = download_output(url)
    folder = f"headshots/{prediction.order.uuid}"
    stem = f"{prediction.prompt_index + 1}-{prediction.attempt}-{index + 1}"
    stored: list[str] = []
    try:
        image = print_ready.decoded(content)
        likeness = assess(image, reference)
        files = (
            (f"{folder}/{stem}.{EXTENSIONS[content_type]}", content),
            (f"{folder}/previews/{stem}.webp", make_preview(image)),
            (f"{folder}/print/{stem}.jpg", print_ready.print_jpeg(image)),
        )
        for name, data in files:
            stored.append(save_whole(default_storage, name, io.BytesIO(data)))
        Headshot.objects.create(
            order=prediction.order, prediction=prediction, output_index=index,
            image=stored[0], preview=stored[1], jpeg=stored[2], content_type=content_type,
            width=image.width, height=image.height,
            size_bytes=sum(len(data) for _name, data in files),  # what it takes of the quota
            **likeness.as_fields(),
        )  # fmt: skip
    except Exception:
        for name in stored:
            delete_quietly(name)
        raise


def make_preview(image: Image.Image) -> bytes:
    """A small WebP for the gallery, without the original's metadata."""
    preview = image.convert("RGB")  # a copy: the original stays whole for the JPEG
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    preview.info = {}
    buffer = io.BytesIO()
    preview.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


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
    """Ready when every expected prediction's latest attempt is stored, unless some styles fell
    short of the likeness check and the order may still top them up (`topups.py`).

    The order's row is locked meanwhile: two predictions finishing together must not both plan
    a round of top-ups, nor both make the order ready.
    """
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        if not every_prediction_done(order):
            return []
        if plan_top_ups(order):
            return [FollowUp(Next.GENERATE_HEADSHOTS, order.pk)]
        if settings.FACE_ANALYSIS_ENABLED and not order.headshots.shown().exists():
            # Not one headshot looked like the person, top-ups included: nothing to deliver.
            return order_fail(order, stage=Stage.COMPLETION, error=NO_LIKENESS)
        if not order.move_to(Status.READY):
            return []
        order.record_spend()
        prediction_seconds = sum(p.predict_time or 0.0 for p in order.predictions.all())
        TrainingEvent.record(
            order=order,
            stage=Stage.COMPLETION,
            status=TrainingEvent.Outcome.SUCCESS,
            duration=seconds_between(order.training_finished_at, order.ready_at),
            metadata={
                "headshots": order.headshots.count(),
                "shown": order.headshots.shown().count(),
                "promised": promised(order),
                "predict_time": prediction_seconds,
            },
        )
    return [FollowUp(Next.NOTIFY_READY, order.pk)]


def every_prediction_done(order: Order) -> bool:
    """Whether each expected slot's latest attempt succeeded and is stored; a top-up that failed
    twice is given up (the order is delivered without it) rather than failing the order."""
    latest: dict[int, Prediction] = {}
    for prediction in order.predictions.all():
        latest[prediction.prompt_index] = prediction  # ordered by attempt
    for slot in expected_predictions(order):
        done = latest.get(slot)
        if done is None:
            return False
        given_up = done.is_top_up and done.is_final and done.outputs_stored
        if not given_up and (done.status != Prediction.State.SUCCEEDED or not done.outputs_stored):
            return False
    return True
