"""The emulator's state: models, trainings, predictions, files and served outputs, behind one lock.

The JSON renderers produce Replicate's shapes with the differences the official client 1.0.7
needs (see /work/shared/replicate/README.md): no `aborted`, File objects with `name` and `etag`,
`urls` values always strings. Unset timestamps and a training's unset output are left out rather
than sent as null, because the OpenAPI schema types them as plain strings and objects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from replicate_emulator.face_crops import FaceCrop
from replicate_emulator.faults import Faults, WebhookPlan

TRAINER = "ostris/flux-dev-lora-trainer"
# The trainer version the emulator knows (Replicate's pinned one); trainings accept any id.
TRAINER_VERSION = "e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497"
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
ALL_EVENTS = frozenset({"start", "output", "logs", "completed"})
FILE_LIFETIME = timedelta(hours=24)
# Trained versions whose face crops are kept (a few MB each at most); older ones fall back to the
# gradient, as after a restart.
FACES_KEPT_FOR = 24


def new_id() -> str:
    """A 26-character lowercase base32 id, like Replicate's prediction and training ids."""
    return base64.b32encode(os.urandom(16)).decode().lower()[:26]


def new_version_id() -> str:
    """A 64-hex version id, like the ones Replicate gives model versions."""
    return os.urandom(32).hex()


def timestamp(moment: datetime) -> str:
    """Replicate's timestamp format: UTC with microseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> datetime:
    """The emulator's clock, in one place."""
    return datetime.now(tz=UTC)


