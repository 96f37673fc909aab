"""The likeness check on the results, end to end through the emulator: headshots of someone else
or of nobody are hidden from the person (kept for staff), the styles that fell short are topped
up with at most half again the order's predictions, and the person is told when fewer passed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.credits import credit_balance
from accounts.models import User
from replicate_emulator.server import ReplicateEmulator
from tests.conftest import wait_for
from tests.training.ordering import emulator_state, place_order, reaches
from training.models import Headshot, Order, Prediction, Status

pytestmark = pytest.mark.timeout(120)


def kinds_shown(emulator: ReplicateEmulator, headshot: Headshot) -> str:
    """What the emulator put in this output: "own", "other" (a stranger) or "none"."""
    with emulator.state.lock:
        faces = emulator.state.portraits[headshot.prediction.replicate_prediction_id]["faces"]
    return str(faces[headshot.output_index])


def finished(order: Order, replicate: ReplicateEmulator) -> Order:
    done = reaches(order, Status.READY, Status.FAILED, timeout=60)
    wait_for(replicate.webhooks_idle)
    return done


def test_it_hides_strangers_and_empty_frames_and_tops_up_the_styles_that_fell_short(
    replicate: ReplicateEmulator, dora: User, tmp_path: Path, settings: Any, client: Client
) -> None:
    settings.ORDER_STYLES = ["grey-studio", "white-studio", "modern-office", "library"]
    settings.HEADSHOTS_PER_STYLE = 2
    replicate.state.config.wrong_face_share = 0.5

    order = finished(place_order(dora, tmp_path / "uploads", settings), replicate)

    assert order.status == Status.READY, order.error_detail
    assert order.face_embeddings == []  # described at upload, they scored the results and went
    for headshot in order.headshots.select_related("prediction"):
        kind = kinds_shown(replicate, headshot)
        assert headshot.hidden == (kind != "own"), (kind, headshot.likeness, headshot.face_count)
        if kind == "own":
            assert headshot.likeness is not None
            assert headshot.likeness < settings.LIKENESS_THRESHOLD
    top_ups = list(order.predictions.filter(is_top_up=True, attempt=1))
    assert 1 <= len(top_ups) <= 2  # half again the four styles, at most
    for top_up in top_ups:
        assert top_up.num_outputs is not None
        assert 1 <= top_up.num_outputs <= 2  # only what the style was missing
        with replicate.state.lock:
            sent = replicate.state.jobs[top_up.replicate_prediction_id].input
        assert sent["num_outputs"] == top_up.num_outputs

    # The person sees, downloads and counts only the headshots that passed.
    shown = set(order.headshots.filter(hidden=False).values_list("pk", flat=True))
    client.force_login(dora)
    page = client.get(order.get_absolute_url()).content.decode()
    for headshot in order.headshots.all():
        assert (f'id="headshot-{headshot.pk}"' in page) == (headshot.pk in shown)
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(client.get(reverse("training:order_download", args=[order.uuid])))),
    )
    assert len(archive.namelist()) == len(shown)
    # Whether or not the top-ups made up for all of it, the page and the e-mail say so.
    said = "We promised 8." in page or "Te prometimos 8." in page
    assert said == (len(shown) < 8), len(shown)
    assert ("8" in mail.outbox[-1].body) == (len(shown) < 8)


def test_it_stops_topping_up_at_half_again_and_fails_with_a_refund_when_nothing_passes(
    replicate: ReplicateEmulator, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.ORDER_STYLES = ["grey-studio", "white-studio", "modern-office", "library"]
    settings.HEADSHOTS_PER_STYLE = 1
    replicate.state.config.wrong_face_share = 1.0  # never the person
    credits_before = credit_balance(dora)

    order = finished(place_order(dora, tmp_path / "uploads", settings), replicate)

    assert order.status == Status.FAILED
    assert "credit" in order.error.lower()
    assert order.predictions.filter(is_top_up=True).values("prompt_index").distinct().count() == 2
    assert Prediction.objects.filter(order=order, is_top_up=False).count() == 4
    assert not order.headshots.filter(hidden=False).exists()
    assert credit_balance(dora) == credits_before  # the order's credit came back


def test_with_face_analysis_off_nothing_is_hidden_or_topped_up(
    replicate: ReplicateEmulator, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.FACE_ANALYSIS_ENABLED = False
    replicate.state.config.wrong_face_share = 0.5

    order = finished(place_order(dora, tmp_path / "uploads", settings), replicate)

    assert order.status == Status.READY
    assert order.face_embeddings == []
    assert not order.headshots.filter(hidden=True).exists()
    assert not order.predictions.filter(is_top_up=True).exists()
    assert order.headshots.count() == order.headshots.filter(likeness__isnull=True).count()


def test_a_top_up_that_fails_twice_is_given_up_and_the_order_delivered(
    replicate: ReplicateEmulator, dora: User, tmp_path: Path, settings: Any
) -> None:
    replicate.state.config.wrong_face_share = 0.5
    order = place_order(dora, tmp_path / "uploads", settings)
    # The order's own predictions go through; the next two (the top-up and its retry) fail.
    wait_for(lambda: len(emulator_state(replicate)["predictions"]) >= 2)
    replicate.set_faults(fail_predictions=2)

    order = finished(order, replicate)

    assert order.status == Status.READY, order.error_detail
    top_up = order.predictions.filter(is_top_up=True)
    assert list(top_up.values_list("attempt", "status")) == [
        (1, Prediction.State.FAILED),
        (2, Prediction.State.FAILED),
    ]
    assert 0 < order.headshots.filter(hidden=False).count() < 4
