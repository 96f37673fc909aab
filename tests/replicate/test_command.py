"""`manage.py replicate_emulator` starts a usable emulator and says how to reach it."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from django.core.management import CommandError, call_command

from tests.conftest import PROJECT_DIR


def test_it_runs_the_emulator_from_the_command_line() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env["REPLICATE_EMULATOR_WRONG_FACE_SHARE"] = "0.25"
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
        state = httpx.get(
            f"{lines['REPLICATE_BASE_URL'].removesuffix('/v1')}/_emulator/state",
            headers={"Authorization": "Bearer t0ken"},
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        output = process.stdout.read() if process.stdout else ""  # what it printed after those

    assert lines["REPLICATE_API_TOKEN"] == "t0ken"
    assert secret.json()["key"].startswith("whsec_")  # the app fetches it from here...
    assert "whsec_" not in output + "".join(lines.values())  # ...and the console never shows it
    assert state.json()["wrong_face_share"] == 0.25  # from the environment, through settings


@pytest.mark.parametrize("share", ["1.5", "-0.1", "often"])
def test_it_refuses_a_wrong_face_share_outside_zero_to_one(share: str) -> None:
    with pytest.raises(CommandError, match="is not a number from 0 to 1"):
        call_command("replicate_emulator", "--port", "0", "--wrong-face-share", share)
