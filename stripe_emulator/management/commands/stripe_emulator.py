"""Run the local Stripe emulator in the foreground until Ctrl-C.

This is what `STRIPE_SECRET_KEY` unset means on a laptop (`make run` starts it): checkout
sessions are created here, the person "pays" on its page, and its signed events go to this
site's `/webhooks/stripe/` with the secret the app already knows (`STRIPE_WEBHOOK_SECRET`).
The switches make events come twice, or reversed, or payments settle later, to try the app's
handling by hand (a delayed payment settles a few seconds after "Pagar").
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from stripe_emulator.server import Faults, StripeEmulator

SETTLE_SECONDS = 3.0


class Command(BaseCommand):
    help = "Run a local emulator of Stripe Checkout (sessions, hosted page, refunds, events)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.STRIPE_EMULATOR_PORT)
        parser.add_argument(
            "--webhook-url", default=f"{settings.SITE_URL}/webhooks/stripe/",
            help="where events are posted",
        )  # fmt: skip
        parser.add_argument("--events-twice", action="store_true", help="post every event twice")
        parser.add_argument(
            "--events-reversed", action="store_true",
            help="post a payment's events newest first (with --async-payments)",
        )  # fmt: skip
        parser.add_argument(
            "--async-payments", action="store_true",
            help="payments settle later: 'completed' unpaid, then async_payment_succeeded",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        emulator = StripeEmulator(
            host=options["host"],
            port=options["port"],
            api_key=str(settings.STRIPE_SECRET_KEY),
            webhook_secret=str(settings.STRIPE_WEBHOOK_SECRET),
            webhook_url=options["webhook_url"],
            faults=Faults(
                events_twice=options["events_twice"],
                events_reversed=options["events_reversed"],
                async_payments=options["async_payments"],
            ),
        )
        emulator.start()
        self.stdout.write(f"STRIPE_API_BASE={emulator.url} (events to {options['webhook_url']})")
        self.stdout.flush()
        try:
            while True:  # until Ctrl-C or SIGTERM (run_local's stop)
                time.sleep(SETTLE_SECONDS)
                emulator.settle_payments()  # delayed payments arrive a few seconds late
        except KeyboardInterrupt:
            self.stdout.write("Stripe emulator stopped.")
        finally:
            emulator.stop()
