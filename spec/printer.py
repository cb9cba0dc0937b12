"""IR -> canonical spec text. `print_spec` picks the syntax; this module writes YAML.

The canonical YAML is block style for sections and layer lists and flow style
for parameters. It prints only what the spec states (defaults the spec left
out stay out), so `load(print(ir)) == ir` and printing is idempotent. Each line
is tagged with the IR path it prints (`dslc.spec.printed`): where the formatter
puts the comments back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from pydantic import BaseModel

from dslc.spec.ir import BlockDef, Input, LayerCall, Model, Ref, Spec, Step, Train
from dslc.spec.printed import PrintedLine, float_text, wrapped
from dslc.spec.sourcemap import IRPath
from dslc.spec.vocab import Choice

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "n"}


def print_spec(spec: Spec, syntax: str) -> str:
    return "".join(f"{line.text}\n" for line in printed_lines(spec, syntax))


def printed_lines(spec: Spec, syntax: str) -> list[PrintedLine]:
    """The canonical text of `spec` in `syntax`, line by line, each tagged with the IR path it prints."""
    if syntax == "dsl":
        from dslc.spec.dsl_printer import dsl_lines
        return dsl_lines(spec)
    return yaml_lines(spec)


def print_yaml(spec: Spec) -> str:
    return print_spec(spec, "yaml")


def yaml_lines(spec: Spec) -> list[PrintedLine]:
    lines = [PrintedLine(f"dslc: {spec.version}", ("version",))]
    if spec.blocks:
        lines.append(PrintedLine("blocks:", ("blocks",)))
        for index, block in enumerate(spec.blocks):
            lines.extend(_block(block, ("blocks", index)))
    lines.extend(_model(spec.model))
    if spec.train is not None:
        lines.extend(_train(spec.train))
    return wrapped(lines)


def _block(block: BlockDef, path: IRPath) -> list[PrintedLine]:
    lines = [PrintedLine(f"  {_key(block.name)}:", path)]
    if block.params:
        params = [_key(p.name) if p.required else f"{{{_key(p.name)}: {flow(p.default)}}}" for p in block.params]
        lines.append(PrintedLine(f"    params: [{', '.join(params)}]", (*path, "params")))
    lines.append(PrintedLine("    layers:" if block.layers else "    layers: []", (*path, "layers")))
    lines.extend(_steps(block.layers, "      ", (*path, "layers")))
    return lines


def _model(model: Model) -> list[PrintedLine]:
    lines = [PrintedLine("model:", ("model",)),
             PrintedLine(f"  name: {_key(model.name)}", ("model", "name")),
             PrintedLine(f"  inputs: {{{', '.join(_input(i) for i in model.inputs)}}}", ("model", "inputs")),
             PrintedLine("  layers:", ("model", "layers"))]
    lines.extend(_steps(model.layers, "    ", ("model", "layers")))
    if model.outputs is not None:
        lines.append(PrintedLine(f"  outputs: {flow(model.outputs)}", ("model", "outputs")))
    return lines


def _input(model_input: Input) -> str:
    shape = flow(model_input.shape)
    if model_input.dtype == "float32":
        return f"{_key(model_input.name)}: {shape}"
    return f"{_key(model_input.name)}: {{shape: {shape}, dtype: {model_input.dtype}}}"


def _steps(steps: tuple[Step, ...], indent: str, path: IRPath) -> list[PrintedLine]:
    return [line for index, step in enumerate(steps) for line in _step(step, indent, (*path, index))]


def _step(step: Step, indent: str, path: IRPath) -> list[PrintedLine]:
    if isinstance(step, LayerCall):
        kind, arguments = step.kind, step.params
        repeat = None
    else:
        kind, arguments = step.block, step.args
        repeat = step.repeat if step.repeat != 1 else None
    # one input prints as a name, as people write it (`from: image`); the lowering reads both forms
    inputs = step.inputs[0] if step.inputs is not None and len(step.inputs) == 1 else step.inputs
    attributes = {"name": step.name, "from": inputs, "trainable": None if step.trainable else False,
                  "repeat": repeat}
    attributes = {key: value for key, value in attributes.items() if value is not None}
    if not arguments and not attributes:
        return [PrintedLine(f"{indent}- {_key(kind)}", path)]
    lines = [PrintedLine(f"{indent}- {_key(kind)}: {_mapping(arguments)}", path)]
    lines.extend(PrintedLine(f"{indent}  {key}: {flow(value)}", (*path, key)) for key, value in attributes.items())
    return lines


def _train(train: Train) -> list[PrintedLine]:
    lines = [PrintedLine("train:", ("train",))]
    for name in type(train).model_fields:
        if name in train.model_fields_set:
            lines.append(PrintedLine(f"  {name}: {flow(getattr(train, name))}", ("train", name)))
    return lines


def _mapping(values: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{_key(key)}: {flow(value)}" for key, value in values.items()) + "}"


def flow(value: object) -> str:
    """One value in YAML flow style."""
    if isinstance(value, Choice):
        params = value.params()
        return _key(value.kind) if not params else f"{{{_key(value.kind)}: {_mapping(params)}}}"
    if isinstance(value, Ref):
        return f"${value.name}"
    if isinstance(value, BaseModel):
        return _mapping({name: getattr(value, name) for name in type(value).model_fields
                         if name in value.model_fields_set})
    if isinstance(value, tuple | list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, int):
        return repr(value)
    return _string(str(value))


def _key(name: str) -> str:
    return _string(name)


def _string(text: str) -> str:
    if _PLAIN.match(text) and text not in _RESERVED:
        return text
    return '"' + "".join(_escaped(ch) for ch in text) + '"'


def _escaped(ch: str) -> str:
    """One character inside a YAML double-quoted string; invisible and control characters are escaped."""
    if ch in '"\\':
        return "\\" + ch
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
    return ch
