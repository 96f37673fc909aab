"""Prompt templates per package: the spec's prompts, with the trigger word and the subject type.

The trained LoRA knows the person as the trigger word `ohwx`; the subject type (`man` or
`woman`) follows it, so a prompt reads "portrait of ohwx woman ...". Add a package's prompts
here under its slug; docs/prompts.md explains the choices.
"""

from __future__ import annotations

TRIGGER_WORD = "ohwx"

PROMPTS: dict[str, tuple[str, ...]] = {
    "professional": (
        "portrait of {trigger} {subject} wearing a business suit, professional photo, white "
        "background, Amazing Details, Best Quality, Masterpiece, dramatic lighting highly "
        "detailed, analog photo, overglaze, 80mm Sigma f/1.4 or any ZEISS lens",
        "portrait of {trigger} {subject}, 8k close up linkedin profile picture, professional "
        "jack suite, professional headshots, photo-realistic, 4k, high-resolution image, "
        "workplace settings, upper body, modern outfit, professional suit, business, blurred "
        "background, glass building, office window",
    ),
}


def prompts_for(*, package: str, subject_type: str) -> list[str]:
    """The package's prompts for this subject (`man` or `woman`), ready to send."""
    if subject_type not in ("man", "woman"):
        raise ValueError(f"subject type must be man or woman, not {subject_type!r}")
    return [
        template.format(trigger=TRIGGER_WORD, subject=subject_type) for template in PROMPTS[package]
    ]
