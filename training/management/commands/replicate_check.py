"""Check the Replicate set-up against the API and say in plain words what is wrong.

Read-only: it creates nothing on Replicate and spends nothing. Exits non-zero when a check finds
a problem; warnings (a local SITE_URL, something this API cannot tell) do not fail it. The logic
is in `training/replicate_setup.py`; docs/replicate-setup.md explains each finding.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.replicate.client import client_from_settings
from training.replicate_setup import Level, check_replicate_setup

LABELS = {Level.OK: "ok", Level.WARNING: "warning", Level.PROBLEM: "PROBLEM"}


class Command(BaseCommand):
    help = "Check the Replicate token, owner, trainer version, webhook secret and SITE_URL."

    def handle(self, *args: Any, **options: Any) -> None:
        where = settings.REPLICATE_BASE_URL
        if settings.REPLICATE_USES_EMULATOR:
            where += " (REPLICATE_API_TOKEN is unset: the built-in emulator)"
        self.stdout.write(f"Checking the Replicate set-up at {where}")
        findings = check_replicate_setup(
            client_from_settings(),
            owner=settings.REPLICATE_OWNER,
            trainer=settings.REPLICATE_TRAINER,
            trainer_version=settings.REPLICATE_TRAINER_VERSION,
            webhook_secret=settings.REPLICATE_WEBHOOK_SECRET,
            site_url=settings.SITE_URL,
        )
        for finding in findings:
            line = f"{LABELS[finding.level]:<8} {finding.check}: {finding.message}"
            style = {
                Level.OK: self.style.SUCCESS,
                Level.WARNING: self.style.WARNING,
                Level.PROBLEM: self.style.ERROR,
            }[finding.level]
            self.stdout.write(style(line))
        problems = sum(finding.is_problem for finding in findings)
        warnings = sum(finding.level == Level.WARNING for finding in findings)
        if problems:
            raise CommandError(
                f"{problems} problem(s), {warnings} warning(s): Replicate is not set up right."
            )
        self.stdout.write(f"No problems ({warnings} warning(s)).")
