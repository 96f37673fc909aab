"""The queue boundary of privacy: erasing an account and making an export, retried until done.

The tasks framework has no automatic retries, so a failed erasure schedules itself again
(with a growing delay) on a backend that can defer; cron's `cleanup_temp_files` enqueues any
erasure still unfinished, which also covers a worker lost mid-way.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from privacy import erasure, export
from privacy.models import AccountErasure

logger = logging.getLogger(__name__)

RETRY_SECONDS = (30, 120, 600, 3600)


@task()
def erase_account(erasure_id: int) -> None:
    """Erase what an account still holds; on failure, try again later."""
    try:
        erasure.account_erase(erasure_id=erasure_id)
    except Exception as error:
        logger.exception("erasure %s failed; it will be retried", erasure_id)
        AccountErasure.objects.filter(pk=erasure_id).update(
            attempts=F("attempts") + 1, last_error=type(error).__name__
        )
        retry_later(erasure_id)


def retry_later(erasure_id: int) -> None:
    """The next attempt after a pause that grows; cron catches up where nothing can defer."""
    if not erase_account.get_backend().supports_defer:
        return
    attempts = AccountErasure.objects.filter(pk=erasure_id).values_list("attempts", flat=True)
    done = next(iter(attempts), 1)
    delay = RETRY_SECONDS[min(done, len(RETRY_SECONDS)) - 1]
    run_after = timezone.now() + timedelta(seconds=delay)
    transaction.on_commit(partial(erase_account.using(run_after=run_after).enqueue, erasure_id))


def enqueue_erasure(erasure_id: int) -> None:
    transaction.on_commit(partial(erase_account.enqueue, erasure_id))


def resume_erasures() -> int:
    """Enqueue every unfinished erasure (cron); returns how many."""
    pending = erasure.unfinished_erasures()
    for erasure_id in pending:
        enqueue_erasure(erasure_id)
    return len(pending)


@task()
def make_export(export_id: int) -> None:
    """Write a person's data ZIP and tell them it is ready."""
    export.export_build(export_id=export_id)


def enqueue_export(export_id: int) -> None:
    transaction.on_commit(partial(make_export.enqueue, export_id))
