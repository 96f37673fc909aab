"""Background work really runs in a separate worker process: from the database queue (the
embedded default) and from Redis through RQ (TASKS_BACKEND=rq)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.tasks import TaskResultStatus

from accounts.models import User
from accounts.tasks import send_welcome_email
from tests.conftest import REDIS_URL, make_user, run_manage, test_database_url


@pytest.fixture
def dora(transactional_db: None) -> User:
    """Committed, so that a worker process can read her."""
    return make_user("dora@example.com", language="en")


def test_it_runs_a_task_from_the_database_queue_in_a_worker(settings: Any, dora: User) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = send_welcome_email.enqueue(dora.pk)
    assert result.status == TaskResultStatus.READY

    worker = run_manage(
        "db_worker", "--batch", "--no-startup-delay",
        env={"DATABASE_URL": test_database_url(), "TASKS_BACKEND": "database", "DEBUG": "true"},
    )  # fmt: skip

    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == f"sent to user {dora.pk}"
    assert "Subject: Welcome to Headshots" in worker.stdout  # the console mailer, in the worker
    assert "To: dora@example.com" in worker.stdout


def test_it_runs_the_same_task_from_redis_in_an_rq_worker(settings: Any, dora: User) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    result = send_welcome_email.enqueue(dora.pk)

    worker = run_manage(
        "rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job",
        env={
            "DATABASE_URL": test_database_url(),
            "TASKS_BACKEND": "rq",
            "REDIS_URL": REDIS_URL,
            "DEBUG": "true",
        },
    )  # fmt: skip

    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == f"sent to user {dora.pk}"
    assert "Subject: Welcome to Headshots" in worker.stdout + worker.stderr
