"""How a prompt is built: trigger word, subject, then the style's parts, in the spec's order.

The trained LoRA knows the person as the trigger word `ohwx`; the subject type (`man` or
`woman`) follows it, so every prompt reads "portrait of ohwx woman, ..." and the person comes
first, where FLUX LoRAs weigh words most. The styles themselves (what follows) are the
catalogue in `styles.py`; docs/prompts.md explains the choices.
"""

from __future__ import annotations

TRIGGER_WORD = "ohwx"
SUBJECT_TYPES = ("man", "woman")


def build_prompt(*, subject_type: str, parts: tuple[str, ...]) -> str:
    """ "portrait of ohwx <subject>, <part>, <part>, ...": the form every prediction is sent."""
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"subject type must be man or woman, not {subject_type!r}")
    return ", ".join((f"portrait of {TRIGGER_WORD} {subject_type}", *parts))
