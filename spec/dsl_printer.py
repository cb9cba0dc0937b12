"""IR -> canonical DSL text: `load_text(print_dsl(spec), "dsl").spec == spec` for every spec.

The text holds only what the IR holds: parameters given explicitly (`LayerCall.params`,
`Choice.params()`, the fields set on `Train` and its nested settings), with graph attributes
only where they differ from their defaults. Leading parameters named in a kind's
`positional` tuple print positionally (`conv2d(32, 3, padding=same)`), the rest by
keyword in declaration order, so equal specs print equal text. One step per line, each line tagged
with the IR path it prints (`dslc.spec.printed`), which is where the formatter puts comments back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from pydantic import BaseModel

from dslc.spec.ir import (
    BlockCall,
    BlockDef,
    BlockParam,
    Input,
    LayerCall,
    Model,
    Ref,
    Spec,
    Step,
    Train,
)
from dslc.spec.layers import REGISTRY
from dslc.spec.printed import END, INDENT, PrintedLine, float_text, wrapped
from dslc.spec.sourcemap import IRPath
from dslc.spec.vocab import DATA_SOURCES, INITS, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, TOKENIZERS, Choice

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words the grammar may read as keywords in a value position: such strings print quoted.
_KEYWORDS = frozenset({"dslc", "block", "model", "train", "true", "false", "null"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
# The positional parameters of every vocabulary choice, found by its model class.
_CHOICE_POSITIONAL: dict[type[Choice], tuple[str, ...]] = {
    model: vocabulary.positional.get(kind, ())
    for vocabulary in (SCHEDULES, OPTIMIZERS, LOSSES, METRICS, DATA_SOURCES, INITS, TOKENIZERS)
    for kind, model in vocabulary.choices.items()
}


def print_dsl(spec: Spec) -> str:
    return "".join(f"{line.text}\n" for line in dsl_lines(spec))


def dsl_lines(spec: Spec) -> list[PrintedLine]:
    """The canonical DSL text line by line, each line tagged with the IR path it prints; sections apart."""
    sections = [[PrintedLine(f"dslc {spec.version}", ("version",))]]
    sections.extend(_block(spec, block, ("blocks", index)) for index, block in enumerate(spec.blocks))
    sections.append(_model(spec, spec.model))
    if spec.train is not None:
        sections.append(_train(spec.train))
    lines = sections[0]
    for section in sections[1:]:
        lines.extend([PrintedLine("", None), *section])
    return wrapped(lines)


def _block(spec: Spec, block: BlockDef, path: IRPath) -> list[PrintedLine]:
    params = f"({', '.join(_param(param) for param in block.params)})" if block.params else ""
    return _braced(f"block {block.name}{params}", path, _steps(spec, block.layers, (*path, "layers")))


def _param(param: BlockParam) -> str:
    return param.name if param.required else f"{param.name}={_value(param.default)}"


def _model(spec: Spec, model: Model) -> list[PrintedLine]:
    inputs = ", ".join(_input(item) for item in model.inputs)
    outputs = f" -> {', '.join(model.outputs)}" if model.outputs else ""
    return _braced(f"model {model.name}({inputs}){outputs}", ("model",),
                   _steps(spec, model.layers, ("model", "layers")))


def _input(item: Input) -> str:
    dtype = "" if item.dtype == Input.model_fields["dtype"].default else item.dtype
    return f"{item.name}: {dtype}{_value(item.shape)}"


def _steps(spec: Spec, steps: tuple[Step, ...], path: IRPath) -> list[tuple[str, IRPath]]:
    return [(_step(spec, step), (*path, index)) for index, step in enumerate(steps)]


def _step(spec: Spec, step: Step) -> str:
    """`label: kind(positional, keyword=value, from=..., trainable=false) * repeat`."""
    if isinstance(step, LayerCall):
        kind = step.kind
        layer_kind = REGISTRY.get(kind)
        positional = layer_kind.positional if layer_kind else ()
        declared = tuple(layer_kind.params.model_fields) if layer_kind else ()
        params = _ordered(step.params, declared)
    else:
        kind = step.block
        block = spec.block(kind)
        positional = tuple(param.name for param in block.params) if block else ()
        params = _ordered(step.args, positional)
    arguments = _arguments(params, positional)
    if step.inputs is not None:
        arguments.append(f"from={_value(step.inputs[0] if len(step.inputs) == 1 else step.inputs)}")
    if not step.trainable:
        arguments.append("trainable=false")
    text = f"{kind}({', '.join(arguments)})" if arguments else kind
    if step.name is not None:
        text = f"{step.name}: {text}"
    if isinstance(step, BlockCall) and step.repeat != 1:
        text = f"{text} * {step.repeat}"
    return text


def _ordered(params: Mapping[str, object], declared: tuple[str, ...]) -> dict[str, object]:
    """Parameters in declaration order (anything undeclared after, as given): equal dicts print alike."""
    first = {name: params[name] for name in declared if name in params}
    return {**first, **{name: value for name, value in params.items() if name not in first}}


def _arguments(params: Mapping[str, object], positional: tuple[str, ...]) -> list[str]:
    """The leading present parameters of `positional` by position, the others by keyword."""
    shown: list[str] = []
    for name in positional:
        if name not in params:
            break
        shown.append(name)
    return [_value(params[name]) for name in shown] + [
        f"{name}={_value(value)}" for name, value in params.items() if name not in shown]


def _train(train: Train) -> list[PrintedLine]:
    lines: list[tuple[str, IRPath]] = []
    for name in Train.model_fields:
        value = getattr(train, name)
        if name in train.model_fields_set and value is not None:  # None is every optional setting's default
            lines.append((f"{name} = {_value(value)}", ("train", name)))
    return _braced("train", ("train",), lines)


def _braced(header: str, path: IRPath, items: list[tuple[str, IRPath]]) -> list[PrintedLine]:
    """`header {`, one indented line per item, `}` (on a line of its own even when empty: a comment inside
    an empty block stays inside)."""
    return [PrintedLine(f"{header} {{", path), *(PrintedLine(f"{INDENT}{text}", item) for text, item in items),
            PrintedLine("}", (*path, END))]


def _value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Ref):
        return f"${value.name}"
    if isinstance(value, tuple):
        return f"[{', '.join(_value(item) for item in value)}]"
    if isinstance(value, Choice):
        arguments = _arguments(value.params(), _CHOICE_POSITIONAL.get(type(value), ()))
        return f"{value.kind}({', '.join(arguments)})" if arguments else value.kind
    if isinstance(value, BaseModel):  # checkpoint, early_stopping, a data source's augment
        fields = [f"{name} = {_value(getattr(value, name))}" for name in type(value).model_fields
                  if name in value.model_fields_set]
        return f"{{{', '.join(fields)}}}"
    raise TypeError(f"no DSL form for {type(value).__name__}")


def _string(text: str) -> str:
    """Identifiers print bare (keywords excepted); anything else quoted, invisible characters escaped."""
    if _IDENTIFIER.fullmatch(text) and text not in _KEYWORDS:
        return text
    return '"' + "".join(_escape(char) for char in text) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if unicodedata.category(char) in _INVISIBLE:
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    return char
