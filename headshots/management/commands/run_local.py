"""Start everything the app needs on one machine, together: the web server, the task worker,
and (without a REPLICATE_API_TOKEN) the Replicate emulator.

`make run` calls this so that a newcomer has one command and one Ctrl-C. Each part is a child
process; when any of them stops, or on Ctrl-C, the others are stopped too, so nothing is left
running in the background.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


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
        # Webhooks must reach this server, whatever port it was given.
        environment = {**os.environ, "SITE_URL": os.environ.get("SITE_URL") or f"http://{address}"}
        self.print_banner(address)
        children = {
            name: subprocess.Popen(argv, env=environment)  # noqa: S603
            for name, argv in commands.items()
        }
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop_all(children)

    def print_banner(self, address: str) -> None:
        """Tell the newcomer where the site is and how to sign in without a mail server."""
        self.stdout.write(
            self.style.SUCCESS(f"\nHeadshots is starting at http://{address}/\n")
            + "Sign in: open the URL, choose 'Entrar', type any e-mail address; the e-mail with\n"
            "your sign-in code is printed below in this console. Ctrl-C stops everything.\n"
            + (
                "No REPLICATE_API_TOKEN: trainings and headshots come from the built-in Replicate\n"
                f"emulator at {settings.REPLICATE_BASE_URL} (emulated images, no cost).\n"
                if settings.REPLICATE_USES_EMULATOR
                else f"Replicate: {settings.REPLICATE_BASE_URL} (real trainings, real cost).\n"
            )
        )


def stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Ask every child to stop, then insist after a few seconds."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 5
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
