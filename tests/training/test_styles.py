"""The style catalogue: every style complete in both languages and both subjects, the settings
that choose an order's styles, and docs/prompts.md listing exactly the catalogue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core import checks
from django.utils import translation

from headshots.checks import check_order_styles
from training.styles import STYLES, order_styles, style_named, style_title

PROJECT_DIR = Path(__file__).resolve().parents[2]
PREDICTION_INPUTS = {"guidance_scale": (0, 10), "num_inference_steps": (1, 50)}


def test_it_offers_at_least_ten_styles_with_unique_short_slugs() -> None:
    slugs = [style.slug for style in STYLES]

    assert len(STYLES) >= 10
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9-]{1,32}", slug) for slug in slugs)


def test_it_names_every_style_in_spanish_and_english() -> None:
    with translation.override("en"):
        english = [str(style.name) for style in STYLES]
    with translation.override("es"):
        spanish = [str(style.name) for style in STYLES]

    assert all(english)
    assert len(set(english)) == len(STYLES)
    changed = [en for en, es in zip(english, spanish, strict=True) if en != es]
    assert changed == english, "every name needs its Spanish translation"
    with translation.override("es"):
        assert str(style_named("grey-studio").name) == "Estudio gris"  # type: ignore[union-attr]


def test_it_builds_each_prompt_in_the_specs_form_for_both_subjects() -> None:
    for style in STYLES:
        for subject in ("man", "woman"):
            prompt = style.prompt(subject)
            assert prompt.startswith(f"portrait of ohwx {subject}, "), prompt
            for part in (style.wardrobe[subject], style.scene, style.light, style.camera):
                assert part in prompt
        assert style.prompt("man") != style.prompt("woman")


def test_it_gives_each_style_its_own_prompt() -> None:
    prompts = [style.prompt("woman") for style in STYLES]

    # Ambiguous creates are settled by looking a prediction up by its prompt: never two alike.
    assert len(set(prompts)) == len(prompts)


def test_it_keeps_each_styles_own_inputs_in_replicates_ranges() -> None:
    for style in STYLES:
        for name, value in style.inputs.items():
            low, high = PREDICTION_INPUTS[name]
            assert isinstance(value, int | float), (style.slug, name)
            assert low <= value <= high, (style.slug, name)


def test_it_gives_a_default_order_at_least_forty_headshots(settings: Any) -> None:
    settings.ORDER_STYLES = []  # unset: every style of the package
    settings.HEADSHOTS_PER_STYLE = 4  # the default

    assert len(order_styles("professional")) * settings.HEADSHOTS_PER_STYLE >= 40


def test_it_narrows_an_order_to_the_configured_styles_in_catalogue_order(settings: Any) -> None:
    settings.ORDER_STYLES = ["library", "grey-studio"]

    assert [style.slug for style in order_styles("professional")] == ["grey-studio", "library"]


def test_it_refuses_to_start_with_a_style_that_does_not_exist(settings: Any) -> None:
    settings.ORDER_STYLES = ["grey-studio", "gray-studio"]

    errors = check_order_styles()

    assert [error.id for error in errors] == ["headshots.E002"]
    assert errors[0].level == checks.ERROR
    assert "gray-studio" in errors[0].msg


def test_it_accepts_the_catalogues_styles(settings: Any) -> None:
    settings.ORDER_STYLES = [style.slug for style in STYLES]

    assert check_order_styles() == []


def test_it_names_the_group_of_an_order_made_before_styles() -> None:
    with translation.override("es"):
        assert str(style_title("")) == "Retratos"
        assert str(style_title("dark-studio")) == "Estudio oscuro (clave baja)"


def test_it_lists_every_style_and_both_prompts_in_the_docs() -> None:
    doc = (PROJECT_DIR / "docs" / "prompts.md").read_text()
    flat = " ".join(doc.split())  # the doc wraps long prompts

    for style in STYLES:
        with translation.override("en"):
            assert f"`{style.slug}`" in doc
            assert str(style.name) in doc, style.slug
        with translation.override("es"):
            assert str(style.name) in doc, style.slug
        for subject in ("man", "woman"):
            assert style.prompt(subject) in flat, (style.slug, subject)
