"""Malware scanning with a real clamd: infected files refused, a silent clamd refuses the set."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import UploadedFile

from tests.conftest import free_port
from tests.training.conftest import EICAR, encode, face_image, face_jpeg, leftovers, messages
from training import scanning
from training.dataset import PhotoSetRefused, prepare_photo_set

Upload = Callable[..., UploadedFile]


def with_good_photos(extra: list[UploadedFile], upload: Upload) -> list[UploadedFile]:
    return extra + [upload(f"selfie{n}.jpg", face_jpeg(n)) for n in (1, 2, 3, 4)]


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_it_lets_clean_photos_through_clamd(
    settings: Any, clamd: dict[str, str], photo_temp_dir: Path, upload: Upload, transport: str
) -> None:
    settings.CLAMD_URL = clamd[transport]

    with prepare_photo_set(with_good_photos([], upload)) as photo_set:
        assert len(photo_set.photos) == 4


def test_it_refuses_the_eicar_test_file_named_as_a_photo(
    settings: Any, clamd: dict[str, str], photo_temp_dir: Path, upload: Upload
) -> None:
    settings.CLAMD_URL = clamd["unix"]
    # A virus inside a real JPEG (in a comment) would be decoded and cleaned without the scan.
    carrier = encode(face_image(0), comment=EICAR)
    files = with_good_photos([upload("selfie3.jpg", EICAR), upload("carrier.jpg", carrier)], upload)

    with pytest.raises(PhotoSetRefused) as refused, prepare_photo_set(files):
        pytest.fail("accepted")

    assert messages(refused.value.problems) == [
        "selfie3.jpg: the virus scanner flagged this file.",
        "carrier.jpg: the virus scanner flagged this file.",
    ]
    assert not refused.value.retryable
    assert leftovers(photo_temp_dir) == []


def test_it_names_the_signature_clamd_found(clamd: dict[str, str]) -> None:
    with pytest.raises(scanning.InfectedFile) as infected:
        scanning.scan(io.BytesIO(b"prefix " + EICAR), url=clamd["tcp"])

    assert infected.value.signature.startswith("Headshots.Test.EICAR")


@pytest.mark.parametrize("scheme", ["unix", "tcp"])
def test_it_refuses_the_set_when_clamd_is_configured_but_not_running(
    settings: Any, tmp_path: Path, photo_temp_dir: Path, upload: Upload, scheme: str
) -> None:
    absent = {"unix": f"unix://{tmp_path}/no-clamd.sock", "tcp": f"tcp://127.0.0.1:{free_port()}"}
    settings.CLAMD_URL = absent[scheme]

    files = with_good_photos([], upload)
    with pytest.raises(PhotoSetRefused) as refused, prepare_photo_set(files):
        pytest.fail("accepted without a scan")

    assert messages(refused.value.problems) == [
        "The virus scanner is not answering, try again later."
    ]
    assert refused.value.problems[0].photo_name is None
    assert refused.value.retryable
    assert leftovers(photo_temp_dir) == []
