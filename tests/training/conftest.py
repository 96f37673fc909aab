"""Photos made for the tests (from skimage's astronaut, a real face photo), uploads, clamd, and
an HTTP server standing in for Replicate's delivery host.

The helpers are plain functions so that test modules can import them; the fixtures wrap what
needs cleaning up (uploads' temporary files, a running clamd).
"""

from __future__ import annotations

import functools
import io
import mimetypes
import shutil
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from django.core.files.uploadedfile import (
    SimpleUploadedFile,
    TemporaryUploadedFile,
    UploadedFile,
)
from django.test import override_settings
from PIL import Image, ImageFilter, ImageOps
from skimage import data

from training.photos import scanning
from training.photos.photo_sets import PhotoSet

if TYPE_CHECKING:
    from accounts.models import User

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@cache
def astronaut() -> Image.Image:
    """Eileen Collins, 512x512: sharp, one face looking at the camera."""
    return Image.fromarray(data.astronaut())


@cache
@functools.cache
def _enlarged() -> Image.Image:  # crops and mirrors make new images: never changed
    return astronaut().resize((1024, 1024), Image.Resampling.LANCZOS)


# Crops and mirror images of one portrait that the dedupe must see as different photos (their
# fingerprints differ in 20+ bits; test_quality.py checks it) and that each hold one face.
VARIANTS: list[Callable[[], Image.Image]] = [
    lambda: _enlarged().crop((0, 0, 800, 800)),
    lambda: _enlarged().crop((100, 0, 900, 800)),
    lambda: _enlarged().crop((200, 100, 1000, 900)),
    lambda: _enlarged().crop((100, 0, 800, 1024)),
    lambda: ImageOps.mirror(_enlarged().crop((0, 0, 800, 800))),
    lambda: ImageOps.mirror(_enlarged().crop((200, 100, 1000, 900))),
]


