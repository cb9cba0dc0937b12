"""Which rules run: `--select`/`--ignore`, or `[tool.dslc.lint]` in the nearest pyproject.toml, or `[lint]` in the
nearest dslc.toml, walking up from the spec's folder.

A selector is a code or a prefix of codes (`W`, `W1`, `W105`), as in ruff. A rule runs when the longest selector
that matches its code is selected (with equal length, ignoring wins): `--select W1 --ignore W104` runs W101-W109
but W104. The default selects every rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dslc.spec.errors import DslcError, Span

ALL = ("W",)
CONFIG_FILES = (("dslc.toml", ("lint",)), ("pyproject.toml", ("tool", "dslc", "lint")))


@dataclass(frozen=True)
class LintConfig:
    select: tuple[str, ...] = ALL
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        chosen = [(len(s), 1, s) for s in self.select if code.startswith(s)]
        chosen += [(len(s), 2, s) for s in self.ignore if code.startswith(s)]
        return bool(chosen) and max(chosen)[1] == 1

    def overridden(self, select: Iterable[str] | None, ignore: Iterable[str]) -> LintConfig:
        """The command line's choices over this one: `--select` replaces the selection, `--ignore` adds to it."""
        return LintConfig(tuple(select) if select is not None else self.select, (*self.ignore, *ignore))


def unknown_selectors(selectors: Iterable[str], codes: Iterable[str]) -> list[str]:
    known = list(codes)
    return [s for s in selectors if not any(code.startswith(s) for code in known)]


def split_selectors(text: str) -> list[str]:
    """`W1,W105` -> ["W1", "W105"] (the command line's comma lists)."""
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def find_config(folder: Path, codes: Iterable[str]) -> LintConfig:
    """The lint configuration that applies in `folder`: the nearest file that has a lint table (dslc.toml before
    pyproject.toml in one folder). Raises `DslcError` (E205) for a file that is not TOML or a table that is wrong."""
    for directory in (folder.resolve(), *folder.resolve().parents):
        for name, keys in CONFIG_FILES:
            path = directory / name
            if path.is_file():
                table = _table(path, keys)
                if table is not None:
                    return _config(path, table, list(codes))
    return LintConfig()


def _table(path: Path, keys: tuple[str, ...]) -> dict[str, object] | None:
    import tomllib  # here: most specs have no configuration file above them

    try:
        data: object = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DslcError("E205", f"cannot read the lint configuration: {exc}", Span(str(path), 1, 1)) from None
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    if not isinstance(data, dict):
        raise _wrong(path, f"[{'.'.join(keys)}] must be a table")
    return data


def _config(path: Path, table: dict[str, object], codes: list[str]) -> LintConfig:
    unknown_keys = sorted(set(table) - {"select", "ignore"})
    if unknown_keys:
        raise _wrong(path, f"unknown lint setting '{unknown_keys[0]}' (valid: select, ignore)")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("select", "ignore"):
        value = table.get(key, list(ALL) if key == "select" else [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _wrong(path, f"lint setting '{key}' must be a list of rule codes, e.g. [\"W1\", \"W105\"]")
        lists[key] = tuple(item.upper() for item in value)
        unknown = unknown_selectors(lists[key], codes)
        if unknown:
            raise _wrong(path, f"lint setting '{key}': '{unknown[0]}' selects no rule (rules: {', '.join(codes)})")
    return LintConfig(lists["select"], lists["ignore"])


def _wrong(path: Path, message: str) -> DslcError:
    return DslcError("E205", f"{path.name}: {message}", Span(str(path), 1, 1))
