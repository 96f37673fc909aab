"""The emulator's files API, its served outputs, and the control endpoints tests use.

Our app uploads the training ZIP to the files API when its own storage is not reachable from the
internet; outputs (images, weights) are served without a token like replicate.delivery URLs.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import time
from typing import Any

from replicate_emulator.faults import Faults, take_output_hold
from replicate_emulator.http import Problem, Reply, Request, Route, route
from replicate_emulator.store import (
    EmulatorState,
    FileRecord,
    file_json,
    job_json,
    new_id,
)


class FileEndpoints:
    """Files API, outputs and `/_emulator/*` over one emulator's state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/files", self.upload),
            route("GET", "/v1/files", self.list_files),
            route("GET", "/v1/files/{id}", self.get_file),
            route("DELETE", "/v1/files/{id}", self.delete_file),
            route("GET", "/v1/files/{id}/download", self.download, public=True),
            route("GET", "/_emulator/outputs/{job}/{name}", self.output, public=True),
            route("POST", "/_emulator/faults", self.set_faults),
            route("GET", "/_emulator/state", self.snapshot),
        ]

    def upload(self, request: Request) -> Reply:
        fields = request.multipart()
        if "content" not in fields:
            raise Problem(422, "Input validation failed", "- content: content is required\n")
        filename, part_type, data = fields["content"]
        name = _text(fields.get("filename")) or filename or "file"
        content_type = _text(fields.get("type")) or part_type
        if content_type in ("", "application/octet-stream", "text/plain"):
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        record = FileRecord(new_id(), name, content_type, data, _metadata(fields))
        with self.state.lock:
            self.state.files[record.id] = record
            return Reply(201, file_json(self.state, record))

    def list_files(self, request: Request) -> Reply:
        with self.state.lock:
            results = [file_json(self.state, record) for record in self.state.files.values()]
        return Reply(200, {"next": None, "previous": None, "results": results})

    def get_file(self, request: Request) -> Reply:
        with self.state.lock:
            return Reply(200, file_json(self.state, self._file(request.params["id"])))

    def delete_file(self, request: Request) -> Reply:
        with self.state.lock:
            self._file(request.params["id"])
            del self.state.files[request.params["id"]]
        return Reply(204, b"")

    def download(self, request: Request) -> Reply:
        """The file's bytes for a valid, unexpired signed URL; anything else is 404."""
        try:
            expiry = int(request.query.get("expiry", ""))
        except ValueError:
            expiry = 0
        given = request.query.get("signature", "")
        with self.state.lock:
            record = self._file(request.params["id"])
            expected = self.state.file_signature(record.id, expiry)
        if expiry < time.time() or not hmac.compare_digest(given, expected):
            raise Problem(404, "Not found", "File not found")
        return Reply(200, record.data, record.content_type)

    def output(self, request: Request) -> Reply:
        with self.state.lock:
            found = self.state.outputs.get(f"{request.params['job']}/{request.params['name']}")
            redirect_to = self.state.faults.output_redirect_to
            hold = take_output_hold(self.state.faults)
        if hold and not self.state.hold(hold):
            return Reply(200, b"", drop_connection=True)
        if redirect_to:
            return Reply(302, b"", "text/plain", headers={"Location": redirect_to})
        if found is None:
            raise Problem(404, "Not found", "The requested resource could not be found.")
        return Reply(200, found[1], found[0])

    def set_faults(self, request: Request) -> Reply:
        """Change faults on a running emulator: a partial JSON object, or {"reset": true}."""
        changes = request.json_object()
        with self.state.lock:
            if changes.pop("reset", False):
                self.state.faults = Faults()
            try:
                self.state.faults.update(changes)
            except (TypeError, ValueError) as error:
                raise Problem(422, "Invalid faults", str(error)) from error
            return Reply(200, self.state.faults.to_json())

    def snapshot(self, request: Request) -> Reply:
        """What the emulator holds, for tests to assert on."""
        with self.state.lock:
            jobs = sorted(self.state.jobs.values(), key=lambda job: job.seq)
            return Reply(
                200,
                {
                    "models": {
                        key: [version for version, _ in model.versions]
                        for key, model in self.state.models.items()
                    },
                    "trainings": [job_json(self.state, j) for j in jobs if j.kind == "training"],
                    "predictions": [
                        job_json(self.state, j) for j in jobs if j.kind == "prediction"
                    ],
                    "files": sorted(self.state.files),
                    "deliveries": list(self.state.deliveries),
                    "held": self.state.held,
                    "throttled": self.state.throttled,
                    "portraits": dict(self.state.portraits),
                    "wrong_face_share": self.state.config.wrong_face_share,
                    "faults": self.state.faults.to_json(),
                },
            )

    def _file(self, file_id: str) -> FileRecord:
        record = self.state.files.get(file_id)
        if record is None:
            raise Problem(404, "Not found", "File not found")
        return record


def _text(field: tuple[str | None, str, bytes] | None) -> str:
    return field[2].decode("utf-8", "replace").strip() if field else ""


def _metadata(fields: dict[str, tuple[str | None, str, bytes]]) -> dict[str, Any]:
    raw = _text(fields.get("metadata"))
    try:
        data = json.loads(raw) if raw else {}
    except ValueError as error:
        raise Problem(422, "Input validation failed", "- metadata: must be JSON\n") from error
    if not isinstance(data, dict):
        raise Problem(422, "Input validation failed", "- metadata: must be an object\n")
    return data
