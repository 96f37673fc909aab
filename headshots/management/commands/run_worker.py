"""Run the task worker that matches TASKS_BACKEND: one command for deployments, whatever the queue.

`database` (the default) runs django-tasks-db's `db_worker`; `rq` runs an RQ worker on Redis
with the job class django-tasks-rq needs and its scheduler (for tasks deferred with run_after).
`--batch` runs what is queued and exits, for either backend; no other argument is taken.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the background task worker for the configured TASKS_BACKEND."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TASKS_BACKEND == "rq":
            call_command(  # the scheduler runs deferred tasks (the polls of Replicate)
                "rqworker", "default", job_class="django_tasks_rq.Job", burst=options["batch"],
                with_scheduler=True,
            )  # fmt: skip
        elif settings.TASKS_BACKEND == "database":
            call_command("db_worker", batch=options["batch"])
        else:
            raise CommandError("TASKS_BACKEND=immediate runs tasks in the web process: no worker.")
