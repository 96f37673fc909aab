"""A local stand-in for the part of Stripe's API that Headshots uses, for development and tests.

The app talks to it through the official `stripe` library (its API base pointed here by
`STRIPE_API_BASE`); a person pays on its hosted checkout page; it sends signed events to the
app's webhook. It never reaches the internet and never charges anything. Pieces: http
(sockets), routes (endpoints and the hosted page), events (signed deliveries), store (state).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from stripe_emulator.events import Delivery, EventSender
from stripe_emulator.http import EmulatorServer
from stripe_emulator.routes import Endpoints
from stripe_emulator.store import EmulatorConfig, EmulatorState, Faults

__all__ = ["Delivery", "Faults", "StripeEmulator"]

EMULATOR_API_KEY = "sk_test_emulator"  # the emulator's fixed, public key
EMULATOR_WEBHOOK_SECRET = "whsec_emulator_local_only"  # noqa: S105 - ditto


class StripeEmulator:
    """Start with `.start()` or `with StripeEmulator(...) as emulator:`; point the app at `.url`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = EMULATOR_API_KEY,
        webhook_secret: str = EMULATOR_WEBHOOK_SECRET,
        webhook_url: str = "",
        faults: Faults | None = None,
    ) -> None:
        config = EmulatorConfig(
            api_key=api_key, webhook_secret=webhook_secret, webhook_url=webhook_url
        )
        self.state = EmulatorState(config, faults or Faults())
        self.sender = EventSender(self.state)
        self._endpoints = Endpoints(self.state, self.sender)
        self._routes = self._endpoints.routes()
        self._address = (host, port)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """The API base, e.g. http://127.0.0.1:8788 (the library adds `/v1/...`)."""
        if not self.state.config.root:
            raise RuntimeError("the Stripe emulator is not running")
        return self.state.config.root

    @property
    def api_key(self) -> str:
        return self.state.config.api_key

    @property
    def webhook_secret(self) -> str:
        return self.state.config.webhook_secret

    def set_faults(self, **changes: Any) -> None:
        """Change faults while running (see `Faults`)."""
        with self.state.lock:
            for name, value in changes.items():
                if not hasattr(self.state.faults, name):
                    raise AttributeError(f"no such fault: {name}")
                setattr(self.state.faults, name, value)

    def settle_payments(self) -> int:
        """Delayed payments (fault `async_payments`) arrive now; how many."""
        return self._endpoints.settle_payments()

    def release_events(self) -> list[Delivery]:
        """The events held back by `hold_events`, for the test to post itself."""
        return self.sender.release_events()

    def post_event(self, delivery: Delivery, *, timestamp: int | None = None) -> int | str:
        """POST one event to the webhook now, signed (at `timestamp`, for a stale one)."""
        return self.sender.post(delivery, timestamp=timestamp)

    def events_idle(self) -> bool:
        return self.sender.idle()

    def start(self) -> Self:
        """Bind the port and serve in a background thread."""
        server = EmulatorServer(
            self._address,
            api_key=self.api_key,
            routes=self._routes,
            down=self.state.take_server_error,
        )
        host, port = server.server_address[:2]
        self.state.config.root = f"http://{host!s}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="stripe-emulator", daemon=True
        )
        self._thread.start()
        self.sender.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sender.stop()

    def serve_forever(self) -> None:
        """Block the calling thread until interrupted, then stop (after `start()`)."""
        try:
            while not self._stopping.wait(0.5):
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
