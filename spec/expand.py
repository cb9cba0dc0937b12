"""`Spec` -> `Graph`: blocks and repeats expanded, names resolved, parameters typed, cycles rejected.

Every expanded layer gets a unique name (`conv2d_1`, or `stage.2/conv_a` inside
block instances) and keeps the span of the text it came from (from the source
map). A parameter value that came from a block argument is reported at the
argument, and an error inside a block body names the call site in a note.
With errors, the graph holds what expanded cleanly, so that later stages still
check the rest; steps that failed are left out and what depends on them too.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dslc.spec.errors import DslcError, ErrorSink, Span, did_you_mean
from dslc.spec.ir import BlockCall, BlockDef, Input, LayerCall, Ref, Spec, Step, Value
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import Arity, LayerParams
from dslc.spec.layers.embedding import EmbeddingParams
from dslc.spec.limits import Limits
from dslc.spec.lower import BLOCK_INPUT, Lowered
from dslc.spec.sourcemap import IRPath, SourceMap
from dslc.spec.validation import validate

# Notes naming the block calls an expanded layer sits in, innermost first ("in block 'x' called here").
CallSites = tuple[tuple[str, Span], ...]


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
    call_sites: CallSites = ()
    # A tied head (`tied_to:`): the embedding layer whose table it uses as its kernel, by graph name.
    tied_to: str | None = None


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
    call_sites: CallSites = ()


_Target = str | _LocalName  # a global node name, or a local name still to resolve
# The layer parameter that ties a head to an embedding layer's table (a layer name, resolved as 'from' is).
TIE = "tied_to"
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
    call_sites: CallSites
    tied_to: _Target | None = None


@dataclass(frozen=True)
class _Site:
    """Where a value was written: its source-map path, the value as written, and what its `$name`s mean there."""

    path: IRPath
    written: Any  # a `Value`, or a call's parameters (a mapping of them)
    bindings: Mapping[str, _Binding]


@dataclass(frozen=True)
class _Binding:
    value: Value  # with the outer block parameters substituted
    site: _Site


@dataclass(frozen=True)
class _Scope:
    """What one sequence of steps is expanded in: the model, or one block instance."""

    path: IRPath  # the steps' own path in the source map, e.g. ("blocks", 0, "layers")
    table: _Table
    prefix: tuple[str, ...]  # the instance names, outermost first
    bindings: Mapping[str, _Binding]
    stack: tuple[str, ...]  # the blocks being expanded, outermost first
    trainable: bool
    call_sites: CallSites


class _SiteLocator:
    """Validation positions of a layer call's parameters, following `$name`s to the block arguments."""

    def __init__(self, source_map: SourceMap, site: _Site) -> None:
        self.source_map = source_map
        self.site = site

    def find(self, loc: tuple[Any, ...]) -> tuple[Span, bool]:
        site, written, depth = self.site, self.site.written, 0
        while True:
            if isinstance(written, Ref) and written.name in site.bindings:
                site = site.bindings[written.name].site
                written, loc, depth = site.written, loc[depth:], 0
                continue
            if depth == len(loc):
                break
            step = loc[depth]
            if isinstance(written, dict) and step in written:
                written = written[step]
            elif isinstance(written, tuple) and isinstance(step, int) and 0 <= step < len(written):
                written = written[step]
            else:
                break
            depth += 1
        path = (*site.path, *loc[:depth])
        return self.source_map.value(path) or self.source_map.nearest(path), depth == len(loc)

    def key(self, loc: tuple[Any, ...]) -> Span | None:
        return self.source_map.key((*self.site.path, *loc))


