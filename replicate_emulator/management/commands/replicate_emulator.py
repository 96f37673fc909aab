"""Run the local Replicate emulator in the foreground until Ctrl-C.

This is what `REPLICATE_API_TOKEN` unset means on a laptop: the app talks to this process instead
of api.replicate.com. It prints what to put in the environment (base URL, token), never the
webhook secret: the app fetches that from the emulator as it does from Replicate, and a secret
printed to a console ends up in logs. A fixed secret can be given so webhooks verify across
restarts.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from replicate_emulator.server import ReplicateEmulator


class Command(BaseCommand):
    help = "Run a local emulator of Replicate's HTTP API (trainings, predictions, webhooks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8787)
        parser.add_argument("--token", default="emulator-token")
        parser.add_argument("--webhook-secret", default=None, help="a whsec_... secret")
        parser.add_argument("--training-seconds", type=float, default=3.0)
        parser.add_argument("--prediction-seconds", type=float, default=1.0)
        parser.add_argument(
            "--wrong-face-share",
            type=_share,
            default=settings.REPLICATE_EMULATOR_WRONG_FACE_SHARE,
            help="share of outputs showing someone else's face or none (0 to 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        emulator = ReplicateEmulator(
            token=options["token"],
            host=options["host"],
            port=options["port"],
            webhook_secret=options["webhook_secret"],
            training_seconds=options["training_seconds"],
            prediction_seconds=options["prediction_seconds"],
            wrong_face_share=options["wrong_face_share"],
        )
        emulator.start()
        self.stdout.write(f"REPLICATE_BASE_URL={emulator.base_url}")
        self.stdout.write(f"REPLICATE_API_TOKEN={emulator.token}")
        self.stdout.flush()
        try:
            emulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Emulator stopped.")


def _share(raw: str) -> float:
    """A share from 0 to 1, or argparse's usage error."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number from 0 to 1")
    return value
