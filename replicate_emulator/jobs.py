"""The emulator's shortened clock: trainings and predictions run in background threads.

A training really downloads and opens its ZIP (only from this machine), prints tqdm lines like
the real `ostris/flux-dev-lora-trainer` (N/1000 steps), and on success pushes a new version to
its destination model, keeping the person's face crops for that version. A prediction draws its
output images: that face (or, for a share of them, someone else's or nobody's) on the style's
backdrop. Every status change is applied
under the state lock and announced through the webhook sender.
"""

from __future__ import annotations

import io
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from replicate_emulator import images, portraits
from replicate_emulator.face_crops import FaceCrop
from replicate_emulator.store import (
    EmulatorState,
    JobRecord,
    new_version_id,
    now,
)
from replicate_emulator.webhooks import WebhookSender

TRAINING_STEPS = 1000
LOG_UPDATES = 5
MAX_ZIP_BYTES = 200 * 1024 * 1024
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
WEIGHTS_BYTES = b"EMULATED LORA WEIGHTS - not a real model\n"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# One thread finds the faces of every training: dlib's models are shared, and calling them from
# several threads at once was measured slower than one after another.
_FACE_FINDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-faces")


class JobStopped(Exception):
    """The job was canceled or the emulator is stopping: nothing more to do."""


