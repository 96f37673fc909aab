"""Print-ready downloads: each headshot as a JPG (stored by the worker), a PNG and a LinkedIn
square, at full resolution and with no metadata but the colour profile; the ZIPs hold JPGs.

The headshots here go through `store_output` for real: a portrait carrying EXIF (a camera and a
GPS position), XMP, a text comment and an ICC profile, served over HTTP as Replicate would.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageCms, PngImagePlugin

from accounts.models import User
from lib import faces
from lib.print_ready import LINKEDIN_SIDE, square_around
from tests.training.conftest import astronaut, encode
from training.cleanup import names_in_use
from training.completion import store_output
from training.lifecycle import delete_headshot_files
from training.links import file_link
from training.models import Headshot, Order, Prediction, Status
from training.views import gallery_item

SIDE = 1024
FACE_AT = (40, 470)  # where the 512-pixel astronaut goes: her face low on the left


@cache  # the profile's bytes hold the time they were made
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def portrait() -> Image.Image:
    """A 1024x1024 headshot whose face is well off the centre (down and to the left)."""
    canvas = Image.new("RGB", (SIDE, SIDE), (128, 136, 150))
    canvas.paste(astronaut(), FACE_AT)
    return canvas


def with_metadata(image: Image.Image, image_format: str = "PNG", *, profile: bool = True) -> bytes:
    """A PNG (or JPEG) as a careless tool might write it: GPS EXIF, XMP, a comment, a profile."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0)}  # GPS: where the person lives
    xmp = "<x:xmpmeta>private xmp</x:xmpmeta>"
    if image_format == "JPEG":
        extra: dict[str, Any] = {"comment": b"private note", "xmp": xmp.encode(), "quality": 95}
    else:
        extra = {"pnginfo": PngImagePlugin.PngInfo()}
        extra["pnginfo"].add_text("Comment", "private note")
        extra["pnginfo"].add_itxt("XML:com.adobe.xmp", xmp)
    if profile:
        extra["icc_profile"] = srgb_profile()
    return encode(image, image_format, exif=exif.tobytes(), **extra)


def assert_no_metadata(content: bytes) -> Image.Image:
    """The file opens, and holds nothing of the original's metadata but a colour profile."""
    opened = Image.open(io.BytesIO(content))
    assert not opened.getexif()
    assert not set(opened.info) & {"exif", "xmp", "XML:com.adobe.xmp", "Comment", "comment"}
    for secret in (b"SecretCam", b"private note", b"private xmp", b"Exif\0\0"):
        assert secret not in content
    return opened


@pytest.fixture
def stored(image_host: Callable[[str, bytes], str], alice: User) -> Callable[..., Headshot]:
    """Store an image as the worker does when a prediction succeeds; its Headshot."""
    order = Order.objects.create(
        user=alice, name="Perfil", package="professional", subject_type="woman",
        status=Status.GENERATING, replicate_version_id="headshots/x:v1",
    )  # fmt: skip

    def store(content: bytes, *, index: int = 0) -> Headshot:
        prediction, _ = Prediction.objects.get_or_create(
            order=order, prompt_index=0, defaults={"prompt": "portrait", "status": "succeeded"}
        )
        extension = "jpg" if content.startswith(b"\xff\xd8") else "png"
        store_output(prediction, index, image_host(f"/out/{index}.{extension}", content))
        return Headshot.objects.select_related("prediction").get(
            prediction=prediction, output_index=index
        )

    return store


def download(client: Client, headshot: Headshot, file_format: str | None = None) -> Any:
    url = file_link(
        order_uuid=headshot.order.uuid, headshot_id=headshot.pk, variant="image", download=True
    )
    return client.get(url + (f"&format={file_format}" if file_format else ""))


