"""docker-compose.yml: every service a one-host deployment needs, cron running both periodic
commands, every variable it reads documented in .env.example, no secret with a default, and
nothing published to the network but the proxy's port."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_DIR

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
# Stand-in values for every secret, to check the file (CI: `docker-compose --env-file ... config`).
COMPOSE_ENV = PROJECT_DIR / "tests" / "fixtures" / "compose.env"
SECRETS = (
    "SECRET_KEY",
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "METRICS_TOKEN",
    "REPLICATE_API_TOKEN",
    "REPLICATE_WEBHOOK_SECRET",
)
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not here"
)
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
    expected = {"proxy", "web", "worker", "cron", "postgres", "redis", "minio", "minio-bucket"}
    expected |= {"mailpit", "clamav"}
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


def run_config(env_file: Path, *, without: str | None = None) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with the given env file, one variable optionally left blank."""
    lines = env_file.read_text().splitlines()
    kept = [line for line in lines if not (without and line.startswith(f"{without}="))]
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env:
        env.write("\n".join(kept) + "\n")
        env.flush()
        return subprocess.run(
            ["docker-compose", "--env-file", env.name, "config"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={key: value for key, value in os.environ.items() if key not in SECRETS},
        )


def published(config: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Each service's published ports as (host address, host port); "" is every address."""
    ports: dict[str, list[tuple[str, str]]] = {}
    for name, service in config["services"].items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                entry = (str(port.get("host_ip") or ""), str(port["published"]))
            else:
                parts = str(port).split("/")[0].split(":")
                entry = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])
            ports.setdefault(name, []).append(entry)
    return ports


@needs_compose
def test_docker_compose_accepts_the_file_once_the_secrets_are_set() -> None:
    result = run_config(COMPOSE_ENV)

    assert result.returncode == 0, result.stderr


@needs_compose
def test_docker_compose_refuses_env_example_until_its_secrets_are_set() -> None:
    result = run_config(ENV_EXAMPLE)

    assert result.returncode != 0
    assert "set SECRET_KEY in .env" in result.stderr


@needs_compose
@pytest.mark.parametrize("secret", SECRETS)
def test_docker_compose_refuses_to_start_without_each_secret(secret: str) -> None:
    result = run_config(COMPOSE_ENV, without=secret)

    assert result.returncode != 0
    assert f"set {secret} in .env" in result.stderr


def test_env_example_holds_no_secret_value() -> None:
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M))

    assert {name: values[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")


@needs_compose
def test_it_publishes_only_the_proxy_to_the_network() -> None:
    result = run_config(COMPOSE_ENV)
    ports = published(yaml.safe_load(result.stdout))

    assert ports.pop("proxy") == [("", "8000")]
    assert "minio" in ports  # its console, for the operator on the host...
    assert all(host == "127.0.0.1" for each in ports.values() for host, _ in each)  # ...only
    assert {"web", "postgres", "redis", "clamav"}.isdisjoint(ports)


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        if name in {"web", "worker", "cron"}:
            assert image == "headshots:latest"  # built from the Dockerfile here
            continue
        name_part, _, tag = image.rpartition(":")
        assert name_part, (name, image)
        assert tag != "latest", (name, image)
        assert re.search(r"\d", tag), (name, image)


def test_web_runs_the_dockerfiles_gunicorn_configuration() -> None:
    web = command_text(compose()["services"]["web"])
    cmd = next(
        line for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    )  # fmt: skip

    assert "exec gunicorn -c deploy/gunicorn.conf.py" in web
    assert json.loads(cmd[4:]) == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert "--workers" not in web  # one place for its settings


def test_the_proxy_buffers_requests_up_to_the_apps_limit() -> None:
    proxy = compose()["services"]["proxy"]
    template = (PROJECT_DIR / "deploy" / "nginx.conf.template").read_text()

    assert "PROXY_BODY_MAX_MB=$$((PHOTOS_TOTAL_MAX_MB + 1))" in command_text(proxy)
    assert "client_max_body_size ${PROXY_BODY_MAX_MB}m;" in template
    assert "proxy_request_buffering on;" in template
    assert "client_body_timeout" in template
    assert "client_header_timeout" in template
    assert "location /${PROXY_BUCKET}/" in template  # browsers reach the bucket through it
    assert "$request " not in template  # no query strings in its log...
    assert "$request_uri" not in template
    assert "$http_referer" not in template  # ...nor a Referer that may hold one


def test_the_app_scans_photos_with_the_clamav_service() -> None:
    services = compose()["services"]

    assert services["clamav"]["image"].startswith("clamav/clamav:")
    for name in ("web", "worker"):
        assert environment(services[name])["CLAMD_URL"] == "${CLAMD_URL:-tcp://clamav:3310}"
