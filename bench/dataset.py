"""Benchmark the photo pipeline against a naive Pillow loop and a pyvips pipeline, on realistic
12 MP phone photos, with the face analysis (dlib's descriptor, the one-person check) on and off.

    .venv/bin/python bench/dataset.py [--counts 20 40]

Photos: skimage's astronaut, cropped differently for each photo (distinct for the dedupe),
enlarged to 4000x3000 with sensor-like grain and a per-photo colour cast, saved as JPEG
quality 92 with an EXIF orientation tag (half of them stored sideways, as phones do). They are
cached in a temporary folder. Each run (20 photos, 40 photos) happens in a fresh child process so
that its peak RSS growth, sampled from /proc/self/status in a thread, is not flattered or spoiled
by what an earlier run left in the allocator; in that same process the pipeline runs again with
FACE_ANALYSIS_ENABLED off, then the naive loop and the pyvips pipeline run on the same photos.

The pyvips pipeline is the anchor to beat: libvips' thumbnail (shrink-on-load, EXIF rotation,
sRGB) and a stripped JPEG, in PHOTO_WORKERS threads with one libvips thread each; it checks no
face and no sharpness, so it is the cost of the pixels alone.

Targets: face analysis adds <= 150 ms of wall time per photo (on 2 cores); the pipeline with it
>= 2x the naive photos/second, without it >= 3x; peak RSS growth <= 150 MB for 20 photos and no
larger for 40; ZIP <= 25 % of the input bytes. Every ratio against pyvips is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headshots.settings")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, read before Django starts, so that `--help` does nothing else."""
    parser = argparse.ArgumentParser(
        description="Benchmark the photo pipeline, with and without face analysis, against a "
        "naive Pillow loop and a pyvips pipeline (12 MP photos)."
    )
    parser.add_argument(
        "--counts", type=int, nargs="+", default=[20, 40], metavar="N",
        help="photo set sizes to measure, each in a fresh process (default: 20 40)",
    )  # fmt: skip
    parser.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else parse_args([])

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402
from django.core.files.uploadedfile import TemporaryUploadedFile  # noqa: E402
from PIL import ExifTags, Image, ImageOps  # noqa: E402
from skimage import data  # noqa: E402

from lib import face_process, faces  # noqa: E402
from training.photos import quality  # noqa: E402
from training.photos.cleaning import clean_photo  # noqa: E402
from training.photos.photo_sets import prepare_photo_set  # noqa: E402
from training.photos.zip_writing import write_training_zip  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "headshots-bench-photos-v2"
FACE_BOX = (175, 65, 270, 165)  # where the astronaut's face is in the 512x512 original


def make_photos(count: int) -> list[Path]:
    """`count` distinct phone-like photos, made once and cached."""
    CACHE.mkdir(exist_ok=True)
    paths = [CACHE / f"phone_{n:02d}.jpg" for n in range(count)]
    if all(path.exists() for path in paths):
        return paths
    rng = np.random.default_rng(2026)
    source = Image.fromarray(data.astronaut())
    fingerprints: list[int] = []
    for path in paths:
        crop = _distinct_crop(source, rng, fingerprints)
        _phone_photo(crop, rng, sideways=len(fingerprints) % 2 == 0).save(
            path, "JPEG", quality=92, exif=_orientation(6 if len(fingerprints) % 2 == 0 else 1)
        )
    return paths


def _distinct_crop(source: Image.Image, rng: np.random.Generator, seen: list[int]) -> Image.Image:
    """A 4:3 crop around the face that the dedupe will not take for an earlier one."""
    while True:
        width = int(rng.integers(300, 512))
        height = width * 3 // 4
        x0 = int(rng.integers(max(0, FACE_BOX[2] - width), min(FACE_BOX[0], 512 - width) + 1))
        y0 = int(rng.integers(max(0, FACE_BOX[3] - height), min(FACE_BOX[1], 512 - height) + 1))
        crop = source.crop((x0, y0, x0 + width, y0 + height))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        mark = quality.fingerprint(crop)
        # Twice the dedupe's distance: grain and colour move a fingerprint by a few bits.
        far = all(quality.distance(mark, other) > 2 * quality.DUPLICATE_DISTANCE for other in seen)
        if far and quality.assess(crop).faces == 1:
            seen.append(mark)
            return crop


