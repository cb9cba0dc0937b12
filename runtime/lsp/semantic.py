"""Semantic tokens for the DSL: what each word of a `.dsl` file is, for editors' highlighting.

A scan of the text with the grammar's own token shapes (spec/dslc.lark), not a parse: highlighting must keep working
on text that does not parse while it is typed. Each name is classed by what follows it and by the names the file
declares: a layer kind or block called, a keyword argument, a label, a `$parameter`, a vocabulary value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dslc.runtime.lsp.positions import utf16_length
from dslc.spec.layers import REGISTRY

TOKEN_TYPES = ("keyword", "function", "class", "variable", "parameter", "property", "enumMember", "number",
               "string", "comment", "operator")
TOKEN_MODIFIERS = ("declaration", "defaultLibrary")
_TYPE = {name: index for index, name in enumerate(TOKEN_TYPES)}
_DECLARATION, _LIBRARY = 1, 2

_KEYWORDS = frozenset({"dslc", "block", "model", "train"})
_CONSTANTS = frozenset({"true", "false", "null"})
# The grammar's terminals, in the order the lexer would try them: comments and strings first (they hold anything).
_SCANNER = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"?)
  | (?P<ref>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[+-]?(?:[0-9]+(?:_[0-9]+)*(?:\.(?:[0-9]+(?:_[0-9]+)*)?)?|\.[0-9]+(?:_[0-9]+)*)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<operator>->|\*)
""", re.VERBOSE)
_BLOCK_NAME = re.compile(r"^\s*block\s+([A-Za-z_]\w*)", re.MULTILINE)
_DECLARED = re.compile(r"([A-Za-z_]\w*)\s*:")  # a label, or a model input


def semantic_tokens(lines: Sequence[str]) -> list[int]:
    """The LSP encoding: five integers a token (line delta, start delta, length, type, modifiers), UTF-16 units."""
    text = "\n".join(lines)
    names = _Names(set(_BLOCK_NAME.findall(text)), set(_DECLARED.findall(text)))
    data: list[int] = []
    previous_line = previous_start = 0
    for line_number, start, length, token_type, modifiers in _tokens(lines, names):
        delta = line_number - previous_line
        data += [delta, start - previous_start if delta == 0 else start, length, token_type, modifiers]
        previous_line, previous_start = line_number, start
    return data


@dataclass(frozen=True)
class _Names:
    blocks: set[str]  # the blocks the file defines
    declared: set[str]  # labels and model inputs: what `from` and `outputs` name


def _tokens(lines: Sequence[str], names: _Names) -> Iterator[tuple[int, int, int, int, int]]:
    for line_number, text in enumerate(lines):
        step_start = True  # a section keyword, or a step's label or kind
        header = False  # inside `block name(...)`: the names are its parameters
        previous = ""
        for match in _SCANNER.finditer(text):
            group, word = match.lastgroup or "", match.group()
            if group == "name":
                before = text[:match.start()].rstrip()[-1:]
                token_type, modifiers = _classify(word, before, text[match.end():].lstrip()[:1], previous,
                                                  step_start, header, names)
                header = header or previous == "block"
            else:
                token_type, modifiers = _TYPE["parameter" if group == "ref" else group], 0
            step_start = word == "->"
            previous = word
            yield line_number, utf16_length(text[:match.start()]), utf16_length(word), token_type, modifiers


def _classify(word: str, before: str, after: str, previous: str, step_start: bool, header: bool,
              names: _Names) -> tuple[int, int]:
    """A name's token type from its neighbours: `word(` a call, `word=` an argument, `word:` a label."""
    if step_start and word in _KEYWORDS:
        return _TYPE["keyword"], 0
    if word in _CONSTANTS:
        return _TYPE["keyword"], 0
    value = before in ("=", "[", ",", "(") and not header
    if previous in ("block", "model") and not value:
        return _TYPE["class"], _DECLARATION
    if header and before != "=":
        return _TYPE["parameter"], _DECLARATION
    if after == "=":
        return (_TYPE["property"] if step_start else _TYPE["parameter"]), 0
    if after == ":":
        return _TYPE["variable"], _DECLARATION
    if value:
        if word in names.declared:
            return _TYPE["variable"], 0
        return (_TYPE["function"], 0) if after == "(" else (_TYPE["enumMember"], 0)
    if word in names.blocks:
        return _TYPE["class"], 0
    if word in REGISTRY:
        return _TYPE["function"], _LIBRARY
    return (_TYPE["function"], 0) if after == "(" else (_TYPE["variable"], 0)
