"""The inputs the trainer and its trained models accept, checked as Replicate checks them.

Replicate validates `input` against the version's published schema before running anything and
answers 422 with every problem, worded as its JSON Schema validator words them (one `- field:
description` line each in `detail`, and the same in `invalid_fields`). The schemas here copy
shared/replicate/trainer-inputs.md (from replicate/flux-fine-tuner's `train.py` and
`predict.py`): names, types, ranges and choices, the required inputs, and no unknown names, so a
renamed or mistyped input fails in the emulator as it would against the real trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from replicate_emulator.http import Problem


@dataclass(frozen=True)
class Field:
    """One input: its JSON type, and its range or choices when the model publishes them."""

    kind: str  # "string", "integer", "number", "boolean" or "uri"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False


TEXT, FLAG, NUMBER, WHOLE = Field("string"), Field("boolean"), Field("number"), Field("integer")
SCALE = Field("number", -1, 2)
OPTIMIZERS = ("prodigy", "adam8bit", "adamw8bit", "lion8bit", "adam", "adamw", "lion",
              "adagrad", "adafactor")  # fmt: skip
# Uploads and logging elsewhere: accepted by the trainer, never sent by us.
ELSEWHERE = ("hf_repo_id", "hf_token", "wandb_api_key", "wandb_project", "wandb_run",
             "wandb_entity", "wandb_sample_prompts")  # fmt: skip

TRAINING_INPUTS: dict[str, Field] = {
    "input_images": Field("uri", required=True),
    "trigger_word": TEXT,
    "autocaption": FLAG,
    "autocaption_prefix": TEXT,
    "autocaption_suffix": TEXT,
    "steps": Field("integer", 3, 6000),
    "learning_rate": NUMBER,
    "batch_size": WHOLE,
    "resolution": TEXT,
    "lora_rank": Field("integer", 1, 128),
    "caption_dropout_rate": Field("number", 0, 1),
    "optimizer": Field("string", choices=OPTIMIZERS),
    "cache_latents_to_disk": FLAG,
    "layers_to_optimize_regex": TEXT,
    "gradient_checkpointing": FLAG,
    **dict.fromkeys(ELSEWHERE, TEXT),
    "wandb_sample_interval": WHOLE,
    "wandb_save_interval": WHOLE,
}

ASPECT_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
PREDICTION_INPUTS: dict[str, Field] = {
    "prompt": Field("string", required=True),
    "aspect_ratio": Field("string", choices=(*ASPECT_RATIOS, "custom")),
    "width": Field("integer", 256, 1440),
    "height": Field("integer", 256, 1440),
    "num_outputs": Field("integer", 1, 4),
    "lora_scale": SCALE,
    "num_inference_steps": Field("integer", 1, 50),
    "model": Field("string", choices=("dev", "schnell")),
    "guidance_scale": Field("number", 0, 10),
    "seed": WHOLE,
    "extra_lora": TEXT,
    "extra_lora_scale": SCALE,
    "output_format": Field("string", choices=("webp", "jpg", "png")),
    "output_quality": Field("integer", 0, 100),
    "disable_safety_checker": FLAG,
    "image": Field("uri"),
    "mask": Field("uri"),
    "prompt_strength": Field("number", 0, 1),
    # In the fine-tuner's newer predict.py (the tests ask for small, fast images with them).
    "megapixels": Field("string", choices=("1", "0.25")),
    "go_fast": FLAG,
}


def check_input(data: dict[str, Any], schema: dict[str, Field]) -> None:
    """Raise Replicate's 422 listing every problem of `data`, or return when there is none."""
    problems = [
        ("input", "required", f"{name} is required")
        for name, field in schema.items()
        if field.required and name not in data
    ]
    for name, value in data.items():
        field = schema.get(name)
        if field is None:
            problems.append(
                ("input", "additional_property_not_allowed",
                 f"Additional property {name} is not allowed")
            )  # fmt: skip
        else:
            problems += [(f"input.{name}", *found) for found in value_problems(field, value)]
    if problems:
        raise Problem(
            422,
            "Input validation failed",
            "".join(f"- {where}: {description}\n" for where, _, description in problems),
            invalid_fields=[
                {"type": kind, "field": where, "description": description}
                for where, kind, description in problems
            ],
        )


def value_problems(field: Field, value: Any) -> list[tuple[str, str]]:
    """(type, description) of what is wrong with one value: its type, else its range or choice."""
    given = json_type(value)
    expected = "string" if field.kind == "uri" else field.kind
    if not (given == expected or (expected == "number" and given == "integer")):
        return [("invalid_type", f"Invalid type. Expected: {expected}, given: {given}")]
    if field.kind == "uri" and not value.startswith(("https://", "http://", "data:")):
        return [("format", "Does not match format 'uri'")]
    if field.choices and value not in field.choices:
        allowed = ", ".join(f'"{choice}"' for choice in field.choices)
        return [("enum", f"must be one of the following: {allowed}")]
    if field.minimum is not None and value < field.minimum:
        return [("number_gte", f"Must be greater than or equal to {field.minimum:g}")]
    if field.maximum is not None and value > field.maximum:
        return [("number_lte", f"Must be less than or equal to {field.maximum:g}")]
    return []


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value (4.0 counts as an integer, as there)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return {dict: "object", list: "array", type(None): "null"}.get(type(value), "unknown")
