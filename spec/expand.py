"""`Spec` -> `Graph`: blocks and repeats expanded, names resolved, parameters typed, cycles rejected.

Every expanded layer gets a unique name (`conv2d_1`, or `stage.2/conv_a` inside
block instances) and keeps the span of the text it came from. A parameter value
that came from a block argument is reported at the argument.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from dslc.spec.errors import DslcError, ErrorSink, Span, did_you_mean
from dslc.spec.ir import BlockCall, BlockDef, Input, LayerCall, Ref, Spec, Step, Value
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import Arity, LayerParams
from dslc.spec.limits import Limits
from dslc.spec.lower import BLOCK_INPUT
from dslc.spec.tree import Entry, Map, Node, Scalar, Seq
from dslc.spec.validation import validate


@dataclass(frozen=True)
class GraphNode:
    """One layer of the expanded graph."""

    name: str
    kind: str
    params: LayerParams
    inputs: tuple[str, ...]  # names of graph nodes or model inputs
    trainable: bool
    span: Span
    scope: tuple[str, ...] = ()  # the block instances it sits in, outermost first
    # Where each parameter's value was written (a block argument's position when it came from one).
    argument_spans: Mapping[str, Span] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    inputs: tuple[Input, ...]
    nodes: tuple[GraphNode, ...]  # in topological order
    outputs: tuple[str, ...]

    def node(self, name: str) -> GraphNode:
        return self._by_name[name]

    @property
    def _by_name(self) -> dict[str, GraphNode]:
        cached = self.__dict__.get("_by_name_cache")
        if cached is None:
            cached = {node.name: node for node in self.nodes}
            object.__setattr__(self, "_by_name_cache", cached)
        return cached


@dataclass
class _Table:
    """Local names of one scope (the model, or one block instance) -> targets."""

    names: dict[str, _Target] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)


@dataclass(frozen=True)
class _LocalName:
    """A name to look up in a scope's table once the whole graph is expanded (forward references)."""

    table: _Table
    name: str
    span: Span


_Target = str | _LocalName  # a global node name, or a local name still to resolve
# What follows a step that failed: its successor gets no input and no second error.
_BROKEN = ""


@dataclass
class _PendingNode:
    name: str
    kind: str
    params: LayerParams | None
    inputs: list[_Target]
    trainable: bool
    span: Span
    scope: tuple[str, ...]
    argument_spans: Mapping[str, Span]


@dataclass(frozen=True)
class _Binding:
    value: Value
    node: Node


