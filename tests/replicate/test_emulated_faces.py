"""Emulated headshots show the trained person on the style's backdrop, or, for a share, not.

The training ZIP holds real photos of skimage's astronaut; dlib (lib.faces) then reads the
outputs as the likeness gate will: her face must survive the compositing, strangers must be far
from her, and the emulator's state must say which output is which.
"""

from __future__ import annotations

import functools
import io
import sys
import zipfile
from typing import Any

import httpx
import pytest
from PIL import Image, ImageStat

from lib.faces import SAME_PERSON, Descriptor, distance, find_faces
from replicate_emulator import face_crops
from replicate_emulator.images import image_size
from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import TRAINER, TRAINER_VERSION, WebhookReceiver, make_photo_zip
from tests.replicate.conftest import wait_until as wait_for
from tests.training.conftest import astronaut, encode, face_image
from training.replicate.client import ReplicateGateway

EVENTS = ["start", "output", "logs", "completed"]
GREY = "portrait of ohwx woman, grey studio backdrop, head and shoulders, soft light"
BLUE = "portrait of ohwx woman, corporate blue backdrop, head and shoulders, soft light"


@functools.cache
def her() -> Descriptor:
    descriptor = find_faces(astronaut())[0].descriptor
    assert descriptor is not None
    return descriptor


