"""The train-model API: upload a ZIP, order from it, follow the order. Every refusal is JSON in
the spec's error shape, nothing is kept of a refused order, and no URL a caller names is fetched."""

from __future__ import annotations

import json
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.credits import credit_balance, credits_grant
from accounts.models import User
from accounts.tokens import token_create, token_revoke
from tests.conftest import break_storage, make_user, run_at_once, run_twice_at_once, wait_for
from tests.training.conftest import leftovers
from tests.training.zipfiles import (
    bad_crc_zip,
    bomb_zip,
    broken_bzip2_zip,
    broken_lzma_zip,
    encrypted_zip,
    faces,
    garbage_deflate_zip,
    huge_directory_zip,
    long_names_zip,
    make_zip,
    nested_zip,
    not_a_zip,
    pdf_named_jpg_zip,
    symlink_zip,
    too_many_entries_zip,
    traversal_zip,
    truncated_entry_zip,
    truncated_zip,
    unknown_method_zip,
)
from training import zip_uploads
from training.models import Order, Status

TRAIN = "/api/replicate/train-model"


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def token_of(user: User) -> str:
    return token_create(user=user, name="script")[1]


def good_zip(tmp_path: Path) -> bytes:
    return make_zip(tmp_path / "good.zip", faces(4)).read_bytes()


def new_slot(client: Client, secret: str) -> dict[str, Any]:
    """POST /api/uploads: where to PUT a ZIP, and its zipUrl."""
    response = client.post("/api/uploads", **bearer(secret))  # type: ignore[arg-type]
    assert response.status_code == 201, response.content
    return dict(response.json())


def upload(client: Client, secret: str, content: bytes) -> str:
    """Ask for an upload URL, PUT the ZIP there, return its zipUrl."""
    slot = new_slot(client, secret)
    put = urlsplit(slot["uploadUrl"])
    stored = client.put(f"{put.path}?{put.query}", content, content_type="application/zip")
    assert stored.status_code == 201, stored.content
    return str(slot["zipUrl"])


def train(client: Client, secret: str, zip_url: str, **extra: Any) -> Any:
    body = {"zipUrl": zip_url, "name": "LinkedIn 2026", "type": "woman", "consent": True, **extra}
    return client.post(
        TRAIN,
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **bearer(secret),  # type: ignore[arg-type]
    )


def upload_name(zip_url: str) -> str:
    return urlsplit(zip_url).path.removeprefix("/api/")


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error", "detail", "code", "stage", "problems"}
    assert body["code"] == code
    assert body["error"]


@pytest.fixture
def temp_dir(settings: Any, tmp_path: Path) -> Path:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    return tmp_path / "uploads"


# --- The happy path -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_zip_becomes_a_queued_order_and_the_upload_is_deleted(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_CREDIT_COST = 1
    credits_grant(user=alice, amount=1, reason="test")
    secret = token_of(alice)
    zip_url = upload(client, secret, good_zip(tmp_path))
    assert default_storage.exists(upload_name(zip_url))

    response = train(client, secret, zip_url)

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(uuid=body["id"])
    assert (body["status"], order.status) == ("queued", Status.QUEUED)
    assert body["url"] == f"{settings.SITE_URL}/studio/models/{order.uuid}/"
    assert (order.user, order.name, order.subject_type) == (alice, "LinkedIn 2026", "woman")
    with default_storage.open(str(order.training_zip.name)) as stored:
        names = zipfile.ZipFile(stored).namelist()
    assert names == ["image_1.jpg", "image_2.jpg", "image_3.jpg", "image_4.jpg"]
    assert [len(embedding) for embedding in order.face_embeddings] == [128] * 4
    assert not default_storage.exists(upload_name(zip_url))
    assert credit_balance(alice) == 0
    assert leftovers(temp_dir) == []


@pytest.mark.django_db
def test_it_works_with_a_presigned_s3_put(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, s3_storage: str
) -> None:
    secret = token_of(alice)
    slot = new_slot(client, secret)
    assert urlsplit(slot["uploadUrl"]).path.startswith(f"/{s3_storage}/uploads/{alice.pk}/")

    put = httpx.put(slot["uploadUrl"], content=good_zip(tmp_path), headers=slot["headers"])
    assert put.status_code == 200, put.text
    response = train(client, secret, slot["zipUrl"])

    assert response.status_code == 201, response.content
    order = Order.objects.get(uuid=response.json()["id"])
    assert default_storage.exists(str(order.training_zip.name))
    assert not default_storage.exists(upload_name(slot["zipUrl"]))


