"""`make run` and its Ctrl-C: everything it started stops, and the port is free for the next run.

A real `make run` in its own process group, as a terminal runs it, on free ports with its own
SQLite database and media folder; Ctrl-C is SIGINT to that group, pressed twice, as an impatient
person does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, free_port

STARTUP_SECONDS = 180
STOP_SECONDS = 30


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def process_stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, process group, state) of a live process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (command name)"
    state, parent, group = fields[0], int(fields[1]), int(fields[2])
    return None if state in ("Z", "X") else (parent, group, state)


def running_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def descendants(root: int) -> set[int]:
    """Every live process below `root`, following parent links through /proc."""
    parents = {pid: stat[0] for pid in running_pids() if (stat := process_stat(pid))}
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


@dataclass
class MakeRun:
    """A running `make run`, its web port, and every process of it seen so far."""

    process: subprocess.Popen[bytes]
    port: int
    seen: set[int] = field(default_factory=set)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    """`make run` on a free port, its own database and media; whatever it leaves is killed after."""
    (tmp_path / "uploads").mkdir()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MAKE", "MFLAGS"))}
    ours = ("REPLICATE_", "STRIPE_", "CREDIT_PACKS", "TRAINING_CREDIT_COST", "SITE_URL")
    environment = {
        **{k: v for k, v in keep.items() if not k.startswith(ours)},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "FILE_UPLOAD_TEMP_DIR": str(tmp_path / "uploads"),
        "TASKS_BACKEND": "database",
        "REPLICATE_EMULATOR_PORT": str(free_port()),
        "STRIPE_EMULATOR_PORT": str(free_port()),
        "CACHE_URL": "",
        "REDIS_URL": "",
    }
    port = free_port()
    with (tmp_path / "make-run.log").open("wb") as log:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a job in a terminal
        )
    run = MakeRun(process, port, {process.pid})
    try:
        yield run
    finally:
        for pid in in_groups(run.seen | descendants(process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def test_it_stops_everything_and_frees_the_port_on_ctrl_c_pressed_twice(make_run: MakeRun) -> None:
    wait_until_serving(make_run)

    os.killpg(make_run.process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    time.sleep(0.3)  # a person's second Ctrl-C, a moment after the first
    os.killpg(make_run.process.pid, signal.SIGINT)
    make_run.process.wait(timeout=STOP_SECONDS)

    assert_all_stopped(make_run)


def test_it_stops_everything_and_frees_the_port_when_make_is_terminated(make_run: MakeRun) -> None:
    wait_until_serving(make_run)

    os.kill(make_run.process.pid, signal.SIGTERM)  # `kill`, or an editor's stop button: make alone
    make_run.process.wait(timeout=STOP_SECONDS)

    assert_all_stopped(make_run)


def wait_until_serving(run: MakeRun) -> None:
    """Wait until the web server answers; note the processes `make run` started by then."""
    wait_until(
        lambda: answers(run.port) or run.process.poll() is not None,
        seconds=STARTUP_SECONDS,
        what="make run answers",
    )
    assert answers(run.port), "make run stopped before its web server answered"
    run.seen |= descendants(run.process.pid)
    assert len(run.seen) >= 5  # make, run_local, runserver and its server, worker, emulator


def assert_all_stopped(run: MakeRun) -> None:
    assert not answers(run.port), f"port {run.port} still answers after make run stopped"
    left = {pid: stat for pid in run.seen if (stat := process_stat(pid))}
    assert left == {}, f"still running after make run stopped: {left}"
    assert in_groups(run.seen) == set()


def in_groups(groups: set[int]) -> set[int]:
    """The live processes whose process group is one of `groups`."""
    return {pid for pid in running_pids() if (stat := process_stat(pid)) and stat[1] in groups}
