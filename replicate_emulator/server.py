"""A local stand-in for Replicate's HTTP API: the embedded default and every test's peer.

It speaks the part of the API we use with Replicate's JSON shapes, statuses and problem
documents, runs trainings and predictions on a shortened clock, sends real signed webhooks, and
fails on demand (see `Faults`). Its outputs show the trained person's face on the prompt's
backdrop, except a share (`wrong_face_share`) that shows someone else or nobody. It never reaches
the internet: it only downloads from this machine. The pieces live beside it: http (sockets),
routes and files (endpoints), jobs (the clock), portraits, face_crops, backdrops and images (the
outputs), webhooks (deliveries), store (state).
"""

from __future__ import annotations

import base64
import os
import threading
from types import TracebackType
from typing import Any, Self

from replicate_emulator.faults import Faults
from replicate_emulator.files import FileEndpoints
from replicate_emulator.http import EmulatorServer
from replicate_emulator.jobs import JobRunner
from replicate_emulator.routes import ApiEndpoints
from replicate_emulator.store import EmulatorConfig, EmulatorState
from replicate_emulator.webhooks import WebhookSender

__all__ = ["Faults", "ReplicateEmulator", "new_webhook_secret"]


def new_webhook_secret() -> str:
    """A fresh `whsec_` secret, in the format Replicate's default webhook secret has."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class ReplicateEmulator:
    """Start with `.start()` or `with ReplicateEmulator() as emulator:`; point clients at `.url`.

    `base_url` is the API root with `/v1` (as Replicate documents it); the official Python
    client wants `url`, the root without `/v1`, because it adds `/v1/...` to every path.
    """

    def __init__(
        self,
        *,
        token: str = "emulator-token",  # noqa: S107  # a local stand-in, not a secret
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_secret: str | None = None,
        training_seconds: float = 3.0,
        prediction_seconds: float = 1.0,
        faults: Faults | None = None,
        page_size: int = 100,
        account: str = "headshots",
        wrong_face_share: float = 0.125,
    ) -> None:
        if not 0.0 <= wrong_face_share <= 1.0:
            raise ValueError("wrong_face_share must be between 0 and 1")
        config = EmulatorConfig(
            account=account,
            token=token,
            webhook_secret=webhook_secret or new_webhook_secret(),
            training_seconds=training_seconds,
            prediction_seconds=prediction_seconds,
            page_size=page_size,
            wrong_face_share=wrong_face_share,
        )
        self._address = (host, port)
        self.state = EmulatorState(config, faults or Faults())
        self._sender = WebhookSender(self.state)
        runner = JobRunner(self.state, self._sender)
        self._routes = ApiEndpoints(self.state, runner).routes()
        self._routes += FileEndpoints(self.state).routes()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        return self.state.config.token

    @property
    def webhook_secret(self) -> str:
        return self.state.config.webhook_secret

    @property
    def faults(self) -> Faults:
        """The live faults; change them under `lock` (or use `set_faults`)."""
        return self.state.faults

    @property
    def url(self) -> str:
        """The root URL, e.g. http://127.0.0.1:8787 (what the official client calls base_url)."""
        if not self.state.config.root:
            raise RuntimeError("the emulator is not running")
        return self.state.config.root

    @property
    def base_url(self) -> str:
        """The API base, e.g. http://127.0.0.1:8787/v1."""
        return f"{self.url}/v1"

    def set_faults(self, **changes: Any) -> None:
        """Change faults while running, exactly as `POST /_emulator/faults` does."""
        with self.state.lock:
            self.state.faults.update(changes)

    def release_holds(self) -> None:
        """Let the requests that a hang fault holds go on now (see EmulatorState.hold)."""
        self.state.release_holds()

    def webhooks_idle(self) -> bool:
        """No webhook queued, delayed or being posted (see WebhookSender.idle)."""
        return self._sender.idle()

    def start(self) -> Self:
        """Bind the port and serve in a background thread."""
        server = EmulatorServer(self._address, token=self.token, routes=self._routes)
        host, port = server.server_address[:2]
        self.state.config.root = f"http://{_url_host(str(host))}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="replicate-emulator", daemon=True
        )
        self._thread.start()
        self._sender.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop the clocks of running jobs and the webhook sender."""
        self.state.stopping.set()
        self.state.release_holds()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sender.stop()

    def serve_forever(self) -> None:
        """Block the calling thread until interrupted, then stop (after `start()`)."""
        try:
            while not self.state.stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
