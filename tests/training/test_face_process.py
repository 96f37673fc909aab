"""dlib in its own process (lib/face_process.py): the same faces and descriptors as in the
calling thread, and a face process that dies is replaced without the upload noticing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings

from lib import face_process, faces
from tests.conftest import wait_for

from .conftest import face_image, small_face_image, two_people_image


def test_the_face_process_finds_the_same_faces_as_the_calling_thread(settings: Any) -> None:
    photos = [face_image(1), two_people_image(), small_face_image()]
    settings.FACE_PROCESS = True
    faces.forget_answers()  # both passes do the work, none recalls the other's answers
    there = [faces.find_faces(photo) for photo in photos]
    settings.FACE_PROCESS = False
    faces.forget_answers()
    here = [faces.find_faces(photo) for photo in photos]

    assert [len(found) for found in there] == [1, 2, 1]
    for found_there, found_here in zip(there, here, strict=True):
        assert [face.box for face in found_there] == [face.box for face in found_here]
        for face_there, face_here in zip(found_there, found_here, strict=True):
            assert face_there.descriptor is not None
            assert face_here.descriptor is not None
            assert faces.distance(face_there.descriptor, face_here.descriptor) < 1e-6


def test_a_face_process_that_dies_is_replaced(settings: Any) -> None:
    settings.FACE_PROCESS = True
    before = faces.find_faces(face_image(0))
    child = face_process.run(os.getpid)
    assert child != os.getpid()
    os.kill(child, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    faces.forget_answers()  # the photo is described again, by the new process

    after = faces.find_faces(face_image(0))

    assert face_process.run(os.getpid) not in (child, os.getpid())
    assert [face.box for face in after] == [face.box for face in before]


def test_the_face_process_ends_when_its_parent_is_killed(tmp_path: Any) -> None:
    """A worker killed outright (the out-of-memory killer) leaves no face process behind."""
    script = (
        "import os, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'headshots.settings')\n"
        "django.setup()\n"
        "from lib import face_process\n"
        "if __name__ == '__main__':\n"
        "    print(face_process.run(os.getpid), flush=True)\n"
        "    import time; time.sleep(60)\n"
    )
    (tmp_path / "parent.py").write_text(script)
    parent = subprocess.Popen(
        [sys.executable, str(tmp_path / "parent.py")],
        stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert child_alive(child)

    parent.kill()
    parent.wait()

    wait_for(lambda: not child_alive(child), timeout=10)


def child_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "State:\tZ" not in status.read()
    except FileNotFoundError:
        return False
