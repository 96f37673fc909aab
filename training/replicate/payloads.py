"""What Replicate says about a model, a training, a prediction or a file, as small frozen
dataclasses of ours, parsed from the JSON of an API answer or of a signed webhook alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
_PROGRESS = re.compile(r"(\d{1,3})%\|[^|\r\n]*\|\s*(\d+)/(\d+)")


@dataclass(frozen=True)
class ModelInfo:
    owner: str
    name: str
    visibility: str
    latest_version_id: str | None


@dataclass(frozen=True)
class TrainingInfo:
    """A training as we need it; `destination` is None until it succeeds (Replicate omits it)."""

    id: str
    status: str
    trainer: str
    trainer_version: str
    destination: str | None
    version: str | None
    weights_url: str | None
    error: str | None
    logs: str
    predict_time: float | None
    input: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def progress(self) -> int | None:
        return 100 if self.status == "succeeded" else training_progress(self.logs)


@dataclass(frozen=True)
class PredictionInfo:
    """A prediction; `output` holds its image URLs (they expire an hour after it finishes)."""

    id: str
    status: str
    model: str
    version: str
    output: tuple[str, ...]
    error: str | None
    logs: str
    predict_time: float | None
    input: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class UploadedFile(NamedTuple):
    """A file in Replicate's files API; `url` is what a training accepts as input."""

    id: str
    url: str


def training_progress(logs: str) -> int | None:
    """The percentage of the last tqdm line in a trainer's logs (`40%|████  | 400/1000`)."""
    found = _PROGRESS.findall(logs or "")
    if not found:
        return None
    percent, done, total = (int(value) for value in found[-1])
    if total > 0:
        percent = done * 100 // total
    return max(0, min(100, percent))


def parse_training(payload: Mapping[str, Any]) -> TrainingInfo:
    """A training from API or webhook JSON (the webhook view parses its body with this too)."""
    output = payload.get("output") if isinstance(payload.get("output"), Mapping) else {}
    version = output.get("version") if output else None
    destination = payload.get("destination") or (version.split(":")[0] if version else None)
    return TrainingInfo(
        id=str(payload["id"]),
        status=str(payload["status"]),
        trainer=str(payload.get("model") or ""),
        trainer_version=str(payload.get("version") or ""),
        destination=destination,
        version=version,
        weights_url=output.get("weights") if output else None,
        error=payload.get("error"),
        logs=str(payload.get("logs") or ""),
        predict_time=_predict_time(payload),
        input=dict(payload.get("input") or {}),
        **_times(payload),
    )


def parse_prediction(payload: Mapping[str, Any]) -> PredictionInfo:
    """A prediction from API or webhook JSON; a single output URL becomes a one-item tuple."""
    output = payload.get("output")
    urls = (output,) if isinstance(output, str) else tuple(str(url) for url in output or ())
    return PredictionInfo(
        id=str(payload["id"]),
        status=str(payload["status"]),
        model=str(payload.get("model") or ""),
        version=str(payload.get("version") or ""),
        output=urls,
        error=payload.get("error"),
        logs=str(payload.get("logs") or ""),
        predict_time=_predict_time(payload),
        input=dict(payload.get("input") or {}),
        **_times(payload),
    )


def _predict_time(payload: Mapping[str, Any]) -> float | None:
    metrics = payload.get("metrics") or {}
    value = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
    return float(value) if isinstance(value, int | float) else None


def _times(payload: Mapping[str, Any]) -> dict[str, datetime | None]:
    names = ("created_at", "started_at", "completed_at")
    return {name: _datetime(payload.get(name)) for name in names}


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
