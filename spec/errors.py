"""Located errors: one exception type for every stage, rendered like a compiler.

Every problem dslc finds in a spec becomes a `DslcError` that carries a stable
code, a `Span` into the source text, an optional hint and related locations.
`DslcErrors` collects all errors of one file so they are reported in one run.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

MAX_SHOWN_VALUE = 60
Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns are 1-based."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:  # file names come from the command line, or a pull request: escape them too
        return f"{printable(self.file)}:{self.line}:{self.col}"


@dataclass(frozen=True)
class DslcError(Exception):
    """One finding: `file:line:col: error[CODE]: message` (`warning[CODE]` for a lint rule's finding)."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    stage: str = "spec"
    related: tuple[tuple[str, Span], ...] = field(default=())
    level: Level = "error"  # "warning": a lint finding (W…), which fails a run only with --warnings-as-errors

    def __str__(self) -> str:
        return self.headline()

    def headline(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}{self.level}[{self.code}]: {printable(self.message)}"

    def render(self, source: str | None = None) -> str:
        """The headline, the source line with a caret under the span, the hint, related notes."""
        lines = [self.headline()]
        excerpt = _excerpt(source, self.span)
        if excerpt:
            lines.extend(excerpt)
        if self.hint:
            lines.append(f"  hint: {printable(self.hint)}")
        for note, span in self.related:
            lines.append(f"  note: {span}: {printable(note)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        span = self.span
        return {
            "code": self.code,
            "message": self.message,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "column": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_col if span else None,
            "hint": self.hint,
            "stage": self.stage,
            "level": self.level,
            "related": [{"message": m, "file": s.file, "line": s.line, "column": s.col} for m, s in self.related],
        }


class DslcErrors(Exception):
    """All errors found in one file, in source order."""

    def __init__(self, errors: Iterable[DslcError], source: str | None = None):
        unique = list(dict.fromkeys(errors))
        self.errors = sorted(unique, key=_sort_key)
        self.source = source  # the file's text, for excerpts under each error
        super().__init__(self.errors)

    def __str__(self) -> str:  # built on demand: a hostile file can hold 100,000 errors, rewrapped per stage
        return "\n".join(e.headline() for e in self.errors)


def _sort_key(error: DslcError) -> tuple[int, int]:
    return (error.span.line, error.span.col) if error.span else (0, 0)


class ErrorSink:
    """Collects errors during a pass so that one run reports all of them."""

    def __init__(self) -> None:
        self.errors: list[DslcError] = []

    def add(self, error: DslcError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.errors:
            raise DslcErrors(self.errors)


# difflib compares a word with each candidate in turn: a hostile file with 50,000 misspelt references
# to 50,000 layer names must not cost 50,000**2 comparisons. `load` gives each file a budget of
# comparisons (`reset_hint_budget`); past it, and for words longer than any name, there is no hint.
# Lookups in small vocabularies (layer kinds, keys) are cached, so a repeated typo costs nothing.
HINT_COMPARISONS = 20_000  # about 0.4 s of difflib at worst (names much alike)
HINT_WORD_LENGTH = 100
HINT_CACHED_POOL = 100


class _Hints:
    remaining = HINT_COMPARISONS
    cache: dict[tuple[str, tuple[str, ...]], str | None] = {}


def reset_hint_budget() -> None:
    _Hints.remaining = HINT_COMPARISONS
    _Hints.cache.clear()


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    pool = candidates if isinstance(candidates, Collection) else list(candidates)
    if len(word) > HINT_WORD_LENGTH:
        return None
    key = (word, tuple(sorted(set(pool)))) if len(pool) <= HINT_CACHED_POOL else None
    if key is not None and key in _Hints.cache:
        return _Hints.cache[key]
    if len(pool) > _Hints.remaining:
        return None
    _Hints.remaining -= max(1, len(pool))
    names = key[1] if key is not None else sorted(set(pool))
    matches = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    hint = f"did you mean '{matches[0]}'?{_foreign_letter(word)}" if matches else None
    if key is not None:
        _Hints.cache[key] = hint
    return hint


HINT_LIST_WIDTH = 90  # characters of valid names a closed-set hint lists (about a line), then "…"


def closed_set_hint(word: str, valid: Iterable[str]) -> str:
    """For a name outside a closed vocabulary: the did-you-mean, then as many valid names as fit a line.

    `did you mean 'adam'? valid: sgd, adam, adamw, rmsprop, adafactor, lion`
    """
    names = list(dict.fromkeys(valid))
    guess = did_you_mean(word, names) or _foreign_letter(word).strip()
    shown: list[str] = []
    width = 0
    for index, name in enumerate(names):
        last = index == len(names) - 1
        if shown and width + len(name) + (0 if last else 3) > HINT_LIST_WIDTH:  # room for ", …" unless the last
            shown.append("…")
            break
        shown.append(name)
        width += len(name) + 2
    return f"{guess} valid: {', '.join(shown)}".lstrip()


def unknown_key_hint(key: str, allowed: Iterable[str], top_level: Collection[str]) -> str:
    """`closed_set_hint`, unless the key is a top-level section that was indented under another one."""
    if key in top_level:
        return f"'{key}' belongs at the top level: remove its indentation"
    return closed_set_hint(key, allowed)


def _foreign_letter(word: str) -> str:
    """Why a name that looks right is not: its first letter that is not ASCII, named (a Cyrillic 'е' in 'dense')."""
    letter = next((ch for ch in word if not ch.isascii() and ch.isalpha()), None)
    if letter is None:
        return ""
    return f" (U+{ord(letter):04X} {unicodedata.name(letter, '?')} is not an ASCII letter)"


def printable(text: str, limit: int | None = None) -> str:
    """Escape control, format (bidi) and other invisible characters, and letters of another script among ASCII
    letters (a Cyrillic 'е' in 'dense' prints as `d\\u0435nse`); optionally truncate."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if text.isascii() and text.isprintable():  # the common case, at C speed
        return text
    return "".join(_shown_characters(text))


def _shown_characters(text: str) -> list[str]:
    """How each character of `text` prints: itself, or its escape."""
    foreign = _foreign_letters(text)
    out = []
    for index, ch in enumerate(text):
        if ch in "\n\t":
            out.append(repr(ch)[1:-1])
        elif index in foreign or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return out


_LETTERS = re.compile(r"[^\W\d_]+")  # a run of letters: "my_модель" is two runs, "dеnse" one


def _foreign_letters(text: str) -> set[int]:
    """Offsets of letters that are not Latin in runs of letters that also hold ASCII letters: look-alikes (Cyrillic,
    Greek, fullwidth or mathematical letters) that would make one name print as another."""
    found: set[int] = set()
    for word in _LETTERS.finditer(text):
        chars = word.group()
        if chars.isascii() or not any(ch.isascii() and ch.isalpha() for ch in chars):
            continue
        found.update(word.start() + index for index, ch in enumerate(chars)
                     if ch.isalpha() and not ch.isascii() and not unicodedata.name(ch, "").startswith("LATIN "))
    return found


def show_value(value: object) -> str:
    """A short, printable rendering of a user value for messages."""
    return printable(repr(value), limit=MAX_SHOWN_VALUE)


@functools.lru_cache(maxsize=4)
def _lines(source: str) -> list[str]:
    """The source's lines, split once per text: a file with 100,000 errors renders in linear time.

    Lines end at "\n" only, as spans count them (`str.splitlines` also breaks at form feeds,
    U+2028 and others, and would show the wrong line under a span after one).
    """
    lines = [line.removesuffix("\r") for line in source.split("\n")]
    return lines[:-1] if lines[-1] == "" else lines  # no line after the final new line (as `splitlines`)


def _excerpt(source: str | None, span: Span | None) -> list[str]:
    if source is None or span is None:
        return []
    lines = _lines(source)
    if not 1 <= span.line <= len(lines):
        return []
    text = lines[span.line - 1]
    if len(text) > 200:
        return []
    width = 1
    if span.end_line == span.line and span.end_col and span.end_col > span.col:
        width = span.end_col - span.col
    # Escaped characters are wider than themselves: the carets go under the escaped text.
    shown = _shown_characters(text)
    start = span.col - 1
    indent = sum(len(piece) for piece in shown[:start])
    carets = sum(len(piece) for piece in shown[start:start + width])
    return [f"    {''.join(shown)}", "    " + " " * indent + "^" * max(1, carets)]
