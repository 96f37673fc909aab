"""Every environment variable the settings read is documented in .env.example and the README."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_DIR

READ_CALL = re.compile(r'read_\w+\(\s*"([A-Z][A-Z0-9_]+)"')


def variables_read_by_settings() -> set[str]:
    return set(READ_CALL.findall((PROJECT_DIR / "headshots" / "settings.py").read_text()))


def test_it_finds_the_variables_it_checks() -> None:
    assert {"SECRET_KEY", "DATABASE_URL", "TASKS_BACKEND"} <= variables_read_by_settings()


def test_it_lists_every_variable_in_the_env_example() -> None:
    listed = set(
        re.findall(r"^([A-Z][A-Z0-9_]+)=", (PROJECT_DIR / ".env.example").read_text(), re.M)
    )

    assert variables_read_by_settings() - listed == set()


def test_it_lists_every_variable_in_the_readme() -> None:
    first_cells = re.findall(r"^\| ([^|]+) \|", (PROJECT_DIR / "README.md").read_text(), re.M)
    table = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}

    assert variables_read_by_settings() - table == set()
