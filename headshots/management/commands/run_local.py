"""Start everything the app needs on one machine, together: the web server, the task worker,
(without a REPLICATE_API_TOKEN) the Replicate emulator, and (without a STRIPE_SECRET_KEY) the
Stripe emulator with a demo shop: two credit packs, and an order costing one credit.

`make run` calls this so that a newcomer has one command and one Ctrl-C. Each part is a child
process; when any of them stops, or on Ctrl-C, the others are stopped too, so nothing is left
running in the background (a runserver left behind keeps the port, and the next `make run` fails).

Each child runs in its own session, so its own children (runserver's autoreloader serves from a
grandchild) are one process group that is stopped as a whole. A terminal's Ctrl-C reaches only
this command, which then stops the groups: SIGTERM, a few seconds' grace, then SIGKILL. Once
stopping has begun, a second Ctrl-C is ignored so that it cannot cut the cleanup short.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_SECONDS = 5


class Command(BaseCommand):
    help = "Run the web server and the task worker together (local development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        address = f"{options['host']}:{options['port']}"
        commands = {
            "web": [sys.executable, "manage.py", "runserver", address],
            "worker": [sys.executable, "manage.py", "run_worker"],
        }
        if settings.REPLICATE_USES_EMULATOR:
            port = str(settings.REPLICATE_EMULATOR_PORT)
            commands["emulator"] = [
                sys.executable,
                "manage.py",
                "replicate_emulator",
                "--port",
                port,
            ]
        if settings.STRIPE_USES_EMULATOR:
            port = str(settings.STRIPE_EMULATOR_PORT)
            commands["stripe"] = [sys.executable, "manage.py", "stripe_emulator", "--port", port]
        # Webhooks must reach this server, whatever port it was given.
        environment = {
            **os.environ,
            "SITE_URL": os.environ.get("SITE_URL") or f"http://{address}",
            **demo_shop_defaults(),
        }
        self.print_banner(address)
        stopping: list[int] = []
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, _frame: stopping.append(signum))
        children = {
            name: subprocess.Popen(argv, env=environment, start_new_session=True)  # noqa: S603
            for name, argv in commands.items()
        }
        try:
            while not stopping and all(child.poll() is None for child in children.values()):
                time.sleep(0.2)
        finally:
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
            stop_all(children)

    def print_banner(self, address: str) -> None:
        """Tell the newcomer where the site is and how to sign in without a mail server."""
        self.stdout.write(
            self.style.SUCCESS(f"\nHeadshots is starting at http://{address}/\n")
            + "Sign in: open the URL, choose 'Entrar', type any e-mail address (a new one\n"
            "makes its account). The e-mail with your sign-in code is printed below in this\n"
            "console: type the code on the page. Ctrl-C stops everything.\n"
            + (
                "No STRIPE_SECRET_KEY: credit packs are sold through the built-in Stripe emulator\n"
                f"at {settings.STRIPE_API_BASE} ('Pagar' and 'Cancelar' buttons; no money moves).\n"
                if settings.STRIPE_USES_EMULATOR
                else f"Stripe: {settings.STRIPE_API_BASE} (real payments with a live key).\n"
            )
            + (
                "No REPLICATE_API_TOKEN: trainings and headshots come from the built-in Replicate\n"
                f"emulator at {settings.REPLICATE_BASE_URL} (emulated images, no cost).\n"
                if settings.REPLICATE_USES_EMULATOR
                else f"Replicate: {settings.REPLICATE_BASE_URL} (real trainings, real cost).\n"
            )
        )


def demo_shop_defaults() -> dict[str, str]:
    """With the Stripe emulator, a shop to try: an order costs a credit and two packs are on
    sale, unless the environment says otherwise (TRAINING_CREDIT_COST=0 keeps orders free)."""
    if not settings.STRIPE_USES_EMULATOR:
        return {}
    defaults = {"TRAINING_CREDIT_COST": "1", "CREDIT_PACKS": DEMO_PACKS}
    return {name: value for name, value in defaults.items() if name not in os.environ}


DEMO_PACKS = (
    '[{"slug": "one", "name_es": "1 sesión", "name_en": "1 session", "credits": 1, '
    '"price_cents": 1900}, {"slug": "three", "name_es": "3 sesiones", "name_en": "3 sessions", '
    '"credits": 3, "price_cents": 4900}]'
)


def stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Ask every child's process group to stop, then kill what is left after a few seconds."""
    signal_groups(children, signal.SIGTERM)
    if not wait_for_groups(children, seconds=GRACE_SECONDS):
        signal_groups(children, signal.SIGKILL)
        wait_for_groups(children, seconds=GRACE_SECONDS)


def signal_groups(children: dict[str, subprocess.Popen[bytes]], signum: int) -> None:
    """Send `signum` to each child's whole process group (its pid, as it leads its session)."""
    for child in children.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)


def wait_for_groups(children: dict[str, subprocess.Popen[bytes]], *, seconds: float) -> bool:
    """Whether every child's process group emptied within `seconds`."""
    deadline = time.monotonic() + seconds
    while any(group_alive(child) for child in children.values()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def group_alive(child: subprocess.Popen[bytes]) -> bool:
    """Whether any process of the child's group remains (the child itself is reaped first)."""
    child.poll()
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    return True
