"""Preparing an order's photos: accepted formats, cleaning, and the training ZIP on storage."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from PIL import ExifTags, Image, ImageCms, ImageOps

from tests.training.conftest import (
    encode,
    face_image,
    face_jpeg,
    leftovers,
    photo_names,
)
from training.photos import pixels
from training.photos.cleaning import clean_photo
from training.photos.photo_sets import prepare_photo_set
from training.photos.pixels import fit, normalised
from training.photos.problems import PhotoSetRefused, TrainingSetNotStored
from training.photos.zip_writing import write_training_zip

ZIP_NAME = "training-sets/0b4f4c5e.zip"


def zip_images(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_it_prepares_the_photos_and_stores_the_zip(
    photo_temp_dir: Path, upload: Callable[..., UploadedFile]
) -> None:
    files = [
        upload("big.jpg", face_jpeg(0, long_side=2048)),
        upload("small.jpg", face_jpeg(1)),  # 800 px: kept as it is, never enlarged
        upload("tall.png", encode(face_image(3, long_side=1800), "PNG")),
        upload("memory.jpg", face_jpeg(4), in_memory=True),
    ]

    with prepare_photo_set(files) as photo_set:
        size = write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)
        assert photo_names(photo_set) == ["big.jpg", "small.jpg", "tall.png", "memory.jpg"]
        assert photo_set.input_bytes == sum(f.size or 0 for f in files)

    with default_storage.open(ZIP_NAME) as stored:
        images = zip_images(stored.read())
    assert size == default_storage.size(ZIP_NAME)
    assert list(images) == ["image_1.jpg", "image_2.jpg", "image_3.jpg", "image_4.jpg"]
    sizes = [Image.open(io.BytesIO(data)).size for data in images.values()]
    assert sizes == [(1536, 1536), (800, 800), (1050, 1536), (800, 800)]
    assert {Image.open(io.BytesIO(data)).format for data in images.values()} == {"JPEG"}
    assert leftovers(photo_temp_dir) == []


def test_it_stores_the_zip_on_s3(
    s3_storage: str, s3_server: str, photo_temp_dir: Path, face_uploads: Callable[..., Any]
) -> None:
    with prepare_photo_set(face_uploads(5)) as photo_set:
        size = write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)

    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    body = client.get_object(Bucket=s3_storage, Key=ZIP_NAME)["Body"].read()
    assert len(body) == size
    assert list(zip_images(body)) == [f"image_{n}.jpg" for n in range(1, 6)]
    assert leftovers(photo_temp_dir) == []


def photo_with_every_kind_of_metadata(variant: int) -> bytes:
    """A phone photo as it arrives: EXIF with GPS and camera, XMP, a comment, an ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone Inc."
    exif[ExifTags.Base.DateTimeOriginal] = "2026:05:01 10:00:00"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (40.0, 25.0, 1.0)}
    )
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description GPSLatitude="40"/></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(face_image(variant), exif=exif, xmp=xmp, comment=b"shot at home", icc_profile=icc)


def test_it_removes_every_piece_of_metadata(
    photo_temp_dir: Path, upload: Callable[..., UploadedFile]
) -> None:
    files = [upload(f"gps{n}.jpg", photo_with_every_kind_of_metadata(n)) for n in range(4)]
    source = Image.open(io.BytesIO(photo_with_every_kind_of_metadata(0)))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert source.info["icc_profile"]

    with prepare_photo_set(files) as photo_set:
        write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)

    with default_storage.open(ZIP_NAME) as stored:
        images = zip_images(stored.read())
    assert len(images) == 4
    for data in images.values():
        image = Image.open(io.BytesIO(data))
        assert dict(image.getexif()) == {}
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
        for marker in (b"Exif", b"Phone Inc.", b"xmpmeta", b"ICC_PROFILE", b"shot at home"):
            assert marker not in data