@pytest.mark.parametrize(
    ("original_format", "profile"), [("PNG", True), ("JPEG", True), ("JPEG", False)]
)
def test_it_stores_a_print_ready_jpeg_without_metadata_beside_each_headshot(
    stored: Callable[..., Headshot], original_format: str, profile: bool
) -> None:
    original = with_metadata(portrait(), original_format, profile=profile)

    headshot = stored(original)

    assert default_storage.open(str(headshot.image.name)).read() == original  # kept as it came
    jpeg = assert_no_metadata(default_storage.open(str(headshot.jpeg.name)).read())
    assert (jpeg.format, jpeg.size) == ("JPEG", (SIDE, SIDE))
    assert bool(jpeg.info.get("icc_profile")) is profile  # the colour profile stays, if any
    assert_no_metadata(default_storage.open(str(headshot.preview.name)).read())
    assert headshot.size_bytes == sum(
        default_storage.size(str(name))
        for name in (headshot.image, headshot.preview, headshot.jpeg)
    )


def test_it_leaves_no_file_when_the_jpeg_cannot_be_stored(
    stored: Callable[..., Headshot], settings: Any, alice: User
) -> None:
    order = Order.objects.get(user=alice)
    media = Path(settings.MEDIA_ROOT)
    (media / f"headshots/{order.uuid}").mkdir(parents=True)
    (media / f"headshots/{order.uuid}/print").write_text("a file where the JPEGs' folder goes")

    with pytest.raises(FileExistsError):  # the JPEGs' folder cannot be made
        stored(with_metadata(portrait()))

    assert not Headshot.objects.exists()
    left = {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()}
    assert left == {f"headshots/{order.uuid}/print"}  # neither the image nor its preview


