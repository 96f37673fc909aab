"""Pillow is set up for untrusted photos when the app starts and OpenCV when a photo first needs
it, never when some module happens to be imported: a process that runs the app always has the
limits, and importing the photo code alone changes nothing process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import PROJECT_DIR, run_manage
from training.photos.pixels import MAX_PIXELS

READ_LIBRARIES = """
import json, warnings, cv2
from PIL import Image, ImageFile
def libraries():
    bomb_is_error = any(
        action == "error" and category is Image.DecompressionBombWarning
        for action, _, category, _, _ in warnings.filters
    )
    return {
        "max_pixels": Image.MAX_IMAGE_PIXELS,
        "bomb_warning_is_error": bomb_is_error,
        "load_truncated": ImageFile.LOAD_TRUNCATED_IMAGES,
        "heic": ".heic" in Image.registered_extensions(),
        "cv2_threads": cv2.getNumThreads(),
    }
"""


def test_it_sets_the_image_limits_in_a_running_app() -> None:
    """Pillow's limits from the start; OpenCV's threads once a photo first needs OpenCV (it is
    imported then: most processes never need it)."""
    code = READ_LIBRARIES + (
        "from training.photos.pixels import opencv\nopencv()\nprint(json.dumps(libraries()))"
    )

    result = run_manage("shell", "-c", code, env={"PHOTO_WORKERS": "2"})

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["max_pixels"] == MAX_PIXELS
    assert seen["bomb_warning_is_error"] is True
    assert seen["load_truncated"] is False
    assert seen["heic"] is True
    assert seen["cv2_threads"] == max(1, (os.process_cpu_count() or 1) // 2)


def test_it_changes_nothing_process_wide_when_the_photo_code_is_imported() -> None:
    code = READ_LIBRARIES + (
        "from django.conf import settings\n"
        "settings.INSTALLED_APPS  # settings loaded, apps not started\n"
        "before = libraries()\n"
        "import training.photos.photo_sets, training.photos.pixels\n"
        "print(json.dumps(before == libraries()))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment["DJANGO_SETTINGS_MODULE"] = "headshots.settings"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "true"
