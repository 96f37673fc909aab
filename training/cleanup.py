"""The spec's cleanup policy: temporary files do not outlive their use.

What goes, in one pass:
- the ZIP of every order whose training has finished (succeeded or canceled), and of a failed
  order TEMP_RETENTION_HOURS after the failure (until then staff may retry its training);
- ZIPs under `training-sets/` older than TEMP_RETENTION_HOURS that no training in progress needs;
- objects under `training-sets/` and `headshots/` that no row points to, once they are older than
  the retention (an order being created writes its ZIP a moment before its row);
- ZIPs uploaded through the API (`uploads/`) that no train-model call used, once their upload
  URL has expired for longer than the retention;
- upload temporary files in FILE_UPLOAD_TEMP_DIR older than the retention (a crashed request's);
- photos a refused order form held for "continue without" (`held-photos/`), once older than the
  retention (they are refused at use after an hour anyway).

A ZIP that a queued or running training may still download, or that a staff retry of a recent
failure would train on, is never deleted, whatever its age.
The database work is a fixed number of queries whatever the number of orders, and running it
twice deletes nothing the second time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage
from django.db.models import Q

from training.models import Headshot, Order, Status

logger = logging.getLogger(__name__)

TRAINING_SETS = "training-sets"
API_UPLOADS = "uploads"
HEADSHOTS = "headshots"
HELD_PHOTOS = "held-photos"  # training/held_photos.py's, named here to stay on this floor
NEEDS_ITS_ZIP = (Status.UPLOADING, Status.QUEUED, Status.TRAINING)


@dataclass
class CleanupReport:
    """What was (or, in a dry run, would be) deleted."""

    deleted: list[tuple[str, int]] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.deleted)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.deleted)


def cleanup_temp_files(*, storage: Storage, dry_run: bool = False) -> CleanupReport:
    """Apply the cleanup policy to the storage and the upload folder."""
    report = CleanupReport()
    cutoff = datetime.now(UTC) - timedelta(hours=settings.TEMP_RETENTION_HOURS)
    keep = needs_its_zip(cutoff)
    kept_zips, referenced = names_in_use(keep)
    finished = finished_orders_zips(keep)
    for name in finished - kept_zips:
        delete(storage, name, report, dry_run=dry_run)
    for name in stored_names(storage, TRAINING_SETS):
        if name not in kept_zips and name not in finished and older_than(storage, name, cutoff):
            delete(storage, name, report, dry_run=dry_run)
    for name in stored_names(storage, HEADSHOTS):
        if name not in referenced and older_than(storage, name, cutoff):
            delete(storage, name, report, dry_run=dry_run)
    upload_cutoff = cutoff - timedelta(seconds=settings.UPLOAD_URL_TTL_SECONDS)
    for name in stored_names(storage, API_UPLOADS):
        if older_than(storage, name, upload_cutoff):
            delete(storage, name, report, dry_run=dry_run)
    for name in stored_names(storage, HELD_PHOTOS):
        if older_than(storage, name, cutoff):
            delete(storage, name, report, dry_run=dry_run)
    if not dry_run and finished:
        Order.objects.filter(training_zip__in=finished).exclude(keep).update(training_zip="")
    report.deleted += stale_uploads(cutoff, dry_run=dry_run)
    return report


def needs_its_zip(cutoff: datetime) -> Q:
    """Orders whose ZIP stays: a training in progress may download it, and staff may retry the
    training of an untrained order that failed after `cutoff`."""
    retryable = Q(status=Status.FAILED, replicate_version_id="", failed_at__gte=cutoff)
    return Q(status__in=NEEDS_ITS_ZIP) | retryable


def names_in_use(keep: Q) -> tuple[set[str], set[str]]:
    """ZIPs that orders still need, and every stored name a headshot row points to."""
    kept_zips = set(
        Order.objects.filter(keep).exclude(training_zip="").values_list("training_zip", flat=True)
    )
    referenced: set[str] = set()
    for names in Headshot.objects.values_list("image", "preview", "jpeg"):
        referenced.update(names)
    return kept_zips, referenced


def finished_orders_zips(keep: Q) -> set[str]:
    """ZIPs still recorded on orders done with them: deleteZipAfterTraining."""
    return set(
        Order.objects.exclude(Q(training_zip="") | keep).values_list("training_zip", flat=True)
    )


def stored_names(storage: Storage, folder: str) -> Iterator[str]:
    """Every file below a folder of the storage (recursively)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for child in folders:
        yield from stored_names(storage, f"{folder}/{child}")


def older_than(storage: Storage, name: str, cutoff: datetime) -> bool:
    try:
        modified = storage.get_modified_time(name)
    except (FileNotFoundError, OSError):
        return False
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return modified < cutoff


def delete(storage: Storage, name: str, report: CleanupReport, *, dry_run: bool) -> None:
    """Delete one object (unless dry run) and note it with its size."""
    try:
        size = storage.size(name)
    except (FileNotFoundError, OSError):
        return  # already gone: nothing to report
    if not dry_run:
        storage.delete(name)
    report.deleted.append((name, size))


def stale_uploads(cutoff: datetime, *, dry_run: bool) -> list[tuple[str, int]]:
    """Upload temporary files that a crashed or killed request left behind."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    if not folder.is_dir():
        return []
    deleted = []
    limit = cutoff.timestamp()
    for path in folder.rglob("*"):
        try:
            info = path.stat()
        except OSError:
            continue
        if path.is_file() and info.st_mtime < limit:
            if not dry_run:
                path.unlink(missing_ok=True)
            deleted.append((str(path), info.st_size))
    if not dry_run:
        remove_empty_folders(folder, limit)
    return deleted


def remove_empty_folders(folder: Path, limit: float) -> None:
    """Photo-set folders emptied above, deepest first."""
    for directory in sorted(folder.rglob("*"), reverse=True):
        if (
            directory.is_dir()
            and directory.stat().st_mtime < limit
            and not any(directory.iterdir())
        ):
            os.rmdir(directory)
