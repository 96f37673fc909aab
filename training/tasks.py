"""The queue boundary: thin tasks that take ids, call a stage function, and enqueue what follows.

Every task may run twice (the stage functions are idempotent), and follow-ups are enqueued only
after the transaction that produced them commits. Once an order is submitted, `poll_replicate`
follows it on a backend that can defer tasks (the database queue, RQ with its scheduler), in
case a webhook is lost (training/polling.py).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.tasks import Task, task
from django.utils import timezone

from training import completion, generation, lifecycle, orders, polling, trainings
from training.followups import FollowUp, Next
from training.models import Order
from training.notifications import notify_order_ready


@task()
def submit_training(order_id: int) -> None:
    """Send a queued order's photo set to Replicate."""
    enqueue_followups(trainings.submit_training(order_id=order_id))
    start_polling(order_id)


@task()
def generate_headshots(order_id: int) -> None:
    """Start a prediction for every prompt still waiting for one."""
    enqueue_followups(generation.start_predictions(order_id=order_id))
    start_polling(order_id)  # after a staff retry, the first poll chain has ended


@task()
def poll_replicate(order_id: int, delay_seconds: int) -> None:
    """Ask Replicate about the order's running jobs (a webhook may be lost); again later."""
    followups, again = polling.order_poll(order_id=order_id)
    enqueue_followups(followups)
    if not again:
        cache.delete(poll_key(order_id))
        return
    training = polling.is_training(order_id)  # then the poll also keeps the progress fresh
    delay = polling.next_poll_seconds(delay_seconds, moved=bool(followups), training=training)
    cache.set(poll_key(order_id), True, poll_claim_seconds(delay))
    schedule_poll(order_id, delay)


def poll_key(order_id: int) -> str:
    return f"replicate-poll:{order_id}"


def poll_claim_seconds(delay: int) -> int:
    """How long a chain of polls holds its claim: a chain that died frees it soon after."""
    return 3 * max(delay, settings.REPLICATE_POLL_MAX_SECONDS)


def start_polling(order_id: int) -> None:
    """One chain of polls per order (a second start while one runs does nothing)."""
    if not poll_replicate.get_backend().supports_defer:
        return  # the immediate backend: no worker to come back later; sync_replicate remains
    first = settings.REPLICATE_POLL_SECONDS
    if cache.add(poll_key(order_id), True, poll_claim_seconds(first)):
        schedule_poll(order_id, first)


def schedule_poll(order_id: int, delay_seconds: int) -> None:
    """The next poll, `delay_seconds` from now, once the current transaction commits."""
    run_after = timezone.now() + timedelta(seconds=delay_seconds)
    transaction.on_commit(
        partial(poll_replicate.using(run_after=run_after).enqueue, order_id, delay_seconds)
    )


@task()
def store_headshots(prediction_id: int) -> None:
    """Copy a finished prediction's images into our storage; finish the order when all are in."""
    enqueue_followups(completion.store_outputs(prediction_id=prediction_id))


@task()
def notify_ready(order_id: int) -> None:
    """The "your headshots are ready" e-mail."""
    notify_order_ready(Order.objects.select_related("user").get(pk=order_id))


@task()
def roll_back(order_id: int) -> None:
    """Delete a failed order's files and tell its owner."""
    lifecycle.roll_back_order(order_id=order_id)


@task()
def cancel_remote(order_id: int) -> None:
    """Stop a canceled order's jobs on Replicate and drop its files."""
    lifecycle.cancel_remote_jobs(order_id=order_id)


@task()
def purge(order_id: int) -> None:
    """Erase a deleted order's files and its model on Replicate; its row stays, anonymous."""
    orders.purge_order(order_id=order_id)


def resume_purges() -> int:
    """Enqueue every purge a failure or a lost worker left undone (cron); returns how many."""
    pending = orders.unfinished_purges()
    for order_id in pending:
        purge.enqueue(order_id)
    return len(pending)


TASKS_BY_ACTION: dict[Next, Task[[int], None]] = {
    Next.SUBMIT_TRAINING: submit_training,
    Next.GENERATE_HEADSHOTS: generate_headshots,
    Next.STORE_HEADSHOTS: store_headshots,
    Next.NOTIFY_READY: notify_ready,
    Next.ROLL_BACK: roll_back,
    Next.CANCEL_REMOTE: cancel_remote,
    Next.PURGE: purge,
}


def enqueue_followups(followups: list[FollowUp]) -> None:
    """Enqueue each follow-up once the current transaction (if any) has committed."""
    for followup in followups:
        transaction.on_commit(partial(TASKS_BY_ACTION[followup.action].enqueue, followup.object_id))
