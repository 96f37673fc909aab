"""Catch up with Replicate where webhooks did not arrive (cron, every few minutes).

Trainings and predictions with no news for SYNC_AFTER_MINUTES are looked up and applied through
the same code as the webhook; queued orders that were never submitted are submitted; predictions
whose create never answered are found on Replicate and adopted, or created again when Replicate
has none; generations that died before their first prediction are started again; orders in
progress for more than STUCK_AFTER_HOURS fail with a refund and an e-mail. With this, the app
also works against the real Replicate where webhooks cannot reach it (a laptop).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from training import lifecycle, sync
from training.tasks import enqueue_followups


class Command(BaseCommand):
    help = "Apply what Replicate says about quiet trainings and predictions; fail stuck orders."

    def handle(self, *args: Any, **options: Any) -> None:
        followups = sync.sync_quiet_trainings()
        followups += sync.sync_quiet_predictions()
        followups += lifecycle.fail_stuck_orders()
        enqueue_followups(followups)
        if options["verbosity"]:
            self.stdout.write(f"sync_replicate: {len(followups)} follow-up(s) enqueued.")
