"""Fixtures of the privacy tests, shared with the training tests: the photo folder, and Dora
(committed, with the credit an order costs)."""

from __future__ import annotations

from tests.training.conftest import dora, photo_temp_dir

__all__ = ["dora", "photo_temp_dir"]
