"""Our thin layer over the official `replicate` client, the only module that imports it: our
dataclasses out (`payloads.py`), four exceptions (`errors.py`), bounded waits (`transport.py`), no
retry of a POST (the caller's policy: `backoff.py`). Only its public API is used; the GETs whose
raw JSON we need go over plain httpx with the same token, timeouts and errors (`_get_json`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from urllib.parse import urlencode

import httpx

from training.replicate.errors import (
    ReplicateAmbiguous,
    ReplicateRejected,
    ReplicateUnavailable,
    translated,
)
from training.replicate.payloads import (
    ModelInfo,
    PredictionInfo,
    TrainingInfo,
    UploadedFile,
    parse_prediction,
    parse_training,
)
from training.replicate.transport import DEFAULT_API_ROOT, BoundedTimeouts, api_root

if TYPE_CHECKING:
    import replicate

DEFAULT_TIMEOUT_SECONDS = 30.0  # the longest silence of any one request (connect, send, read)
CONNECT_TIMEOUT_SECONDS = 5.0


def client_from_settings() -> ReplicateGateway:
    """The gateway configured from Django settings: the one place adapters read settings."""
    from django.conf import settings

    return ReplicateGateway(
        api_token=getattr(settings, "REPLICATE_API_TOKEN", None),
        base_url=getattr(settings, "REPLICATE_BASE_URL", None),
        timeout=float(getattr(settings, "REPLICATE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
    )


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
        import replicate  # here: 0.35 s of CPU that most processes (a page, a cron job) never need
        from replicate.client import RetryTransport

        bounds = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS))
        self._client: replicate.Client = replicate.Client(
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
            from replicate.exceptions import ReplicateError

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
        from replicate.exceptions import ReplicateError  # loaded with the client already

        self._last.response = None
        try:
            return action()
        except ReplicateError as error:
            raise translated(
                error, getattr(self._last, "response", None), creates=creates
            ) from error
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ReplicateUnavailable(f"could not connect to Replicate: {error}") from error
        except httpx.TransportError as error:
            if creates:
                raise ReplicateAmbiguous(f"no answer to a create: {error!r}") from error
            raise ReplicateUnavailable(f"no answer from Replicate: {error!r}") from error
