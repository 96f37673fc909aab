"""Downloading a prediction's images, from Replicate's delivery hosts and nowhere else.

The output URLs come in a signed webhook, but a leaked secret or a fault upstream must not turn
our worker into a fetcher of any address it is told (an internal service, a cloud metadata
endpoint, someone's server). So only https URLs on REPLICATE_OUTPUT_HOSTS (`replicate.delivery`
and its subdomains) are fetched; when the built-in emulator stands in for Replicate, its own
origin (http, on its port) too. A redirect is followed only to an allowed URL, and only a few.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from lib.tls import tls_context

MAX_OUTPUT_BYTES = 20 * 1024 * 1024
DOWNLOAD_ATTEMPTS = 3
MAX_REDIRECTS = 3
# Each wait (connecting, each read) is bounded, and so is the whole download: a server dripping
# a byte at a time must not hold a worker for ever either.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DOWNLOAD_SECONDS = 60.0
EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png"}


class OutputRefused(Exception):
    """An output URL that did not give a reasonable image."""


class OutputHostRefused(OutputRefused):
    """An output URL (or a redirect) outside Replicate's delivery hosts: never fetched."""


def output_url_allowed(url: str) -> bool:
    """Whether `url` is https on one of REPLICATE_OUTPUT_HOSTS, or the emulator in use."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if settings.REPLICATE_USES_EMULATOR:
        emulator = urlsplit(settings.REPLICATE_BASE_URL)
        if (parts.scheme, host, port) == (emulator.scheme, emulator.hostname, emulator.port):
            return True
    if parts.scheme != "https" or port not in (None, 443) or not host:
        return False
    return any(host_matches(host, pattern) for pattern in settings.REPLICATE_OUTPUT_HOSTS)


def host_matches(host: str, pattern: str) -> bool:
    """`replicate.delivery` is that host only; `*.replicate.delivery` any of its subdomains."""
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def download_output(url: str) -> tuple[bytes, str]:
    """Fetch an output image with a timeout, a size cap and a content-type check; retried,
    except when the host is not Replicate's (asking again would not change the answer)."""
    last_error: Exception | None = None
    for attempt in range(DOWNLOAD_ATTEMPTS):
        try:
            return fetch_image(url)
        except OutputHostRefused:
            raise
        except (httpx.HTTPError, OutputRefused) as error:
            last_error = error
            time.sleep(0.5 * (attempt + 1))
    raise OutputRefused(f"download failed: {last_error!r}")


def fetch_image(url: str) -> tuple[bytes, str]:
    """GET the image, following a redirect only when it points at an allowed URL too."""
    for _hop in range(MAX_REDIRECTS + 1):
        if not output_url_allowed(url):
            raise OutputHostRefused(f"not a Replicate delivery URL: {url[:120]}")
        with httpx.stream(
            "GET", url, timeout=TIMEOUT, follow_redirects=False, verify=tls_context()
        ) as response:
            if response.is_redirect:
                url = str(response.url.join(response.headers.get("location", "")))
                continue
            response.raise_for_status()
            return read_image(response)
    raise OutputRefused(f"more than {MAX_REDIRECTS} redirects")


def read_image(response: httpx.Response) -> tuple[bytes, str]:
    """The body of an image response, refused past MAX_OUTPUT_BYTES, DOWNLOAD_SECONDS or when
    not an image."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in EXTENSIONS:
        raise OutputRefused(f"unexpected content type {content_type!r}")
    deadline = time.monotonic() + DOWNLOAD_SECONDS
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_OUTPUT_BYTES:
            raise OutputRefused("output larger than 20 MB")
        if time.monotonic() > deadline:
            raise OutputRefused(f"output took longer than {DOWNLOAD_SECONDS:.0f} s")
    return bytes(body), content_type
