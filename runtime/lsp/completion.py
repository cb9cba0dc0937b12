"""Completion from the text before the cursor: layer kinds and blocks, a kind's parameters, closed vocabularies'
values (activations, losses, optimizers, schedules, metrics, data sources, tokenizers, initial weights), layer
names inside `from` and `outputs`, a block's parameters after `$`.

It reads the text as typed, never the parsed spec: while a name is half written the document does not parse. (The
last valid spec only adds what the text alone does not show plainly: a YAML block's parameters, model inputs.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types
from pydantic_core import PydanticUndefined

from dslc.spec.ir import Spec
from dslc.spec.layers import REGISTRY, LayerKind
from dslc.spec.layers.activations import ACTIVATIONS
from dslc.spec.load import Syntax
from dslc.spec.vocab import DATA_SOURCES, INITS, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, TOKENIZERS, Vocabulary

# `activation=re`, `loss: ` or `optimizer: {ad`: a key whose value is one of a closed vocabulary's names.
_VOCABULARY_VALUE = re.compile(
    r"\b(activation|loss|optimizer|data|lr|tokenizer)\s*[:=]\s*\{?\s*\w*$"
    r"|\b(metrics|init)\s*[:=]\s*\[(?:\s*\w+(?:\([^()]*\))?\s*,)*\s*\w*$")  # lists of choices
# The start of a layer step: `  dense` or `  head: dense` in the DSL, `- dense` in YAML.
_DSL_STEP = re.compile(r"^\s+(?:\w+\s*:\s*)?\w*$")
_YAML_STEP = re.compile(r"^\s*-\s+\w*$")
# An argument's name being typed after `(`, `{` or `,`.
_ARGUMENT_NAME = re.compile(r"(?:^|,)\s*\w*$")
_WRITTEN_ARGUMENT = re.compile(r"(\w+)\s*[:=]")
_KIND_BEFORE_BRACKET = re.compile(r"(\w+)\s*:?\s*$")
_NESTED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")  # a tuple or list value: its commas separate no arguments
_LAYER_SECTIONS = {"dsl": ("model", "block"), "yaml": ("model:", "blocks:")}
_NAMES_VALUE = re.compile(r"\b(?:from|outputs)\s*[:=]\s*\[?(?:\s*\w+\s*,)*\s*\w*$")  # `from=[a, b` or `outputs: [`
_PARAM_REF = re.compile(r"\$\w*$")
_YAML_STEP_KEY = re.compile(r"^\s*-\s+(\w+)\s*:\s*$")  # a step whose parameters follow in block style
_INDENTED_KEY = re.compile(r"^(\s+)\w*$")
_DSL_BLOCK = re.compile(r"^block\s+(\w+)\s*(?:\(([^)]*)\))?")
_DSL_LABEL = re.compile(r"^\s*(\w+)\s*:(?!\s*$)")
_YAML_NAME = re.compile(r"^\s*(?:-\s+)?name\s*:\s*(\w+)")
_YAML_BLOCK = re.compile(r"^  (\w+)\s*:")


def completions(lines: Sequence[str], line: int, character: int, syntax: Syntax,
                spec: Spec | None = None) -> list[types.CompletionItem]:
    """What may be written at the 0-based line and character (a character offset: names are ASCII). `spec`: the
    document's last valid spec, if any."""
    before = lines[line][:character] if line < len(lines) else ""
    graph = _graph(lines, line, syntax)
    if _PARAM_REF.search(before) and graph and graph[0] == "block":
        return [types.CompletionItem(name, kind=types.CompletionItemKind.TypeParameter, detail=f"block {graph[1]}")
                for name in _block_params(lines, graph[1], syntax, spec)]
    if (value := _VOCABULARY_VALUE.search(before)) is not None:
        return _vocabulary_items(value.group(1) or value.group(2))
    if _NAMES_VALUE.search(before) and graph:
        return [types.CompletionItem(name, kind=types.CompletionItemKind.Variable, detail="layer")
                for name in _graph_names(lines, line, graph, syntax, spec)]
    call = _open_call(before)
    if call is not None:
        kind, arguments = call
        return _parameter_items(REGISTRY[kind], arguments) if _ARGUMENT_NAME.search(arguments) else []
    if syntax == "yaml" and (kind_and_written := _block_style_step(lines, line, before)) is not None:
        return _parameter_items(REGISTRY[kind_and_written[0]], kind_and_written[1])
    step = _DSL_STEP if syntax == "dsl" else _YAML_STEP
    if step.match(before) and _section(lines, line).startswith(_LAYER_SECTIONS[syntax]):
        blocks = [types.CompletionItem(name, kind=types.CompletionItemKind.Module, detail="block")
                  for name in _block_names(lines, syntax, spec)]
        return [_kind_item(kind) for kind in REGISTRY.values()] + blocks
    return []