def test_it_turns_photos_upright_from_their_exif_orientation(
    photo_temp_dir: Path, upload: Callable[..., UploadedFile]
) -> None:
    upright = face_image(3)  # 700x1024, portrait
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display", as phones write
    sideways = encode(upright.transpose(Image.Transpose.ROTATE_90), exif=exif, quality=95)
    files = [upload("sideways.jpg", sideways)] + [
        upload(f"selfie{n}.jpg", face_jpeg(n)) for n in (0, 1, 2)
    ]

    # Sideways, the face detector would not have found a face: being accepted proves it too.
    with prepare_photo_set(files) as photo_set:
        cleaned = photo_set.photos[0]
        assert (cleaned.width, cleaned.height) == (700, 1024)
        pixels = Image.open(cleaned.path).convert("L").resize((35, 51))
    expected = upright.convert("L").resize((35, 51))
    difference = sum(abs(a - b) for a, b in zip(pixels.tobytes(), expected.tobytes(), strict=True))
    assert difference / (35 * 51) < 8


def asymmetric_image(width: int, height: int) -> Image.Image:
    """Gradients one way, a bright corner, and grain: every turn and mirror of it differs."""
    rng = np.random.default_rng(8)
    x, y = np.meshgrid(np.linspace(0, 200, width), np.linspace(0, 120, height))
    pixels = np.dstack([x, y, x * y / 200]) + rng.normal(0, 12, (height, width, 3))
    pixels[: height // 4, : width // 5] = (250, 40, 90)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    ("fmt", "stored", "side"), [("PNG", (90, 60), 48), ("JPEG", (320, 240), 100)]
)
def test_it_turns_the_shrunk_photo_exactly_as_exif_transpose_would(
    orientation: int, fmt: str, stored: tuple[int, int], side: int
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = encode(asymmetric_image(*stored), fmt, exif=exif)

    with Image.open(io.BytesIO(data)) as opened:
        cleaned = normalised(opened, side)
    with Image.open(io.BytesIO(data)) as opened:  # the obvious way: upright first, then shrink
        if fmt == "JPEG":
            opened.draft("RGB", fit(opened.size, side))  # the same shrink-on-load
        upright = ImageOps.exif_transpose(opened)
        size = fit(upright.size, side)
        expected = Image.fromarray(
            cv2.resize(np.asarray(upright), size, interpolation=pixels.RESIZE)
        )

    assert max(upright.size) > side  # the photo really was shrunk
    assert cleaned.size == size
    difference = np.abs(np.asarray(cleaned, dtype=np.int16) - np.asarray(expected))
    assert difference.max() <= 1  # the same pixels, give or take rounding
    assert cleaned.info == {}


@pytest.mark.parametrize(
    ("fmt", "name", "options"),
    [("HEIF", "selfie.heic", {"quality": 90}), ("WEBP", "selfie.webp", {}), ("PNG", "s.png", {})],
)
def test_it_accepts_heic_webp_and_png_and_converts_them_to_jpeg(
    photo_temp_dir: Path, upload: Callable[..., UploadedFile], fmt: str, name: str, options: dict
) -> None:
    files = [upload(name, encode(face_image(0), fmt, **options))] + [
        upload(f"selfie{n}.jpg", face_jpeg(n)) for n in (1, 2, 3)
    ]

    with prepare_photo_set(files) as photo_set:
        cleaned = Image.open(photo_set.photos[0].path)
        assert (cleaned.format, cleaned.mode, cleaned.size) == ("JPEG", "RGB", (800, 800))


def test_it_cleans_a_single_photo_from_a_file_object(tmp_path: Path) -> None:
    photo = clean_photo(io.BytesIO(face_jpeg(2, long_side=3000)), name="a.jpg", out_dir=tmp_path)

    assert (photo.width, photo.height, photo.source_name) == (1536, 1536, "a.jpg")
    assert photo.path.parent == tmp_path
    assert photo.size_bytes == photo.path.stat().st_size
    assert photo.warnings == []


def test_it_keeps_the_upload_order_with_several_workers(
    settings: Any, photo_temp_dir: Path, face_uploads: Callable[..., list[UploadedFile]]
) -> None:
    settings.PHOTO_WORKERS = 3
    files = face_uploads(6)

    with prepare_photo_set(files) as photo_set:
        assert photo_names(photo_set) == [f"selfie{n}.jpg" for n in range(1, 7)]


def test_it_deletes_its_temporary_files_when_the_caller_fails(
    photo_temp_dir: Path, face_uploads: Callable[..., list[UploadedFile]]
) -> None:
    paths: list[Path] = []

    def use_then_fail(files: list[UploadedFile]) -> None:
        with prepare_photo_set(files) as photo_set:
            paths.extend(photo.path for photo in photo_set.photos)
            raise ZeroDivisionError  # the caller's own failure, inside the block

    with pytest.raises(ZeroDivisionError):
        use_then_fail(face_uploads(4))

    assert len(paths) == 4

    assert leftovers(photo_temp_dir) == []


def test_it_leaves_nothing_when_the_local_storage_fails(
    tmp_path: Path, photo_temp_dir: Path, face_uploads: Callable[..., list[UploadedFile]]
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the storage expects a folder")
    storage = FileSystemStorage(location=blocked)

    with prepare_photo_set(face_uploads(4)) as photo_set, pytest.raises(TrainingSetNotStored):
        write_training_zip(photo_set, storage=storage, name=ZIP_NAME)

    assert blocked.read_text() == "a file where the storage expects a folder"
    assert leftovers(photo_temp_dir) == []


def test_it_leaves_nothing_when_the_s3_bucket_is_missing(
    settings: Any, s3_storage: str, photo_temp_dir: Path, face_uploads: Callable[..., Any]
) -> None:
    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = f"{s3_storage}-gone"

    with prepare_photo_set(face_uploads(4)) as photo_set, pytest.raises(TrainingSetNotStored):
        write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)

    assert not default_storage.exists(ZIP_NAME)
    assert leftovers(photo_temp_dir) == []


def test_it_never_overwrites_an_existing_object(
    photo_temp_dir: Path, face_uploads: Callable[..., list[UploadedFile]]
) -> None:
    default_storage.save(ZIP_NAME, io.BytesIO(b"someone else's"))

    with prepare_photo_set(face_uploads(4)) as photo_set, pytest.raises(TrainingSetNotStored):
        write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)

    assert default_storage.open(ZIP_NAME).read() == b"someone else's"


