"""deploy/nginx.conf.template, run by a real nginx: the app hears of one visitor address, the one
that connected, unless a proxy we named (PROXY_TRUSTED_FROM) forwarded the request. A visitor who
reaches the proxy directly cannot choose the address the rate limits count, nor claim https."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, free_port, wait_for

TEMPLATE = PROJECT_DIR / "deploy" / "nginx.conf.template"


class Upstream(ThreadingHTTPServer):
    """Stands in for gunicorn: answers with the forwarding headers it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ForwardedEcho)


class ForwardedEcho(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "for": self.headers.get("X-Forwarded-For"),
                "proto": self.headers.get("X-Forwarded-Proto"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def render(template: str, values: dict[str, str]) -> str:
    """What the nginx image's entrypoint does with envsubst, for the PROXY_ variables only."""
    return re.sub(r"\$\{(PROXY_[A-Z_]+)\}", lambda match: values[match.group(1)], template)


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[Callable[[str], int]]:
    """Start nginx with the shipped template in front of the echo server; returns its port."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}).start()
    servers: list[subprocess.Popen[bytes]] = []

    def start(trusted_from: str) -> int:
        port = free_port()
        site = render(
            TEMPLATE.read_text(),
            {
                "PROXY_BODY_MAX_MB": "2",
                "PROXY_ZIP_MAX_MB": "2",
                "PROXY_BUCKET": "headshots",
                "PROXY_TRUSTED_FROM": trusted_from,
            },
        )
        site = site.replace("server web:8000", f"server 127.0.0.1:{upstream.server_port}")
        site = site.replace("http://minio:9000", f"http://127.0.0.1:{upstream.server_port}")
        site = site.replace("listen 80 default_server", f"listen 127.0.0.1:{port} default_server")
        site = site.replace("/var/log/nginx/access.log", str(tmp_path / "access.log"))
        (tmp_path / "site.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
            f"http {{ include {tmp_path}/site.conf; }}\n"
        )
        command = [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]
        servers.append(subprocess.Popen([*command, "-g", "daemon off;"]))
        wait_for(lambda: forwarded(port, {}) is not None, timeout=10)
        return port

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)
    upstream.shutdown()


def forwarded(port: int, headers: dict[str, str]) -> dict[str, str] | None:
    """What the app would be told about this request, or None while nginx is not up yet."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz", headers=headers)
        return json.loads(connection.getresponse().read())
    except (OSError, ValueError):
        return None


def test_it_tells_the_app_the_connecting_address_whatever_the_visitor_claims(start_proxy) -> None:
    port = start_proxy("192.0.2.1/32")  # a TLS proxy elsewhere: not the one connecting here

    seen = forwarded(port, {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})

    assert seen == {"for": "127.0.0.1", "proto": "http"}


def test_it_believes_the_proxy_it_was_told_to_trust(start_proxy) -> None:
    port = start_proxy("127.0.0.1/32")  # this test's connection plays the TLS proxy

    seen = forwarded(
        port, {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"}
    )

    # The proxy appended the visitor it saw (203.0.113.9); what lies left of it is the visitor's.
    assert seen == {"for": "203.0.113.9", "proto": "https"}


def test_it_takes_no_scheme_but_http_or_https_from_the_trusted_proxy(start_proxy) -> None:
    port = start_proxy("127.0.0.1/32")

    seen = forwarded(port, {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "gopher"})

    assert seen == {"for": "203.0.113.9", "proto": "http"}
