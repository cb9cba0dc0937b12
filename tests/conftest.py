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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Equivalence tests against reference implementations (`@pytest.mark.reference`) run on demand only.

    They need PyTorch and transformers, which dslc never imports: `pip install torch==2.13.0 -e '.[reference]'`,
    then `python -m pytest -m reference`.
    """
    expression = config.getoption("markexpr") or ""
    if "reference" in expression and "not reference" not in expression:
        return
    skip = pytest.mark.skip(reason="on demand: python -m pytest -m reference (needs the [reference] extra)")
    for item in items:
        if "reference" in item.keywords:
            item.add_marker(skip)
