"""Completion from the text before the cursor: layer kinds, a kind's parameters, closed vocabularies' values.

It reads the line as typed, never the parsed spec: while a name is half written the document does not parse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types
from pydantic_core import PydanticUndefined

from dslc.spec.layers import REGISTRY, LayerKind
from dslc.spec.layers.activations import ACTIVATIONS
from dslc.spec.load import Syntax
from dslc.spec.vocab import DATA_SOURCES, LOSSES, OPTIMIZERS, Vocabulary

# `activation=re`, `loss: ` or `optimizer: {ad`: a key whose value is one of a closed vocabulary's names.
_VOCABULARY_VALUE = re.compile(r"\b(activation|loss|optimizer|data)\s*[:=]\s*\{?\s*\w*$")
# The start of a layer step: `  dense` or `  head: dense` in the DSL, `- dense` in YAML.
_DSL_STEP = re.compile(r"^\s+(?:\w+\s*:\s*)?\w*$")
_YAML_STEP = re.compile(r"^\s*-\s+\w*$")
# An argument's name being typed after `(`, `{` or `,`.
_ARGUMENT_NAME = re.compile(r"(?:^|,)\s*\w*$")
_WRITTEN_ARGUMENT = re.compile(r"(\w+)\s*[:=]")
_KIND_BEFORE_BRACKET = re.compile(r"(\w+)\s*:?\s*$")
_NESTED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")  # a tuple or list value: its commas separate no arguments
_LAYER_SECTIONS = {"dsl": ("model", "block"), "yaml": ("model:", "blocks:")}


def completions(lines: Sequence[str], line: int, character: int, syntax: Syntax) -> list[types.CompletionItem]:
    """What may be written at the 0-based line and character (a character offset: names are ASCII)."""
    before = lines[line][:character] if line < len(lines) else ""
    if (value := _VOCABULARY_VALUE.search(before)) is not None:
        return _vocabulary_items(value.group(1))
    call = _open_call(before)
    if call is not None:
        kind, arguments = call
        return _parameter_items(REGISTRY[kind], arguments) if _ARGUMENT_NAME.search(arguments) else []
    step = _DSL_STEP if syntax == "dsl" else _YAML_STEP
    if step.match(before) and _section(lines, line).startswith(_LAYER_SECTIONS[syntax]):
        return [_kind_item(kind) for kind in REGISTRY.values()]
    return []


def _open_call(before: str) -> tuple[str, str] | None:
    """The layer kind whose argument list (`kind(` or `kind: {`) is still open at the cursor, and what follows."""
    depth = 0
    for index in range(len(before) - 1, -1, -1):
        char = before[index]
        if char in ")}]":
            depth += 1
        elif char in "({[":
            if depth == 0:
                kind = _KIND_BEFORE_BRACKET.search(before[:index])
                if char == "[" or kind is None or kind.group(1) not in REGISTRY:
                    return None
                return kind.group(1), before[index + 1:]
            depth -= 1
    return None


def _section(lines: Sequence[str], line: int) -> str:
    """The top-level line (no indentation, no comment) that the 0-based line lies under."""
    for text in reversed(lines[:line + 1]):
        if text and not text[0].isspace() and not text.startswith("#"):
            return text
    return ""


def _kind_item(kind: LayerKind) -> types.CompletionItem:
    return types.CompletionItem(kind.name, kind=types.CompletionItemKind.Class, detail=kind.category,
                                documentation=kind.summary())


def _parameter_items(kind: LayerKind, arguments: str) -> list[types.CompletionItem]:
    """The kind's parameters not yet written, each with its default (or `required`) and its DSL position."""
    written = set(_WRITTEN_ARGUMENT.findall(arguments)) | _given_positionally(kind, arguments)
    items = []
    for index, (name, field) in enumerate(kind.params.model_fields.items()):
        if name in written:
            continue
        default = "required" if field.default is PydanticUndefined else f"default: {field.default!r}"
        where = f", positional {kind.positional.index(name) + 1}" if name in kind.positional else ""
        items.append(types.CompletionItem(name, kind=types.CompletionItemKind.Property, detail=default + where,
                                          documentation=f"{kind.name}: {kind.summary()}", sort_text=f"{index:03}"))
    return items


def _given_positionally(kind: LayerKind, arguments: str) -> set[str]:
    """The parameters that the DSL's positional arguments before the cursor stand for."""
    finished = _NESTED.sub("", arguments).split(",")[:-1]
    count = sum(1 for argument in finished if not _WRITTEN_ARGUMENT.search(argument))
    return set(kind.positional[:count])


def _vocabulary_items(key: str) -> list[types.CompletionItem]:
    if key == "activation":
        return [types.CompletionItem(name, kind=types.CompletionItemKind.EnumMember, detail="activation",
                                     documentation=entry.doc) for name, entry in ACTIVATIONS.items()]
    vocabulary: Vocabulary = {"loss": LOSSES, "optimizer": OPTIMIZERS, "data": DATA_SOURCES}[key]
    return [types.CompletionItem(name, kind=types.CompletionItemKind.EnumMember, detail=vocabulary.noun,
                                 documentation=model.__doc__) for name, model in vocabulary.choices.items()]
