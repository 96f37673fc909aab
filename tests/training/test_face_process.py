"""dlib in its own process (lib/face_process.py): the same faces and descriptors as in the
calling thread, and a face process that dies is replaced without the upload noticing."""

from __future__ import annotations

import os
import signal
from typing import Any

from lib import face_process, faces

from .conftest import face_image, small_face_image, two_people_image


def test_the_face_process_finds_the_same_faces_as_the_calling_thread(settings: Any) -> None:
    photos = [face_image(1), two_people_image(), small_face_image()]
    settings.FACE_PROCESS = True
    there = [faces.find_faces(photo) for photo in photos]
    settings.FACE_PROCESS = False
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

    after = faces.find_faces(face_image(0))

    assert face_process.run(os.getpid) not in (child, os.getpid())
    assert [face.box for face in after] == [face.box for face in before]
