"""docs/api.md, run as written: its ```bash blocks, in order, as one script against the live
server and the Replicate emulator, with a real token and a real ZIP of photos."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from accounts.tokens import token_create
from tests.conftest import PROJECT_DIR
from tests.training.zipfiles import faces, make_zip

API_DOC = PROJECT_DIR / "docs" / "api.md"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)

pytestmark = pytest.mark.timeout(180)


def doc_script() -> str:
    return "\n".join(BASH_BLOCK.findall(API_DOC.read_text()))


def test_the_doc_shows_the_whole_flow_with_curl() -> None:
    script = doc_script()

    for step in ("/api/uploads", "--upload-file", "/api/replicate/train-model", "/api/models/"):
        assert step in script


def test_every_command_of_the_doc_works(
    replicate: Any, dora: User, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    secret = token_create(user=dora, name="docs")[1]
    make_zip(tmp_path / "photos.zip", faces(4))
    script = (
        doc_script()
        .replace("http://127.0.0.1:8000", live_server.url)
        .replace("hs_your_token_here", secret)
    )

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    final = json.loads((tmp_path / "status.json").read_text())
    assert (final["status"], final["headshots"]) == ("ready", 2 * 2)
    assert json.loads((tmp_path / "refused.json").read_text())["code"] == "zip_url_not_accepted"
