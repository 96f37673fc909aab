"""Delete temporary files that have done their job (cron, e.g. hourly).

The policy is in `training/cleanup.py`: ZIPs of finished trainings, old ZIPs no running training
needs, objects no row points to, and stale upload files; never a ZIP that a queued or running
training may still download. `--dry-run` lists what would go. Safe to run at any time, and twice.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandParser

from training.cleanup import cleanup_temp_files


class Command(BaseCommand):
    help = "Delete temporary files (ZIPs, orphans, stale uploads) past their use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List, delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = cleanup_temp_files(storage=default_storage, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        if options["verbosity"] > 1:
            for name, size in report.deleted:
                self.stdout.write(f"{verb} {name} ({size} bytes)")
        summary = f"{verb} {report.files} file(s), {report.bytes} bytes"
        self.stdout.write(f"cleanup_temp_files: {summary}.")
