"""The oversize guard over real HTTP: a 413 page or JSON from runserver (what `make run` starts)
and from the live server, never a 500, and the unread body never read as the next request."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import PROJECT_DIR, free_port, wait_for

MB = 1024 * 1024
# With PHOTOS_TOTAL_MAX_MB=1 the guard refuses what announces more than 2 MB.
OVER_THE_LIMIT = 3 * MB


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def runserver(tmp_path: Path) -> Iterator[int]:
    """`manage.py runserver`, as `make run` starts it, on a free port; returns the port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        PHOTOS_TOTAL_MAX_MB="1",
    )
    log = (tmp_path / "runserver.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"{port}"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: answers(port) or server.poll() is not None, timeout=30)
        assert server.poll() is None, (tmp_path / "runserver.log").read_text()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def oversized_post(
    connection: http.client.HTTPConnection, path: str, *, send_body: bool, **headers: str
) -> http.client.HTTPResponse:
    """A POST announcing OVER_THE_LIMIT bytes; the body is sent only when `send_body`."""
    connection.putrequest("POST", path)
    connection.putheader("Content-Length", str(OVER_THE_LIMIT))
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    for name, value in headers.items():
        connection.putheader(name.replace("_", "-"), value)
    connection.endheaders()
    if send_body:
        connection.send(b"GET /api/openapi.json HTTP/1.1\r\n\r\n".ljust(OVER_THE_LIMIT, b"x"))
    return connection.getresponse()


def assert_refusals(port: int) -> None:
    """The page, the form's JSON and the API's JSON: each a 413 in its own shape."""
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    response = oversized_post(page, "/studio/new/", send_body=False, Accept_Language="es")
    assert response.status == 413
    assert "Tus fotos suman más de 1 MB" in response.read().decode()
    page.close()

    form = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    response = oversized_post(form, "/studio/new/", send_body=False, Accept="application/json")
    assert response.status == 413
    assert "errors" in response.read().decode()
    form.close()

    api = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    response = oversized_post(api, "/api/uploads", send_body=False)
    assert response.status == 413
    assert '"code": "too_large"' in response.read().decode()
    api.close()


def assert_the_body_is_not_the_next_request(port: int) -> None:
    """The client sends the whole body (which holds a request line) and then a real request on
    the same connection: the server skips the body, or closes; it never runs the smuggled one."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    first = oversized_post(connection, "/api/uploads", send_body=True)
    assert first.status == 413
    first.read()
    try:
        connection.request("GET", "/healthz?after-the-413")
        second = connection.getresponse().read().decode()
    except ConnectionError:  # closed by the server: fine as well
        return
    finally:
        connection.close()
    assert '"checks"' in second  # /healthz answered, not the request line hidden in the body


def test_it_answers_413_under_runserver(runserver: int) -> None:
    assert_refusals(runserver)
    assert_the_body_is_not_the_next_request(runserver)


@pytest.mark.django_db(transaction=True)
def test_it_answers_413_under_the_live_server(live_server: Any, settings: Any) -> None:
    settings.PHOTOS_TOTAL_MAX_MB = 1
    settings.UPLOAD_MAX_BYTES = 2 * MB
    port = int(urlsplit(live_server.url).port or 0)

    assert_refusals(port)
    assert_the_body_is_not_the_next_request(port)
