"""The queue boundary: thin tasks that take ids, call a stage function, and enqueue what follows.

Every task may run twice (the stage functions are idempotent), and follow-ups are enqueued only
after the transaction that produced them commits.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.tasks import Task, task

from training import headshots, orders, trainings
from training.followups import FollowUp, Next
from training.models import HeadshotModel
from training.notifications import notify_order_ready


@task()
def submit_training(order_id: int) -> None:
    """Send a queued order's photo set to Replicate."""
    enqueue_followups(trainings.submit_training(order_id=order_id))


@task()
def generate_headshots(order_id: int) -> None:
    """Start a prediction for every prompt still waiting for one."""
    enqueue_followups(headshots.start_predictions(order_id=order_id))


@task()
def store_headshots(prediction_id: int) -> None:
    """Copy a finished prediction's images into our storage; finish the order when all are in."""
    enqueue_followups(headshots.store_outputs(prediction_id=prediction_id))


@task()
def notify_ready(order_id: int) -> None:
    """The "your headshots are ready" e-mail."""
    notify_order_ready(HeadshotModel.objects.select_related("user").get(pk=order_id))


@task()
def roll_back(order_id: int) -> None:
    """Delete a failed order's files and tell its owner."""
    trainings.roll_back_order(order_id=order_id)


@task()
def cancel_remote(order_id: int) -> None:
    """Stop a canceled order's jobs on Replicate and drop its files."""
    trainings.cancel_remote_jobs(order_id=order_id)


@task()
def purge(order_id: int) -> None:
    """Delete a deleted order's files, its model on Replicate, and its row."""
    orders.purge_order(order_id=order_id)


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
