"""Start-up: production refuses to run without a secret key or with a malformed value, in one line;
`check --deploy` is clean with production variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import run_manage

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-9f8e7d6c5b4a3210fedcba",
    "SITE_URL": "https://headshots.example.com",
    "DATABASE_URL": "sqlite:////tmp/headshots-deploy-check.sqlite3",
    "RESEND_API_KEY": "re_test_key",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def test_it_refuses_to_start_in_production_without_a_secret_key() -> None:
    env = {**PRODUCTION, "SECRET_KEY": ""}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "headshots: SECRET_KEY is not set: production (DEBUG=false) needs a long random value."
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://nowhere"),
        ("IMAGE_URL_TTL_SECONDS", "an hour"),
        ("TASKS_BACKEND", "celery"),
        ("SITE_URL", "headshots.example.com"),
    ],
)
def test_it_names_the_malformed_variable_in_one_line(variable: str, value: str) -> None:
    result = run_manage("check", env={variable: value})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"headshots: {variable}")


def test_it_needs_redis_for_the_rq_queue() -> None:
    result = run_manage("check", env={"TASKS_BACKEND": "rq", "REDIS_URL": ""})

    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_it_passes_the_deployment_checks_with_production_variables() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_starts_with_nothing_set_at_all() -> None:
    result = run_manage("check", env={})

    assert result.returncode == 0, result.stderr


def test_it_refuses_a_per_process_cache_in_production() -> None:
    env = {**PRODUCTION, "REDIS_URL": "", "CACHE_URL": ""}

    result = run_manage("check", "--deploy", env=env)

    assert result.returncode != 0
    assert "headshots.E001" in result.stderr


def test_it_lets_the_browser_load_presigned_images_from_the_s3_endpoint() -> None:
    code = "from django.conf import settings; print(settings.SECURE_CSP['img-src'])"
    env = {
        "AWS_STORAGE_BUCKET_NAME": "photos",
        "AWS_S3_ENDPOINT_URL": "https://minio.example.com:9000",
    }

    result = run_manage("shell", "-c", code, env=env)

    assert "https://minio.example.com:9000" in result.stdout


def test_a_fresh_machine_gets_its_upload_folder_made(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet" / "uploads"

    result = run_manage("check", env={"FILE_UPLOAD_TEMP_DIR": str(folder)})

    assert result.returncode == 0, result.stderr
    assert folder.is_dir()


def test_it_names_the_upload_folder_it_cannot_make_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    result = run_manage("check", env={"FILE_UPLOAD_TEMP_DIR": str(blocker / "uploads")})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"headshots: FILE_UPLOAD_TEMP_DIR={str(blocker / 'uploads')!r}")


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("HEADSHOTS_PER_STYLE", "5", "HEADSHOTS_PER_STYLE='5' must be between 1 and 4."),
        ("TRAINING_STEPS", "2", "TRAINING_STEPS='2' must be between 3 and 6000."),
        ("TRAINING_STEPS", "6001", "TRAINING_STEPS='6001' must be between 3 and 6000."),
        ("TRAINING_LORA_RANK", "0", "TRAINING_LORA_RANK='0' must be between 1 and 128."),
        ("TRAINING_LORA_RANK", "129", "TRAINING_LORA_RANK='129' must be between 1 and 128."),
        (
            "HEADSHOT_OUTPUT_QUALITY",
            "101",
            "HEADSHOT_OUTPUT_QUALITY='101' must be between 1 and 100.",
        ),
    ],
)
def test_it_refuses_a_value_replicate_would_refuse_naming_the_variable(
    variable: str, value: str, line: str
) -> None:
    result = run_manage("check", env={variable: value})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"headshots: {line}"]


def test_it_starts_with_the_edges_of_replicates_ranges() -> None:
    edges = {
        "HEADSHOTS_PER_STYLE": "4",
        "TRAINING_STEPS": "6000",
        "TRAINING_LORA_RANK": "128",
        "HEADSHOT_OUTPUT_QUALITY": "100",
    }
    code = f"from django.conf import settings as s; print(*(getattr(s, n) for n in {list(edges)}))"

    result = run_manage("shell", "-c", code, env=edges)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == list(edges.values())


SHOW_WAITS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'database': s.DATABASES['default'].get('OPTIONS', {}),"
    "'cache': s.CACHES['default'].get('OPTIONS', {}),"
    "'queue': s.RQ_QUEUES['default']['URL'] if hasattr(s, 'RQ_QUEUES') else None}))"
)


def shown_waits(env: dict[str, str]) -> dict[str, Any]:
    result = run_manage("shell", "-c", SHOW_WAITS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_it_bounds_every_wait_for_postgresql_and_redis() -> None:
    waits = shown_waits(
        {
            "DATABASE_URL": "postgres://someone@db.example.com:5432/headshots",
            "REDIS_URL": "redis://cache.example.com:6379/0",
            "TASKS_BACKEND": "rq",
        }
    )

    assert 0 < waits["database"]["connect_timeout"] <= 10
    assert 0 < waits["cache"]["socket_connect_timeout"] <= 5
    assert 0 < waits["cache"]["socket_timeout"] <= 10
    queue = parse_qs(urlsplit(waits["queue"]).query)
    assert 0 < float(queue["socket_connect_timeout"][0]) <= 5
    assert 0 < float(queue["socket_timeout"][0]) <= 10


def test_it_keeps_the_bounds_a_redis_url_already_names() -> None:
    waits = shown_waits(
        {"REDIS_URL": "redis://cache.example.com:6379/0?socket_timeout=9", "TASKS_BACKEND": "rq"}
    )

    assert parse_qs(urlsplit(waits["queue"]).query)["socket_timeout"] == ["9"]


def test_it_gives_sqlite_and_the_local_memory_cache_no_network_options() -> None:
    waits = shown_waits({"DATABASE_URL": "sqlite:////tmp/headshots-waits.sqlite3"})

    assert "connect_timeout" not in waits["database"]
    assert waits["cache"] == {}


TIMED_CALL = """
import time
started = time.monotonic()
try:
    {call}