def _graph(lines: Sequence[str], line: int, syntax: Syntax) -> tuple[str, str] | None:
    """("model", "") or ("block", its name) for the section the 0-based line lies in; None elsewhere."""
    section = _section(lines, line)
    if syntax == "dsl":
        block = _DSL_BLOCK.match(section)
        return ("block", block.group(1)) if block else (("model", "") if section.startswith("model") else None)
    if section.startswith("model:"):
        return "model", ""
    if section.startswith("blocks:"):
        for text in reversed(lines[:line + 1]):
            if (block := _YAML_BLOCK.match(text)) is not None:
                return "block", block.group(1)
    return None


def _section_lines(lines: Sequence[str], line: int, syntax: Syntax) -> Sequence[str]:
    """The lines of the top-level section (or, in YAML's `blocks:`, the block) that holds the 0-based line."""
    def starts_section(text: str) -> bool:
        return _top_level(text) or (syntax == "yaml" and bool(_YAML_BLOCK.match(text)))

    first = line
    while first > 0 and not starts_section(lines[first]):
        first -= 1
    last = line + 1
    while last < len(lines) and not starts_section(lines[last]):
        last += 1
    return lines[first:last]


def _top_level(text: str) -> bool:
    return bool(text) and not text[0].isspace() and not text.startswith("#")


def _graph_names(lines: Sequence[str], line: int, graph: tuple[str, str], syntax: Syntax,
                 spec: Spec | None) -> list[str]:
    """The names a `from` may give in the graph: its labelled layers, and its inputs (a block's is `input`)."""
    label = _DSL_LABEL if syntax == "dsl" else _YAML_NAME
    names = [match.group(1) for text in _section_lines(lines, line, syntax)[1:] if (match := label.match(text))]
    if graph[0] == "block":
        inputs = ["input"]
    else:
        header = _section(lines, line) if syntax == "dsl" else ""
        written = re.findall(r"(\w+)\s*:", header.split("(", 1)[1]) if "(" in header else []
        inputs = written or [model_input.name for model_input in (spec.model.inputs if spec else ())]
    return list(dict.fromkeys([*inputs, *names]))


def _block_names(lines: Sequence[str], syntax: Syntax, spec: Spec | None) -> list[str]:
    if syntax == "dsl":
        written = [match.group(1) for text in lines if (match := _DSL_BLOCK.match(text))]
    else:
        written = [match.group(1) for text in _blocks_section(lines) if (match := _YAML_BLOCK.match(text))]
    return list(dict.fromkeys([*written, *(block.name for block in (spec.blocks if spec else ()))]))


def _blocks_section(lines: Sequence[str]) -> Sequence[str]:
    start = next((index for index, text in enumerate(lines) if text.startswith("blocks:")), None)
    if start is None:
        return []
    end = next((index for index in range(start + 1, len(lines)) if _top_level(lines[index])), len(lines))
    return lines[start + 1:end]


def _block_params(lines: Sequence[str], block: str, syntax: Syntax, spec: Spec | None) -> list[str]:
    """The block's parameters: from its DSL header as written, else from the last valid spec."""
    if syntax == "dsl":
        for text in lines:
            match = _DSL_BLOCK.match(text)
            if match and match.group(1) == block and match.group(2) is not None:
                return [part.split("=")[0].strip() for part in match.group(2).split(",") if part.strip()]
    defined = next((b for b in (spec.blocks if spec else ()) if b.name == block), None)
    return [param.name for param in defined.params] if defined else []


def _block_style_step(lines: Sequence[str], line: int, before: str) -> tuple[str, str] | None:
    """In YAML, a parameter key typed under `- kind:` (block style): the kind and the keys already written."""
    typed = _INDENTED_KEY.match(before)
    if typed is None:
        return None
    indent = len(typed.group(1))
    written = []
    for index in range(line - 1, -1, -1):
        text = lines[index]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        depth = len(text) - len(text.lstrip())
        if depth >= indent:
            written.append(text.strip())
            continue
        step = _YAML_STEP_KEY.match(text)
        if step is None or step.group(1) not in REGISTRY:
            return None
        return step.group(1), ", ".join(written)
    return None


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
    return next((text for text in reversed(lines[:line + 1]) if _top_level(text)), "")


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
    vocabulary: Vocabulary = {"loss": LOSSES, "optimizer": OPTIMIZERS, "data": DATA_SOURCES, "lr": SCHEDULES,
                              "tokenizer": TOKENIZERS, "init": INITS, "metrics": METRICS}[key]
    return [types.CompletionItem(name, kind=types.CompletionItemKind.EnumMember, detail=vocabulary.noun,
                                 documentation=model.__doc__) for name, model in vocabulary.choices.items()]