class Expander:
    def __init__(self, spec: Spec, limits: Limits) -> None:
        self.spec = spec
        self.limits = limits
        self.sink = ErrorSink()
        self.nodes: list[_PendingNode] = []
        self.taken: set[str] = set()
        self.validated: dict[tuple, LayerParams | None] = {}
        self.next_number: dict[tuple[tuple[str, ...], str], int] = {}

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.sink.add(DslcError(code, message, span, hint=hint, stage="graph"))

    def run(self) -> Graph | None:
        model = self.spec.model
        table = _Table()
        for model_input in model.inputs:  # unique: both front ends reject duplicate keys
            table.names[model_input.name] = model_input.name
            table.spans[model_input.name] = model_input._node.key_span
            self.taken.add(model_input.name)
        first: _Target | None = model.inputs[0].name if len(model.inputs) == 1 else None
        self.check_layer_count(model.layers)
        last = self.steps(model.layers, table, first, (), {}, ())
        if self.sink.errors:
            return None
        resolved = self.resolve_all()
        outputs = self.outputs(table, last)
        if resolved is None or outputs is None:
            return None
        ordered = self.topological(resolved)
        if ordered is None:
            return None
        return Graph(inputs=model.inputs, nodes=ordered, outputs=outputs)

    # -- expansion --------------------------------------------------------------------------------
    def steps(self, steps: tuple[Step, ...], table: _Table, previous: _Target | None, prefix: tuple[str, ...],
              bindings: Mapping[str, _Binding], stack: tuple[str, ...], trainable: bool = True) -> _Target | None:
        self.reserve_explicit_names(steps, table, prefix)
        for step in steps:
            inputs = self.step_inputs(step, table, previous)
            if isinstance(step, LayerCall):
                previous = self.layer(step, table, inputs, prefix, bindings, trainable)
            else:
                previous = self.block_call(step, table, inputs, prefix, bindings, stack, trainable) or _BROKEN
        return previous

    def check_layer_count(self, steps: tuple[Step, ...]) -> None:
        """E007 before expanding anything: `a * 1000` inside `b * 1000` inside `c * 1000` is 10**9 layers.

        Reported where expanding would have stopped: at the top-level step whose layers cross the budget.
        """
        sizes: dict[str, int] = {}
        total = 0
        for step in steps:
            total += self.layer_count(step, sizes, ())
            if total > self.limits.max_layers:
                message = self.limits.exceeded("layer count", total, self.limits.max_layers, "--max-layers")
                raise DslcError("E007", message, step._node.span, stage="graph")

    def layer_count(self, step: Step, sizes: dict[str, int], stack: tuple[str, ...]) -> int:
        """The layers one step expands to (recursive and too deeply nested calls count none: they are errors)."""
        if isinstance(step, LayerCall):
            return 1
        block = self.spec.block(step.block)
        if block is None or step.block in stack or len(stack) >= self.limits.max_depth:
            return 0
        if step.block not in sizes:
            sizes[step.block] = sum(self.layer_count(inner, sizes, (*stack, step.block)) for inner in block.layers)
        return step.repeat * sizes[step.block]

    def reserve_explicit_names(self, steps: tuple[Step, ...], table: _Table, prefix: tuple[str, ...]) -> None:
        for step in steps:
            if step.name is None:
                continue
            span = step._node.span
            if step.name in table.spans or (not prefix and step.name in self.taken):
                first = table.spans.get(step.name)
                self.sink.add(DslcError("E402", f"duplicate layer name '{step.name}'", span, stage="graph",
                                        related=(("first used here", first),) if first else ()))
                continue
            table.spans[step.name] = span
            self.taken.add(_join(prefix, step.name))

    def step_inputs(self, step: Step, table: _Table, previous: _Target | None) -> list[_Target]:
        span = step._node.span
        if previous == _BROKEN:
            return []
        if step.inputs is not None:
            return [_LocalName(table, name, input_span)
                    for name, input_span in zip(step.inputs, step._node.input_spans, strict=True)]
        if previous is None:
            self.error("E406", "this layer has no input: the model has several inputs, so name one with 'from'",
                       span)
            return []
        return [previous]

    def layer(self, call: LayerCall, table: _Table, inputs: list[_Target], prefix: tuple[str, ...],
              bindings: Mapping[str, _Binding], trainable: bool) -> str:
        kind = REGISTRY[call.kind]
        span = call._node.span
        name = _join(prefix, call.name) if call.name else self.auto_name(prefix, call.kind)
        if call.name:
            table.names[call.name] = name
        if inputs or call.inputs is not None:  # no inputs and no 'from': step_inputs reported it
            self.check_arity(kind.arity, len(inputs), call.kind, span)
        params = self.typed_params(call, bindings)
        argument_spans = {str(e.key): _substitute_node(e.value, bindings).span for e in call._node.arguments}
        self.add_node(_PendingNode(name, call.kind, params, inputs, trainable and call.trainable, span, prefix,
                                   argument_spans))
        return name

    def block_call(self, call: BlockCall, table: _Table, inputs: list[_Target], prefix: tuple[str, ...],
                   bindings: Mapping[str, _Binding], stack: tuple[str, ...], trainable: bool) -> _Target | None:
        span = call._node.span
        block = self.spec.block(call.block)
        assert block is not None  # the lowering resolved the name
        if call.block in stack:
            self.error("E303", f"block '{call.block}' uses itself (through {' -> '.join((*stack, call.block))})",
                       span)
            return None
        if len(stack) >= self.limits.max_depth:  # a chain of blocks, each calling the next: expansion recurses
            message = self.limits.exceeded("block nesting depth", len(stack) + 1, self.limits.max_depth,
                                           "--max-depth")
            raise DslcError("E005", message, span, stage="graph")
        if len(inputs) > 1:
            self.error("E406", f"a block takes one input; '{call.block}' was given {len(inputs)}", span)
        inner_bindings = self.bind(call, block, bindings)
        if inner_bindings is None:
            return None
        # The instance's own name: `auto_name` gives the full path, which `prefix` already holds.
        base = call.name or self.auto_name(prefix, call.block).removeprefix(_join(prefix, ""))
        previous: _Target | None = inputs[0] if inputs else None
        for repetition in range(call.repeat):
            instance = base if call.repeat == 1 else f"{base}.{repetition + 1}"
            inner = _Table()
            if previous is not None:
                inner.names[BLOCK_INPUT] = previous
                inner.spans[BLOCK_INPUT] = span
            try:
                previous = self.steps(block.layers, inner, previous, (*prefix, instance), inner_bindings,
                                      (*stack, call.block), trainable and call.trainable)
            except DslcError as error:  # blame the outermost call whose expansion crossed the layer budget
                if error.code != "E007":
                    raise
                raise DslcError("E007", error.message, span, stage="graph") from None
            if self.sink.errors:
                return None
        if call.name and previous is not None:
            table.names[call.name] = previous
        return previous

    def bind(self, call: BlockCall, block: BlockDef, outer: Mapping[str, _Binding]) -> dict[str, _Binding] | None:
        """The block's parameters bound to this call's arguments (or their defaults)."""
        arguments: Map = call._node.arguments
        declared = {param.name: param for param in block.params}
        bindings: dict[str, _Binding] = {}
        for entry in arguments:
            if entry.key not in declared:
                self.error("E306", f"block '{block.name}' has no parameter '{entry.key}'", entry.key_span,
                           did_you_mean(str(entry.key), declared))
                continue
            value = _substitute(call.args[entry.key], outer)
            bindings[str(entry.key)] = _Binding(value, _substitute_node(entry.value, outer))
        for param in block.params:
            if param.name in bindings:
                continue
            if param.required:
                self.error("E302", f"block '{block.name}' needs the argument '{param.name}'", call._node.span)
                continue
            bindings[param.name] = _Binding(param.default, param._node.value)
        return None if self.sink.errors else bindings

    def typed_params(self, call: LayerCall, bindings: Mapping[str, _Binding]) -> LayerParams | None:
        if call._node.typed is not None:
            return call._node.typed
        values = {key: _substitute(value, bindings) for key, value in call.params.items()}
        cache_key = (id(call), _freeze(values))
        if cache_key in self.validated:
            return self.validated[cache_key]
        located = Map(tuple(Entry(e.key, e.key_span, _substitute_node(e.value, bindings))
                            for e in call._node.arguments), call._node.arguments.span)
        params = validate(REGISTRY[call.kind].params, values, located, self.sink, call.kind)
        self.validated[cache_key] = params
        return params

    def check_arity(self, arity: Arity, count: int, kind: str, span: Span) -> None:
        if arity is Arity.MERGE and count < 2:
            self.error("E406", f"{kind} merges two or more inputs; it was given {count}", span,
                       "name its inputs with 'from: [a, b]'")
        elif arity is Arity.ONE and count == 0:
            self.error("E406", f"{kind} takes one input; its 'from' names none", span)
        elif arity is Arity.ONE and count > 1:
            self.error("E406", f"{kind} takes one input; it was given {count}", span,
                       "join branches first with add, concat or multiply")

    def auto_name(self, prefix: tuple[str, ...], kind: str) -> str:
        """`<kind>_<n>` with the next n free in this scope (explicit names are reserved first)."""
        number = self.next_number.get((prefix, kind), 1)
        while _join(prefix, f"{kind}_{number}") in self.taken:
            number += 1
        self.next_number[(prefix, kind)] = number + 1
        name = _join(prefix, f"{kind}_{number}")
        self.taken.add(name)
        return name

    def add_node(self, node: _PendingNode) -> None:
        self.nodes.append(node)
        if len(self.nodes) > self.limits.max_layers:
            message = self.limits.exceeded("layer count", len(self.nodes), self.limits.max_layers, "--max-layers")
            raise DslcError("E007", message, node.span, stage="graph")

    # -- names, outputs, order --------------------------------------------------------------------
    def resolve(self, target: _Target) -> str | None:
        seen: set[int] = set()
        while isinstance(target, _LocalName):
            if id(target) in seen:
                self.error("E403", f"'{target.name}' refers to itself", target.span)
                return None
            seen.add(id(target))
            found = target.table.names.get(target.name)
            if found is None:
                self.error("E401", f"'{target.name}' names no layer or input here", target.span,
                           did_you_mean(target.name, target.table.names))  # (the name is not among them)
                return None
            target = found
        return target

    def resolve_all(self) -> list[GraphNode] | None:
        resolved = []
        for pending in self.nodes:
            inputs = tuple(self.resolve(target) for target in pending.inputs)
            if None in inputs or pending.params is None:
                continue
            resolved.append(GraphNode(pending.name, pending.kind, pending.params, inputs,  # type: ignore[arg-type]
                                      pending.trainable, pending.span, pending.scope, pending.argument_spans))
        return None if self.sink.errors else resolved

    def outputs(self, table: _Table, last: _Target | None) -> tuple[str, ...] | None:
        names = self.spec.model.outputs
        if names is None:
            resolved = self.resolve(last) if last is not None else None
            return (resolved,) if resolved else None
        outputs = []
        node = self.spec.model._node.get("outputs").value
        spans = [item.span for item in node.items] if isinstance(node, Seq) else [node.span] * len(names)
        for name, span in zip(names, spans, strict=True):
            target = table.names.get(name)
            if target is None:
                self.error("E404", f"output '{name}' names no layer", span, did_you_mean(name, table.names))
                continue
            outputs.append(self.resolve(target))
        return None if self.sink.errors else tuple(outputs)  # type: ignore[arg-type]

    def topological(self, nodes: list[GraphNode]) -> tuple[GraphNode, ...] | None:
        """Kahn's algorithm, stable in source order; what remains is on a cycle."""
        index = {node.name: i for i, node in enumerate(nodes)}
        waiting = [sum(1 for name in node.inputs if name in index) for node in nodes]
        consumers: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            for name in node.inputs:
                if name in index:
                    consumers.setdefault(name, []).append(i)
        ready = [i for i, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        ordered: list[GraphNode] = []
        while ready:
            i = heapq.heappop(ready)
            ordered.append(nodes[i])
            for consumer in consumers.get(nodes[i].name, ()):
                waiting[consumer] -= 1
                if waiting[consumer] == 0:
                    heapq.heappush(ready, consumer)
        if len(ordered) < len(nodes):
            # What remains is on a cycle or downstream of one: peel off, from the far end, the
            # layers that lead to no other remaining layer, so that only the cycle is named.
            remaining = {i for i, count in enumerate(waiting) if count > 0}
            leads = {i: sum(1 for c in consumers.get(nodes[i].name, ()) if c in remaining) for i in remaining}
            ends = [i for i in remaining if leads[i] == 0]
            while ends:
                i = ends.pop()
                remaining.discard(i)
                for name in nodes[i].inputs:
                    j = index.get(name)
                    if j in remaining:
                        leads[j] -= 1
                        if leads[j] == 0:
                            ends.append(j)
            stuck = [node for i, node in enumerate(nodes) if i in remaining]
            names = ", ".join(node.name for node in stuck[:5]) + (", …" if len(stuck) > 5 else "")
            self.error("E403", f"the layer graph has a cycle through {names}", stuck[0].span,
                       "a layer's 'from' must not lead back to itself")
            return None
        return tuple(ordered)


def expand(spec: Spec, limits: Limits) -> tuple[Graph | None, list[DslcError]]:
    expander = Expander(spec, limits)
    try:
        graph = expander.run()
    except DslcError as error:
        return None, [*expander.sink.errors, error]
    return graph, expander.sink.errors


def _join(prefix: tuple[str, ...], name: str) -> str:
    return "/".join((*prefix, name))


def _substitute(value: Value, bindings: Mapping[str, _Binding]) -> Value:
    if isinstance(value, Ref):
        binding = bindings.get(value.name)
        return binding.value if binding else None
    if isinstance(value, tuple):
        return tuple(_substitute(item, bindings) for item in value)
    return value


def _substitute_node(node: Node, bindings: Mapping[str, _Binding]) -> Node:
    """The located node with `$name` scalars replaced by the bound argument's node (for error positions)."""
    if isinstance(node, Scalar) and node.ref is not None and node.ref in bindings:
        return bindings[node.ref].node
    if isinstance(node, Seq):
        return Seq(tuple(_substitute_node(item, bindings) for item in node.items), node.span)
    return node


def _freeze(values: Mapping[str, Value]) -> tuple:
    return tuple(sorted((key, repr(value)) for key, value in values.items()))