def test_it_downloads_a_full_resolution_jpg_by_default(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    headshot = stored(with_metadata(portrait()))
    client.force_login(alice)

    response = download(client, headshot)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="headshot-1.jpg"'
    content = b"".join(response.streaming_content)
    assert content == default_storage.open(str(headshot.jpeg.name)).read()
    assert Image.open(io.BytesIO(content)).size == (SIDE, SIDE)


def test_it_downloads_a_lossless_png_of_the_original_with_only_its_profile(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    headshot = stored(with_metadata(portrait()))
    client.force_login(alice)

    response = download(client, headshot, "png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="headshot-1.png"'
    png = assert_no_metadata(response.content)
    assert png.info["icc_profile"] == srgb_profile()
    assert png.size == (SIDE, SIDE)
    assert png.convert("RGB").tobytes() == portrait().tobytes()  # every pixel as generated


@pytest.mark.parametrize("original_format", ["PNG", "JPEG"])
def test_it_downloads_a_linkedin_square_centred_on_the_face(
    client: Client, stored: Callable[..., Headshot], alice: User, original_format: str
) -> None:
    headshot = stored(with_metadata(portrait(), original_format))
    client.force_login(alice)

    response = download(client, headshot, "linkedin")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="headshot-1-linkedin.jpg"'
    square = assert_no_metadata(response.content)
    assert square.width == square.height >= LINKEDIN_SIDE
    assert square.info["icc_profile"]
    found = faces.find_faces(square.convert("RGB"), describe=False)
    assert len(found) == 1  # her face, whole, and nothing cut in half
    left, top, right, bottom = found[0].box
    centre = square.width / 2
    assert abs((left + right) / 2 - centre) < 0.08 * square.width
    assert abs((top + bottom) / 2 - centre) < 0.08 * square.width
    assert 0.2 < (right - left) / square.width < 0.5  # head and shoulders, not a face close-up


def test_it_centres_the_square_on_the_recorded_face_box(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    marked = portrait()
    marked.paste((255, 0, 0), (700, 100, 820, 220))  # a red "face" the likeness check recorded
    headshot = stored(encode(marked, "PNG"))
    Headshot.objects.filter(pk=headshot.pk).update(face_box=[700, 100, 820, 220])
    client.force_login(alice)

    square = Image.open(io.BytesIO(download(client, headshot, "linkedin").content))

    assert square.size == (LINKEDIN_SIDE, LINKEDIN_SIDE)  # 360 pixels around it, enlarged
    red, green, blue = square.convert("RGB").getpixel((LINKEDIN_SIDE // 2, LINKEDIN_SIDE // 2))  # type: ignore[misc]
    assert red > 200
    assert max(green, blue) < 60
    assert square.convert("RGB").getpixel((LINKEDIN_SIDE // 2, 40)) != (255, 0, 0)


@pytest.mark.parametrize(
    ("size", "face_box", "square"),
    [
        ((1024, 1024), [462, 462, 562, 562], (362, 362, 662, 662)),  # a face in the middle
        ((1024, 1024), [0, 900, 100, 1000], (0, 724, 300, 1024)),  # kept inside at the corner
        ((1024, 1024), [], (0, 0, 1024, 1024)),  # no face: the middle, as large as it goes
        ((896, 1152), None, (0, 128, 896, 1024)),
        ((896, 1152), [100, 100, 500, 500], (0, 0, 896, 896)),  # a big face: the whole width
    ],
)
def test_it_places_the_square(
    size: tuple[int, int], face_box: list[int] | None, square: tuple[int, int, int, int]
) -> None:
    assert square_around(size, face_box) == square


@pytest.mark.parametrize("original_format", ["PNG", "JPEG"])
def test_it_makes_the_jpg_of_a_headshot_stored_before_print_ready_jpegs(
    client: Client, stored: Callable[..., Headshot], alice: User, original_format: str
) -> None:
    headshot = stored(with_metadata(portrait(), original_format))
    default_storage.delete(str(headshot.jpeg.name))
    Headshot.objects.filter(pk=headshot.pk).update(jpeg="")
    headshot.refresh_from_db()
    client.force_login(alice)

    response = download(client, headshot)

    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="headshot-1.jpg"'
    assert assert_no_metadata(response.content).size == (SIDE, SIDE)
    Order.objects.filter(pk=headshot.order_id).update(status=Status.READY)
    archive = zipfile.ZipFile(io.BytesIO(client.get(zip_url(headshot)).getvalue()))
    assert archive.namelist() == ["headshot-1.jpg"]
    assert Image.open(io.BytesIO(archive.read("headshot-1.jpg"))).format == "JPEG"


def zip_url(headshot: Headshot) -> str:
    return reverse("training:order_download", kwargs={"order_uuid": headshot.order.uuid})


def test_it_zips_the_print_ready_jpegs(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    first, second = stored(with_metadata(portrait())), stored(encode(portrait(), "PNG"), index=1)
    client.force_login(alice)

    response = client.get(zip_url(first))

    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    assert archive.namelist() == ["headshot-1.jpg", "headshot-2.jpg"]
    for headshot in (first, second):
        content = archive.read(headshot.download_name)
        assert content == default_storage.open(str(headshot.jpeg.name)).read()
        assert assert_no_metadata(content).size == (SIDE, SIDE)


def test_it_refuses_an_unknown_format_with_a_sentence(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    headshot = stored(encode(portrait(), "PNG"))
    client.force_login(alice)

    refused = download(client, headshot, "tiff")

    assert refused.status_code == 400
    assert "Elige un formato de descarga: jpg, png o linkedin." in refused.content.decode()


def test_it_gives_nobody_else_any_format(
    client: Client, stored: Callable[..., Headshot], charlie: User
) -> None:
    headshot = stored(encode(portrait(), "PNG"))
    client.force_login(charlie)

    for file_format in (None, "jpg", "png", "linkedin", "tiff"):
        assert download(client, headshot, file_format).status_code == 404, file_format


def test_it_offers_the_three_downloads_in_the_gallery(
    client: Client, stored: Callable[..., Headshot], alice: User
) -> None:
    headshot = stored(encode(portrait(), "PNG"))
    Order.objects.filter(pk=headshot.order_id).update(status=Status.READY)
    client.force_login(alice)

    page = client.get(headshot.order.get_absolute_url()).content.decode()

    item = gallery_item(headshot.order, headshot)
    for url in (item.download_url, item.png_url, item.linkedin_url):
        assert url.split("?t=")[0] in page
        assert client.get(url).status_code == 200
    assert "format=png" in page
    assert "format=linkedin" in page
    assert "JPEG listo para imprimir" in page


def test_it_keeps_the_jpeg_from_the_cleanup_and_deletes_it_with_the_headshot(
    stored: Callable[..., Headshot],
) -> None:
    headshot = stored(encode(portrait(), "PNG"))

    _zips, in_use = names_in_use(Q(pk__in=[]))
    assert str(headshot.jpeg.name) in in_use
    delete_headshot_files(headshot.order)
    assert not default_storage.exists(str(headshot.jpeg.name))
