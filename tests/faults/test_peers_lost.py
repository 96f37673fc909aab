"""The cache or the database lost while a webhook is applied, storage full or read-only while
outputs are copied: the order still ends once, with no file left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from replicate_emulator.server import ReplicateEmulator
from tests.conftest import REDIS_URL, wait_for
from tests.faults.conftest import Worker, assert_delivered_once, settle, status_of
from tests.training.ordering import place_order
from training.models import Order, Prediction, Status

pytestmark = pytest.mark.timeout(180)


def test_it_survives_losing_the_cache_at_each_webhook(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """Redis, shared by the live server and the worker, flushed once the training has started
    and again once it has finished (the webhook secret and the progress go with it)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    worker.env["CACHE_URL"] = REDIS_URL
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)

    wait_for(lambda: status_of(order) != Status.QUEUED, timeout=60)
    store.flushdb()
    wait_for(lambda: status_of(order) != Status.TRAINING, timeout=60)
    store.flushdb()
    settle(order, sync=False)

    assert_delivered_once(order, replicate)


def test_it_survives_losing_the_database_connection_at_a_webhook(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """The training's completed webhook is caught waiting on a lock, and its connection is
    terminated by PostgreSQL (`pg_terminate_backend`): Replicate delivers it again."""
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)
    training = Status.TRAINING
    wait_for(lambda: status_of(order) == training and started_webhook_sent(replicate), timeout=60)

    with raw_connection() as locker, raw_connection() as watcher:
        locker.execute(f"LOCK TABLE {Order._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        locker_pid = locker.info.backend_pid
        terminated = wait_for(lambda: terminate_waiting(watcher, locker_pid), timeout=60)
        locker.rollback()
    settle(order, sync=False)

    assert terminated
    assert_delivered_once(order, replicate)


def started_webhook_sent(emulator: ReplicateEmulator) -> bool:
    """The training's `start` webhook is behind us: the next one to wait is `completed`."""
    with emulator.state.lock:
        return any(delivery["event"] == "start" for delivery in emulator.state.deliveries)


def raw_connection() -> psycopg.Connection[Any]:
    """A connection of our own to the test database, outside Django's."""
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
        user=config["USER"], password=config["PASSWORD"] or None, dbname=config["NAME"],
    )  # fmt: skip


def terminate_waiting(watcher: psycopg.Connection[Any], locker_pid: int) -> int:
    """Terminate the connections waiting for our lock; how many there were."""
    rows = watcher.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> %s",
        [locker_pid],
    ).fetchall()
    watcher.commit()
    return len(rows)


def outputs_refused() -> bool:
    """Whether a worker has given up storing outputs (its task failed)."""
    return DBTaskResult.objects.filter(
        task_path__endswith="store_headshots", status="FAILED"
    ).exists()


def test_it_survives_full_storage_during_an_output_copy(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """A worker whose disk fills up after 1 KB of any file (RLIMIT_FSIZE: each image is cut
    short, as on a full disk), then, once space is back, a worker that may write."""
    worker.start(file_size_limit=1024)
    order = place_order(erin, tmp_path / "uploads", settings)
    wait_for(outputs_refused, timeout=60)

    worker.kill()
    worker.start()
    settle(order, since=worker.killed_at)

    assert_delivered_once(order, replicate)


def test_it_survives_read_only_storage_during_an_output_copy(
    replicate: ReplicateEmulator, worker: Worker, erin: User, tmp_path: Path, settings: Any
) -> None:
    """The order's folder cannot be made (a file stands where it goes) until it is cleared."""
    worker.start()
    order = place_order(erin, tmp_path / "uploads", settings)
    blocker = Path(settings.MEDIA_ROOT) / "headshots" / str(order.uuid)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    wait_for(outputs_refused, timeout=60)

    blocker.unlink()
    settle(order)

    assert_delivered_once(order, replicate)
    assert not Prediction.objects.filter(order=order, outputs_stored=False).exists()
