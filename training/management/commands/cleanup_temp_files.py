"""Delete temporary files that have done their job (cron, e.g. hourly).

The policy is in `training/cleanup.py`: ZIPs of finished trainings, old ZIPs no running training
needs, objects no row points to, and stale upload files; never a ZIP that a queued or running
training may still download. Then the retention rules of `privacy/retention.py`: face data,
headshots past their date (after one reminder e-mail) and expired data exports, each counted
per day for the staff dashboard; and account erasures and order purges a failure left
unfinished are enqueued again. `--dry-run` lists the temporary files that would go and applies
no retention rule. Safe to run at any time, and twice.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandParser

from privacy.retention import apply_retention
from privacy.tasks import resume_erasures
from training.cleanup import cleanup_temp_files
from training.tasks import resume_purges


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
        if options["dry_run"]:
            return
        retention = apply_retention(temp_files=report.files)
        counts = ", ".join(f"{rule} {count}" for rule, count in retention.deleted.items())
        self.stdout.write(f"retention: deleted {counts}; {retention.reminded} reminder(s) sent.")
        if resumed := resume_erasures():
            self.stdout.write(f"account erasures resumed: {resumed}.")
        if purges := resume_purges():
            self.stdout.write(f"order purges resumed: {purges}.")
