"""Destination models and the files API (where the ZIP goes when our storage is private)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from replicate_emulator.server import ReplicateEmulator
from tests.replicate.conftest import make_photo_zip, wait_until
from training.replicate.client import ReplicateGateway
from training.replicate.errors import ReplicateRejected
from training.replicate.transport import api_root


def test_it_creates_a_model_once(gateway: ReplicateGateway) -> None:
    assert gateway.create_model(owner="headshots", name="headshots-abc") is True
    assert gateway.create_model(owner="headshots", name="headshots-abc") is False

    model = gateway.get_model(owner="headshots", name="headshots-abc")

    assert model is not None
    assert model.visibility == "private"
    assert model.latest_version_id is None


def test_it_finds_no_missing_model(gateway: ReplicateGateway) -> None:
    assert gateway.get_model(owner="headshots", name="nothing") is None


def test_it_deletes_a_model_without_versions(gateway: ReplicateGateway) -> None:
    gateway.create_model(owner="headshots", name="short-lived")

    assert gateway.delete_model(owner="headshots", name="short-lived") is True
    assert gateway.delete_model(owner="headshots", name="short-lived") is False
    assert gateway.get_model(owner="headshots", name="short-lived") is None


def test_it_refuses_an_invalid_model_name(gateway: ReplicateGateway) -> None:
    with pytest.raises(ReplicateRejected) as caught:
        gateway.create_model(owner="headshots", name="Not A Name")

    assert caught.value.status == 422


def test_it_uploads_downloads_and_deletes_a_file(
    gateway: ReplicateGateway, emulator: ReplicateEmulator, tmp_path: Path
) -> None:
    archive = tmp_path / "training-set.zip"
    archive.write_bytes(make_photo_zip())

    uploaded = gateway.upload_file(archive, filename="training-set.zip")
    headers = {"Authorization": f"Bearer {emulator.token}"}
    described = httpx.get(uploaded.url, headers=headers).json()
    downloaded = httpx.get(described["urls"]["download"])

    assert described["name"] == "training-set.zip"
    assert described["content_type"] == "application/zip"
    assert downloaded.content == archive.read_bytes()
    assert gateway.delete_file(uploaded.id) is True
    assert gateway.delete_file(uploaded.id) is False
    assert httpx.get(uploaded.url, headers=headers).status_code == 404


def test_it_refuses_a_download_with_a_forged_signature(
    gateway: ReplicateGateway, emulator: ReplicateEmulator
) -> None:
    uploaded = gateway.upload_file(io.BytesIO(b"secret photos"), filename="set.zip")
    download = f"{emulator.base_url}/files/{uploaded.id}/download"

    forged = httpx.get(
        download, params={"owner": "emulator", "expiry": 9999999999, "signature": "x"}
    )

    assert forged.status_code == 404


def test_it_trains_from_an_uploaded_file(
    gateway: ReplicateGateway, start_training, destination: str
) -> None:
    uploaded = gateway.upload_file(io.BytesIO(make_photo_zip()), filename="set.zip")

    training_id = start_training(input={"input_images": uploaded.url}).id
    done = wait_until(lambda: (t := gateway.get_training(training_id)).is_terminal and t)

    assert done.status == "succeeded"


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("http://127.0.0.1:8787/v1", "http://127.0.0.1:8787"),
        ("http://127.0.0.1:8787/v1/", "http://127.0.0.1:8787"),
        ("https://api.replicate.com", "https://api.replicate.com"),
        (None, None),
    ],
)
def test_it_accepts_base_urls_with_or_without_v1(given: str | None, root: str | None) -> None:
    assert api_root(given) == root


def test_it_deletes_a_trained_model_with_its_versions(
    gateway: ReplicateGateway, start_training, destination: str
) -> None:
    owner, name = destination.split("/")
    uploaded = gateway.upload_file(io.BytesIO(make_photo_zip()), filename="set.zip")
    training_id = start_training(input={"input_images": uploaded.url}).id
    wait_until(lambda: gateway.get_training(training_id).status == "succeeded")
    assert gateway.get_model(owner=owner, name=name).latest_version_id  # type: ignore[union-attr]

    assert gateway.delete_model_with_versions(owner=owner, name=name)
    assert gateway.get_model(owner=owner, name=name) is None
    assert not gateway.delete_model_with_versions(owner=owner, name=name)
