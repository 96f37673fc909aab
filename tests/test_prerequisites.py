"""bin/test-prerequisites: what `make test` needs outside the venv, installed or asked for.

The script runs for real against this machine's PostgreSQL and Redis. Programs are made "missing"
by a PATH of links to every system program but the one left out, and apt-get is a stand-in that
records how it was called (a real one would change the machine other tests run on).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "bin" / "test-prerequisites"
SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/apt-get.calls"
# "Install" by linking the real program in, as the package would.
if [ "$1" = install ]; then
  for name in {names}; do ln -sf "{real}/$name" "$(dirname "$0")/$name"; done
fi
"""
is_root = os.geteuid() == 0


@pytest.fixture
def system_bin() -> Iterator[Path]:
    """A folder others can read (the script may run as nobody), for a made-up PATH."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)
        yield Path(folder)


def path_without(folder: Path, *missing: str, apt_get: bool = True) -> str:
    """A PATH of links to every system program but `missing`, with a recording apt-get."""
    for directory in SYSTEM_DIRS:
        for program in Path(directory).iterdir() if Path(directory).is_dir() else ():
            link = folder / program.name
            if program.name not in (*missing, "apt-get") and not link.exists():
                link.symlink_to(program)
    if apt_get:
        fake = FAKE_APT_GET.format(names=" ".join(missing), real="/usr/bin")
        (folder / "apt-get").write_text(fake)
        (folder / "apt-get").chmod(0o755)
    return str(folder)


def run_script(
    path: str, *, user: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The script with this PATH; DATABASE_URL unset, so it checks the local PostgreSQL too."""
    base = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HEADSHOTS_NO_INSTALL")
    }
    command = ["runuser", "-u", user, "--", str(SCRIPT)] if user else [str(SCRIPT)]
    return subprocess.run(
        command,
        env={**base, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def apt_get_calls(folder: Path) -> list[str]:
    calls = folder / "apt-get.calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_it_says_nothing_and_installs_nothing_when_everything_is_here(system_bin: Path) -> None:
    result = run_script(path_without(system_bin))

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert apt_get_calls(system_bin) == []  # not even apt-get update


def test_it_stops_with_one_line_naming_the_command_when_installing_is_not_wanted(
    system_bin: Path,
) -> None:
    result = run_script(path_without(system_bin, "jq"), HEADSHOTS_NO_INSTALL="1")

    assert result.returncode == 1
    sudo = "" if is_root else "sudo "
    assert result.stderr == (
        f"test-prerequisites: missing jq: run {sudo}apt-get update && {sudo}apt-get install -y jq\n"
    )
    assert result.stdout == ""
    assert apt_get_calls(system_bin) == []


def test_it_names_every_missing_program_in_its_one_line(system_bin: Path) -> None:
    result = run_script(
        path_without(system_bin, "jq", "docker-compose", "curl"), HEADSHOTS_NO_INSTALL="1"
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("apt-get install -y jq curl docker-compose\n")


@pytest.mark.skipif(not is_root, reason="needs root to run the script as another user")
def test_it_asks_for_sudo_when_an_ordinary_user_cannot_install(system_bin: Path) -> None:
    result = run_script(path_without(system_bin, "jq", "sudo"), user="nobody")

    assert result.returncode == 1
    assert result.stderr == (
        "test-prerequisites: missing jq: run sudo apt-get update && sudo apt-get install -y jq\n"
    )
    assert apt_get_calls(system_bin) == []


@pytest.mark.skipif(not is_root, reason="installing is only permitted to root (or sudo)")
def test_it_installs_what_is_missing_when_permitted(system_bin: Path) -> None:
    result = run_script(path_without(system_bin, "jq"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Installing system packages: jq\n"
    assert apt_get_calls(system_bin) == ["update -qq", "install -y -qq jq"]


def test_make_test_and_ci_start_with_it() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "test"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert dry_run.stdout.splitlines()[0] == "bin/test-prerequisites"
    ci = (PROJECT_DIR / ".ci" / "run").read_text().splitlines()
    assert ci.index("bin/test-prerequisites") < ci.index("make test")
