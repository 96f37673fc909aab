"""Malware scanning with a real clamd: infected files refused, a silent clamd refuses the set."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import UploadedFile

from tests.conftest import free_port
from tests.training.conftest import EICAR, encode, face_image, face_jpeg, leftovers, messages
from training.photos import scanning
from training.photos.photo_sets import prepare_photo_set
from training.photos.problems import PhotoSetRefused

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


@pytest.fixture
def dripping_clamd() -> Iterator[str]:
    """A "clamd" that reads the stream, then answers one byte every 0.2 s and never ends."""

    def serve(listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    while not conn.recv(65536).endswith(struct.pack(">I", 0)):
                        pass
                    for _ in range(300):
                        conn.sendall(b"s")
                        time.sleep(0.2)
                except OSError:
                    pass

    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_it_gives_up_on_a_clamd_that_drips_its_answer(dripping_clamd: str) -> None:
    started = time.monotonic()

    with pytest.raises(scanning.ScannerUnavailable):
        scanning.scan(io.BytesIO(b"a photo"), url=dripping_clamd, timeout=1.0)

    assert time.monotonic() - started < 10  # the timeout bounds the whole scan, not each read
