"""Loaded spec -> `Analysis`: every layer's output tensor, cost and depth classes, then the depth verdict.

Each layer's rules come from its registry entry; this module only walks the
graph in topological order, feeds each rule its input tensors, locates the
rule's complaints, and adds things up.
"""

from __future__ import annotations

from dataclasses import replace

from dslc.compiler.analysis.budgets import NO_LAYERS, Meter, ModelInput, over_budget, step_over_budget
from dslc.compiler.analysis.depth import DepthNode, depth_report
from dslc.compiler.analysis.model import DTYPE_BYTES, Analysis, LayerReport, Totals
from dslc.spec.errors import DslcError, DslcErrors, ErrorSink
from dslc.spec.expand import Graph, GraphNode
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import Cost, NodeClass, ShapeError, Tensor, plus, show_shape
from dslc.spec.layers.embedding import EmbeddingParams
from dslc.spec.load import LoadedSpec, fewer_collections


def analyse(loaded: LoadedSpec, policy: str = "hierarchy") -> Analysis:
    """Raises `DslcErrors` with every shape error of the model (each located at its layer) and every
    budget of `loaded.limits` it exceeds (parameters, activation memory per example and per training
    step of the spec's batch, FLOPs: E008, E009, E016)."""
    sink = ErrorSink()
    analysis = analyse_into(loaded, sink, policy)
    if sink.errors or analysis is None:
        raise DslcErrors(sink.errors, loaded.source.text)
    return analysis


def analyse_into(loaded: LoadedSpec, sink: ErrorSink, policy: str = "hierarchy") -> Analysis | None:
    """Every shape and budget error into `sink`. The analysis of what could be analysed: a layer whose
    shapes fail is left out, and what depends on it; the budgets are checked over the rest (a lower
    bound then, which the messages say). None when an output of the model was left out."""
    with fewer_collections():
        return _analyse(loaded, policy, sink)


def _analyse(loaded: LoadedSpec, policy: str, sink: ErrorSink) -> Analysis | None:
    graph = loaded.graph
    tensors: dict[str, Tensor] = {i.name: Tensor(tuple(i.shape), i.dtype) for i in graph.inputs}
    inputs = [ModelInput(i.name, tensors[i.name], loaded.source_map.key(("model", "inputs", index)))
              for index, i in enumerate(graph.inputs)]
    layers: list[LayerReport] = []
    errors: list[DslcError] = []
    meter = Meter(loaded.limits, inputs)
    complete = meter.within
    for node in graph.nodes if complete else ():
        if any(name not in tensors for name in node.inputs):
            continue  # an input failed: its error is reported already, do not cascade
        report = _layer(node, tuple(tensors[name] for name in node.inputs), errors, meter, _table_dim(graph, node))
        if report is not None:
            tensors[node.name] = report.output
            layers.append(report)
            if not meter.within:  # stop: later shapes could be huge and slow to multiply out
                complete = False
                break
    sink.errors.extend(errors)
    # Shape errors leave layers out: the budgets see part of the model (a lower bound, "at least").
    whole = complete and not errors and len(layers) == len(graph.nodes)
    totals = _totals(layers) if complete else NO_LAYERS
    budgets = over_budget(layers, totals, loaded.limits, loaded.source_map.value(("model",)), inputs,
                          complete=whole)
    train = loaded.spec.train
    per_example = any(error.code == "E009" for error in budgets)
    step = step_over_budget(layers, inputs, train.batch, loaded.limits) if train and not per_example else None
    if step is not None:
        budgets.append(replace(step, span=loaded.source_map.value(("train", "batch"))))
    sink.errors.extend(budgets)  # the loaded spec's `Limits`: every command that analyses enforces them
    if not complete or any(output not in tensors for output in graph.outputs) or not graph.outputs:
        return None
    depth = depth_report([_depth_node(layer, graph.node(layer.name), tensors) for layer in layers],
                         [i.name for i in graph.inputs], graph.outputs, policy)
    return Analysis(file=loaded.source.name, model=loaded.spec.model.name,
                    inputs=tuple((i.name, tensors[i.name]) for i in graph.inputs), layers=tuple(layers),
                    outputs=graph.outputs, totals=totals, depth=depth)


def _table_dim(graph: Graph, node: GraphNode) -> int | None:
    """The `dim` of the embedding a tied head uses as its kernel; None for other layers."""
    if node.tied_to is None:
        return None
    table = graph.node(node.tied_to).params
    assert isinstance(table, EmbeddingParams)  # the graph checked it (E407)
    return table.dim


