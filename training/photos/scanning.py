"""Malware scanning through ClamAV's clamd, spoken to directly over its INSTREAM protocol.

An adapter with no Django models in it. clamd is optional (`CLAMD_URL`), but once it is
configured the scan fails closed: if clamd cannot be reached or answers nonsense,
`ScannerUnavailable` is raised and the caller refuses the upload, never skips the scan.

The protocol (clamd(8)): send `zINSTREAM\\0`, then the file as chunks each preceded by its length
as a 4-byte big-endian integer, then a zero length; clamd answers `stream: OK\\0` or
`stream: <signature> FOUND\\0` (or `... ERROR` for instance when the stream exceeds its
StreamMaxLength). A small hand-written client avoids a dependency for ~60 lines of code.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import IO
from urllib.parse import urlsplit

CHUNK_SIZE = 64 * 1024
# Long enough for clamd to scan a 20 MB photo on a busy machine; short enough that a hung
# clamd turns into a clear refusal rather than a stuck web worker. It bounds the whole scan.
TIMEOUT_SECONDS = 30.0


class ScannerUnavailable(Exception):
    """clamd is configured but did not give a verdict: the upload must be refused, not let in."""


class InfectedFile(Exception):
    """clamd found a signature in the file."""

    def __init__(self, signature: str) -> None:
        super().__init__(signature)
        self.signature = signature


def scan(stream: IO[bytes], *, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """Stream a file to clamd from its current position; raise if infected or not scanned."""
    deadline = time.monotonic() + timeout
    try:
        with _connect(url, timeout) as conn:
            conn.sendall(b"zINSTREAM\0")
            while chunk := stream.read(CHUNK_SIZE):
                _until(conn, deadline)
                conn.sendall(struct.pack(">I", len(chunk)) + chunk)
            conn.sendall(struct.pack(">I", 0))
            reply = _read_reply(conn, deadline)
    except OSError as error:  # refused, timed out, reset when clamd hits StreamMaxLength, ...
        raise ScannerUnavailable(f"clamd at {url} did not answer: {error}") from error
    _judge(reply, url)


def ping(url: str, *, timeout: float = 2.0) -> bool:
    """Whether clamd answers PING with PONG (used by tests and health checks)."""
    try:
        with _connect(url, timeout) as conn:
            conn.sendall(b"zPING\0")
            return _read_reply(conn, time.monotonic() + timeout) == "PONG"
    except OSError:
        return False


def _connect(url: str, timeout: float) -> socket.socket:
    """Open a socket to `unix:///path/clamd.ctl` or `tcp://host:port`."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: str | tuple[str, int] = parts.path
    elif parts.scheme == "tcp" and parts.hostname and parts.port:
        conn = socket.socket(socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET)
        address = (parts.hostname, parts.port)
    else:
        raise ScannerUnavailable(f"CLAMD_URL {url!r} is neither unix:///path nor tcp://host:port")
    conn.settimeout(timeout)
    try:
        conn.connect(address)
    except OSError:
        conn.close()
        raise
    return conn


def _until(conn: socket.socket, deadline: float) -> None:
    """Bound the next socket operation by what is left of the whole scan's time."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("clamd took longer than the scan's timeout")
    conn.settimeout(left)


def _read_reply(conn: socket.socket, deadline: float) -> str:
    """Read clamd's NUL-terminated reply (the `z` prefix of the command asks for NUL), within
    the deadline: a clamd dripping a byte at a time must not hold the upload for ever."""
    data = b""
    while not data.endswith(b"\0"):
        _until(conn, deadline)
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _judge(reply: str, url: str) -> None:
    """Turn clamd's reply into nothing (clean) or an exception."""
    verdict = reply.removeprefix("stream:").strip()
    if verdict == "OK":
        return
    if verdict.endswith(" FOUND"):
        raise InfectedFile(verdict.removesuffix(" FOUND").strip())
    raise ScannerUnavailable(f"clamd at {url} answered {reply!r}")