def photo_zip(images: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, image in enumerate(images, start=1):
            archive.writestr(f"image_{number}.jpg", encode(image, quality=90))
    return buffer.getvalue()


def train(gateway: ReplicateGateway, destination: str, blob: bytes, receiver: Any) -> str:
    """Upload the ZIP to the emulator's files API, train on it, return the new version."""
    uploaded = gateway.upload_file(io.BytesIO(blob), filename="photos.zip")
    training = gateway.create_training(
        destination=destination,
        trainer=TRAINER,
        trainer_version=TRAINER_VERSION,
        input={"input_images": uploaded.url, "trigger_word": "ohwx"},
        webhook=receiver.url,
        webhook_events_filter=EVENTS,
    )
    done = wait_for(lambda: (t := gateway.get_training(training.id)).is_terminal and t)
    assert done.status == "succeeded"
    return str(done.version)


@pytest.fixture
def her_version(
    gateway: ReplicateGateway, destination: str, webhook_receiver: WebhookReceiver
) -> str:
    photos = [face_image(variant) for variant in range(4)]
    return train(gateway, destination, photo_zip(photos), webhook_receiver)


@pytest.fixture
def faithful(emulator: ReplicateEmulator) -> None:
    """Every output shows the person (a test may set another share after)."""
    emulator.state.config.wrong_face_share = 0.0


def start(gateway: ReplicateGateway, version: str, receiver: WebhookReceiver, **input: Any) -> str:
    data = {"prompt": GREY, "num_outputs": 1, **input}
    created = gateway.create_prediction(
        version=version, input=data, webhook=receiver.url, webhook_events_filter=EVENTS
    )
    return created.id


def outputs_of(gateway: ReplicateGateway, prediction_id: str) -> list[Image.Image]:
    done = wait_for(lambda: (p := gateway.get_prediction(prediction_id)).is_terminal and p)
    assert done.status == "succeeded"
    return [Image.open(io.BytesIO(httpx.get(url).content)) for url in done.output]


def predict(
    gateway: ReplicateGateway, version: str, receiver: WebhookReceiver, **input: Any
) -> tuple[str, list[Image.Image]]:
    """Run a prediction to its end; its id and its output images, opened."""
    prediction_id = start(gateway, version, receiver, **input)
    return prediction_id, outputs_of(gateway, prediction_id)


def faces_shown(emulator: ReplicateEmulator, prediction_id: str) -> list[str]:
    with emulator.state.lock:
        return list(emulator.state.portraits[prediction_id]["faces"])


def corner_colour(image: Image.Image) -> tuple[float, ...]:
    corner = image.convert("RGB").crop((0, image.height // 5, image.width // 10, image.height // 2))
    return tuple(ImageStat.Stat(corner).mean)


@pytest.mark.parametrize("megapixels", ["1", "0.25"])
def test_it_paints_the_trained_persons_own_face(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    faithful: None,
    emulator: ReplicateEmulator,
    megapixels: str,
) -> None:
    prediction_id, outputs = predict(
        gateway, her_version, webhook_receiver, megapixels=megapixels, num_outputs=4
    )  # two photos' crops, then the same two mirrored

    for output in outputs:
        found = find_faces(output)
        assert len(found) == 1
        assert found[0].descriptor is not None
        assert distance(found[0].descriptor, her()) < SAME_PERSON
    assert faces_shown(emulator, prediction_id) == ["own"] * 4


def test_it_paints_the_backdrop_the_prompts_style_asks_for(
    gateway: ReplicateGateway, her_version: str, webhook_receiver: WebhookReceiver, faithful: None
) -> None:
    _, (grey,) = predict(gateway, her_version, webhook_receiver, prompt=GREY)
    _, (blue,) = predict(gateway, her_version, webhook_receiver, prompt=BLUE)
    _, (classic,) = predict(
        gateway, her_version, webhook_receiver, prompt="portrait of ohwx woman, black and white"
    )

    red, green, blue_channel = corner_colour(grey)
    assert max(red, green, blue_channel) - min(red, green, blue_channel) < 4
    red, green, blue_channel = corner_colour(blue)
    assert blue_channel > red + 40
    saturation = classic.convert("RGB").convert("HSV").getchannel("S")
    assert ImageStat.Stat(saturation).mean[0] < 2  # no colour left, face included
    assert len(find_faces(classic, describe=False)) == 1  # her face, greyed with the rest


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpg", "JPEG"), ("png", "PNG")])
def test_it_paints_faces_in_the_format_and_size_asked_for(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    faithful: None,
    output_format: str,
    pil_format: str,
) -> None:
    _, (output,) = predict(
        gateway, her_version, webhook_receiver, output_format=output_format, aspect_ratio="3:4"
    )

    assert output.format == pil_format
    assert output.size == image_size("3:4", "1")
    assert len(find_faces(output, describe=False)) == 1


def test_it_shows_strangers_or_nobody_when_the_whole_share_is_wrong(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    faithful: None,
    emulator: ReplicateEmulator,
) -> None:
    emulator.state.config.wrong_face_share = 1.0

    prediction_id, outputs = predict(
        gateway, her_version, webhook_receiver, megapixels="0.25", num_outputs=3
    )

    shown = faces_shown(emulator, prediction_id)
    assert shown == ["other", "other", "none"]
    for kind, output in zip(shown, outputs, strict=True):
        found = find_faces(output)
        if kind == "none":
            assert found == []
        else:
            assert len(found) == 1
            assert found[0].descriptor is not None
            assert distance(found[0].descriptor, her()) > 0.75


def test_it_shows_nobody_instead_of_a_stranger_without_scikit_image(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    faithful: None,
    emulator: ReplicateEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.state.config.wrong_face_share = 1.0
    monkeypatch.setitem(sys.modules, "skimage", None)  # as under `make run`: not installed
    face_crops.strangers.cache_clear()
    try:
        prediction_id, (output,) = predict(gateway, her_version, webhook_receiver)
    finally:
        face_crops.strangers.cache_clear()

    assert faces_shown(emulator, prediction_id) == ["none"]
    assert find_faces(output, describe=False) == []


def test_it_makes_one_output_in_eight_wrong_by_default(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    emulator: ReplicateEmulator,
) -> None:
    assert emulator.state.config.wrong_face_share == 0.125
    ids = [
        start(gateway, her_version, webhook_receiver, megapixels="0.25", num_outputs=4)
        for _ in range(6)
    ]
    for prediction_id in ids:
        outputs_of(gateway, prediction_id)

    shown = [kind for prediction_id in ids for kind in faces_shown(emulator, prediction_id)]
    assert len(shown) == 24
    assert sorted(shown) == ["none"] + ["other"] * 2 + ["own"] * 21


def test_it_spreads_the_wrong_share_evenly_over_any_number_of_outputs() -> None:
    for wrong_share, expected in ((0.0, 0), (0.125, 100), (0.3, 240), (1.0, 800)):
        kinds = [face_crops.choose(serial, wrong_share) for serial in range(800)]

        assert len(kinds) - kinds.count("own") == expected
        assert kinds[:8].count("own") == 8 - round(8 * wrong_share)


def test_it_falls_back_to_the_gradient_for_photos_without_a_face(
    gateway: ReplicateGateway,
    destination: str,
    webhook_receiver: WebhookReceiver,
    emulator: ReplicateEmulator,
) -> None:
    version = train(gateway, destination, make_photo_zip(faces=False), webhook_receiver)

    prediction_id, (output,) = predict(gateway, version, webhook_receiver, megapixels="0.25")

    assert faces_shown(emulator, prediction_id) == ["gradient"]
    assert find_faces(output, describe=False) == []
    assert output.getpixel((0, 0)) != output.getpixel((output.width - 1, 0))  # the gradient


def test_it_falls_back_to_the_gradient_for_a_version_trained_before_a_restart(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    emulator: ReplicateEmulator,
) -> None:
    with emulator.state.lock:
        emulator.state.faces.clear()  # what a restart forgets; the version itself stays

    prediction_id, _ = predict(gateway, her_version, webhook_receiver, megapixels="0.25")

    assert faces_shown(emulator, prediction_id) == ["gradient"]


def test_it_reports_what_each_output_shows_in_its_state(
    gateway: ReplicateGateway,
    her_version: str,
    webhook_receiver: WebhookReceiver,
    faithful: None,
    emulator: ReplicateEmulator,
) -> None:
    prediction_id, _ = predict(gateway, her_version, webhook_receiver, prompt=BLUE)

    state = httpx.get(
        f"{emulator.url}/_emulator/state", headers={"Authorization": f"Bearer {emulator.token}"}
    ).json()

    assert state["portraits"][prediction_id] == {"backdrop": "blue", "faces": ["own"]}


def test_it_refuses_a_share_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ReplicateEmulator(wrong_face_share=1.5)


@pytest.mark.parametrize(
    ("style", "backdrop"),
    [
        ("grey studio backdrop", "grey"),
        ("white studio backdrop, white shirt", "white"),
        ("modern office, natural light from a window", "office"),
        ("outdoors, natural light, blue sky", "outdoor"),
        ("city street, blurred traffic", "street"),
        ("library, bookshelf behind", "library"),
        ("warm café interior", "cafe"),
        ("black and white classic portrait, white shirt", "monochrome"),
        ("dark studio, low-key lighting, dark suit", "low-key"),
        ("corporate blue backdrop, white shirt", "blue"),
        ("8k photo", "studio"),
    ],
)
def test_it_chooses_the_backdrop_from_the_prompts_style_words(style: str, backdrop: str) -> None:
    from replicate_emulator.backdrops import backdrop_for

    assert backdrop_for(f"portrait of ohwx man, {style}, 85mm lens") == backdrop


def test_it_skips_a_photo_it_cannot_open_and_paints_the_face_of_the_others(
    gateway: ReplicateGateway,
    destination: str,
    webhook_receiver: WebhookReceiver,
    emulator: ReplicateEmulator,
    faithful: None,
) -> None:
    buffer = io.BytesIO(photo_zip([face_image(1)]))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("image_0.jpg", b"not a photo at all")  # read first: names are sorted
    version = train(gateway, destination, buffer.getvalue(), webhook_receiver)

    prediction_id, (output,) = predict(gateway, version, webhook_receiver, megapixels="0.25")

    assert faces_shown(emulator, prediction_id) == ["own"]
    assert len(find_faces(output, describe=False)) == 1
