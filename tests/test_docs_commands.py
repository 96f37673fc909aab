"""Every command shown in docs/*.md works: it exists, its options parse, and the safe ones run.

Commands are the lines of fenced ```sh blocks (and the manage.py commands of ```crontab blocks).
Each `manage.py` command must be listed below either as RUN (run here, for real, against the test
database, the emulator and the live server) or as PARSE_ONLY (interactive or long-running: its
options are parsed by the command's own parser). `curl` lines are run against the live server,
`pg_dump` / `pg_restore` against the test database and a scratch copy.

The RUN commands run in this process (`call_command`), each distinct line once: what they prove
is that the command and its options work, not that a new process starts. `check --deploy` is
the exception: it proves that the production environment, read by settings.py at start-up,
passes Django's deployment checks, so it runs in a fresh process with that environment.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import connection

from tests.conftest import PROJECT_DIR, REDIS_URL, run_manage, test_database_url

DOCS = sorted((PROJECT_DIR / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
PYTHONS = ("python", ".venv/bin/python")
RUN = {"check", "replicate_check", "cleanup_temp_files", "sync_replicate", "run_worker"}
PARSE_ONLY = {"createsuperuser", "compile_translations", "stripe_emulator"}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "docs-test-" + "k3y-Zq9!" * 8,
    "SITE_URL": "https://headshots.example.com",
    "CACHE_URL": REDIS_URL,
    "EMAIL_URL": "smtp://user:password@smtp.example.com:587?tls=True",
}


def doc_commands() -> list[tuple[str, str, list[str]]]:
    """(doc file, kind, argv) for every command line of the docs' sh and crontab blocks."""
    return [(doc, language, argv) for doc, language, argv, _line in doc_lines()]


def doc_lines() -> list[tuple[str, str, list[str], str]]:
    """(doc file, kind, argv, the line as written) for every command line of the docs."""
    found = []
    for doc in DOCS:
        for language, body in FENCE.findall(doc.read_text()):
            if language not in ("sh", "crontab"):
                continue
            for line in body.splitlines():
                line = line.split(" #")[0].strip()
                if not line or line.startswith("#"):
                    continue
                argv = shlex.split(line)
                if language == "crontab":
                    argv = argv[argv.index("&&") + 1 :] if "&&" in argv else argv[5:]
                while argv and ENV_ASSIGNMENT.match(argv[0]):
                    argv = argv[1:]
                found.append((doc.name, language, argv, line))
    return found


def manage_commands() -> list[list[str]]:
    """The argv after `manage.py` of every manage.py command in the docs."""
    commands = []
    for _doc, _language, argv in doc_commands():
        if len(argv) >= 2 and argv[0] in PYTHONS and argv[1] == "manage.py":
            commands.append(argv[2:])
    return commands


def commands_of(program: str) -> list[str]:
    """The sh lines, as written, that run `program`."""
    return [
        line
        for _doc, language, argv, line in doc_lines()
        if language == "sh" and argv and argv[0] == program
    ]


def test_the_docs_show_commands() -> None:
    assert {doc.name for doc in DOCS} >= {
        "replicate-setup.md",
        "troubleshooting.md",
        "prompts.md",
        "operations.md",
    }
    assert len(manage_commands()) >= 8


def test_every_command_is_one_we_know_how_to_check() -> None:
    for doc, language, argv in doc_commands():
        is_manage = len(argv) >= 2 and argv[0] in PYTHONS and argv[1] == "manage.py"
        known = is_manage or (language == "sh" and argv[0] in ("curl", "pg_dump", "pg_restore"))
        assert known, f"{doc}: {shlex.join(argv)} cannot be checked; write it as prose"
        if is_manage:
            assert argv[2] in RUN | PARSE_ONLY, f"{doc}: decide whether to run {argv[2]}"


