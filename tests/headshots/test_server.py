"""The web server as it ships: the Dockerfile's gunicorn command (deploy/gunicorn.conf.py) keeps
answering while slow clients hold connections, cuts them after its read timeout, and writes
access logs without query strings; runserver's log hides them too."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_DIR, free_port, wait_for

READ_TIMEOUT = 2
# Headers and one byte of an announced 1 MB body, with a CSRF cookie so that Django's CSRF
# check reads the body to look for the token: the read blocks until the client goes on.
SLOW_REQUEST = (
    b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Cookie: csrftoken=abcdefghijklmnopqrstuvwxyzABCDEF\r\n"
    b"Content-Length: 1048576\r\n\r\nx"
)


def dockerfile_command() -> list[str]:
    """The CMD of the Dockerfile, exactly as the image runs it."""
    lines = (PROJECT_DIR / "Dockerfile").read_text().splitlines()
    command = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    return [str(Path(sys.executable).with_name(command[0])), *command[1:]]


def server_environment(tmp_path: Path) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return {
        **base,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WEB_READ_TIMEOUT": str(READ_TIMEOUT),
    }


def start(argv: list[str], tmp_path: Path, url: str) -> subprocess.Popen[str]:
    """Start a server process with its output in a file, and wait until /healthz answers."""
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        argv, cwd=PROJECT_DIR, env=server_environment(tmp_path), stdout=log, stderr=log, text=True
    )
    wait_for(lambda: answers(f"{url}/healthz"), timeout=60)
    return process


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gunicorn")


@pytest.fixture(scope="module")
def gunicorn(server_dir: Path) -> Iterator[str]:
    """The Dockerfile's server command on a free loopback port (one for the module, as it takes
    seconds to start); yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start([*dockerfile_command(), "--bind", f"127.0.0.1:{port}"], server_dir, url)
    yield url
    stop(process)


def open_slow_clients(url: str, count: int) -> list[socket.socket]:
    port = int(url.rsplit(":", 1)[1])
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(SLOW_REQUEST)
        clients.append(client)
    return clients


def test_it_answers_healthz_while_slow_clients_hold_connections(gunicorn: str) -> None:
    clients = open_slow_clients(gunicorn, 9)  # three per worker of the old sync server
    try:
        started = time.monotonic()
        response = httpx.get(f"{gunicorn}/healthz", timeout=10)
        elapsed = time.monotonic() - started
    finally:
        for client in clients:
            client.close()

    assert response.status_code == 200
    assert elapsed < 8  # the old sync server did not answer until a slow client left


def test_it_cuts_a_client_that_stops_sending_its_body(gunicorn: str) -> None:
    [client] = open_slow_clients(gunicorn, 1)
    started = time.monotonic()
    with client:
        answer = client.recv(65536)  # blocks until the server gives up on the body
        while chunk := client.recv(65536):  # then the connection closes
            answer += chunk
    elapsed = time.monotonic() - started

    assert READ_TIMEOUT - 0.5 < elapsed < READ_TIMEOUT + 10
    assert answer.startswith(b"HTTP/1.1 403")  # the token never arrived


def test_it_logs_requests_without_their_query_strings(gunicorn: str, server_dir: Path) -> None:
    signed = "https://bucket.example/sets/a.zip?X-Amz-Signature=sig456"
    httpx.get(f"{gunicorn}/healthz?t=secret123", headers={"Referer": signed}, timeout=10)

    log = wait_for(lambda: access_line(server_dir / "server.log"), timeout=10)

    assert '"GET /healthz HTTP/1.1" 200' in log
    assert "secret123" not in log
    assert "sig456" not in log


def access_line(path: Path) -> str | None:
    return next((line for line in path.read_text().splitlines() if "bucket.example" in line), None)


def test_runserver_logs_requests_without_their_query_strings(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = start(argv, tmp_path, url)
    try:
        httpx.put(f"{url}/api/uploads/x.zip?t=secret123", content=b"zip", timeout=10)
        # runserver logs a request once its answer is sent: wait for the line, then stop.
        wait_for(lambda: "PUT /api/uploads" in (tmp_path / "server.log").read_text(), timeout=10)
    finally:
        stop(process)
    log = (tmp_path / "server.log").read_text()

    assert "PUT /api/uploads/x.zip?[redacted] HTTP/1.1" in log
    assert "secret123" not in log