except Exception as error:
    print(type(error).__name__, time.monotonic() - started)
"""


@pytest.mark.parametrize(
    ("variables", "call"),
    [
        ({"CACHE_URL": "{url}"}, "from django.core.cache import cache; cache.get('x')"),
        ({"REDIS_URL": "{url}"}, "from django.core.cache import cache; cache.set('x', 1)"),
        (
            {"REDIS_URL": "{url}", "TASKS_BACKEND": "rq"},
            "import django_rq; django_rq.get_connection('default').ping()",
        ),
    ],
)
def test_it_fails_fast_when_redis_accepts_and_never_answers(
    silent_server: Any, variables: dict[str, str], call: str
) -> None:
    env = {name: value.format(url=silent_server.url) for name, value in variables.items()}

    result = run_manage("shell", "-c", TIMED_CALL.format(call=call), env=env, timeout=30)

    error, seconds = result.stdout.splitlines()[-1].split()
    assert error == "TimeoutError"
    assert float(seconds) < 4.5  # our bound, well under redis-py's own default of 5 s
    assert silent_server.connected.is_set()


TWO_WRITERS = """
import threading, time
from django.db import connection, transaction
from accounts.models import User

with connection.cursor() as cursor:  # the table alone: a migrated database is not needed here
    with connection.schema_editor() as editor:
        editor.create_model(User)
connection.close()
outcomes = []

def write(email):
    try:
        with transaction.atomic():
            User.objects.count()  # a read first: a deferred transaction holds only a read lock
            time.sleep(0.3)  # the other writer reads meanwhile
            User.objects.create(email=email)
        outcomes.append("written")
    except Exception as error:
        outcomes.append(type(error).__name__ + ": " + str(error))
    finally:
        connection.close()

writers = [threading.Thread(target=write, args=(f"{n}@example.com",)) for n in range(2)]
for writer in writers:
    writer.start()
for writer in writers:
    writer.join()
print(sorted(outcomes), User.objects.count())
"""


def test_two_writers_at_once_both_succeed_on_the_embedded_sqlite(tmp_path: Path) -> None:
    # What `make run` does when a webhook and a page both write (a payment confirmed twice):
    # SQLite's deferred transactions made one of them a 500 ("database is locked").
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        TWO_WRITERS,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )

    assert result.stdout.strip() == "['written', 'written'] 2", result.stderr