@dataclass
class ModelRecord:
    """A model and the versions trainings pushed to it."""

    owner: str
    name: str
    visibility: str
    hardware: str
    description: str | None = None
    versions: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class JobRecord:
    """A training or a prediction; the two share their life cycle."""

    kind: Literal["training", "prediction"]
    id: str
    seq: int
    model: str
    version: str
    input: dict[str, Any]
    webhook: str | None
    events: frozenset[str]
    plan: WebhookPlan
    fail_with: str | None = None
    destination: str | None = None
    status: str = "starting"
    logs: str = ""
    output: Any = None
    error: str | None = None
    created_at: datetime = field(default_factory=now)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    held_webhooks: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether the job reached a state it never leaves."""
        return self.status in TERMINAL


@dataclass
class FileRecord:
    """An uploaded file (the training ZIP, when our storage is not reachable from outside)."""

    id: str
    name: str
    content_type: str
    data: bytes
    metadata: dict[str, Any]
    created_at: datetime = field(default_factory=now)


@dataclass
class EmulatorConfig:
    """Fixed settings of one running emulator."""

    token: str
    webhook_secret: str
    training_seconds: float
    prediction_seconds: float
    page_size: int
    account: str = "headshots"
    wrong_face_share: float = 0.125  # of outputs showing someone else or nobody (0 to 1)
    root: str = ""
    file_signing_key: bytes = field(default_factory=lambda: os.urandom(32))


class EmulatorState:
    """Everything the emulator knows; callers hold `lock` while reading or changing it."""

    def __init__(self, config: EmulatorConfig, faults: Faults) -> None:
        self.config = config
        self.faults = faults
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.models: dict[str, ModelRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.outputs: dict[str, tuple[str, bytes]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.faces: OrderedDict[str, list[FaceCrop]] = OrderedDict()  # version id -> crops
        self.portraits: dict[str, dict[str, Any]] = {}  # prediction id -> backdrop, faces shown
        self.portraits_made = 0  # outputs that showed a face or nobody: the share's counter
        self.held = 0  # requests a hang fault holds right now: a caller blocked at that point
        self._let_go = threading.Event()  # set (then replaced) by release_holds()
        self.throttled = 0  # creates answered 429 so far: a caller now in its back-off
        self._seq = 0

    def hold(self, seconds: float) -> bool:
        """Keep the calling request waiting (counted in `held`) for `seconds` or until
        release_holds(); False if the emulator stops."""
        with self.lock:
            self.held += 1
            let_go = self._let_go
        try:
            let_go.wait(seconds)
            return not self.stopping.is_set()
        finally:
            with self.lock:
                self.held -= 1

    def release_holds(self) -> None:
        """Let every held request go on now, so a test that has seen what it waited for need
        not sit out the rest of a long `hang_seconds` (and stopping does not either)."""
        with self.lock:
            self._let_go.set()
            self._let_go = threading.Event()

    def next_seq(self) -> int:
        """A creation counter, so listings have a stable newest-first order and cursors."""
        self._seq += 1
        return self._seq

    def keep_faces(self, version_id: str, crops: list[FaceCrop]) -> None:
        """Remember a trained version's face crops, forgetting the oldest beyond the bound."""
        if not crops:
            return
        self.faces[version_id] = crops
        while len(self.faces) > FACES_KEPT_FOR:
            self.faces.popitem(last=False)

    def next_portrait(self) -> int:
        """The serial of the next portrait, which decides whose face it shows."""
        self.portraits_made += 1
        return self.portraits_made - 1

    def find_version(self, version_id: str) -> tuple[ModelRecord, str] | None:
        """The model holding a 64-hex version id, wherever it lives."""
        for model in self.models.values():
            if any(vid == version_id for vid, _ in model.versions):
                return model, version_id
        return None

    def output_url(self, job_id: str, name: str) -> str:
        """Where a served output lives; like replicate.delivery, it needs no token."""
        return f"{self.config.root}/_emulator/outputs/{job_id}/{name}"

    def file_download_url(self, record: FileRecord) -> str:
        """A signed, expiring download URL, in the shape of Replicate's files API."""
        expiry = int((record.created_at + FILE_LIFETIME).timestamp())
        signature = self.file_signature(record.id, expiry)
        return (
            f"{self.config.root}/v1/files/{record.id}/download"
            f"?owner=emulator&expiry={expiry}&signature={signature}"
        )

    def file_signature(self, file_id: str, expiry: int) -> str:
        """HMAC of '{owner} {id} {expiry}', as the download endpoint documents."""
        message = f"emulator {file_id} {expiry}".encode()
        digest = hmac.new(self.config.file_signing_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def model_json(state: EmulatorState, model: ModelRecord) -> dict[str, Any]:
    """A model as `GET /v1/models/{owner}/{name}` returns it."""
    latest = None
    if model.versions:
        version_id, created = model.versions[-1]
        latest = version_json(version_id, created)
    return {
        "url": f"{state.config.root}/{model.owner}/{model.name}",
        "owner": model.owner,
        "name": model.name,
        "description": model.description,
        "visibility": model.visibility,
        "github_url": None,
        "paper_url": None,
        "license_url": None,
        "run_count": 0,
        "cover_image_url": None,
        "default_example": None,
        "latest_version": latest,
        "is_official": False,
    }


def version_json(version_id: str, created: datetime) -> dict[str, Any]:
    """A model version; the official client insists on cog_version and openapi_schema."""
    return {
        "id": version_id,
        "created_at": timestamp(created),
        "cog_version": "0.9.4",
        "openapi_schema": {},
    }


def job_json(state: EmulatorState, job: JobRecord) -> dict[str, Any]:
    """A training or prediction exactly as the API and its webhooks show it."""
    base = "trainings" if job.kind == "training" else "predictions"
    data: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "version": job.version,
        "input": job.input,
        "logs": job.logs,
        "error": job.error,
        "status": job.status,
        "source": "api",
        "created_at": timestamp(job.created_at),
        "metrics": _metrics(job),
        "urls": {
            "get": f"{state.config.root}/v1/{base}/{job.id}",
            "cancel": f"{state.config.root}/v1/{base}/{job.id}/cancel",
        },
    }
    if job.started_at:
        data["started_at"] = timestamp(job.started_at)
    if job.completed_at:
        data["completed_at"] = timestamp(job.completed_at)
    if job.kind == "prediction":
        data["output"] = job.output
        data["data_removed"] = False
        data["urls"]["web"] = f"{state.config.root}/p/{job.id}"
    elif job.output is not None:
        data["output"] = job.output
    return data


def _metrics(job: JobRecord) -> dict[str, float]:
    """Run time as Replicate bills it: from start to completion."""
    if not (job.started_at and job.completed_at):
        return {}
    predict = (job.completed_at - job.started_at).total_seconds()
    total = (job.completed_at - job.created_at).total_seconds()
    return {"predict_time": round(predict, 6), "total_time": round(total, 6)}


def file_json(state: EmulatorState, record: FileRecord) -> dict[str, Any]:
    """A File object with the `name` and `etag` the official client requires."""
    return {
        "id": record.id,
        "name": record.name,
        "content_type": record.content_type,
        "size": len(record.data),
        "etag": hashlib.md5(record.data, usedforsecurity=False).hexdigest(),
        "checksums": {
            "sha256": hashlib.sha256(record.data).hexdigest(),
            "md5": hashlib.md5(record.data, usedforsecurity=False).hexdigest(),
        },
        "metadata": record.metadata,
        "created_at": timestamp(record.created_at),
        "expires_at": timestamp(record.created_at + FILE_LIFETIME),
        "urls": {
            "get": f"{state.config.root}/v1/files/{record.id}",
            "download": state.file_download_url(record),
        },
    }
