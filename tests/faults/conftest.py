"""The fault suite's stack: a real worker process that a test starts, SIGKILLs and restarts, the
Replicate emulator and the live server (the `replicate` fixture) with the database queue between
them, recovery as cron drives it (`sync_replicate`), and the one check every scenario ends with,
`assert_delivered_once`.

Faults are set on the emulator (replicate_emulator/faults.py); a hold there keeps the
worker blocked at a named point (a create, an output download) until the test has killed it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.credits import credits_grant
from accounts.models import CreditMovement, User
from replicate_emulator.server import ReplicateEmulator
from tests.conftest import PROJECT_DIR, make_user, test_database_url, wait_for
from training.models import FINAL_STATUSES, Order, Prediction, Status
from training.styles import order_styles
from training.trainings import destination_name

# Generous: the machine is shared and a whole order takes a few seconds when it is quiet.
SETTLE_SECONDS = 60.0
SYNC_EVERY_SECONDS = 2.0
WORKER_COMMAND = ("manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2")


@dataclass
class Worker:
    """The project's database-queue worker as a separate process (its own process group)."""

    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed_at: float | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self, *, file_size_limit: int | None = None) -> None:
        """Start one; with `file_size_limit` (bytes) every longer write fails, as on a full disk."""
        assert self.process is None, "the worker is already running"
        self.starts += 1
        command = [sys.executable, *WORKER_COMMAND, "--no-reload"]
        output: Any = subprocess.DEVNULL  # a limited worker could not write its log either
        if file_size_limit is None:
            log = self.log_dir / f"worker-{self.starts}.log"
            self.logs.append(log)
            output = log.open("wb")
        else:
            command = [sys.executable, "-c", _LIMITED.format(limit=file_size_limit), *command[1:]]
        base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env={**base, **self.env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine does: no clean-up of any kind."""
        assert self.process is not None, "no worker to kill"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process, self.killed_at = None, time.monotonic()

    def stop(self) -> None:
        if self.process is not None:
            self.kill()

    def output(self) -> str:
        """Everything the workers logged, for the message of a failing assertion."""
        return "\n".join(log.read_text(errors="replace")[-4000:] for log in self.logs)


_LIMITED = (
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.fixture
def erin(transactional_db: None, settings: Any) -> User:
    """A committed person (the worker and the live server see her) with the one credit an order
    costs."""
    settings.TRAINING_CREDIT_COST = 1
    user = make_user("erin@example.com")
    credits_grant(user=user, amount=1, reason="test")
    return user


@pytest.fixture
def worker(replicate: ReplicateEmulator, live_server: Any, settings: Any) -> Iterator[Worker]:
    """A worker process on the test database and media folder, talking to the emulator; tasks
    enqueued here (the test, the live server's webhooks, sync) go to the database queue."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.SYNC_AFTER_MINUTES = 0  # cron's look-up, without its quarter-hour wait
    running = Worker(
        env={
            "DATABASE_URL": test_database_url(),
            "TASKS_BACKEND": "database",
            "DEBUG": "false",
            "SECRET_KEY": "fault-suite-" + "x" * 50,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "REPLICATE_BASE_URL": replicate.base_url,
            "REPLICATE_TIMEOUT_SECONDS": "3",
            "SITE_URL": live_server.url,
            "HEADSHOTS_PER_STYLE": str(settings.HEADSHOTS_PER_STYLE),
            "ORDER_STYLES": ",".join(settings.ORDER_STYLES),
            "TRAINING_CREDIT_COST": "1",
            "LOG_LEVEL": "INFO",
        },
        log_dir=Path(settings.MEDIA_ROOT).parent,
    )
    yield running
    running.stop()


def settle(
    order: Order,
    *,
    sync: bool = True,
    timeout: float = SETTLE_SECONDS,
    since: float | None = None,
) -> float:
    """Wait for the order to reach a final state, running `sync_replicate` every couple of
    seconds as cron would (SYNC_AFTER_MINUTES=0); the seconds it took from `since` (the fault;
    default: now), printed for the suite's table of recovery times."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if sync:
            call_command("sync_replicate", verbosity=0)
        try:
            wait_for(lambda: status_of(order) in FINAL_STATUSES, timeout=SYNC_EVERY_SECONDS)
        except AssertionError:
            continue
        took = time.monotonic() - (since or started)
        print(f"settled {status_of(order)} {took:.1f} s after the fault")
        return took
    raise AssertionError(f"order still {status_of(order)} after {timeout} s")


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def assert_delivered_once(
    order: Order, emulator: ReplicateEmulator, *, status: str = Status.READY
) -> None:
    """The five promises after any fault: one training, one prediction per prompt and one
    headshot per image, credits charged once, the expected final state, no orphan file."""
    order = Order.objects.select_related("user").get(pk=order.pk)
    assert order.status == status, order.error_detail
    trainings, predictions = _jobs_of(order, emulator)
    assert len(trainings) == 1, f"{len(trainings)} trainings on Replicate"
    prompts = [style.prompt(order.subject_type) for style in order_styles(order.package)]
    if status == Status.READY:
        assert Counter(job.input["prompt"] for job in predictions) == Counter(prompts)
        _assert_one_row_per_prompt(order, len(prompts))
    _assert_charged_once(order)
    _assert_no_orphan_file(order)


def _jobs_of(order: Order, emulator: ReplicateEmulator) -> tuple[list[Any], list[Any]]:
    """The order's trainings and predictions, read from the emulator's store."""
    destination = f"{settings.REPLICATE_OWNER}/{destination_name(order)}"
    with emulator.state.lock:
        jobs = list(emulator.state.jobs.values())
    trainings = [job for job in jobs if job.kind == "training" and job.destination == destination]
    predictions = [job for job in jobs if job.kind == "prediction" and job.model == destination]
    return trainings, predictions


def _assert_one_row_per_prompt(order: Order, prompt_count: int) -> None:
    """Each prompt succeeded once and each of its images is stored once."""
    succeeded = order.predictions.filter(status=Prediction.State.SUCCEEDED)
    assert sorted(succeeded.values_list("prompt_index", flat=True)) == list(range(prompt_count))
    images = sorted(order.headshots.values_list("prediction__prompt_index", "output_index"))
    per_prompt = settings.HEADSHOTS_PER_STYLE
    assert images == [(p, i) for p in range(prompt_count) for i in range(per_prompt)]


def _assert_charged_once(order: Order) -> None:
    """One spend; a refund only when the order failed."""
    movements = CreditMovement.objects.filter(order_uuid=order.uuid)
    kinds = sorted(movements.values_list("kind", flat=True))
    refunded = order.status == Status.FAILED
    expected = [CreditMovement.Kind.REFUND] if refunded else []
    assert kinds == sorted([CreditMovement.Kind.SPEND, *expected])


def _assert_no_orphan_file(order: Order) -> None:
    """Every stored file is a headshot (complete), its preview or print-ready JPEG, or the live
    training ZIP."""
    media = Path(settings.MEDIA_ROOT)
    stored = {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()}
    expected = {str(order.training_zip.name)} if order.training_zip else set()
    for headshot in order.headshots.all():
        files = [str(headshot.image.name), str(headshot.preview.name), str(headshot.jpeg.name)]
        expected |= set(files)
        # Complete: the three files are whole, their sizes adding up to what the row recorded.
        assert sum((media / name).stat().st_size for name in files) == headshot.size_bytes
    assert stored == expected, f"orphans: {sorted(stored - expected)}"
