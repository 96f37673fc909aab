"""HTTP plumbing of the Stripe emulator: form-encoded requests in, Stripe-shaped answers out.

Stripe's API takes `application/x-www-form-urlencoded` bodies with bracketed keys
(`line_items[0][price_data][unit_amount]=1900`) and answers JSON, errors as
`{"error": {"type": ..., "message": ...}}`. This is the only module that knows about sockets.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class StripeError(Exception):
    """An error answer as Stripe sends it, raised from anywhere inside an endpoint."""

    def __init__(
        self, status: int, message: str, *, kind: str = "invalid_request_error", **extra: Any
    ) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.body = {"error": {"type": kind, "message": message, **extra}}


@dataclass
class Request:
    """What an endpoint needs from one HTTP request."""

    method: str
    path: str
    params: dict[str, str]
    form: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Reply:
    """An answer: JSON when `body` is a dict, HTML or nothing otherwise."""

    status: int
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Endpoint = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    """One method and path; `public` routes (the hosted page) need no secret key."""

    method: str
    pattern: re.Pattern[str]
    endpoint: Endpoint
    public: bool = False


def route(method: str, pattern: str, endpoint: Endpoint, *, public: bool = False) -> Route:
    """A route whose `{name}` placeholders match one path segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return Route(method, re.compile(f"^{regex}$"), endpoint, public)


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's bracketed form keys as nested dicts; keys that are digits become list items."""
    root: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its routes and the secret key they require."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        api_key: str,
        routes: list[Route],
        down: Callable[[], bool],
    ) -> None:
        super().__init__(address, EmulatorHandler)
        self.api_key = api_key
        self.routes = routes
        self.down = down


class EmulatorHandler(BaseHTTPRequestHandler):
    """Parse, authenticate, dispatch, answer; every failure becomes a Stripe error."""

    server: EmulatorServer
    server_version = "StripeEmulator/1.0"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("stripe emulator: " + format, *args)

    def _handle(self) -> None:
        try:
            reply = self._dispatch()
        except StripeError as error:
            reply = Reply(error.status, error.body)
        except Exception:
            logger.exception("stripe emulator endpoint crashed")
            reply = Reply(500, {"error": {"type": "api_error", "message": "Emulator crashed"}})
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _dispatch(self) -> Reply:
        parts = urllib.parse.urlsplit(self.path)
        for candidate in self.server.routes:
            match = candidate.pattern.match(parts.path)
            if not match or candidate.method != self.command:
                continue
            if not candidate.public:
                self._authenticate()
                if self.server.down():
                    raise StripeError(500, "An unknown error occurred", kind="api_error")
            return candidate.endpoint(self._request(parts, match.groupdict()))
        raise StripeError(404, f"Unrecognized request URL ({self.command}: {parts.path}).")

    def _authenticate(self) -> None:
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(
            given.strip().encode(), self.server.api_key.encode()
        ):
            raise StripeError(401, "Invalid API Key provided.")

    def _request(self, parts: urllib.parse.SplitResult, params: dict[str, str]) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise StripeError(413, "Request too large.")
        body = self.rfile.read(length).decode() if length else ""
        query = parts.query if self.command == "GET" else body
        return Request(
            method=self.command,
            path=parts.path,
            params=params,
            form=decode_form(query),
            headers={key.lower(): value for key, value in self.headers.items()},
        )

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, dict):
            payload = json.dumps(reply.body).encode()
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = reply.body or b""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
