"""What each emulated output shows: the trained person, a stranger, or nobody, on the backdrop.

The training keeps the person's face crops for the version it pushes; a prediction of that
version paints them. Which outputs go wrong is decided by a counter over all portraits the
emulator makes (`EmulatorConfig.wrong_face_share`, exactly that share, spread evenly), and
recorded per prediction in the state, so a test can ask which headshots should pass the
likeness gate. Only the decision runs under the state's lock; drawing and encoding do not.
"""

from __future__ import annotations

import logging

from replicate_emulator import backdrops, face_crops, images
from replicate_emulator.face_crops import FaceCrop
from replicate_emulator.store import EmulatorState, JobRecord

logger = logging.getLogger(__name__)


def training_crops(blob: bytes) -> list[FaceCrop]:
    """The person's face crops from a training ZIP; none (outputs fall back to the gradient)
    when no face is found or the face models cannot be loaded."""
    try:
        return face_crops.crops_from_zip(blob)
    except Exception:  # a training must end either way; the gradient will do
        logger.warning("emulator: no face crops from the training ZIP", exc_info=True)
        return []


def draw_output(
    state: EmulatorState, job: JobRecord, *, index: int, size: tuple[int, int]
) -> bytes:
    """The encoded image of output `index` of a prediction, its choice recorded in the state."""
    data = job.input
    prompt = str(data.get("prompt", ""))
    output_format = str(data.get("output_format", "webp"))
    quality = int(data.get("output_quality", 80))
    with state.lock:
        crops = state.faces.get(job.version)
        record = state.portraits.setdefault(
            job.id, {"backdrop": backdrops.backdrop_for(prompt), "faces": []}
        )
        serial = state.next_portrait() if crops else 0
        kind = face_crops.choose(serial, state.config.wrong_face_share) if crops else "gradient"
    face = _face(kind, crops, serial=serial, index=index)
    if kind == "other" and face is None:
        kind = "none"  # no scikit-image here: nobody instead of a stranger
    with state.lock:
        record["faces"].append(kind)
    if not crops:
        return images.make_image(prompt=prompt, index=index, size=size, output_format=output_format)
    return images.make_portrait(
        prompt=prompt,
        index=index,
        size=size,
        output_format=output_format,
        quality=quality,
        face=face,
        stranger=kind == "other",
    )


def _face(kind: str, crops: list[FaceCrop] | None, *, serial: int, index: int) -> FaceCrop | None:
    if kind == "own" and crops:
        crop = crops[index % len(crops)]
        return crop.mirrored if (index // len(crops)) % 2 else crop
    if kind == "other":
        return face_crops.stranger(serial)
    return None