@pytest.mark.django_db
def test_a_signed_in_browser_may_call_it_with_its_csrf_token(
    alice: User, tmp_path: Path, temp_dir: Path
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/studio/")
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    slot = browser.post("/api/uploads", **csrf).json()  # type: ignore[arg-type]
    put = urlsplit(slot["uploadUrl"])
    browser.put(f"{put.path}?{put.query}", good_zip(tmp_path), content_type="application/zip")
    body = json.dumps({"zipUrl": slot["zipUrl"], "name": "Web", "type": "man", "consent": True})

    without = browser.post(TRAIN, body, content_type="application/json")
    with_token = browser.post(TRAIN, body, content_type="application/json", **csrf)  # type: ignore[arg-type]

    assert without.status_code == 403
    assert_error_shape(without.json(), "csrf_failed")
    assert with_token.status_code == 201, with_token.content


# --- Each ZIP refusal ---------------------------------------------------------------------------

BAD_ZIPS = {
    "bomb": (bomb_zip, "zeros.jpg", "expands far more than a photo can"),
    "traversal": (traversal_zip, "../evil.jpg", "a path that leaves the archive"),
    "symlink": (symlink_zip, "passwd.jpg", "links are not allowed"),
    "encrypted": (encrypted_zip, "selfie1.jpg", "encrypted entries are not allowed"),
    "nested": (nested_zip, "more.zip", "archives inside the ZIP are not allowed"),
    "pdf-as-jpg": (pdf_named_jpg_zip, "invoice.jpg", "this file is not a photo"),
    "too-many": (too_many_entries_zip, None, "The ZIP holds 21 files; an order takes at most 20"),
    "not-a-zip": (not_a_zip, None, "This file is not a ZIP archive"),
    "truncated": (truncated_zip, None, "This file is not a ZIP archive"),
    "garbage-deflate": (garbage_deflate_zip, "broken.jpg", "this file in the ZIP cannot be read"),
    "broken-lzma": (broken_lzma_zip, "broken.jpg", "this file in the ZIP cannot be read"),
    "broken-bzip2": (broken_bzip2_zip, "broken.jpg", "this file in the ZIP cannot be read"),
    "bad-crc": (bad_crc_zip, "broken.jpg", "this file in the ZIP cannot be read"),
    "zstandard": (unknown_method_zip, "broken.jpg", "this file in the ZIP cannot be read"),
    "truncated-entry": (truncated_entry_zip, "broken.jpg", "this file in the ZIP cannot be read"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", BAD_ZIPS)
def test_each_bad_zip_is_refused_with_nothing_kept(
    kind: str, client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_CREDIT_COST = 1
    credits_grant(user=alice, amount=1, reason="test")
    make, bad_entry, explanation = BAD_ZIPS[kind]
    secret = token_of(alice)
    zip_url = upload(client, secret, make(tmp_path / "bad.zip").read_bytes())

    response = train(client, secret, zip_url)

    assert response.status_code == 422, response.content
    body = response.json()
    assert_error_shape(body, "photos")
    assert body["stage"] == "upload"
    messages = [body["error"], *(p["message"] for p in body["problems"])]
    if bad_entry:
        assert bad_entry in [p["file"] for p in body["problems"]], body
    assert any(explanation in message for message in messages), messages  # asked in English
    assert not Order.objects.exists()
    assert not default_storage.exists(upload_name(zip_url))
    assert credit_balance(alice) == 1
    assert leftovers(temp_dir) == []


@pytest.mark.django_db
def test_a_huge_directory_is_refused_from_its_end_record_in_a_short_answer(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path
) -> None:
    secret = token_of(alice)
    huge = huge_directory_zip(tmp_path / "h.zip", 200_000, zip64=True)
    zip_url = upload(client, secret, huge.read_bytes())

    response = train(client, secret, zip_url)

    assert response.status_code == 422
    assert len(response.content) < 1000  # it was 52 MB: one problem per entry
    body = response.json()
    assert_error_shape(body, "photos")
    assert body["error"] == "The ZIP holds 200000 files; an order takes at most 20 photos."
    assert body["problems"] == []
    assert not default_storage.exists(upload_name(zip_url))
    assert leftovers(temp_dir) == []


@pytest.mark.django_db
def test_the_answer_lists_twenty_problems_with_short_names(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path
) -> None:
    secret = token_of(alice)
    zip_url = upload(client, secret, long_names_zip(tmp_path / "n.zip", 60, 1000).read_bytes())

    response = train(client, secret, zip_url)

    assert response.status_code == 422
    assert len(response.content) < 8000  # 60 names of 1,000 characters, each said twice
    body = response.json()
    assert len(body["problems"]) == 20
    assert all(len(problem["file"]) <= 100 for problem in body["problems"])
    assert "41 more problems are not listed" in body["error"] + body["detail"]


@pytest.mark.django_db
def test_a_zip_over_the_size_limit_is_refused_before_it_is_stored(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.MAX_ZIP_MB = 1
    secret = token_of(alice)
    slot = new_slot(client, secret)
    put = urlsplit(slot["uploadUrl"])
    big = make_zip(tmp_path / "big.zip", {**faces(4), "pad.jpg": b"\xff" * 1024 * 1024})

    response = client.put(
        f"{put.path}?{put.query}", big.read_bytes(), content_type="application/zip"
    )

    assert response.status_code == 413
    assert_error_shape(response.json(), "zip_too_big")
    assert not default_storage.exists(upload_name(slot["zipUrl"]))
    assert leftovers(temp_dir) == []


@pytest.mark.django_db
def test_an_oversized_object_put_straight_to_s3_is_refused_and_deleted(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, s3_storage: str, settings: Any
) -> None:
    secret = token_of(alice)
    slot = new_slot(client, secret)
    big = make_zip(tmp_path / "big.zip", {**faces(4), "pad.jpg": b"\xff" * 1024 * 1024})
    httpx.put(slot["uploadUrl"], content=big.read_bytes(), headers=slot["headers"])
    settings.MAX_ZIP_MB = 1

    response = train(client, secret, slot["zipUrl"])

    assert response.status_code == 413
    assert_error_shape(response.json(), "zip_too_big")
    assert not default_storage.exists(upload_name(slot["zipUrl"]))
    assert not Order.objects.exists()


# --- URLs that are not ours ---------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local port that would notice any connection (the app must never make one)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture
def outgoing(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection or name lookup the process attempts (169.254.169.254 and 10.x cannot
    exist here, so the attempt itself is what is recorded; each call still goes through)."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        attempts.append(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


FOREIGN_URLS = [
    "http://127.0.0.1:{port}/photos.zip",
    "http://127.0.0.1:{port}/api/uploads/{user}/{hex}.zip",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://10.0.0.7/api/uploads/{user}/{hex}.zip",
    "http://[::1]:{port}/photos.zip",
    "http://localhost:8000/api/uploads/{user}/{hex}.zip",
    "https://127.0.0.1:8000/api/uploads/{user}/{hex}.zip",
    "http://evil.example/api/uploads/{user}/{hex}.zip",
    "http://user:pw@127.0.0.1:8000/api/uploads/{user}/{hex}.zip",
    "file:///etc/passwd",
    "ftp://127.0.0.1:{port}/photos.zip",
    "gopher://127.0.0.1:{port}/_GET",
    "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
    "http://127.0.0.1:8000/accounts/login/?next=http://169.254.169.254/",
    "http://127.0.0.1:8000/api/uploads/{user}/{hex}.zip?redirect=http://10.0.0.7/",
    "http://127.0.0.1:8000/api/uploads/{user}/../../../etc/passwd",
    "http://127.0.0.1:8000/api/uploads/{user}/%2e%2e%2f{hex}.zip",
    "//169.254.169.254/x.zip",
    "photos.zip",
]


@pytest.mark.django_db
@pytest.mark.parametrize("template", FOREIGN_URLS)
def test_a_url_that_is_not_our_upload_is_refused_without_any_request(
    template: str,
    client: Client,
    alice: User,
    tmp_path: Path,
    temp_dir: Path,
    listener: socket.socket,
    outgoing: list[object],
    settings: Any,
) -> None:
    settings.SITE_URL = "http://127.0.0.1:8000"
    secret = token_of(alice)
    real_upload = upload_name(upload(client, secret, good_zip(tmp_path)))
    hex_id = real_upload.rsplit("/", 1)[1].removesuffix(".zip")
    url = template.format(port=listener.getsockname()[1], user=alice.pk, hex=hex_id)
    outgoing.clear()

    response = train(client, secret, url)

    assert response.status_code == 422, response.content
    assert_error_shape(response.json(), "zip_url_not_accepted")
    assert outgoing == []
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert default_storage.exists(real_upload)  # a refused URL touches nothing
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_someone_elses_upload_is_not_found_and_stays_theirs(
    client: Client, alice: User, bob: User, tmp_path: Path, temp_dir: Path
) -> None:
    alices_url = upload(client, token_of(alice), good_zip(tmp_path))

    response = train(client, token_of(bob), alices_url)

    assert response.status_code == 404
    assert_error_shape(response.json(), "upload_not_found")
    assert default_storage.exists(upload_name(alices_url))
    assert train(client, token_of(alice), alices_url).status_code == 201


@pytest.mark.django_db
def test_a_used_upload_cannot_be_used_twice(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path
) -> None:
    secret = token_of(alice)
    zip_url = upload(client, secret, good_zip(tmp_path))
    assert train(client, secret, zip_url).status_code == 201

    again = train(client, secret, zip_url, name="Again")

    assert again.status_code == 404
    assert Order.objects.count() == 1


# --- Who may call it ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_revoked_token_is_refused(client: Client, alice: User) -> None:
    token, secret = token_create(user=alice, name="old laptop")
    assert client.post("/api/uploads", **bearer(secret)).status_code == 201  # type: ignore[arg-type]
    token_revoke(user=alice, token_id=token.pk)

    response = client.post("/api/uploads", **bearer(secret))  # type: ignore[arg-type]

    assert response.status_code == 401
    assert_error_shape(response.json(), "invalid_token")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer hs_made-up", "Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer ", "hs_no_scheme"],
)
def test_no_valid_credentials_is_401(client: Client, authorization: str | None) -> None:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    response = client.post(TRAIN, "{}", content_type="application/json", **headers)  # type: ignore[arg-type]

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


# --- The same rules as the form -----------------------------------------------------------------


@pytest.mark.django_db
def test_without_credits_it_is_403_and_nothing_is_charged(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_CREDIT_COST = 1
    secret = token_of(alice)
    zip_url = upload(client, secret, good_zip(tmp_path))

    response = train(client, secret, zip_url)

    assert response.status_code == 403
    body = response.json()
    assert_error_shape(body, "credits")
    assert body["error"] == "This order costs 1 credits and you have 0. Nothing was charged."
    assert not default_storage.exists(upload_name(zip_url))
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_cooldown_applies(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 10
    secret = token_of(alice)
    assert train(client, secret, upload(client, secret, good_zip(tmp_path))).status_code == 201

    response = train(client, secret, upload(client, secret, good_zip(tmp_path)))

    assert response.status_code == 429
    assert_error_shape(response.json(), "cooldown")
    assert "10 minutes after the last one" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["order_cancel", "order_delete"])
def test_canceling_or_deleting_the_last_order_does_not_skip_the_cooldown(
    client: Client,
    alice: User,
    tmp_path: Path,
    temp_dir: Path,
    settings: Any,
    change: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 10
    secret = token_of(alice)
    created = train(client, secret, upload(client, secret, good_zip(tmp_path)))
    assert created.status_code == 201
    browser = Client()
    browser.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):  # a deleted order is purged
        browser.post(reverse(f"training:{change}", kwargs={"order_uuid": created.json()["id"]}))
    zip_url = upload(client, secret, good_zip(tmp_path))

    response = train(client, secret, zip_url)

    assert response.status_code == 429
    assert_error_shape(response.json(), "cooldown")
    assert not Order.objects.filter(status=Status.QUEUED).exists()
    assert not default_storage.exists(upload_name(zip_url))


@pytest.mark.django_db
def test_the_rate_limit_applies_and_says_when_to_retry(
    client: Client, alice: User, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDER_ATTEMPTS = "2/h"  # refused calls answer to the attempts limit
    secret = token_of(alice)
    answers = [train(client, secret, "nothing").status_code for _ in range(3)]

    limited = train(client, secret, "nothing")

    assert answers == [422, 422, 429]
    assert limited.status_code == 429
    assert_error_shape(limited.json(), "rate_limited")
    assert limited["Retry-After"] == "3600"


def test_refused_calls_do_not_spend_the_order_limit(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDERS = "1/h"
    settings.TRAINING_COOLDOWN_MINUTES = 0
    secret = token_of(alice)
    refused = [train(client, secret, "nothing").status_code for _ in range(3)]

    made = train(client, secret, upload(client, secret, good_zip(tmp_path)))
    again = train(client, secret, upload(client, secret, good_zip(tmp_path)))

    assert refused == [422, 422, 422]
    assert made.status_code == 201
    assert again.status_code == 429  # the order made did spend it
    assert_error_shape(again.json(), "rate_limited")


# --- Requests that make no sense ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('"zipUrl"', None),
        ("{}", {"zipUrl", "name", "type", "consent"}),
        ('{"zipUrl": "x", "name": "Me", "type": "man", "consent": false}', {"consent"}),
        ('{"zipUrl": "x", "name": "Me", "type": "cat", "consent": true}', {"type"}),
        ('{"zipUrl": "x", "name": "<script>", "type": "man", "consent": true}', {"name"}),
        ('{"zipUrl": "x", "name": "' + "n" * 51 + '", "type": "man", "consent": true}', {"name"}),
        ('{"zipUrl": "x", "name": "Me", "type": "man", "package": "deluxe"}', None),
    ],
)
def test_a_malformed_body_is_400_naming_the_fields(
    client: Client, alice: User, body: str, fields: set[str] | None
) -> None:
    response = client.post(
        TRAIN, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="es",
        **bearer(token_of(alice)),  # type: ignore[arg-type]
    )  # fmt: skip

    assert response.status_code == 400
    answer = response.json()
    assert_error_shape(answer, answer["code"])
    if fields is not None:
        assert {problem["file"] for problem in answer["problems"]} == fields
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_errors_speak_the_callers_language(client: Client, alice: User, bob: User) -> None:
    # alice's account is in Spanish, bob's in English; an Accept-Language header wins.
    spanish = client.post(TRAIN, "nope", content_type="application/json", **bearer(token_of(alice)))  # type: ignore[arg-type]
    english = client.post(TRAIN, "nope", content_type="application/json", **bearer(token_of(bob)))  # type: ignore[arg-type]
    asked = client.post(
        TRAIN, "nope", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en",
        **bearer(token_of(alice)),  # type: ignore[arg-type]
    )  # fmt: skip

    assert spanish.json()["error"] == "El cuerpo de la petición debe ser un objeto JSON."
    assert english.json()["error"] == "The request body must be a JSON object."
    assert asked.json()["error"] == english.json()["error"]


@pytest.mark.django_db
def test_unknown_addresses_and_methods_answer_json(client: Client, alice: User) -> None:
    unknown = client.get("/api/nothing-here", **bearer(token_of(alice)))  # type: ignore[arg-type]
    wrong_method = client.get(TRAIN, **bearer(token_of(alice)))  # type: ignore[arg-type]

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method["Allow"]) == (405, "POST")


# --- The signed local upload URL ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_local_upload_url_takes_one_put_signed_for_it(
    client: Client, alice: User, bob: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    slot = new_slot(client, token_of(alice))
    put = urlsplit(slot["uploadUrl"])
    other = new_slot(client, token_of(bob))
    others_token = urlsplit(other["uploadUrl"]).query
    content = good_zip(tmp_path)

    forged = client.put(f"{put.path}?{others_token}", content, content_type="application/zip")
    empty = client.put(f"{put.path}?{put.query}", b"", content_type="application/zip")
    first = client.put(f"{put.path}?{put.query}", content, content_type="application/zip")
    second = client.put(
        f"{put.path}?{put.query}", b"PK\x05\x06" + bytes(18), content_type="application/zip"
    )

    assert (forged.status_code, forged.json()["code"]) == (403, "upload_url_invalid")
    assert (empty.status_code, empty.json()["code"]) == (411, "length_required")
    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "upload_exists")
    with default_storage.open(upload_name(slot["zipUrl"])) as stored:
        assert stored.read() == content


@pytest.mark.django_db
def test_an_expired_upload_url_is_refused(client: Client, alice: User, settings: Any) -> None:
    settings.UPLOAD_URL_TTL_SECONDS = 0
    slot = new_slot(client, token_of(alice))
    put = urlsplit(slot["uploadUrl"])
    time.sleep(1.1)

    response = client.put(f"{put.path}?{put.query}", b"PK", content_type="application/zip")

    assert (response.status_code, response.json()["code"]) == (403, "upload_url_invalid")
    assert not default_storage.exists(upload_name(slot["zipUrl"]))


# --- Through Replicate --------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_an_api_order_is_trained_and_its_headshots_made(
    replicate: Any, dora: User, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    auth = {"Authorization": f"Bearer {token_of(dora)}"}
    with httpx.Client(base_url=live_server.url, headers=auth, timeout=30) as api:
        slot = api.post("/api/uploads").json()
        api.put(slot["uploadUrl"], content=good_zip(tmp_path), headers=slot["headers"])
        created = api.post(
            TRAIN, json={"zipUrl": slot["zipUrl"], "name": "API", "type": "woman", "consent": True}
        )
        assert created.status_code == 201, created.text

        def final_status() -> dict[str, Any] | None:
            body: dict[str, Any] = api.get(f"/api/models/{created.json()['id']}").json()
            return body if body["status"] in ("ready", "failed") else None

        final = wait_for(final_status, timeout=60)

    assert final["status"] == "ready", final
    assert final["headshots"] == 2 * 2
    assert credit_balance(dora) == 0
    assert not default_storage.exists(upload_name(slot["zipUrl"]))


@pytest.mark.django_db
def test_a_storage_that_fails_answers_503_and_keeps_nothing(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    secret = token_of(alice)
    slot = new_slot(client, secret)
    put = urlsplit(slot["uploadUrl"])
    break_storage(settings, tmp_path)

    refused_slot = client.post("/api/uploads", **bearer(secret))  # type: ignore[arg-type]
    response = client.put(
        f"{put.path}?{put.query}", good_zip(tmp_path), content_type="application/zip"
    )

    assert (refused_slot.status_code, refused_slot.json()["code"]) == (503, "unavailable")
    assert response.status_code == 503
    assert_error_shape(response.json(), "unavailable")
    assert response["Retry-After"] == "60"
    assert leftovers(temp_dir) == []


@pytest.mark.django_db
def test_too_many_orders_at_once_is_429(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.MAX_ACTIVE_ORDERS_PER_USER = 1
    secret = token_of(alice)
    assert train(client, secret, upload(client, secret, good_zip(tmp_path))).status_code == 201
    zip_url = upload(client, secret, good_zip(tmp_path))

    response = train(client, secret, zip_url)

    assert response.status_code == 429
    assert_error_shape(response.json(), "active_orders")
    assert not default_storage.exists(upload_name(zip_url))
    assert Order.objects.count() == 1


def test_two_simultaneous_orders_from_one_upload_make_one_order(
    alice_committed: tuple[User, str], tmp_path: Path, temp_dir: Path, settings: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.MAX_ACTIVE_ORDERS_PER_USER = 5
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    user, secret = alice_committed
    zip_url = upload(Client(), secret, good_zip(tmp_path))

    outcomes = run_twice_at_once(lambda: str(train(Client(), secret, zip_url).status_code))

    assert outcomes == ["201", "404"]
    assert Order.objects.filter(user=user).count() == 1


@pytest.fixture
def alice_committed(transactional_db: None) -> tuple[User, str]:
    """A person and her token, committed, for requests made from other threads."""
    user = make_user("alice.threads@example.com")
    return user, token_of(user)


@pytest.mark.django_db
def test_a_person_cannot_pile_up_unused_uploads(
    client: Client, alice: User, bob: User, tmp_path: Path, temp_dir: Path
) -> None:
    secret = token_of(alice)
    content = good_zip(tmp_path)
    slots = [new_slot(client, secret) for _ in range(5)]
    for slot in slots[:3]:  # two URLs are never used: they hold their places all the same
        put = urlsplit(slot["uploadUrl"])
        client.put(f"{put.path}?{put.query}", content, content_type="application/zip")

    sixth = client.post("/api/uploads", **bearer(secret), HTTP_ACCEPT_LANGUAGE="en")  # type: ignore[arg-type]

    assert (sixth.status_code, sixth.json()["code"]) == (429, "too_many_uploads")
    assert sixth.json()["error"] == (
        "You have 5 upload URLs or uploaded ZIPs that no order used yet."
    )
    assert "25 minutes after it was given" in sixth.json()["detail"]
    assert bob_may_still_upload(client, bob)
    assert train(client, secret, slots[0]["zipUrl"]).status_code == 201  # using one frees a place
    assert client.post("/api/uploads", **bearer(secret)).status_code == 201  # type: ignore[arg-type]
    assert client.post("/api/uploads", **bearer(secret)).status_code == 429  # type: ignore[arg-type]


def bob_may_still_upload(client: Client, bob: User) -> bool:
    """Places are counted per person."""
    return bool(client.post("/api/uploads", **bearer(token_of(bob))).status_code == 201)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_an_upload_url_left_unused_frees_its_place_when_it_expires(
    client: Client, alice: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.UPLOAD_URL_TTL_SECONDS = 1
    monkeypatch.setattr(zip_uploads, "SLOT_GRACE_SECONDS", 0)
    secret = token_of(alice)
    for _ in range(5):
        new_slot(client, secret)
    assert client.post("/api/uploads", **bearer(secret)).status_code == 429  # type: ignore[arg-type]
    time.sleep(1.1)

    assert client.post("/api/uploads", **bearer(secret)).status_code == 201  # type: ignore[arg-type]


def test_parallel_requests_and_puts_never_hold_more_than_five_uploads(
    alice_committed: tuple[User, str], live_server: Any, tmp_path: Path, settings: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    settings.SITE_URL = live_server.url
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    user, secret = alice_committed
    content = good_zip(tmp_path)
    auth = {"Authorization": f"Bearer {secret}"}

    slots = run_at_once(
        lambda: httpx.post(f"{live_server.url}/api/uploads", headers=auth, timeout=30), times=8
    )
    urls = [slot.json()["uploadUrl"] for slot in slots if slot.status_code == 201]
    puts = run_at_once(
        lambda: httpx.put(urls.pop(), content=content, headers=ZIP, timeout=30).status_code,
        times=len(urls),
    )

    assert sorted(slot.status_code for slot in slots) == [201] * 5 + [429] * 3
    assert puts == [201] * 5
    assert len(default_storage.listdir(f"uploads/{user.pk}")[1]) == 5


ZIP = {"Content-Type": "application/zip"}


@pytest.mark.django_db
def test_a_used_upload_url_refuses_another_put(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path
) -> None:
    secret = token_of(alice)
    slot = new_slot(client, secret)
    put = urlsplit(slot["uploadUrl"])
    content = good_zip(tmp_path)
    assert (
        client.put(f"{put.path}?{put.query}", content, content_type="application/zip").status_code
        == 201
    )
    assert train(client, secret, slot["zipUrl"]).status_code == 201
    assert not default_storage.exists(upload_name(slot["zipUrl"]))

    again = client.put(f"{put.path}?{put.query}", content, content_type="application/zip")

    assert (again.status_code, again.json()["code"]) == (409, "upload_exists")
    assert not default_storage.exists(upload_name(slot["zipUrl"]))
    assert train(client, secret, slot["zipUrl"], name="Again").status_code == 404
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_zip_put_straight_to_s3_after_its_use_is_neither_counted_nor_usable(
    client: Client, alice: User, tmp_path: Path, temp_dir: Path, s3_storage: str
) -> None:
    secret = token_of(alice)
    content = good_zip(tmp_path)
    slot = new_slot(client, secret)
    assert httpx.put(slot["uploadUrl"], content=content, headers=slot["headers"]).is_success
    assert train(client, secret, slot["zipUrl"]).status_code == 201
    assert httpx.put(slot["uploadUrl"], content=content, headers=slot["headers"]).is_success

    places = [client.post("/api/uploads", **bearer(secret)).status_code for _ in range(5)]  # type: ignore[arg-type]

    assert places == [201] * 5
    assert train(client, secret, slot["zipUrl"], name="Again").status_code == 404
