"""The benchmark scripts answer `--help` at once, without starting Django or touching a database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    path.name for path in (PROJECT_DIR / "bench").glob("*.py") if path.stem != "__init__"
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_it_prints_help_and_does_nothing_else(script: str) -> None:
    started = time.monotonic()
    # A database URL that cannot be reached: any work beyond parsing the options would fail.
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}

    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}")
    assert result.stderr == ""
    assert time.monotonic() - started < 10


def test_it_refuses_an_unknown_option_before_doing_anything() -> None:
    result = subprocess.run(
        [sys.executable, "bench/webhooks.py", "--no-such-option"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


CHECK_DATABASES = """
import os, sys, psycopg
sys.argv = ["webhooks.py"]
import bench.webhooks as bench
foreign = os.environ["FOREIGN_DB"]
assert bench.DB_NAME.startswith(f"bench_webhooks_{os.getpid()}_"), bench.DB_NAME
def names():
    with psycopg.connect(bench.ADMIN_URL, autocommit=True) as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
bench.create_database(bench.DB_NAME)
assert bench.DB_NAME in names()
bench.drop_database(foreign)
bench.drop_database(bench.DB_NAME)
left = names()
assert bench.DB_NAME not in left and foreign in left, left
print("ok")
"""


def test_it_creates_and_drops_only_its_own_databases() -> None:
    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    foreign = f"bench_webhooks_someone_else_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {foreign}")
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHECK_DATABASES],
            cwd=PROJECT_DIR, env={**os.environ, "FOREIGN_DB": foreign},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {foreign}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
