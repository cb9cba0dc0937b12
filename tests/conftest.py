"""Shared test fixtures: paths of the examples and helpers to load text."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True, scope="session")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One persistent XLA cache for the whole session (`dslc train` subprocesses inherit it), never ~/.cache."""
    import os

    folder = tmp_path_factory.mktemp("xla-cache")
    os.environ["DSLC_COMPILE_CACHE"] = str(folder)
    return folder
