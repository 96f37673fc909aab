"""Our thin layer over the official `replicate` client: the only module that imports it.

It returns small frozen dataclasses of ours instead of the client's pydantic objects, and turns
every failure into one of four exceptions that say what the caller may do next:
`ReplicateRejected` (do not retry as is), `ReplicateRateLimited` (retry after a while),
`ReplicateUnavailable` (not accepted; retry), `ReplicateAmbiguous` (a create may have been
accepted: look it up before creating again). The official client never retries a POST, and
neither does this module: retry policy belongs to the caller.

Every request has a bounded timeout, whatever the official client asks for: it sends prediction
creates and file uploads with `timeout=None` (no limit at all), and one unresponsive Replicate
then held a worker, and every order behind it, for minutes. `BoundedTimeouts` puts the limits back.

Only the official client's public API is used. The GETs whose raw JSON we need go over a plain
httpx client with the same token, timeouts, retries and error handling (`_get_json`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple
from urllib.parse import urlencode

import httpx
import replicate
from replicate.client import RetryTransport
from replicate.exceptions import ReplicateError

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
_PROGRESS = re.compile(r"(\d{1,3})%\|[^|\r\n]*\|\s*(\d+)/(\d+)")
_THROTTLE_DETAIL = re.compile(r"available in ([0-9]{1,9}(?:\.[0-9]{1,9})?) second")
_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")
# The longest silence we wait for on any one request (connecting, sending, each read).
DEFAULT_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 5.0
# The longest the official client sleeps between its own retries of a GET.
RETRY_AFTER_CAP_SECONDS = 2.0
DEFAULT_API_ROOT = "https://api.replicate.com"


class ReplicateGatewayError(Exception):
    """Any failure talking to Replicate; the subclasses say whether and when to retry."""


class ReplicateRejected(ReplicateGatewayError):
    """Replicate answered 4xx: bad token (401), no credit (402), not found, conflict, invalid."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        invalid_fields: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_fields = invalid_fields


