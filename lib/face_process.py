"""dlib's work done in a process of its own, beside the photo threads instead of stopping them.

dlib's Python calls hold the GIL for their whole length: a thread spinning beside a descriptor
(about 90 ms) ran at 9 % of its speed. Called from the photo threads, each face therefore
halted the other threads' Python for that long, and the face check could not run beside the
other checks. So each app process hands its descriptors to one child process that loads dlib's
models once; the calling thread waits on a pipe, which frees the GIL for the others. (Detection,
about 18 ms, stays in the calling process: see lib/faces.py.)

The child is started (spawned, never forked from a threaded process) at the first face, and is
replaced when it dies. As with any spawned process, a script that finds faces needs the usual
`if __name__ == "__main__":` guard (manage.py, gunicorn, pytest and bench/ have it).
`FACE_PROCESS=false` keeps the work in the calling thread.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

PARENT_CHECK_SECONDS = 0.5

_pool: ProcessPoolExecutor | None = None
_starting = threading.Lock()


def run[Result](function: Callable[..., Result], *args: object) -> Result:
    """`function(*args)` in the face process (a module-level function; arguments and result
    travel pickled), or here when the face process is turned off."""
    if not settings.FACE_PROCESS:
        return function(*args)
    try:
        return _face_pool().submit(function, *args).result()
    except BrokenProcessPool:  # the child died (killed, out of memory): one more, once
        _forget_pool()
        return _face_pool().submit(function, *args).result()


def _face_pool() -> ProcessPoolExecutor:
    global _pool
    with _starting:
        if _pool is None:
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def _forget_pool() -> None:
    global _pool
    with _starting:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _follow_parent(parent: int) -> None:
    """In the child: end when the parent does. A parent killed outright (SIGKILL, the
    out-of-memory killer) never closes the child's pipe, which would then wait for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def cpu_seconds() -> float:
    """The CPU time the face process has used so far (0 when it is off or not started): for
    benchmarks, which would otherwise see only the calling process's share."""
    if not settings.FACE_PROCESS or _pool is None:
        return 0.0
    return run(time.process_time)


def memory_bytes() -> int:
    """The face process's resident memory (0 when it is off or not started)."""
    if not settings.FACE_PROCESS or _pool is None:
        return 0
    return run(resident_bytes)


def resident_bytes() -> int:
    """This process's resident memory (Linux), read from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