def _phone_photo(crop: Image.Image, rng: np.random.Generator, *, sideways: bool) -> Image.Image:
    """Enlarge to 12 MP with a colour cast and grain, so that JPEG cannot squeeze it to nothing."""
    big = np.asarray(crop.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.float32)
    big *= rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    big += rng.normal(0, 5, size=big.shape).astype(np.float32)
    image = Image.fromarray(np.clip(big, 0, 255).astype(np.uint8))
    return image.transpose(Image.Transpose.ROTATE_90) if sideways else image


def _orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = value
    exif[ExifTags.Base.Make] = "Bench Phone"
    return exif


class PeakRss:
    """Samples VmRSS every few milliseconds in a thread; `growth` is the peak over the start."""

    def __init__(self) -> None:
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _rss() -> int:
    return face_process.resident_bytes()


def run_pipeline(paths: list[Path], out: Path, *, zip_name: str) -> dict[str, float]:
    uploads = [_as_upload(path) for path in paths]
    storage = FileSystemStorage(location=out)
    face_memory = face_process.memory_bytes()
    with PeakRss() as rss:
        started, cpu = time.perf_counter(), _cpu_with_face_process()
        with prepare_photo_set(uploads) as photo_set:
            zip_bytes = write_training_zip(photo_set, storage=storage, name=zip_name)
            input_bytes = photo_set.input_bytes
        seconds, cpu = time.perf_counter() - started, _cpu_with_face_process() - cpu
    for upload in uploads:
        upload.close()
    face_rss = face_process.memory_bytes()
    return {
        "seconds": seconds, "cpu": cpu, "rss": rss.growth, "zip": zip_bytes, "input": input_bytes,
        "face_rss": face_rss, "face_growth": face_rss - face_memory,
    }  # fmt: skip


def _cpu_with_face_process() -> float:
    """This process's CPU time and its face process's (dlib runs there: lib/face_process.py)."""
    return time.process_time() + face_process.cpu_seconds()


def _as_upload(path: Path) -> TemporaryUploadedFile:
    """What Django's TemporaryFileUploadHandler hands the view: the bytes in a temp file."""
    upload = TemporaryUploadedFile(path.name, "image/jpeg", path.stat().st_size, None)
    upload.write(path.read_bytes())
    upload.flush()
    return upload


def run_naive(paths: list[Path], out: Path) -> dict[str, float]:
    """What one would write first: full decode, transpose, resize, save, one at a time."""
    side = settings.TRAINING_IMAGE_SIDE
    with PeakRss() as rss:
        started = time.perf_counter()
        for number, path in enumerate(paths):
            with Image.open(path) as opened:
                image = ImageOps.exif_transpose(opened).convert("RGB")
            scale = min(1.0, side / max(image.size))
            size = (round(image.width * scale), round(image.height * scale))
            image.resize(size, Image.Resampling.LANCZOS).save(out / f"{number}.jpg", quality=90)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss": rss.growth}