class Expander:
    def __init__(self, lowered: Lowered, limits: Limits, sink: ErrorSink) -> None:
        self.spec: Spec = lowered.spec
        self.map = lowered.source_map
        self.prevalidated = lowered.validated
        self.after_failed = lowered.after_failed
        self.failed_names = lowered.failed_names
        self.limits = limits
        self.sink = sink
        self.nodes: list[_PendingNode] = []
        self.taken: set[str] = set()
        self.duplicates: set[tuple[tuple[str, ...], IRPath]] = set()  # steps whose explicit name was taken
        self.validated: dict[tuple[object, ...], LayerParams | None] = {}
        self.next_number: dict[tuple[tuple[str, ...], str], int] = {}
        self.block_index = {block.name: index for index, block in enumerate(self.spec.blocks)}

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None,
              call_sites: CallSites = ()) -> None:
        self.sink.add(DslcError(code, message, span, hint=hint, stage="graph", related=call_sites))

    def span(self, path: IRPath) -> Span:
        """Where a step was written: its kind."""
        return self.map.key_or_value(path)

    def run(self) -> Graph:
        model = self.spec.model
        table = _Table()
        for index, model_input in enumerate(model.inputs):  # unique: both front ends reject duplicate keys
            table.names[model_input.name] = model_input.name
            table.spans[model_input.name] = self.span(("model", "inputs", index))
            self.taken.add(model_input.name)
        first: _Target | None = model.inputs[0].name if len(model.inputs) == 1 else None
        self.check_layer_count(model.layers)
        scope = _Scope(("model", "layers"), table, (), {}, (), True, ())
        last = self.steps(model.layers, scope, first)
        resolved = self.resolve_all()
        outputs = self.outputs(table, last)
        return Graph(inputs=model.inputs, nodes=self.topological(resolved), outputs=outputs)

    # -- expansion --------------------------------------------------------------------------------
    def steps(self, steps: tuple[Step, ...], scope: _Scope, previous: _Target | None) -> _Target | None:
        self.reserve_explicit_names(steps, scope)
        for index, step in enumerate(steps):
            path = (*scope.path, index)
            if path in self.after_failed:  # the step before failed to lower: no input, no second error
                previous = _BROKEN
            inputs = self.step_inputs(step, path, scope, previous)
            if isinstance(step, LayerCall):
                previous = self.layer(step, path, scope, inputs)
            else:
                previous = self.block_call(step, path, scope, inputs) or _BROKEN
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
                raise DslcError("E007", message, self.span(("model", "layers", steps.index(step))), stage="graph")

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

    def reserve_explicit_names(self, steps: tuple[Step, ...], scope: _Scope) -> None:
        table, prefix = scope.table, scope.prefix
        for index, step in enumerate(steps):
            if step.name is None:
                continue
            path = (*scope.path, index)
            span = self.span(path)
            if step.name in table.spans or (not prefix and step.name in self.taken):
                first = table.spans.get(step.name)
                related = ((("first used here", first),) if first else ()) + scope.call_sites
                self.sink.add(DslcError("E402", f"duplicate layer name '{step.name}'", span, stage="graph",
                                        related=related))
                self.duplicates.add((prefix, path))  # expanded under a name of its own, to check the rest
                continue
            table.spans[step.name] = span
            self.taken.add(_join(prefix, step.name))

    def explicit_name(self, step: Step, path: IRPath, scope: _Scope) -> str | None:
        """The step's own name, unless it repeats one taken before (E402, reported already)."""
        return step.name if (scope.prefix, path) not in self.duplicates else None

    def step_inputs(self, step: Step, path: IRPath, scope: _Scope, previous: _Target | None) -> list[_Target]:
        if previous == _BROKEN:
            return []
        if step.inputs is not None:
            spans = [self.map.value((*path, "from", index)) or self.map.nearest((*path, "from"))
                     for index in range(len(step.inputs))]
            return [_LocalName(scope.table, name, input_span, scope.call_sites)
                    for name, input_span in zip(step.inputs, spans, strict=True)]
        if previous is None:
            self.error("E406", "this layer has no input: the model has several inputs, so name one with 'from'",
                       self.span(path), call_sites=scope.call_sites)
            return []
        return [previous]

    def layer(self, call: LayerCall, path: IRPath, scope: _Scope, inputs: list[_Target]) -> str:
        kind = REGISTRY[call.kind]
        span = self.span(path)
        own_name = self.explicit_name(call, path, scope)
        name = _join(scope.prefix, own_name) if own_name else self.auto_name(scope.prefix, call.kind)
        if own_name:
            scope.table.names[own_name] = name
        if inputs or call.inputs is not None:  # no inputs and no 'from': step_inputs reported it
            self.check_arity(kind.arity, len(inputs), call.kind, span, scope.call_sites)
        site = _Site(path, call.params, scope.bindings)
        params = self.typed_params(call, site, scope.call_sites)
        if not inputs:  # an input failed (reported): what refers to this layer is left out too
            return name
        locator = _SiteLocator(self.map, site)
        argument_spans = {key: locator.find((key,))[0] for key in call.params}
        tied_name = getattr(params, TIE, None)  # resolved like 'from': in this scope, forward references too
        tied_to = _LocalName(scope.table, tied_name, argument_spans[TIE], scope.call_sites) if tied_name else None
        self.add_node(_PendingNode(name, call.kind, params, inputs, scope.trainable and call.trainable, span,
                                   scope.prefix, argument_spans, scope.call_sites, tied_to))
        return name

    def block_call(self, call: BlockCall, path: IRPath, scope: _Scope, inputs: list[_Target]) -> _Target | None:
        span = self.span(path)
        block = self.spec.block(call.block)
        if block is None:  # its definition failed to lower (reported already)
            return None
        stack = scope.stack
        if call.block in stack:
            self.error("E303", f"block '{call.block}' uses itself (through {' -> '.join((*stack, call.block))})",
                       span, call_sites=scope.call_sites)
            return None
        if len(stack) >= self.limits.max_depth:  # a chain of blocks, each calling the next: expansion recurses
            message = self.limits.exceeded("block nesting depth", len(stack) + 1, self.limits.max_depth,
                                           "--max-depth")
            raise DslcError("E005", message, span, stage="graph")
        if len(inputs) > 1:
            self.error("E406", f"a block takes one input; '{call.block}' was given {len(inputs)}", span,
                       call_sites=scope.call_sites)
        inner_bindings = self.bind(call, path, block, scope)
        if inner_bindings is None:
            return None
        # The instance's own name: `auto_name` gives the full path, which `prefix` already holds.
        own_name = self.explicit_name(call, path, scope)
        prefix = scope.prefix
        base = own_name or self.auto_name(prefix, call.block).removeprefix(_join(prefix, ""))
        call_sites = ((f"in block '{call.block}' called here", span), *scope.call_sites)
        previous: _Target | None = inputs[0] if inputs else None
        for repetition in range(call.repeat):
            instance = base if call.repeat == 1 else f"{base}.{repetition + 1}"
            inner = _Table()
            if previous is not None:
                inner.names[BLOCK_INPUT] = previous
                inner.spans[BLOCK_INPUT] = span
            body = _Scope(("blocks", self.block_index[call.block], "layers"), inner, (*prefix, instance),
                          inner_bindings, (*stack, call.block), scope.trainable and call.trainable, call_sites)
            try:
                previous = self.steps(block.layers, body, previous)
            except DslcError as error:  # blame the outermost call whose expansion crossed the layer budget
                if error.code != "E007":
                    raise
                raise DslcError("E007", error.message, span, stage="graph") from None
        if own_name and previous is not None:
            scope.table.names[own_name] = previous
        return previous

    def bind(self, call: BlockCall, path: IRPath, block: BlockDef, scope: _Scope) -> dict[str, _Binding] | None:
        """The block's parameters bound to this call's arguments (or their defaults); None when one fails."""
        declared = {param.name: param for param in block.params}
        bindings: dict[str, _Binding] = {}
        failed = False
        for key, written in call.args.items():
            if key not in declared:
                self.error("E306", f"block '{block.name}' has no parameter '{key}'", self.map.key((*path, key)),
                           did_you_mean(key, declared), scope.call_sites)
                failed = True
                continue
            bindings[key] = _Binding(_substitute(written, scope.bindings), _Site((*path, key), written, scope.bindings))
        block_path = ("blocks", self.block_index[block.name], "params")
        for index, param in enumerate(block.params):
            if param.name in bindings:
                continue
            if param.required:
                self.error("E302", f"block '{block.name}' needs the argument '{param.name}'", self.span(path),
                           call_sites=scope.call_sites)
                failed = True
                continue
            bindings[param.name] = _Binding(param.default, _Site((*block_path, index), param.default, {}))
        return None if failed else bindings

    def typed_params(self, call: LayerCall, site: _Site, call_sites: CallSites) -> LayerParams | None:
        if site.path in self.prevalidated:
            return self.prevalidated[site.path]
        values = {key: _substitute(value, site.bindings) for key, value in call.params.items()}
        cache_key = (id(call), _freeze(values))
        if cache_key in self.validated:
            return self.validated[cache_key]
        found = ErrorSink()
        params = validate(REGISTRY[call.kind].params, values, _SiteLocator(self.map, site), found, call.kind)
        for error in found.errors:
            self.sink.add(replace(error, stage="graph", related=error.related + call_sites))
        self.validated[cache_key] = params
        return params

    def check_arity(self, arity: Arity, count: int, kind: str, span: Span, call_sites: CallSites) -> None:
        if arity is Arity.MERGE and count < 2:
            self.error("E406", f"{kind} merges two or more inputs; it was given {count}", span,
                       "name its inputs with 'from: [a, b]'", call_sites)
        elif arity is not Arity.MERGE and count == 0:
            wanted = "one input" if arity is Arity.ONE else "one or two inputs"
            self.error("E406", f"{kind} takes {wanted}; its 'from' names none", span, call_sites=call_sites)
        elif arity is Arity.ONE and count > 1:
            self.error("E406", f"{kind} takes one input; it was given {count}", span,
                       "join branches first with add, concat or multiply", call_sites)
        elif arity is Arity.ONE_OR_TWO and count > 2:
            self.error("E406", f"{kind} takes one or two inputs (queries, then the memory); it was given {count}",
                       span, "join branches first with add, concat or multiply", call_sites)

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
                self.error("E403", f"'{target.name}' refers to itself", target.span, call_sites=target.call_sites)
                return None
            seen.add(id(target))
            found = target.table.names.get(target.name)
            if found is None and target.name in self.failed_names:  # reported where it failed
                return None
            if found is None:
                self.error("E401", f"'{target.name}' names no layer or input here", target.span,
                           did_you_mean(target.name, target.table.names),  # (the name is not among them)
                           target.call_sites)
                return None
            target = found
        return target

    def resolve_all(self) -> list[GraphNode]:
        """The layers whose inputs resolve and whose parameters are valid (the others are reported)."""
        resolved = []
        by_name = {pending.name: pending for pending in self.nodes}
        for pending in self.nodes:
            inputs = [self.resolve(target) for target in pending.inputs]
            names = [name for name in inputs if name is not None]
            if len(names) < len(inputs) or pending.params is None:
                continue
            tied_to = self.resolve(pending.tied_to) if pending.tied_to else None
            if pending.tied_to and (tied_to is None or not self.check_tie(pending, tied_to, by_name)):
                continue
            resolved.append(GraphNode(pending.name, pending.kind, pending.params, tuple(names), pending.trainable,
                                      pending.span, pending.scope, pending.argument_spans, pending.call_sites,
                                      tied_to))
        return resolved

    def check_tie(self, head: _PendingNode, tied_to: str, by_name: dict[str, _PendingNode]) -> bool:
        """A tied head names an embedding layer whose `vocab` is the head's `units` (E407 otherwise)."""
        span = head.argument_spans[TIE]
        table = by_name.get(tied_to)
        if table is not None and table.params is None:
            return False  # its parameters are reported already
        if table is None or not isinstance(table.params, EmbeddingParams):
            what = f"a {table.kind} layer" if table else "a model input"
            embeddings = [p.name for p in self.nodes if isinstance(p.params, EmbeddingParams)]
            hint = (f"tie it to an embedding layer: {', '.join(embeddings)}" if embeddings
                    else "a tied head uses the table of an embedding layer; the model has none")
            self.error("E407", f"{head.name}: tied_to '{tied_to}' names {what}, not an embedding", span, hint,
                       head.call_sites)
            return False
        units = getattr(head.params, "units", None)
        if units != table.params.vocab:
            self.error("E407", f"{head.name}: has {units} units but its tied embedding '{tied_to}' has "
                               f"vocab {table.params.vocab}", span, f"set units to {table.params.vocab}",
                       head.call_sites)
            return False
        return True

    def outputs(self, table: _Table, last: _Target | None) -> tuple[str, ...]:
        """The model's outputs that resolve (the others are reported)."""
        names = self.spec.model.outputs
        if names is None:
            resolved = self.resolve(last) if last else None
            return (resolved,) if resolved else ()
        outputs = []
        for index, name in enumerate(names):
            span = self.map.value(("model", "outputs", index)) or self.map.nearest(("model", "outputs"))
            target = table.names.get(name)
            if target is None and name in self.failed_names:
                continue
            if target is None:
                self.error("E404", f"output '{name}' names no layer", span, did_you_mean(name, table.names))
                continue
            output = self.resolve(target) if target else None
            if output is not None:
                outputs.append(output)
        return tuple(outputs)

    def topological(self, nodes: list[GraphNode]) -> tuple[GraphNode, ...]:
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
                       "a layer's 'from' must not lead back to itself", stuck[0].call_sites)
        return tuple(ordered)


def expand(lowered: Lowered, limits: Limits, sink: ErrorSink) -> Graph | None:
    """The expanded graph; every error goes to `sink`. None when a budget stopped the expansion."""
    try:
        return Expander(lowered, limits, sink).run()
    except DslcError as error:  # a budget (layers, nesting depth): expanding further is unsafe
        sink.add(error)
        return None


def _join(prefix: tuple[str, ...], name: str) -> str:
    return "/".join((*prefix, name))


def _substitute(value: Value, bindings: Mapping[str, _Binding]) -> Value:
    if isinstance(value, Ref):
        binding = bindings.get(value.name)
        return binding.value if binding else None
    if isinstance(value, tuple):
        return tuple(_substitute(item, bindings) for item in value)
    return value


def _freeze(values: Mapping[str, Value]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, repr(value)) for key, value in values.items()))
