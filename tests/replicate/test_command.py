"""`manage.py replicate_emulator` starts a usable emulator and says how to reach it."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.conftest import PROJECT_DIR


def test_it_runs_the_emulator_from_the_command_line() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "replicate_emulator", "--port", "0", "--token", "t0ken"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        secret = httpx.get(
            f"{lines['REPLICATE_BASE_URL']}/webhooks/default/secret",
            headers={"Authorization": "Bearer t0ken"},
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        output = process.stdout.read() if process.stdout else ""  # what it printed after those

    assert lines["REPLICATE_API_TOKEN"] == "t0ken"
    assert secret.json()["key"].startswith("whsec_")  # the app fetches it from here...
    assert "whsec_" not in output + "".join(lines.values())  # ...and the console never shows it
