"""The HTTP transport under the official client: every wait bounded, Retry-After capped.

The official client sends prediction creates and file uploads with `timeout=None` (no limit at
all), and one unresponsive Replicate then held a worker, and every order behind it, for minutes.
"""

from __future__ import annotations

import httpx

from lib.tls import tls_context
from training.replicate.errors import retry_after

# The longest the official client sleeps between its own retries of a GET.
RETRY_AFTER_CAP_SECONDS = 2.0
DEFAULT_API_ROOT = "https://api.replicate.com"


def api_root(base_url: str | None) -> str | None:
    """The root the official client wants: `https://api.replicate.com`, without `/v1`."""
    if not base_url:
        return None
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


class BoundedTimeouts(httpx.HTTPTransport):
    """A transport that fills in every timeout a request left unlimited (`None`) and caps the
    others at ours.

    httpx takes a per-request `timeout=None` as "no limit", overriding the client's own; the
    official client passes exactly that for prediction creates and file uploads. It also retries
    a GET answered 429/503/504 up to 10 times, sleeping whatever Retry-After says (an hour, if so
    told): the header it reads is capped here.
    """

    def __init__(self, timeout: httpx.Timeout) -> None:
        super().__init__(verify=tls_context())
        self._bounds = timeout.as_dict()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        given = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            name: bound if given.get(name) is None else min(given[name], bound)
            for name, bound in self._bounds.items()
        }
        response = super().handle_request(request)
        if request.method == "GET" and response.status_code in (429, 503, 504):
            wait = retry_after(response, None)
            if wait is None or wait > RETRY_AFTER_CAP_SECONDS:
                response.headers["Retry-After"] = str(int(RETRY_AFTER_CAP_SECONDS))
        return response
