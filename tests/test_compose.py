"""docker-compose.yml: every service a one-host deployment needs, cron running both periodic
commands, and every variable it reads documented in .env.example."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_DIR

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error} and $NAME, but not the escaped $$.
VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def command_text(service: dict[str, Any]) -> str:
    parts = [service.get("entrypoint") or "", service.get("command") or ""]
    return " ".join(" ".join(part) if isinstance(part, list) else part for part in parts)


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def test_it_has_every_service_of_a_one_host_deployment() -> None:
    services = compose()["services"]
    expected = {"web", "worker", "cron", "postgres", "redis", "minio", "minio-bucket", "mailpit"}
    assert expected <= set(services)
    assert "gunicorn" in command_text(services["web"])
    assert "manage.py run_worker" in command_text(services["worker"])
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_cron_runs_sync_replicate_every_five_minutes_and_cleanup_hourly() -> None:
    cron = command_text(compose()["services"]["cron"])
    assert "manage.py sync_replicate" in cron
    assert "manage.py cleanup_temp_files" in cron
    assert "sleep 300" in cron  # one turn every 5 minutes...
    assert "% 12" in cron  # ...and the cleanup on every 12th turn: hourly


def test_the_bucket_is_created_private_before_the_app_starts() -> None:
    services = compose()["services"]
    bucket = command_text(services["minio-bucket"])
    assert "mc mb --ignore-existing" in bucket
    assert "mc anonymous set none" in bucket
    for name in ("web", "worker", "cron"):
        needs = services[name]["depends_on"]
        assert needs["minio-bucket"] == {"condition": "service_completed_successfully"}
        assert needs["postgres"] == {"condition": "service_healthy"}


def test_the_app_uses_the_compose_services_by_default() -> None:
    app = environment(compose()["services"]["web"])
    assert app["AWS_S3_ENDPOINT_URL"] == "${AWS_S3_ENDPOINT_URL:-http://minio:9000}"
    assert app["AWS_S3_ADDRESSING_STYLE"] == "${AWS_S3_ADDRESSING_STYLE:-path}"
    assert app["EMAIL_URL"] == "${EMAIL_URL:-smtp://mailpit:1025}"
    assert "@postgres:5432/" in app["DATABASE_URL"]
    assert app["REDIS_URL"].startswith("redis://redis:6379/")
    assert app["DEBUG"] == "false"


def test_every_variable_compose_reads_is_in_env_example() -> None:
    lines = COMPOSE_FILE.read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    used = {braced or bare for braced, bare in VARIABLE.findall(text)}
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    assert used  # the pattern still finds the variables
    assert used - listed == set()


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not here")
def test_docker_compose_accepts_the_file_with_env_example() -> None:
    result = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