def face_image(variant: int = 0, *, long_side: int | None = None) -> Image.Image:
    """One of the distinct portraits, optionally scaled to a given long side."""
    image = VARIANTS[variant]()
    if long_side:
        scale = long_side / max(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    """The bytes of the image saved in a format (JPEG, PNG, WEBP, HEIF)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def face_jpeg(variant: int = 0, **options: Any) -> bytes:
    long_side = options.pop("long_side", None)
    return _face_jpeg(variant, long_side, tuple(sorted(options.items())))


@functools.cache
def _face_jpeg(variant: int, long_side: int | None, options: tuple[tuple[str, Any], ...]) -> bytes:
    """Made once per process: most order tests upload the same four photos."""
    return encode(face_image(variant, long_side=long_side), **dict(options))


def blurred(image: Image.Image, sigma_at_640: float) -> Image.Image:
    """A Gaussian blur whose strength is given relative to a 640-pixel copy of the photo."""
    return image.filter(ImageFilter.GaussianBlur(sigma_at_640 * max(image.size) / 640))


def small_face_image() -> Image.Image:
    """The astronaut in the middle of a wider textured scene: her face is ~12% of the side."""
    rng = np.random.default_rng(7)
    scene = rng.integers(90, 170, (800, 1000, 3)).astype(np.uint8)
    canvas = Image.fromarray(scene).filter(ImageFilter.GaussianBlur(2))
    canvas.paste(astronaut(), (244, 144))
    return canvas


def tilted_face_image() -> Image.Image:
    """The astronaut's head turned by 20 degrees in a wider scene, her face ~15 % of the width:
    a clear face that OpenCV's Haar cascade, our detector before dlib's, did not find."""
    rng = np.random.default_rng(7)
    scene = rng.integers(90, 170, (800, 1000, 3)).astype(np.uint8)
    canvas = Image.fromarray(scene).filter(ImageFilter.GaussianBlur(2))
    turned = astronaut().rotate(-20, Image.Resampling.BICUBIC, fillcolor=(128, 128, 128))
    canvas.paste(turned.resize((645, 645), Image.Resampling.LANCZOS), (177, 77))
    return canvas


# Faces from skimage's `lfw_subset` (25x25 crops of Labeled Faces in the Wild) that dlib places
# furthest from the astronaut (0.85 to 0.97, where the astronaut's own photos are within 0.35).
STRANGERS = (71, 20, 10)


@cache
def _lfw() -> np.ndarray:
    return data.lfw_subset()


def stranger_image(person: int = 0, *, mirrored: bool = False) -> Image.Image:
    """Someone else than the astronaut, upscaled to 640 pixels (soft: the original is 25 px);
    `mirrored` is a different photo of the same stranger (cropped, mirrored)."""
    small = Image.fromarray((_lfw()[STRANGERS[person]] * 255).astype(np.uint8)).convert("RGB")
    if mirrored:
        small = ImageOps.mirror(small.crop((2, 0, 25, 23)))
    return small.resize((640, 640), Image.Resampling.LANCZOS)


def two_people_image() -> Image.Image:
    """Two portraits side by side, as in a photo of a couple."""
    left = _enlarged().crop((100, 0, 700, 800))
    canvas = Image.new("RGB", (1400, 800), "grey")
    canvas.paste(left, (0, 0))
    canvas.paste(ImageOps.mirror(left), (700, 0))
    return canvas


def no_face_image() -> Image.Image:
    """A real photo (a cup of coffee) with nobody in it."""
    return Image.fromarray(data.coffee()).resize((900, 600), Image.Resampling.LANCZOS)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of zeros: a few kilobytes that decode to width x height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.fixture
def photo_temp_dir(settings: Any, tmp_path: Path) -> Path:
    """Where the pipeline keeps its temporary files; not created yet, as on a fresh server."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "photo-temp")
    return tmp_path / "photo-temp"


@pytest.fixture
def upload(tmp_path: Path) -> Iterator[Callable[..., UploadedFile]]:
    """Make an upload as Django hands it to a view: streamed to a temporary file by default."""
    made: list[UploadedFile] = []
    incoming = tmp_path / "incoming"
    incoming.mkdir()

    def make(name: str, content: bytes, *, in_memory: bool = False) -> UploadedFile:
        if in_memory:
            made.append(SimpleUploadedFile(name, content, content_type="image/jpeg"))
            return made[-1]
        with override_settings(FILE_UPLOAD_TEMP_DIR=str(incoming)):
            temporary = TemporaryUploadedFile(name, "image/jpeg", len(content), None)
        temporary.write(content)
        temporary.flush()
        temporary.seek(0)
        made.append(temporary)
        return temporary

    yield make
    for uploaded in made:
        uploaded.close()


@pytest.fixture
def face_uploads(upload: Callable[..., UploadedFile]) -> Callable[[int], list[UploadedFile]]:
    """`count` distinct, acceptable portraits as uploads named selfie1.jpg, selfie2.jpg, ..."""

    def make(count: int) -> list[UploadedFile]:
        return [upload(f"selfie{n + 1}.jpg", face_jpeg(n % len(VARIANTS))) for n in range(count)]

    return make


def leftovers(directory: Path) -> list[Path]:
    """Whatever the pipeline left in its temporary folder (nothing, when it is right)."""
    return sorted(directory.rglob("*")) if directory.exists() else []


def messages(problems: list[Any]) -> list[str]:
    """The problems' sentences in English, as an English-speaking person would read them."""
    from django.utils import translation

    with translation.override("en"):
        return [str(problem.message) for problem in problems]


def photo_names(photo_set: PhotoSet) -> list[str]:
    return [photo.source_name for photo in photo_set.photos]


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real clamd, in the foreground, whose only signature matches the EICAR test string.

    Returns its `unix://` and `tcp://` URLs. `make test` installs ClamAV (bin/test-prerequisites).
    """
    binary = shutil.which("clamd") or (
        "/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None
    )
    assert binary, "clamd is not installed: apt-get install clamav-daemon"
    from tests.conftest import free_port

    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "db" / "eicar.ndb").write_text(f"Headshots.Test.EICAR:0:*:{EICAR.hex()}\n")
    port = free_port()
    config = root / "clamd.conf"
    config.write_text(
        f"Foreground yes\nLocalSocket {root}/clamd.sock\nTCPSocket {port}\n"
        f"TCPAddr 127.0.0.1\nDatabaseDirectory {root}/db\nLogFile {root}/clamd.log\n"
        f"PidFile {root}/clamd.pid\n"
    )
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL)
    urls = {"unix": f"unix://{root}/clamd.sock", "tcp": f"tcp://127.0.0.1:{port}"}
    try:
        _wait_for_pong(urls["unix"], process, root / "clamd.log")
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_pong(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not scanning.ping(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"clamd did not start: {log.read_text() if log.exists() else ''}")
        time.sleep(0.1)


@pytest.fixture
def dora(transactional_db: None, settings: Any) -> User:
    """A committed person (a live server and workers see her) with the one credit an order costs."""
    from accounts.credits import credits_grant
    from tests.conftest import make_user

    settings.TRAINING_CREDIT_COST = 1
    user = make_user("dora@example.com")
    credits_grant(user=user, amount=1, reason="test")
    return user


@pytest.fixture
def image_host(settings: Any) -> Iterator[Callable[[str, bytes], str]]:
    """A real HTTP server standing in for Replicate's delivery host (the emulator's origin)."""
    images: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = images.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", mimetypes.guess_type(self.path)[0] or "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings.REPLICATE_USES_EMULATOR = True
    settings.REPLICATE_BASE_URL = f"{origin}/v1"

    def publish(path: str, body: bytes) -> str:
        images[path] = body
        return f"{origin}{path}"

    yield publish
    server.shutdown()
    server.server_close()
