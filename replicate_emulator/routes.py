"""The emulator's API endpoints for models, trainings, predictions and the webhook secret.

Checks happen in Replicate's order as far as we know it: token, then rate limit and server
faults, then validation, then the object is created. Problem titles and details copy the ones
Replicate sends, so error handling written against the emulator reads real errors too.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from replicate_emulator.faults import (
    CreateOutcome,
    take_create_outcome,
    take_list_hold,
)
from replicate_emulator.http import Problem, Reply, Request, Route, route
from replicate_emulator.inputs import PREDICTION_INPUTS, TRAINING_INPUTS, check_input
from replicate_emulator.jobs import JobRunner
from replicate_emulator.store import (
    ALL_EVENTS,
    TRAINER,
    TRAINER_VERSION,
    EmulatorState,
    JobRecord,
    ModelRecord,
    job_json,
    model_json,
    new_id,
    version_json,
)

TRAINER_VERSION_CREATED = datetime(2024, 8, 14, tzinfo=UTC)
VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
MODEL_VERSION = re.compile(r"^(?P<model>[\w.-]+/[\w.-]+):(?P<version>[0-9a-f]{64})$")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class ApiEndpoints:
    """Endpoints over one emulator's state; each method is one route."""

    def __init__(self, state: EmulatorState, runner: JobRunner) -> None:
        self.state = state
        self.runner = runner

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/models", self.create_model),
            route("GET", "/v1/models/{owner}/{name}", self.get_model),
            route("DELETE", "/v1/models/{owner}/{name}", self.delete_model),
            route("GET", "/v1/models/{owner}/{name}/versions", self.list_versions),
            route("GET", "/v1/models/{owner}/{name}/versions/{id}", self.get_version),
            route("GET", "/v1/account", self.account),
            route("DELETE", "/v1/models/{owner}/{name}/versions/{id}", self.delete_version),
            route(
                "POST",
                "/v1/models/{owner}/{name}/versions/{version}/trainings",
                self.create_training,
            ),
            route("GET", "/v1/trainings", self.list_trainings),
            route("GET", "/v1/trainings/{id}", self.get_job),
            route("POST", "/v1/trainings/{id}/cancel", self.cancel_job),
            route("POST", "/v1/predictions", self.create_prediction),
            route("GET", "/v1/predictions", self.list_predictions),
            route("GET", "/v1/predictions/{id}", self.get_job),
            route("POST", "/v1/predictions/{id}/cancel", self.cancel_job),
            route("GET", "/v1/webhooks/default/secret", self.webhook_secret),
        ]

    def create_model(self, request: Request) -> Reply:
        body = request.json_object()
        owner, name = str(body.get("owner", "")), str(body.get("name", ""))
        _require_fields(body, ("owner", "name", "visibility", "hardware"))
        if not NAME.match(name) or body["visibility"] not in ("public", "private"):
            raise _invalid("name", "name or visibility is not valid")
        with self.state.lock:
            if f"{owner}/{name}" in self.state.models:
                raise Problem(
                    409, "Model already exists", "A model with that name and owner already exists."
                )
            model = ModelRecord(
                owner, name, str(body["visibility"]), str(body["hardware"]), body.get("description")
            )
            self.state.models[f"{owner}/{name}"] = model
            return Reply(201, model_json(self.state, model))

    def get_model(self, request: Request) -> Reply:
        with self.state.lock:
            return Reply(200, model_json(self.state, self._model(request)))

    def delete_model(self, request: Request) -> Reply:
        with self.state.lock:
            model = self._model(request)
            if model.versions:
                raise Problem(
                    409,
                    "Model has versions",
                    "You can only delete models that have no versions associated with them.",
                )
            del self.state.models[f"{model.owner}/{model.name}"]
        return Reply(204, b"")

    def list_versions(self, request: Request) -> Reply:
        with self.state.lock:
            model = self._model(request)
            results = [version_json(vid, created) for vid, created in reversed(model.versions)]
        return Reply(200, {"next": None, "previous": None, "results": results})

    def get_version(self, request: Request) -> Reply:
        owner, name, version_id = (request.params[key] for key in ("owner", "name", "id"))
        if f"{owner}/{name}" == TRAINER and version_id == TRAINER_VERSION:
            return Reply(200, version_json(TRAINER_VERSION, TRAINER_VERSION_CREATED))
        with self.state.lock:
            for known, created in self._model(request).versions:
                if known == version_id:
                    return Reply(200, version_json(known, created))
        raise Problem(404, "Not found", "No such version.")

    def account(self, request: Request) -> Reply:
        name = self.state.config.account
        return Reply(200, {"type": "organization", "username": name, "name": name})

    def delete_version(self, request: Request) -> Reply:
        with self.state.lock:
            model = self._model(request)
            kept = [item for item in model.versions if item[0] != request.params["id"]]
            if len(kept) == len(model.versions):
                raise Problem(404, "Not found", "No such version.")
            model.versions = kept
        return Reply(202, b"")

    def create_training(self, request: Request) -> Reply:
        trainer = f"{request.params['owner']}/{request.params['name']}"
        if trainer != TRAINER:
            raise Problem(404, "Not found", f"The emulator only runs trainings of {TRAINER}.")
        body = request.json_object()
        outcome = self._create_outcome("trainings")
        destination, events = _validate_training(body)
        with self.state.lock:
            if destination not in self.state.models:
                raise Problem(
                    404, "Not found", "The specified training destination does not exist."
                )
            job = self._new_job("training", TRAINER, request.params["version"], body, outcome)
            job.destination, job.events = destination, events
            data = job_json(self.state, job)
        self.runner.start(job)
        return self._answer(data, outcome)

    def create_prediction(self, request: Request) -> Reply:
        body = request.json_object()
        outcome = self._create_outcome("predictions")
        _require_fields(body, ("version", "input"))
        events = _events(body)
        with self.state.lock:
            model, version_id = self._resolve_version(str(body["version"]))
            check_input(body["input"], PREDICTION_INPUTS)  # the version's schema, once found
            job = self._new_job("prediction", model, version_id, body, outcome)
            job.events = events
            data = job_json(self.state, job)
        self.runner.start(job)
        return self._answer(data, outcome)

    def list_trainings(self, request: Request) -> Reply:
        return self._list_jobs(request, "training")

    def list_predictions(self, request: Request) -> Reply:
        return self._list_jobs(request, "prediction")

    def _list_jobs(self, request: Request, kind: str) -> Reply:
        """Newest first, in pages; `created_after`/`created_before` narrow it as Replicate does."""
        since, until = _query_time(request, "created_after"), _query_time(request, "created_before")
        with self.state.lock:
            hold = take_list_hold(self.state.faults)
        if hold and not self.state.hold(hold):
            raise Problem(503, "Service unavailable", "The emulator is stopping.")
        with self.state.lock:
            jobs = sorted(
                (
                    job
                    for job in self.state.jobs.values()
                    if job.kind == kind
                    and (since is None or job.created_at >= since)
                    and (until is None or job.created_at < until)
                ),
                key=lambda job: job.seq,
                reverse=True,
            )
            size = self.state.config.page_size
            page, before, after = _page(jobs, request.query.get("cursor"), size)
            kept = urlencode({k: v for k, v in request.query.items() if k != "cursor"})
            base = f"{self.state.config.root}/v1/{kind}s?{kept + '&' if kept else ''}cursor="
            return Reply(
                200,
                {
                    "next": base + _cursor("before", before) if before else None,
                    "previous": base + _cursor("after", after) if after else None,
                    "results": [job_json(self.state, job) for job in page],
                },
            )

    def get_job(self, request: Request) -> Reply:
        with self.state.lock:
            return Reply(200, job_json(self.state, self._job(request)))

    def cancel_job(self, request: Request) -> Reply:
        with self.state.lock:
            job = self._job(request)
            self.runner.cancel(job)
            return Reply(200, job_json(self.state, job))

    def webhook_secret(self, request: Request) -> Reply:
        return Reply(200, {"key": self.state.config.webhook_secret})

    def _model(self, request: Request) -> ModelRecord:
        model = self.state.models.get(f"{request.params['owner']}/{request.params['name']}")
        if model is None:
            raise Problem(404, "Not found", "The requested resource could not be found.")
        return model

    def _job(self, request: Request) -> JobRecord:
        kind = "training" if request.path.startswith("/v1/trainings/") else "prediction"
        job = self.state.jobs.get(request.params["id"])
        if job is None or job.kind != kind:
            raise Problem(404, "Not found", "The requested resource could not be found.")
        return job

    def _answer(self, data: dict[str, Any], outcome: CreateOutcome) -> Reply:
        """The 201 of a create: at once, late (`slow_answer`), or never (`drop_connection`)."""
        if outcome.slow_answer and not self.state.hold(outcome.hold_seconds):
            return Reply(201, data, drop_connection=True)
        return Reply(201, data, drop_connection=outcome.drop_connection)

    def _create_outcome(self, kind: str) -> CreateOutcome:
        """Spend the create faults and raise the problem they call for, if any."""
        with self.state.lock:
            outcome = take_create_outcome(self.state.faults, kind)
            retry_after = self.state.faults.retry_after_seconds
            self.state.throttled += outcome.rate_limited
        if outcome.hang_before and not self.state.hold(outcome.hold_seconds):
            raise Problem(503, "Service unavailable", "The emulator is stopping.")
        if outcome.reject_status is not None:
            raise _rejection(outcome.reject_status)
        if outcome.rate_limited:
            raise Problem(
                429,
                "Request was throttled",
                f"Request was throttled. Expected available in {retry_after} second.",
                headers={"Retry-After": str(retry_after)},
            )
        if outcome.server_error:
            raise Problem(500, "Internal server error", "Something went wrong on our side.")
        return outcome

    def _resolve_version(self, reference: str) -> tuple[str, str]:
        """`owner/name:hash` or a bare 64-hex id to (model, version id); caller holds lock."""
        match = MODEL_VERSION.match(reference)
        version_id = match["version"] if match else reference
        found = self.state.find_version(version_id) if VERSION_ID.match(version_id) else None
        if found is None or (match and f"{found[0].owner}/{found[0].name}" != match["model"]):
            raise Problem(
                422,
                "Invalid version or not permitted",
                "The specified version does not exist (or perhaps you don't have permission "
                "to use it?)",
            )
        return f"{found[0].owner}/{found[0].name}", version_id

    def _new_job(
        self, kind: str, model: str, version: str, body: dict[str, Any], outcome: CreateOutcome
    ) -> JobRecord:
        """Record a new training or prediction; caller holds the lock."""
        faults = self.state.faults
        failure = faults.training_error if kind == "training" else faults.prediction_error
        job = JobRecord(
            kind="training" if kind == "training" else "prediction",
            id=new_id(),
            seq=self.state.next_seq(),
            model=model,
            version=version,
            input=dict(body["input"]),
            webhook=body.get("webhook"),
            events=ALL_EVENTS,
            plan=outcome.plan,
            fail_with=failure if outcome.fail_job else None,
        )
        self.state.jobs[job.id] = job
        return job


