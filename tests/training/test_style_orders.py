"""Orders made of styles, through the emulator over real HTTP: forty headshots from a default
order, predictions created side by side and each once, the gallery and the ZIP by style, and
what the order cost on Replicate."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from privacy.consent import consent_now
from tests.conftest import wait_for
from tests.training.conftest import face_jpeg
from tests.training.ordering import place_order, reaches
from training.completion import expected_predictions
from training.downloads import zip_entries
from training.models import Order, Prediction, Status
from training.orders import OrderRefused, order_create
from training.packages import PROFESSIONAL
from training.styles import order_styles

pytestmark = pytest.mark.timeout(120)


def predictions_on_replicate(emulator: Any) -> list[Any]:
    with emulator.state.lock:
        return [job for job in emulator.state.jobs.values() if job.kind == "prediction"]


def spend_of(order: Order, price: float) -> Decimal:
    """What the order should have cost: every run's seconds, the training's included."""
    seconds = (order.predict_time or 0.0) + sum(
        p.predict_time or 0.0 for p in order.predictions.all()
    )
    return Decimal(str(round(seconds * price, 4)))


def test_it_makes_forty_headshots_in_ten_styles_with_the_default_settings(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.ORDER_STYLES = []  # the defaults: every style, four images each
    settings.HEADSHOTS_PER_STYLE = 4

    # Forty images made, scored for likeness and stored, beside the other test workers.
    placed = place_order(dora, tmp_path / "uploads", settings)
    order = reaches(placed, Status.READY, Status.FAILED, timeout=90)

    assert order.status == Status.READY, order.error_detail
    assert order.headshots.count() >= 40
    styles = [style.slug for style in order_styles(order.package)]
    assert len(styles) >= 10
    assert list(order.predictions.values_list("style", flat=True)) == styles
    assert expected_predictions(order) == dict(enumerate(styles))
    settings.ORDER_STYLES = ["library"]  # a change of settings leaves begun orders as they are
    assert expected_predictions(order) == dict(enumerate(styles))
    sent = {job.input["prompt"]: job.input for job in predictions_on_replicate(replicate)}
    assert len(sent) == len(styles)  # one create per style, none twice
    for prediction in order.predictions.all():
        assert sent[prediction.prompt]["num_outputs"] == 4
        assert prediction.headshots.count() == 4


def test_it_creates_the_predictions_side_by_side(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.ORDER_STYLES = ["grey-studio", "white-studio", "modern-office", "library"]
    settings.HEADSHOTS_PER_STYLE = 1
    # Each create is answered a second after Replicate makes it: one after another, the four
    # would be made a second apart; side by side, together.
    replicate.set_faults(create_faults_for=["predictions"], slow_answer_creates=4, hang_seconds=1.0)

    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)

    assert order.status == Status.READY, order.error_detail
    made = sorted(job.created_at for job in predictions_on_replicate(replicate))
    assert len(made) == 4
    assert (made[-1] - made[0]).total_seconds() < 0.9


def test_it_creates_each_prediction_once_when_answers_are_lost(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.ORDER_STYLES = ["grey-studio", "white-studio", "modern-office", "library"]
    settings.HEADSHOTS_PER_STYLE = 1
    # Two creates reach Replicate but their answers never come back: the app must find those
    # two by their prompts instead of creating them again.
    replicate.set_faults(create_faults_for=["predictions"], drop_after_accept_creates=2)

    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)

    assert order.status == Status.READY, order.error_detail
    prompts = sorted(job.input["prompt"] for job in predictions_on_replicate(replicate))
    assert prompts == sorted(order.predictions.values_list("prompt", flat=True))
    assert order.predictions.count() == 4
    assert order.headshots.count() == 4


def test_it_shows_the_gallery_grouped_under_each_styles_name(
    client: Client, replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)
    client.force_login(dora)

    page = client.get(reverse("training:order_detail", kwargs={"order_uuid": order.uuid}))

    html = page.content.decode()
    grey, office = html.index('id="style-grey-studio"'), html.index('id="style-modern-office"')
    assert grey < office
    assert "<h3>Estudio gris" in html[grey:office]
    assert "<h3>Oficina moderna" in html[office:]
    for headshot in order.headshots.select_related("prediction"):
        start = grey if headshot.prediction.style == "grey-studio" else office
        end = office if start == grey else len(html)
        assert f'id="headshot-{headshot.pk}"' in html[start:end]


def test_it_names_the_files_of_the_zip_by_style(
    client: Client, replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)
    client.force_login(dora)
    url = reverse("training:order_download", kwargs={"order_uuid": order.uuid})

    everything = zipfile.ZipFile(io.BytesIO(client.get(url).getvalue()))
    favourite = order.headshots.get(prediction__style="modern-office", output_index=1)
    favourite.is_favourite = True
    favourite.save()
    favourites = zipfile.ZipFile(io.BytesIO(client.get(f"{url}?only=favourites").getvalue()))

    assert sorted(everything.namelist()) == [
        "grey-studio-1.jpg",
        "grey-studio-2.jpg",
        "modern-office-1.jpg",
        "modern-office-2.jpg",
    ]
    assert favourites.namelist() == ["modern-office-2.jpg"]  # the same name as in the whole set
    headshots = list(order.headshots.shown().select_related("prediction"))
    with CaptureQueriesContext(connection) as queries:
        entries = zip_entries(headshots)
    assert len(queries) == 1  # every name at once, not a query per headshot
    assert sorted(name for name, _stored in entries) == sorted(everything.namelist())


def test_it_records_the_spend_of_the_training_and_every_prediction(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.READY, Status.FAILED)

    assert order.status == Status.READY
    assert all(p.predict_time for p in order.predictions.all())
    assert order.cost == spend_of(order, settings.REPLICATE_PRICE_PER_SECOND)
    training_only = Decimal(str(round(order.predict_time * settings.REPLICATE_PRICE_PER_SECOND, 4)))
    assert order.cost > training_only


def test_it_records_the_spend_of_an_order_that_failed_after_its_predictions_ran(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.ORDER_STYLES = ["grey-studio"]
    replicate.set_faults(fail_predictions=2)  # the style's first try and its retry

    order = reaches(place_order(dora, tmp_path / "uploads", settings), Status.FAILED, Status.READY)

    assert order.status == Status.FAILED
    attempts = wait_for(
        lambda: (
            list(order.predictions.exclude(predict_time=None).values_list("attempt", flat=True))
            if order.predictions.exclude(predict_time=None).count() == 2
            else None
        )
    )
    assert sorted(attempts) == [1, 2]
    assert order.predictions.filter(status=Prediction.State.FAILED).count() == 2
    order.refresh_from_db()
    assert order.cost == spend_of(order, settings.REPLICATE_PRICE_PER_SECOND)
    assert order.cost > Decimal(
        str(round(order.predict_time * settings.REPLICATE_PRICE_PER_SECOND, 4))
    )


def test_it_spends_nothing_on_a_refused_order(
    replicate: Any, dora: User, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    too_few = [
        SimpleUploadedFile("selfie.jpg", face_jpeg(0, long_side=1200), "image/jpeg"),
    ]

    with pytest.raises(OrderRefused):
        order_create(
            user=dora,
            package=PROFESSIONAL,
            name="Perfil",
            subject_type="woman",
            photos=too_few,
            consent=consent_now(),
        )

    assert not Order.objects.exists()
    with replicate.state.lock:
        assert list(replicate.state.jobs.values()) == []
