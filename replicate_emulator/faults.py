"""Faults the Replicate emulator can be told to produce, so every bad path can be tested.

Counters ("the next N") are spent as the faults happen; switches stay on until turned off.
Webhook switches are read when a training or prediction is created and stay with it.
Holds (`hang_creates`, `slow_answer_creates`, `hang_outputs`, `hang_lists`) keep a request
waiting for `hang_seconds`, so a test can catch the caller at that point (and kill it there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CREATE_KINDS = ("trainings", "predictions")
REJECTABLE_STATUSES = (401, 402, 422)


@dataclass
class Faults:
    """What goes wrong next; every field can also be set over HTTP (`POST /_emulator/faults`)."""

    fail_trainings: int = 0
    training_error: str = "CUDA out of memory. Tried to allocate 2.00 GiB"
    fail_predictions: int = 0
    prediction_error: str = "Prediction failed: the model crashed while generating"
    rate_limit_creates: int = 0
    retry_after_seconds: int = 1
    server_error_creates: int = 0
    drop_after_accept_creates: int = 0
    # Frozen before anything happens, as under SIGSTOP: after `hang_seconds` the create goes on.
    hang_creates: int = 0
    # Created at once, answered only after `hang_seconds` (webhooks may come first).
    slow_answer_creates: int = 0
    # An output download held for `hang_seconds` before its bytes are sent.
    hang_outputs: int = 0
    # A listing of trainings or predictions held for `hang_seconds` before it is answered.
    hang_lists: int = 0
    hang_seconds: float = 30.0
    create_faults_for: tuple[str, ...] = CREATE_KINDS
    reject_training_create: int | None = None
    webhooks_twice: bool = False
    webhooks_out_of_order: bool = False
    webhook_delay_seconds: float = 0.0
    webhooks_never: bool = False
    # Where outputs point (a prediction's URLs name this instead of the emulator), and where the
    # emulator's served outputs redirect to: both for the app's refusal of foreign hosts.
    prediction_output_url: str = ""
    output_redirect_to: str = ""

    def to_json(self) -> dict[str, Any]:
        """The faults as the control endpoint shows them."""
        data = dataclasses.asdict(self)
        data["create_faults_for"] = list(self.create_faults_for)
        return data

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial update from the control endpoint; unknown or bad values raise."""
        known = {item.name: item for item in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}")
            setattr(self, name, _coerce(name, value, getattr(self, name)))
        if self.reject_training_create not in (None, *REJECTABLE_STATUSES):
            raise ValueError("reject_training_create must be 401, 402, 422 or null")

    def webhook_plan(self) -> WebhookPlan:
        """The webhook behaviour a new training or prediction keeps for its whole life."""
        return WebhookPlan(
            twice=self.webhooks_twice,
            out_of_order=self.webhooks_out_of_order,
            delay_seconds=self.webhook_delay_seconds,
            never=self.webhooks_never,
        )


@dataclass(frozen=True)
class WebhookPlan:
    """How one object's webhooks are delivered (normally: once, in order, at once)."""

    twice: bool = False
    out_of_order: bool = False
    delay_seconds: float = 0.0
    never: bool = False


@dataclass
class CreateOutcome:
    """What a create request should run into, decided once under the emulator's lock."""

    reject_status: int | None = None
    rate_limited: bool = False
    server_error: bool = False
    drop_connection: bool = False
    hang_before: bool = False
    slow_answer: bool = False
    hold_seconds: float = 0.0
    fail_job: bool = False
    plan: WebhookPlan = field(default_factory=WebhookPlan)


def take_create_outcome(faults: Faults, kind: str) -> CreateOutcome:
    """Spend the counters that apply to one create of `kind` ("trainings" or "predictions")."""
    outcome = CreateOutcome(plan=faults.webhook_plan())
    if kind == "trainings" and faults.reject_training_create is not None:
        outcome.reject_status, faults.reject_training_create = faults.reject_training_create, None
        return outcome
    if kind in faults.create_faults_for:
        if faults.rate_limit_creates > 0:
            faults.rate_limit_creates -= 1
            outcome.rate_limited = True
            return outcome
        if faults.server_error_creates > 0:
            faults.server_error_creates -= 1
            outcome.server_error = True
            return outcome
        if faults.drop_after_accept_creates > 0:
            faults.drop_after_accept_creates -= 1
            outcome.drop_connection = True
        outcome.hang_before = _spend(faults, "hang_creates")
        outcome.slow_answer = _spend(faults, "slow_answer_creates")
        outcome.hold_seconds = faults.hang_seconds
    outcome.fail_job = _spend_failure(faults, kind)
    return outcome


def _spend(faults: Faults, counter: str) -> bool:
    """Whether one of the next N of `counter` is due now (and spend it)."""
    left = int(getattr(faults, counter))
    if left > 0:
        setattr(faults, counter, left - 1)
    return left > 0


def take_list_hold(faults: Faults) -> float:
    """Seconds the next listing is held (0: answered at once)."""
    return faults.hang_seconds if _spend(faults, "hang_lists") else 0.0


def take_output_hold(faults: Faults) -> float:
    """Seconds the next output download is held (0: served at once)."""
    return faults.hang_seconds if _spend(faults, "hang_outputs") else 0.0


def _spend_failure(faults: Faults, kind: str) -> bool:
    """Whether this new job is one of the next N that must fail."""
    if kind == "trainings" and faults.fail_trainings > 0:
        faults.fail_trainings -= 1
        return True
    if kind == "predictions" and faults.fail_predictions > 0:
        faults.fail_predictions -= 1
        return True
    return False


def _coerce(name: str, value: Any, current: Any) -> Any:
    """Keep each field's type, so a JSON typo fails loudly instead of misbehaving later."""
    if name == "create_faults_for":
        kinds = tuple(value)
        if not set(kinds) <= set(CREATE_KINDS):
            raise ValueError(f"create_faults_for must be within {CREATE_KINDS}")
        return kinds
    if name == "reject_training_create":
        return None if value is None else int(value)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return str(value)