def _validate_training(body: dict[str, Any]) -> tuple[str, frozenset[str]]:
    """The destination and webhook events of a training request, or a 422 problem."""
    _require_fields(body, ("destination", "input"))
    check_input(body["input"], TRAINING_INPUTS)
    return str(body["destination"]), _events(body)


def _events(body: dict[str, Any]) -> frozenset[str]:
    """The webhook events asked for; Replicate sends all of them when none are named."""
    chosen = body.get("webhook_events_filter")
    if chosen is None:
        return ALL_EVENTS
    if not isinstance(chosen, list) or not set(chosen) <= ALL_EVENTS:
        raise _invalid("webhook_events_filter", "must be a list of start, output, logs, completed")
    webhook = body.get("webhook")
    if webhook is not None and not isinstance(webhook, str):
        raise _invalid("webhook", "must be a URL")
    return frozenset(chosen)


def _require_fields(body: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise _invalid(name, f"{name} is required", kind="required")
    if "input" in names and not isinstance(body["input"], dict):
        raise _invalid("input", "input must be an object")


def _invalid(name: str, description: str, *, kind: str = "invalid") -> Problem:
    return Problem(
        422,
        "Input validation failed",
        f"- {name}: {description}\n",
        invalid_fields=[{"type": kind, "field": name, "description": description}],
    )


def _rejection(status: int) -> Problem:
    """The 401, 402 or 422 a test asked the next training create to get."""
    if status == 401:
        return Problem(401, "Unauthenticated", "You did not pass a valid authentication token")
    if status == 402:
        return Problem(
            402,
            "Insufficient credit",
            "You have insufficient credit to run this model. Go to "
            "https://replicate.com/account/billing#billing to purchase credit. Once you purchase "
            "credit, please wait a few minutes before retrying.",
        )
    return _invalid("input", "input_images is required", kind="required")


def _query_time(request: Request, name: str) -> datetime | None:
    """An ISO 8601 date-time from the query string, or a 400 problem."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise Problem(400, "Invalid date-time", f"{name} is not an ISO 8601 date-time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode()


def _page(
    jobs: list[JobRecord], cursor: str | None, size: int
) -> tuple[list[JobRecord], int | None, int | None]:
    """One page of newest-first `jobs`, and the seqs to continue before (next) and after (prev).

    Cursors name a creation seq rather than an offset, so new trainings do not shift pages.
    """
    start = 0
    if cursor:
        direction, seq = _decode_cursor(cursor)
        if direction == "before":
            start = next((index for index, job in enumerate(jobs) if job.seq < seq), len(jobs))
        else:
            newer = sum(1 for job in jobs if job.seq > seq)
            start = max(0, newer - size)
    page = jobs[start : start + size]
    before = page[-1].seq if page and start + size < len(jobs) else None
    after = page[0].seq if page and start > 0 else None
    return page, before, after


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        direction, _, raw = base64.urlsafe_b64decode(cursor).decode().partition(":")
        return direction, int(raw)
    except ValueError as error:
        raise Problem(400, "Invalid cursor", "The cursor is not valid") from error