class JobRunner:
    """Starts one thread per job and moves it along its life cycle."""

    def __init__(self, state: EmulatorState, sender: WebhookSender) -> None:
        self._state = state
        self._sender = sender

    def start(self, job: JobRecord) -> None:
        """Announce the job and run it in the background."""
        with self._state.lock:
            self._sender.emit(job, "start")
        target = self._run_training if job.kind == "training" else self._run_prediction
        threading.Thread(target=self._guarded, args=(target, job), daemon=True).start()

    def cancel(self, job: JobRecord) -> None:
        """Cancel a running job at once; a finished job stays as it is. Caller holds the lock."""
        if job.done:
            return
        job.status = "canceled"
        job.completed_at = now()
        job.logs += "Training canceled\n" if job.kind == "training" else "Prediction canceled\n"
        self._sender.emit(job, "completed")

    def _guarded(self, target: Callable[[JobRecord], None], job: JobRecord) -> None:
        try:
            target(job)
        except JobStopped:
            return

    def _run_training(self, job: JobRecord) -> None:
        seconds = self._state.config.training_seconds
        self._sleep(job, seconds * 0.1)
        try:
            blob = self._fetch_zip(str(job.input.get("input_images", "")))
            image_count = _count_images(blob)
        except ValueError as error:
            self._finish(job, status="failed", error=str(error))
            return
        # The faces are found while the clock runs, not on top of it.
        crops = _FACE_FINDER.submit(portraits.training_crops, blob)
        self._update(job, status="processing", log=_training_preamble(image_count))
        for update in range(LOG_UPDATES + 1):
            step = TRAINING_STEPS * update // LOG_UPDATES
            if job.fail_with and step >= TRAINING_STEPS // 2:
                self._finish(job, status="failed", error=job.fail_with)
                return
            self._update(job, log=_tqdm_line(step, TRAINING_STEPS, seconds))
            self._sleep(job, seconds * 0.8 / (LOG_UPDATES + 1))
        self._succeed_training(job, crops.result())

    def _succeed_training(self, job: JobRecord, crops: list[FaceCrop]) -> None:
        """Push the new version to the destination, with the face its predictions will paint,
        and publish it as the training's output."""
        version_id = new_version_id()
        with self._state.lock:
            model = self._state.models.get(job.destination or "")
            if model is None:
                self._apply_finish(job, "failed", "The destination model no longer exists")
                return
            model.versions.append((version_id, now()))
            self._state.keep_faces(version_id, crops)
            job.output = {
                "version": f"{job.destination}:{version_id}",
                "weights": self._state.output_url(job.id, "trained_model.tar"),
            }
            self._state.outputs[f"{job.id}/trained_model.tar"] = (
                "application/x-tar",
                WEIGHTS_BYTES,
            )
            job.logs += "Pushing new version to the destination model\n"
            self._sender.emit(job, "output")
            self._apply_finish(job, "succeeded", None)

    def _run_prediction(self, job: JobRecord) -> None:
        seconds = self._state.config.prediction_seconds
        self._sleep(job, seconds * 0.2)
        self._update(job, status="processing", log=f"Using seed: {random.randint(1, 99999)}\n")  # noqa: S311
        for step in (7, 14, 21, 28):
            self._sleep(job, seconds * 0.15)
            self._update(job, log=f"{step * 100 // 28:3d}%|{'█' * step:28}| {step}/28\n")
        if job.fail_with:
            self._finish(job, status="failed", error=job.fail_with)
            return
        outputs = self._make_outputs(job)
        with self._state.lock:
            if job.done:
                raise JobStopped
            job.output = outputs
            self._sender.emit(job, "output")
            self._apply_finish(job, "succeeded", None)

    def _make_outputs(self, job: JobRecord) -> list[str]:
        """Draw and store `num_outputs` images; return their URLs."""
        data = job.input
        output_format = str(data.get("output_format", "webp"))
        aspect_ratio, megapixels = (
            str(data.get("aspect_ratio", "1:1")),
            str(data.get("megapixels", "1")),
        )
        size = images.image_size(aspect_ratio, megapixels)
        urls = []
        for index in range(int(data.get("num_outputs", 1))):
            name = f"out-{index}.{images.extension(output_format)}"
            blob = portraits.draw_output(self._state, job, index=index, size=size)
            with self._state.lock:
                self._state.outputs[f"{job.id}/{name}"] = (images.content_type(output_format), blob)
            urls.append(self._state.output_url(job.id, name))
        with self._state.lock:
            elsewhere = self._state.faults.prediction_output_url
        return [elsewhere for _ in urls] if elsewhere else urls

    def _update(self, job: JobRecord, *, status: str | None = None, log: str = "") -> None:
        """Append to the logs (and move to `status`), unless the job was canceled meanwhile."""
        with self._state.lock:
            if job.done:
                raise JobStopped
            if status == "processing":
                job.status, job.started_at = status, now()
            job.logs += log
            self._sender.emit(job, "logs")

    def _finish(self, job: JobRecord, *, status: str, error: str | None) -> None:
        with self._state.lock:
            if job.done:
                raise JobStopped
            self._apply_finish(job, status, error)

    def _apply_finish(self, job: JobRecord, status: str, error: str | None) -> None:
        """Terminal state; caller holds the lock."""
        job.status, job.error = status, error
        job.started_at = job.started_at or now()
        job.completed_at = now()
        if error:
            job.logs += f"Error: {error}\n"
        self._sender.emit(job, "completed")

    def _sleep(self, job: JobRecord, seconds: float) -> None:
        if self._state.stopping.wait(seconds) or job.done:
            raise JobStopped

    def _fetch_zip(self, url: str) -> bytes:
        """The ZIP's bytes from our own files API or a local HTTP server; nothing else."""
        own = self._own_file(url)
        if own is not None:
            return own
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
            raise ValueError("input_images must be a URL on this machine (the emulator is offline)")
        try:
            with _OPENER.open(url, timeout=30) as response:
                return bytes(response.read(MAX_ZIP_BYTES + 1))
        except (urllib.error.URLError, OSError) as error:
            raise ValueError(f"Could not download input_images: {error}") from error

    def _own_file(self, url: str) -> bytes | None:
        """An uploaded file, when `url` points at this emulator's files API."""
        prefix = f"{self._state.config.root}/v1/files/"
        if not url.startswith(prefix):
            return None
        file_id = urllib.parse.urlsplit(url).path.split("/")[3]
        with self._state.lock:
            record = self._state.files.get(file_id)
        if record is None:
            raise ValueError("Could not download input_images: file not found")
        return record.data


def _count_images(blob: bytes) -> int:
    """Open the ZIP as the trainer does; a broken one fails with the trainer's message."""
    if len(blob) > MAX_ZIP_BYTES:
        raise ValueError("input_images is too large")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            names = [name for name in archive.namelist() if name.lower().endswith(IMAGE_SUFFIXES)]
            if archive.testzip() is not None:
                raise zipfile.BadZipFile
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError("input_images must be a zip file") from error
    if not names:
        raise ValueError("No images found in input_images")
    return len(names)


def _training_preamble(image_count: int) -> str:
    return (
        f"Extracted {image_count} files from zip to input_images\n"
        "Loading Flux model\n"
        "Caching latents to disk\n"
        "Generating baseline samples before training\n"
    )


def _tqdm_line(step: int, total: int, seconds: float) -> str:
    """A tqdm progress line in the trainer's format, e.g. ` 40%|████      | 400/1000`."""
    percent = step * 100 // total
    bar = ("█" * (percent // 10)).ljust(10)
    return (
        f"flux_train_replicate: {percent:3d}%|{bar}| {step}/{total} "
        f"[00:{int(seconds * percent / 100):02d}<00:00,  1.98it/s, lr: 4.0e-04 loss: 3.959e-01]\n"
    )