class ReplicateRateLimited(ReplicateGatewayError):
    """Replicate answered 429; `retry_after_seconds` comes from its Retry-After header."""

    def __init__(self, retry_after_seconds: float | None) -> None:
        super().__init__(f"rate limited; retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class ReplicateUnavailable(ReplicateGatewayError):
    """Replicate could not be reached or answered 5xx: nothing was created."""


class ReplicateAmbiguous(ReplicateGatewayError):
    """A create timed out or lost its connection: it may exist; look it up before retrying."""


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


def api_root(base_url: str | None) -> str | None:
    """The root the official client wants: `https://api.replicate.com`, without `/v1`."""
    if not base_url:
        return None
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


def client_from_settings() -> ReplicateGateway:
    """The gateway configured from Django settings: the one place adapters read settings."""
    from django.conf import settings

    return ReplicateGateway(
        api_token=getattr(settings, "REPLICATE_API_TOKEN", None),
        base_url=getattr(settings, "REPLICATE_BASE_URL", None),
        timeout=float(getattr(settings, "REPLICATE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
    )


class BoundedTimeouts(httpx.HTTPTransport):
    """A transport that fills in every timeout a request left unlimited (`None`) and caps the
    others at ours.

    httpx takes a per-request `timeout=None` as "no limit", overriding the client's own; the
    official client passes exactly that for prediction creates and file uploads. It also retries
    a GET answered 429/503/504 up to 10 times, sleeping whatever Retry-After says (an hour, if so
    told): the header it reads is capped here.
    """

    def __init__(self, timeout: httpx.Timeout) -> None:
        super().__init__()
        self._bounds = timeout.as_dict()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        given = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            name: bound if given.get(name) is None else min(given[name], bound)
            for name, bound in self._bounds.items()
        }
        response = super().handle_request(request)
        if request.method == "GET" and response.status_code in (429, 503, 504):
            wait = _retry_after(response, None)
            if wait is None or wait > RETRY_AFTER_CAP_SECONDS:
                response.headers["Retry-After"] = str(int(RETRY_AFTER_CAP_SECONDS))
        return response


class ReplicateGateway:
    """The calls our stages make to Replicate, keyword arguments in, our dataclasses out."""

    def __init__(
        self,
        *,
        api_token: str | None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._last = threading.local()
        bounds = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS))
        self._client = replicate.Client(
            api_token=api_token,
            base_url=api_root(base_url),
            timeout=bounds,
            transport=BoundedTimeouts(bounds),  # the client wraps it in its retrying transport
            event_hooks={"response": [self._remember]},
        )
        # Plain httpx for raw JSON, because the official objects drop fields we read (a
        # training's `metrics`) and its only raw call is private: same auth, bounds and retries.
        self._http = httpx.Client(
            base_url=api_root(base_url) or DEFAULT_API_ROOT,
            headers={"Authorization": f"Bearer {api_token}"} if api_token else {},
            timeout=bounds,
            transport=RetryTransport(wrapped_transport=BoundedTimeouts(bounds)),
            event_hooks={"response": [self._remember]},
        )

    def create_model(
        self,
        *,
        owner: str,
        name: str,
        visibility: Literal["public", "private"] = "private",
        hardware: str = "gpu-t4",
        description: str | None = None,
    ) -> bool:
        """Make sure the model exists; True if this call created it, False if it was there."""
        models = self._client.models
        create = partial(models.create, owner, name, visibility=visibility, hardware=hardware)
        if description:
            create = partial(create, description=description)
        try:
            self._call(create, creates=True)
        except ReplicateRejected as error:
            if error.status == 409:
                return False
            raise
        return True

    def get_model(self, *, owner: str, name: str) -> ModelInfo | None:
        """The model, or None when it does not exist."""
        try:
            model = self._call(lambda: self._client.models.get(f"{owner}/{name}"))
        except ReplicateRejected as error:
            if error.status == 404:
                return None
            raise
        latest = model.latest_version.id if model.latest_version else None
        return ModelInfo(model.owner, model.name, model.visibility, latest)

    def get_account_name(self) -> str:
        """The username of the account (user or organisation) the token belongs to."""
        return str(self._get_json("/v1/account").get("username") or "")

    def has_model_version(self, *, model: str, version_id: str) -> bool:
        """Whether `owner/name` has this version (404 means no)."""
        try:
            self._get_json(f"/v1/models/{model}/versions/{version_id}")
        except ReplicateRejected as error:
            if error.status == 404:
                return False
            raise
        return True

    def delete_model_with_versions(self, *, owner: str, name: str) -> bool:
        """Delete every version of a model, then the model (Replicate refuses it otherwise)."""
        try:
            model = self._call(lambda: self._client.models.get(f"{owner}/{name}"))
            for version in self._call(lambda: list(model.versions.list())):
                self._call(partial(model.versions.delete, version.id))
        except ReplicateRejected as error:
            if error.status == 404:
                return False
            raise
        return self.delete_model(owner=owner, name=name)

    def delete_model(self, *, owner: str, name: str) -> bool:
        """Delete a model without versions; False when it was already gone."""
        try:
            self._call(lambda: self._client.models.delete(f"{owner}/{name}"))
        except ReplicateRejected as error:
            if error.status == 404:
                return False
            raise
        return True

    def create_training(
        self,
        *,
        destination: str,
        trainer: str,
        trainer_version: str,
        input: Mapping[str, Any],  # Replicate's name for it
        webhook: str,
        webhook_events_filter: list[str],
    ) -> TrainingInfo:
        """Start a training; on ReplicateAmbiguous, look for it with list_trainings() first."""
        training = self._call(
            lambda: self._client.trainings.create(
                model=trainer,
                version=trainer_version,
                input=dict(input),
                destination=destination,
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            ),
            creates=True,
        )
        return parse_training(training.dict())

    def get_training(self, training_id: str) -> TrainingInfo:
        """Read the raw JSON: the official client drops `metrics` from Training objects."""
        return parse_training(self._get_json(f"/v1/trainings/{training_id}"))

    def list_trainings(self) -> Iterator[TrainingInfo]:
        """Every training, newest first, fetching pages as the caller iterates."""
        cursor: str | None = "/v1/trainings"
        while cursor:
            page = self._get_json(cursor)
            yield from (parse_training(item) for item in page.get("results", []))
            cursor = page.get("next")

    def _get_json(self, url: str) -> dict[str, Any]:
        """Raw JSON of a GET, for what the official client's objects drop."""
        data: dict[str, Any] = self._call(lambda: self._raw_get(url)).json()
        return data

    def _raw_get(self, url: str) -> httpx.Response:
        response = self._http.get(url)
        if response.status_code >= 400:  # what the official client raises for the same answer
            raise ReplicateError.from_response(response)
        return response

    def cancel_training(self, training_id: str) -> TrainingInfo:
        training = self._call(lambda: self._client.trainings.cancel(training_id))
        return parse_training(training.dict())

    def create_prediction(
        self,
        *,
        version: str,
        input: Mapping[str, Any],  # Replicate's name for it
        webhook: str,
        webhook_events_filter: list[str],
    ) -> PredictionInfo:
        """Start a prediction of `owner/name:version` (or a bare 64-hex version id)."""
        prediction = self._call(
            lambda: self._client.predictions.create(
                version=version,
                input=dict(input),
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            ),
            creates=True,
        )
        return parse_prediction(prediction.dict())

    def get_prediction(self, prediction_id: str) -> PredictionInfo:
        prediction = self._call(lambda: self._client.predictions.get(prediction_id))
        return parse_prediction(prediction.dict())

    def list_predictions(
        self, *, created_after: datetime | None = None
    ) -> Iterator[PredictionInfo]:
        """Predictions newest first (those created since `created_after`), page by page.

        How a create whose answer was lost is found again: by its version and input.
        """
        since = {"created_after": created_after.isoformat()} if created_after else {}
        cursor: str | None = f"/v1/predictions?{urlencode(since)}".rstrip("?")
        while cursor:
            page = self._get_json(cursor)
            yield from (parse_prediction(item) for item in page.get("results", []))
            cursor = page.get("next")

    def cancel_prediction(self, prediction_id: str) -> PredictionInfo:
        prediction = self._call(lambda: self._client.predictions.cancel(prediction_id))
        return parse_prediction(prediction.dict())

    def get_webhook_secret(self) -> str:
        """The account's default webhook signing secret (`whsec_...`)."""
        return str(self._call(lambda: self._client.webhooks.default.secret()).key)

    def upload_file(
        self, source: str | Path | BinaryIO, *, filename: str, content_type: str | None = None
    ) -> UploadedFile:
        """Upload to the files API; the returned URL can be given to a training as input."""
        kind = content_type or "application/octet-stream"
        if isinstance(source, str | Path):
            with Path(source).open("rb") as handle:
                uploaded = self._call(
                    lambda: self._client.files.create(handle, filename=filename, content_type=kind)
                )
        else:
            uploaded = self._call(
                lambda: self._client.files.create(source, filename=filename, content_type=kind)
            )
        return UploadedFile(uploaded.id, uploaded.urls["get"])

    def delete_file(self, file_id: str) -> bool:
        """Delete an uploaded file; False when it was already gone."""
        try:
            return bool(self._call(lambda: self._client.files.delete(file_id)))
        except ReplicateRejected as error:
            if error.status == 404:
                return False
            raise

    def _remember(self, response: httpx.Response) -> None:
        """Keep this thread's last error response: the client's exception drops its headers."""
        if response.status_code >= 400:
            response.read()
            self._last.response = response

    def _call[T](self, action: Callable[[], T], *, creates: bool = False) -> T:
        """Run one client call and translate its failure into our exceptions."""
        self._last.response = None
        try:
            return action()
        except ReplicateError as error:
            raise self._translate(error, creates=creates) from error
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ReplicateUnavailable(f"could not connect to Replicate: {error}") from error
        except httpx.TransportError as error:
            if creates:
                raise ReplicateAmbiguous(f"no answer to a create: {error!r}") from error
            raise ReplicateUnavailable(f"no answer from Replicate: {error!r}") from error

    def _translate(self, error: ReplicateError, *, creates: bool) -> ReplicateGatewayError:
        status = error.status or 0
        response: httpx.Response | None = getattr(self._last, "response", None)
        if status == 429:
            return ReplicateRateLimited(_retry_after(response, error.detail))
        if status == 504 and creates:
            return ReplicateAmbiguous(f"gateway timeout on a create: {error.detail}")
        if status >= 500:
            return ReplicateUnavailable(f"Replicate answered {status}: {error.detail}")
        return ReplicateRejected(
            status, error.title or "", error.detail or "", _invalid_fields(response)
        )


def _retry_after(response: httpx.Response | None, detail: str | None) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date), else from the problem's detail."""
    header = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if _SECONDS.fullmatch(header):  # not str.isdigit(): float() refuses "²", which it accepts
        return float(header)
    if header:
        try:
            when = parsedate_to_datetime(header)
            return max(0.0, (when - datetime.now(tz=when.tzinfo)).total_seconds())
        except (TypeError, ValueError):
            pass
    match = _THROTTLE_DETAIL.search(detail or "")
    return float(match[1]) if match else None


def _invalid_fields(response: httpx.Response | None) -> tuple[Mapping[str, Any], ...]:
    """The `invalid_fields` of a 422 problem, which the official client does not keep."""
    if response is None:
        return ()
    try:
        body = response.json()
    except ValueError:
        return ()
    fields = body.get("invalid_fields") if isinstance(body, dict) else None
    return tuple(item for item in fields or () if isinstance(item, Mapping))
