"""The block structure of a spec's expanded graph, for `dslc export --format flax` (compiler/package.py).

The expanded `Graph` keeps each layer's instance path (`GraphNode.scope`) but not which block an
instance is, nor the arguments it was called with. This re-runs the expansion with a recorder on
the `Expander` (the same code, so the same names): every block call with its instances, and each
instance's bound parameters, input and output, keyed by the instance path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dslc.spec.errors import DslcErrors, ErrorSink
from dslc.spec.expand import Expander, _Scope, _Target
from dslc.spec.ir import BlockCall, Value
from dslc.spec.load import LoadedSpec, _parse
from dslc.spec.lower import BLOCK_INPUT, lower


@dataclass
class Instance:
    """One expanded instance of a block: `path` is its scope (`("stage.1",)`), the layers' `GraphNode.scope`."""

    block: str
    path: tuple[str, ...]
    arguments: dict[str, Value]  # every block parameter, bound (defaults filled in)
    input: str | None = None  # the graph name of what the instance reads as `input`
    output: str | None = None  # the graph name of its last layer's output


@dataclass
class Call:
    """A block call (`residual: {...}`, `repeat: n`) in the scope `prefix`: its instances, in order."""

    block: str
    prefix: tuple[str, ...]
    instances: list[Instance] = field(default_factory=list)


@dataclass(frozen=True)
class Structure:
    calls: tuple[Call, ...]  # every call, nested ones too, in expansion order

    def instances(self) -> dict[tuple[str, ...], Instance]:
        return {instance.path: instance for call in self.calls for instance in call.instances}

    def calls_in(self, prefix: tuple[str, ...]) -> list[Call]:
        """The calls written directly in the scope `prefix` (the model: `()`)."""
        return [call for call in self.calls if call.prefix == prefix]


class _Recorder(Expander):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[Call] = []
        self.open: list[Call] = []  # the calls being expanded, innermost last
        self.pending: list[tuple[Instance, _Target | None, _Target | None]] = []  # resolved after `run`

    def block_call(self, call: BlockCall, path: Any, scope: _Scope, inputs: list[_Target]) -> _Target | None:
        record = Call(call.block, scope.prefix)
        self.calls.append(record)
        self.open.append(record)
        try:
            return super().block_call(call, path, scope, inputs)
        finally:
            self.open.pop()

    def steps(self, steps: Any, scope: _Scope, previous: _Target | None) -> _Target | None:
        if not scope.stack:  # the model's own layers
            return super().steps(steps, scope, previous)
        # a block body, expanded once per instance by the innermost open call
        arguments = {name: bound.value for name, bound in scope.bindings.items()}
        instance = Instance(scope.stack[-1], scope.prefix, arguments)
        self.open[-1].instances.append(instance)
        output = super().steps(steps, scope, previous)
        self.pending.append((instance, scope.table.names.get(BLOCK_INPUT), output))
        return output


def block_structure(loaded: LoadedSpec) -> Structure:
    """The spec's block calls and instances, from its source expanded again (it loaded before: no errors)."""
    sink = ErrorSink()
    document = _parse(loaded.source, loaded.syntax, loaded.limits, sink)
    lowered = lower(document, sink, loaded.limits) if document is not None else None
    if lowered is None or sink.errors:
        raise DslcErrors(sink.errors, loaded.source.text)
    recorder = _Recorder(lowered, loaded.limits, sink)
    recorder.run()
    for instance, source, output in recorder.pending:
        instance.input = recorder.resolve(source) if source is not None else None
        instance.output = recorder.resolve(output) if output is not None else None
    if sink.errors:
        raise DslcErrors(sink.errors, loaded.source.text)
    return Structure(tuple(recorder.calls))
