"""The suite's schedule (tests/conftest.py: LONGEST_FIRST): every file it names exists, and they come first."""

from __future__ import annotations

from pathlib import Path

import pytest


def _longest_first(config: pytest.Config) -> tuple[str, ...]:
    found = [plugin.LONGEST_FIRST for plugin in config.pluginmanager.get_plugins() if hasattr(plugin, "LONGEST_FIRST")]
    assert len(found) == 1
    return found[0]


def test_every_longest_file_exists(request: pytest.FixtureRequest, root: Path) -> None:
    listed = _longest_first(request.config)
    assert len(set(listed)) == len(listed)
    assert [path for path in listed if not (root / path).is_file()] == []


def test_the_longest_files_are_collected_first(request: pytest.FixtureRequest) -> None:
    listed = _longest_first(request.config)
    files = list(dict.fromkeys(item.nodeid.partition("::")[0] for item in request.session.items))
    ranked = [path for path in files if path in listed]
    assert ranked == [path for path in listed if path in files]  # in the listed order
    assert files[:len(ranked)] == ranked  # and before every other file
