"""Run the local Stripe emulator in the foreground until Ctrl-C.

This is what `STRIPE_SECRET_KEY` unset means on a laptop (`make run` starts it): checkout
sessions are created here, the person "pays" on its page, and its signed events go to this
site's `/webhooks/stripe/` with the secret the app already knows (`STRIPE_WEBHOOK_SECRET`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from stripe_emulator.server import StripeEmulator


class Command(BaseCommand):
    help = "Run a local emulator of Stripe Checkout (sessions, hosted page, refunds, events)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.STRIPE_EMULATOR_PORT)
        parser.add_argument(
            "--webhook-url", default=f"{settings.SITE_URL}/webhooks/stripe/",
            help="where events are posted",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        emulator = StripeEmulator(
            host=options["host"],
            port=options["port"],
            api_key=str(settings.STRIPE_SECRET_KEY),
            webhook_secret=str(settings.STRIPE_WEBHOOK_SECRET),
            webhook_url=options["webhook_url"],
        )
        emulator.start()
        self.stdout.write(f"STRIPE_API_BASE={emulator.url} (events to {options['webhook_url']})")
        self.stdout.flush()
        try:
            emulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stripe emulator stopped.")