@pytest.mark.parametrize("argv", manage_commands(), ids=shlex.join)
def test_manage_commands_exist_and_their_options_parse(argv: list[str]) -> None:
    name, options = argv[0], argv[1:]
    commands = get_commands()
    assert name in commands, f"manage.py {name} does not exist"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(options)  # exits (fails the test) on an unknown or malformed option


@pytest.fixture
def doc_env(replicate: Any, live_server: Any, tmp_path: Path) -> dict[str, str]:
    """The environment a docs command runs in: the test database, the emulator, a temp media."""
    (tmp_path / "uploads").mkdir()
    return {
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "FILE_UPLOAD_TEMP_DIR": str(tmp_path / "uploads"),
        "TASKS_BACKEND": "database",
        "REPLICATE_API_TOKEN": replicate.token,
        "REPLICATE_BASE_URL": replicate.base_url,
        "REPLICATE_WEBHOOK_SECRET": "",
        "SITE_URL": live_server.url,
        "METRICS_TOKEN": "docs-metrics-token",
    }


@pytest.fixture
def doc_settings(doc_env: dict[str, str], settings: Any) -> dict[str, str]:
    """doc_env applied to this process's settings, for the commands run with call_command."""
    settings.MEDIA_ROOT = doc_env["MEDIA_ROOT"]
    settings.FILE_UPLOAD_TEMP_DIR = doc_env["FILE_UPLOAD_TEMP_DIR"]
    settings.TASKS_BACKEND = doc_env["TASKS_BACKEND"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.METRICS_TOKEN = doc_env["METRICS_TOKEN"]
    return doc_env


def run_in_process(argv: list[str]) -> str:
    """Run `manage.py <argv>` here; return what it printed. A CommandError fails the test."""
    out, err = StringIO(), StringIO()
    call_command(*argv, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def distinct_runnable_commands() -> list[list[str]]:
    """The RUN command lines of the docs, each once, in the order the docs show them."""
    commands: list[list[str]] = []
    for argv in manage_commands():
        if argv[0] in RUN and argv != ["run_worker"] and argv not in commands:
            commands.append(argv)  # plain run_worker (without --batch) never exits
    return commands


def test_the_safe_manage_commands_run(doc_settings: dict[str, str]) -> None:
    ran = []
    for argv in distinct_runnable_commands():
        if argv[:2] == ["check", "--deploy"]:
            result = run_manage(*argv, env={**doc_settings, **PRODUCTION}, timeout=120)
            assert result.returncode == 0, f"manage.py {shlex.join(argv)}:\n{result.stderr}"
        else:
            run_in_process(argv)
        ran.append(argv[0])
    assert set(ran) == RUN


def test_replicate_check_as_documented_passes_against_the_emulator(
    doc_settings: dict[str, str],
) -> None:
    printed = run_in_process(["replicate_check"])

    assert "ok       token: The API token was accepted." in printed


def test_the_curl_commands_answer(doc_env: dict[str, str], live_server: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = doc_env["METRICS_TOKEN"]
    curls = commands_of("curl")
    assert curls
    for line in curls:
        line = line.replace("http://127.0.0.1:8000", live_server.url)
        result = subprocess.run(
            ["bash", "-c", line],
            env={**os.environ, "METRICS_TOKEN": doc_env["METRICS_TOKEN"]},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, f"{line}: {result.stderr}"


def test_the_backup_commands_dump_and_restore(doc_env: dict[str, str], tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the backup commands are for PostgreSQL")
    (dump,) = commands_of("pg_dump")
    (restore,) = commands_of("pg_restore")
    scratch = f"headshots_docs_restore_{uuid.uuid4().hex[:8]}"
    admin_url = test_database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        for line, database in ((dump, test_database_url()), (restore, admin_url[:-8] + scratch)):
            result = subprocess.run(
                ["bash", "-c", line],
                cwd=tmp_path,
                env={**os.environ, "DATABASE_URL": database},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"{line}: {result.stderr}"
        with psycopg.connect(admin_url[:-8] + scratch) as restored:
            tables = restored.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'models'"
            ).fetchone()
        assert tables == (1,)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