def _check_tie(node: GraphNode, inputs: tuple[Tensor, ...], table_dim: int) -> None:
    """A tied head's input features are its embedding's `dim` (E503 at `tied_to`)."""
    features = inputs[0].shape[-1] if inputs[0].shape else None
    if features is not None and features != table_dim:
        raise ShapeError("E503", f"input {show_shape(inputs[0].shape)} has {features} features but its tied "
                                 f"embedding '{node.tied_to}' has dim {table_dim}", "tied_to")


def _layer(node: GraphNode, inputs: tuple[Tensor, ...], errors: list[DslcError], meter: Meter,
           table_dim: int | None) -> LayerReport | None:
    kind = REGISTRY[node.kind]
    infer, cost_of, classes = kind.infer, kind.cost, kind.classes
    assert infer is not None and cost_of is not None and classes is not None  # every registered kind has its rules
    try:
        output = infer(node.params, inputs)
        if table_dim is not None:
            _check_tie(node, inputs, table_dim)
    except ShapeError as error:
        span = node.argument_spans.get(error.param, node.span) if error.param else node.span
        sources = ", ".join(f"'{name}'" for name in node.inputs)
        errors.append(DslcError(error.code, f"{node.name}: {error.message} (input from {sources})", span,
                                stage="shapes", related=node.call_sites))
        return None
    if meter.add(output):
        cost = cost_of(node.params, inputs, output)
        params, state, flops = cost.params, cost.state, cost.flops
    else:  # over the activation budget (E009): its cost is not computed, the walk stops here
        cost, params, state, flops = Cost(flops=None), 0, 0, None
    node_classes = classes(node.params)
    return LayerReport(name=node.name, kind=node.kind, scope=node.scope, inputs=node.inputs, output=output,
                       params=params, state=state, flops=flops, trainable=node.trainable,
                       classes=node_classes, span=node.span, macs=_macs(cost, node_classes),
                       depthwise=_depthwise(node, inputs))


def _depthwise(node: GraphNode, inputs: tuple[Tensor, ...]) -> bool:
    """A convolution with one group per input channel (`groups: depthwise`, or that many groups)."""
    groups = vars(node.params).get("groups")  # convolutions only
    channels = inputs[0].shape[-1] if inputs[0].shape else None
    return groups == "depthwise" or (isinstance(groups, int) and groups > 1 and groups == channels)


def _macs(cost: Cost, classes: tuple[NodeClass, ...]) -> int | None:
    """The kind's MACs, or derived as `Cost` says: half the FLOPs of a weighted kind, none for the others."""
    if cost.macs is not None or cost.flops is None:
        return cost.macs
    return cost.flops // 2 if NodeClass.W in classes else 0


def _depth_node(layer: LayerReport, node: GraphNode, tensors: dict[str, Tensor]) -> DepthNode:
    kind = REGISTRY[layer.kind]
    time_steps = tensors[layer.inputs[0]].shape[0] if kind.recurrent else None
    return DepthNode(name=layer.name, inputs=layer.inputs, classes=layer.classes, trainable=layer.trainable,
                     recurrent=kind.recurrent, time_steps=time_steps, receptive=_receptive(node), kind=layer.kind)


SPATIAL = ("convolution", "pooling")  # the registry's categories whose windows slide over space (R1)


def _receptive(node: GraphNode) -> tuple[int, int, int] | None:
    """(kernel, stride, dilation) along the first spatial axis, for R1; None for other layers: an
    attention `window` is not spatial, and transposed convolutions and global pooling are left out."""
    params = vars(node.params)  # the fields (a missing one costs an exception through pydantic's `__getattr__`)
    window = params.get("kernel") or params.get("window")
    if window is None or REGISTRY[node.kind].category not in SPATIAL or node.kind.endswith("_transpose"):
        return None
    stride = params.get("stride") or window
    dilation = params.get("dilation", 1)
    return (_first(window), _first(stride), _first(dilation))


def _first(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else value


def _totals(layers: list[LayerReport]) -> Totals:
    elements = [layer.output.size for layer in layers]
    sizes = [size for size in elements if size is not None]
    known = len(sizes) == len(elements)  # every layer's output size is known
    return Totals(
        trainable=sum(layer.params for layer in layers if layer.trainable),
        frozen=sum(layer.params for layer in layers if not layer.trainable),
        state=sum(layer.state for layer in layers),
        flops=plus(*(layer.flops for layer in layers)),
        macs=plus(*(layer.macs for layer in layers)),
        activations=sum(sizes) if known else None,
        activation_bytes=sum(n * DTYPE_BYTES[layer.output.dtype]
                             for n, layer in zip(sizes, layers, strict=True)) if known else None,
    )
