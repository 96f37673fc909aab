"""The Spanish catalogue is whole: every sentence translated (no fuzzy guess, which is never
compiled), each once, with every plural form Spanish has (a missing form shows the English
plural to a Spanish reader) and the same placeholders as the English."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings

SPANISH = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


@pytest.fixture(scope="module")
def catalogue() -> polib.POFile:
    return polib.pofile(str(SPANISH))


def live(catalogue: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in catalogue if not entry.obsolete]


def test_every_sentence_is_translated(catalogue: polib.POFile) -> None:
    missing = [
        entry.msgid
        for entry in live(catalogue)
        if "fuzzy" in entry.flags
        or (not entry.msgid_plural and not entry.msgstr)
        or (entry.msgid_plural and not all(entry.msgstr_plural.values()))
    ]
    assert missing == []


def test_every_sentence_is_there_once(catalogue: polib.POFile) -> None:
    counts = Counter((entry.msgctxt, entry.msgid) for entry in live(catalogue))
    assert [key for key, count in counts.items() if count > 1] == []


def test_every_plural_has_every_spanish_form(catalogue: polib.POFile) -> None:
    found = re.search(r"nplurals=(\d+)", catalogue.metadata["Plural-Forms"])
    assert found
    forms = int(found.group(1))
    short = [
        entry.msgid
        for entry in live(catalogue)
        if entry.msgid_plural and sorted(entry.msgstr_plural) != list(range(forms))
    ]
    assert short == []


def test_translations_keep_the_placeholders(catalogue: polib.POFile) -> None:
    def names(text: str) -> set[str]:
        return {first or second for first, second in PLACEHOLDER.findall(text)}

    wrong = []
    for entry in live(catalogue):
        english = names(entry.msgid) | names(entry.msgid_plural or "")
        spanish = [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values()
        wrong += [entry.msgid for text in spanish if names(text) - english]
    assert wrong == []