def run_pyvips(paths: list[Path], out: Path) -> dict[str, float]:
    """The anchor: what libvips does with the pixels alone, in as many threads as ours."""
    os.environ["VIPS_CONCURRENCY"] = "1"  # read when libvips starts: threads are ours
    import pyvips

    logging.getLogger("pyvips").setLevel(logging.WARNING)  # a line per thread pool otherwise

    side = settings.TRAINING_IMAGE_SIDE

    def one(job: tuple[int, Path]) -> None:
        number, path = job
        image = pyvips.Image.thumbnail(str(path), side, size="down", export_profile="srgb")
        image.jpegsave(str(out / f"{number}.jpg"), Q=90, keep="none")

    one((-1, paths[0]))  # loading libvips and its modules: not measured
    with PeakRss() as rss:
        started = time.perf_counter()
        with ThreadPoolExecutor(settings.PHOTO_WORKERS) as pool:
            list(pool.map(one, enumerate(paths)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss": rss.growth}


def child(count: int) -> None:
    """One measured run in this fresh process; prints JSON for the parent."""
    paths = make_photos(count)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    settings.PHOTOS_MAX = count  # the product caps an order at 20; the bench looks beyond
    settings.PHOTOS_TOTAL_MAX_MB = settings.MAX_ZIP_MB = 10_000
    settings.FILE_UPLOAD_TEMP_DIR = str(work / "tmp")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir()
    clean_photo(paths[0], name="warm-up.jpg", out_dir=work)  # imports, dlib's models: not measured
    faces.forget_answers()  # the warm-up photo is measured again below: described afresh
    for folder in ("naive", "pyvips"):
        (work / folder).mkdir()
    try:
        result = {"pipeline": run_pipeline(paths, work, zip_name="faces.zip")}
        settings.FACE_ANALYSIS_ENABLED = False
        result["no_faces"] = run_pipeline(paths, work, zip_name="no-faces.zip")
        result["naive"] = run_naive(paths, work / "naive")
        result["pyvips"] = run_pyvips(paths, work / "pyvips")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


def main(counts: list[int]) -> None:
    print("Making the phone photos (cached in", CACHE, ")...", flush=True)
    make_photos(max(counts))
    for count in counts:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(count)],
            capture_output=True, text=True, check=True, cwd=PROJECT_DIR,
        )  # fmt: skip
        report(count, json.loads(output.stdout.strip().splitlines()[-1]))


def report(count: int, result: dict[str, dict[str, float]]) -> None:
    """The figures of one run, each ratio beside its target."""
    mb = 1024 * 1024
    pipe = result["pipeline"]
    speed = {name: count / run["seconds"] for name, run in result.items()}
    likeness_ms = 1000 * (pipe["seconds"] - result["no_faces"]["seconds"]) / count
    # CPU time does not depend on what else the machine runs, as wall time does.
    likeness_cpu_ms = 1000 * (pipe["cpu"] - result["no_faces"]["cpu"]) / count
    print(
        f"{count} photos ({pipe['input'] / mb:.0f} MB in), photos/s: pipeline "
        f"{speed['pipeline']:.1f}, without face analysis {speed['no_faces']:.1f}, "
        f"naive {speed['naive']:.1f}, pyvips {speed['pyvips']:.1f}\n"
        f"  face analysis adds {likeness_ms:.0f} ms of wall time per photo (target <= 150), "
        f"{likeness_cpu_ms:.0f} ms of CPU time; load average now {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores\n"
        f"  against naive: pipeline {speed['pipeline'] / speed['naive']:.2f}x (target >= 2), "
        f"without face analysis {speed['no_faces'] / speed['naive']:.2f}x (target >= 3)\n"
        f"  against pyvips: pipeline {speed['pipeline'] / speed['pyvips']:.2f}x, without face "
        f"analysis {speed['no_faces'] / speed['pyvips']:.2f}x, naive "
        f"{speed['naive'] / speed['pyvips']:.2f}x\n"
        f"  peak RSS growth: pipeline {pipe['rss'] / mb:.0f} MB (target <= 150), without face "
        f"analysis {result['no_faces']['rss'] / mb:.0f} MB, naive "
        f"{result['naive']['rss'] / mb:.0f} MB, pyvips {result['pyvips']['rss'] / mb:.0f} MB; "
        f"the face process holds {pipe['face_rss'] / mb:.0f} MB (dlib's models, loaded before "
        f"the run; {pipe['face_growth'] / mb:+.0f} MB during it)\n"
        f"  ZIP {pipe['zip'] / mb:.1f} MB = {100 * pipe['zip'] / pipe['input']:.1f} % of the "
        f"input (target <= 25 %)"
    )


if __name__ == "__main__":
    if ARGS.child is not None:
        child(ARGS.child)
    else:
        main(ARGS.counts)