def test_it_refuses_a_zip_over_the_cap(
    settings: Any, photo_temp_dir: Path, face_uploads: Callable[..., list[UploadedFile]]
) -> None:
    settings.MAX_ZIP_MB = 0.2

    with prepare_photo_set(face_uploads(4)) as photo_set, pytest.raises(PhotoSetRefused):
        write_training_zip(photo_set, storage=default_storage, name=ZIP_NAME)

    assert not default_storage.exists(ZIP_NAME)
    assert leftovers(photo_temp_dir) == []


def test_a_photo_far_larger_than_the_training_size_is_shrunk_by_area_averaging() -> None:
    """No shrink-on-load outside JPEG: a big PNG (or HEIC) is shrunk by a factor over 2 in one
    go, which bicubic interpolation would alias."""
    data = encode(asymmetric_image(480, 360), "PNG")
    with Image.open(io.BytesIO(data)) as opened:
        cleaned = normalised(opened, 100)
    with Image.open(io.BytesIO(data)) as opened:
        expected = cv2.resize(
            np.asarray(opened.convert("RGB")), (100, 75), interpolation=cv2.INTER_AREA
        )

    difference = np.abs(np.asarray(cleaned, dtype=np.int16) - expected)
    assert cleaned.size == (100, 75)
    assert difference.max() <= 1
