"""What must happen next after a stage function ran: the caller (a task or a view) enqueues it.

Stage modules never import tasks (the floors of DESIGN.md); they return follow-ups instead,
and `tasks.enqueue_followups` turns each into the matching task once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Next(StrEnum):
    SUBMIT_TRAINING = "submit_training"
    GENERATE_HEADSHOTS = "generate_headshots"
    STORE_HEADSHOTS = "store_headshots"
    NOTIFY_READY = "notify_ready"
    ROLL_BACK = "roll_back"
    CANCEL_REMOTE = "cancel_remote"
    PURGE = "purge"


@dataclass(frozen=True)
class FollowUp:
    """One piece of work to enqueue: what, and the id of the row it concerns."""

    action: Next
    object_id: int
