"""HTTP plumbing of the emulator: requests in, Replicate-style replies and problems out.

The endpoints themselves (routes, files) are plain functions from a `Request`
to a `Reply`, so this is the only module that knows about sockets and `http.server`.
"""

from __future__ import annotations

import email.parser
import email.policy
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

MAX_BODY_BYTES = 110 * 1024 * 1024


class Problem(Exception):  # a reply, named as RFC 7807 names it
    """An `application/problem+json` answer, raised from anywhere inside an endpoint."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.body = {"title": title, "detail": detail, "status": status, **extra}
        self.headers = headers or {}


@dataclass
class Request:
    """What an endpoint needs from one HTTP request."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 problem, as Replicate answers bad JSON."""
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as error:
            raise Problem(400, "Invalid JSON", "The request body is not valid JSON") from error
        if not isinstance(data, dict):
            raise Problem(400, "Invalid JSON", "The request body must be a JSON object")
        return data

    def multipart(self) -> dict[str, tuple[str | None, str, bytes]]:
        """Form fields of a multipart body: name -> (filename, content type, bytes)."""
        content_type = self.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise Problem(400, "Bad request", "Expected a multipart/form-data body")
        raw = f"Content-Type: {content_type}\r\n\r\n".encode() + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields: dict[str, tuple[str | None, str, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            payload = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = (part.get_filename(), part.get_content_type(), payload)
        return fields


@dataclass
class Reply:
    """An answer: JSON when `body` is a dict or list, raw bytes otherwise."""

    status: int
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False


Endpoint = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    """One method and path pattern; `public` routes need no token (downloads, outputs)."""

    method: str
    pattern: re.Pattern[str]
    endpoint: Endpoint
    public: bool = False


def route(method: str, pattern: str, endpoint: Endpoint, *, public: bool = False) -> Route:
    """A route whose `{name}` placeholders match one path segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return Route(method, re.compile(f"^{regex}$"), endpoint, public)


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its routes and the token they require."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, token: str, routes: list[Route]) -> None:
        super().__init__(address, EmulatorHandler)
        self.token = token
        self.routes = routes


class EmulatorHandler(BaseHTTPRequestHandler):
    """Parse, authenticate, dispatch, answer; every failure becomes a problem document."""

    server: EmulatorServer
    server_version = "ReplicateEmulator/1.0"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)

    def _handle(self) -> None:
        try:
            reply = self._dispatch()
        except Problem as problem:
            reply = Reply(problem.status, problem.body, "application/problem+json", problem.headers)
        except Exception:
            logger.exception("emulator endpoint crashed")
            body = {"title": "Internal server error", "detail": "The emulator crashed"}
            reply = Reply(500, {**body, "status": 500}, "application/problem+json")
        if reply.drop_connection:
            self.close_connection = True  # accepted, but the caller never hears so
            return
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up or was killed
            self.close_connection = True

    def _dispatch(self) -> Reply:
        parts = urllib.parse.urlsplit(self.path)
        allowed = False
        for candidate in self.server.routes:
            match = candidate.pattern.match(parts.path)
            if not match:
                continue
            allowed = True
            if candidate.method != self.command:
                continue
            if not candidate.public:
                self._authenticate()
            return candidate.endpoint(self._request(parts, match.groupdict()))
        if allowed:
            raise Problem(405, "Method not allowed", f"{self.command} is not allowed here")
        raise Problem(404, "Not found", "The requested resource could not be found.")

    def _authenticate(self) -> None:
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme not in ("Bearer", "Token") or not hmac.compare_digest(
            given.strip().encode(), self.server.token.encode()
        ):
            raise Problem(401, "Unauthenticated", "You did not pass a valid authentication token")

    def _request(self, parts: urllib.parse.SplitResult, params: dict[str, str]) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise Problem(413, "Content too large", "Files must be less than 100MB in size")
        return Request(
            method=self.command,
            path=parts.path,
            params=params,
            query=dict(urllib.parse.parse_qsl(parts.query)),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, dict | list):
            payload = json.dumps(reply.body).encode()
        else:
            payload = reply.body or b""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
