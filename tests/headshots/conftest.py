"""A server on loopback that accepts connections and never answers: a hung Redis or database."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class SilentServer:
    """Its address, and an event set once someone has connected (and is now waiting)."""

    url: str
    connected: threading.Event = field(default_factory=threading.Event)
    accepted: list[socket.socket] = field(default_factory=list)

    def hang_up(self) -> None:
        """Close every connection: whoever waits on one gets an error now."""
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """Accept every connection, read nothing, answer nothing; close them all at the end, which
    releases whoever still waits on one."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = SilentServer(url=f"redis://127.0.0.1:{listener.getsockname()[1]}/0")

    def serve() -> None:
        while True:
            try:
                conn, _address = listener.accept()
            except OSError:  # the listener was closed
                return
            server.accepted.append(conn)
            server.connected.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
    listener.close()
    server.hang_up()
    thread.join(timeout=5)
