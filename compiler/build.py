"""IR -> Flax NNX: one module per graph node, and the model that runs them in topological order.

Each layer kind's registry entry describes its module as data (`build(params, inputs, dtype)
-> Construct`); this module turns that description into the module of `_flax.CONSTRUCTORS`,
so the in-memory model and the ejected source (which prints the same `Construct`s) cannot
disagree.

Variables, for the training steps (`nnx.split(model, trainable_filter(model), ...)`):

- `nnx.Param` at `layers/<layer name>/...`, always float32; the trainable ones are
  `trainable_filter(model)`, the frozen ones `frozen_filter(model)` (layers marked
  `trainable: false`, directly or through their block call);
- `nnx.BatchStat`: batch norms' running mean and variance, updated by a call with `train=True`;
- `nnx.RngState`: the dropout streams' key and counter, advanced by a call with `train=True`.

A frozen layer always runs in inference mode (running statistics, used and not updated; no
dropout): the frozen part of a model computes what it computed when it was trained, as Keras
runs a frozen base.

Precision: `dtype="bfloat16"` computes in bfloat16 (floating inputs are cast on entry, so every
activation is bfloat16) while parameters and batch statistics stay float32; the outputs are
bfloat16 (a loss should upcast them).

Activation checkpointing (`remat=True`, the train section's `remat: true`): the layers of each block instance
(consecutive layers of one outermost block use, `GraphNode.scope[0]`) run inside one `nnx.remat`, so the
backward pass recomputes their activations from the instance's inputs instead of keeping them: only the values
that cross between instances stay alive. Layers outside blocks run as without it. The results are the same.

Repeated blocks compiled once (`scan=True`, the train section's `scan: true`): consecutive interchangeable
instances of one repeated block use run as one `lax.scan` over their stacked variables (`dslc.compiler.scan`), so
XLA compiles the block's computation once; parameters stay per instance, under the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from dslc.compiler import conv_lowering as lowering_rule
from dslc.compiler.analysis.model import Analysis
from dslc.compiler.random_draws import as_threefry, flat_drawing
from dslc.compiler.scan import Scan, run_scan, scans_of
from dslc.spec.expand import Graph, GraphNode
from dslc.spec.layers import REGISTRY
from dslc.spec.layers._flax import CONSTRUCTORS, Conv, ConvTranspose
from dslc.spec.layers.base import Construct, Tensor
from dslc.spec.load import LoadedSpec

DTYPES = ("float32", "bfloat16")


class SpecModel(nnx.Module):
    """The model of a spec: `model(*inputs, train=False)`, inputs batch-first in the spec's input order.

    Returns one array for one output, a tuple for several (in the spec's output order).
    `layers` maps each layer name to its module; `wiring` holds `(name, input names)` in
    topological order; `trainable` and `frozen` name the layers by their `trainable` flag.
    `tied` holds `(head, embedding)` pairs: a tied head is called with the embedding's module as
    `table=`, so the shared table is one parameter, at the embedding's path (`layers/<embedding>/...`),
    counted and trained once, and trainable or frozen with the embedding.
    `runs` (given: activation checkpointing or scanning) cuts the wiring into `Run`s and `Scan`s; with `remat`
    each block instance's run (each scan's body) is rematerialised.
    """

    def __init__(self, layers: dict[str, nnx.Module], wiring: tuple[tuple[str, tuple[str, ...]], ...],
                 inputs: tuple[str, ...], outputs: tuple[str, ...], frozen: frozenset[str], dtype: str,
                 tied: tuple[tuple[str, str], ...] = (), runs: tuple[Run | Scan, ...] | None = None,
                 remat: bool = False) -> None:
        self.layers = nnx.data(layers)  # a plain dict: any layer name is a key, none shadows a Module method
        self.wiring = wiring
        self.tied = tied
        self.inputs = inputs
        self.outputs = outputs
        self.frozen = frozen
        self.trainable = frozenset(layers) - frozen
        self.dtype = dtype
        self.runs = runs
        self.remat = remat

    def _entry(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        return x.astype(self.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x  # ids stay integers

    def __call__(self, *inputs: jax.Array, train: bool = False) -> jax.Array | tuple[jax.Array, ...]:
        if len(inputs) != len(self.inputs):
            raise TypeError(f"the model takes {len(self.inputs)} inputs ({', '.join(self.inputs)}), "
                            f"got {len(inputs)}")
        values = {name: self._entry(x) for name, x in zip(self.inputs, inputs, strict=True)}
        if self.runs is None:
            self._run(self.wiring, values, train)
        for run in self.runs or ():
            if isinstance(run, Scan):
                values[run.gives[0]] = run_scan(run, self.layers, values[run.reads[0]], train=train,
                                                remat=self.remat)
            elif run.block is None or not self.remat:
                self._run(run.wiring, values, train)
            else:
                given = nnx.remat(_block(run, train))(self, *(values[name] for name in run.reads))
                values.update(zip(run.gives, given, strict=True))
        outputs = tuple(values[name] for name in self.outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def _run(self, wiring: tuple[tuple[str, tuple[str, ...]], ...], values: dict[str, jax.Array],
             train: bool) -> None:
        """Compute the layers of `wiring` in order into `values` (which holds what they read)."""
        tables = {head: self.layers[embedding] for head, embedding in self.tied}
        for name, sources in wiring:
            table = {"table": tables[name]} if name in tables else {}
            values[name] = self.layers[name](*(values[s] for s in sources), train=train and name not in self.frozen,
                                             **table)

    # -- decoding (text generation, dslc.compiler.generate): new positions only, through key/value caches --
    def empty_cache(self, batch: int, length: int) -> dict[str, Any]:
        """The decode cache of `length` positions (the model input's length): per layer that keeps one, by name."""
        return {name: layer.empty_cache(batch, length) for name, layer in self.layers.items()
                if hasattr(layer, "empty_cache")}

    def decode(self, *inputs: jax.Array, start: Any, cache: dict[str, Any],
               ) -> tuple[jax.Array | tuple[jax.Array, ...], dict[str, Any]]:
        """The outputs at positions `start ... start + T - 1` (inputs: those positions, `(B, T, ...)`), in
        inference, and the updated cache (`empty_cache`); equal to `__call__`'s at those positions when the
        cache holds every earlier one. Layers with a `decode` method read and write their part of the cache;
        the others work position by position (`_flax.decode_problem` says which can). `start` may be traced."""
        values = {name: self._entry(x) for name, x in zip(self.inputs, inputs, strict=True)}
        tables = {head: self.layers[embedding] for head, embedding in self.tied}
        cache = dict(cache)
        for name, sources in self.wiring:
            layer, xs = self.layers[name], tuple(values[s] for s in sources)
            if hasattr(layer, "decode"):
                values[name], updated = layer.decode(*xs, start=start, cache=cache.get(name))
                if name in cache:
                    cache[name] = updated
            else:
                values[name] = layer(*xs, train=False, **({"table": tables[name]} if name in tables else {}))
        outputs = tuple(values[name] for name in self.outputs)
        return (outputs[0] if len(outputs) == 1 else outputs), cache


@dataclass(frozen=True)
class Run:
    """Consecutive layers of one block instance (`block`, its name) or one layer outside blocks (`block` None):
    the values it reads from earlier layers or the inputs, and those it gives to later layers or the outputs."""

    block: str | None
    wiring: tuple[tuple[str, tuple[str, ...]], ...]
    reads: tuple[str, ...]
    gives: tuple[str, ...]


def _block(run: Run, train: bool) -> Callable[..., tuple[jax.Array, ...]]:
    """A block instance's run as a function of the model and the values it reads (what `nnx.remat` wraps)."""
    def block(model: SpecModel, *reads: jax.Array) -> tuple[jax.Array, ...]:
        local = dict(zip(run.reads, reads, strict=True))
        model._run(run.wiring, local, train)
        return tuple(local[name] for name in run.gives)
    return block


def runs_of(graph: Graph) -> tuple[Run, ...]:
    """The graph's layers cut into `Run`s, in topological order (a block instance's layers are consecutive)."""
    groups: list[list[GraphNode]] = []
    for node in graph.nodes:
        block = node.scope[0] if node.scope else None
        if block is not None and groups and groups[-1][0].scope[:1] == (block,):
            groups[-1].append(node)
        else:
            groups.append([node])
    last_read = {source: index for index, group in enumerate(groups) for node in group for source in node.inputs}
    runs = []
    for index, group in enumerate(groups):
        made = {node.name for node in group}
        reads = tuple(dict.fromkeys(s for node in group for s in node.inputs if s not in made))
        gives = tuple(node.name for node in group
                      if last_read.get(node.name, index) > index or node.name in graph.outputs)
        runs.append(Run(group[0].scope[0] if group[0].scope else None,
                        tuple((node.name, node.inputs) for node in group), reads, gives))
    return tuple(runs)

@dataclass(frozen=True)
class _InLayers:
    """An nnx filter predicate: the variable sits under `layers/<one of names>/`. Hashable, so it can key a cache."""

    names: frozenset[str]

    def __call__(self, path: tuple[Any, ...], value: Any) -> bool:
        return len(path) > 1 and path[0] == "layers" and path[1] in self.names


def trainable_filter(model: SpecModel) -> nnx.filterlib.Filter:
    """The `nnx.Param`s the optimiser updates: those of layers not marked `trainable: false`."""
    return nnx.All(nnx.Param, _InLayers(model.trainable))


def frozen_filter(model: SpecModel) -> nnx.filterlib.Filter:
    """The `nnx.Param`s of frozen layers: used, never updated."""
    return nnx.All(nnx.Param, _InLayers(model.frozen))


def tensors_of(analysis: Analysis) -> dict[str, Tensor]:
    """Every model input's and layer's output tensor, by name."""
    return {**dict(analysis.inputs), **{layer.name: layer.output for layer in analysis.layers}}


def _construct(node: GraphNode, tensors: dict[str, Tensor], dtype: str) -> Construct:
    build = REGISTRY[node.kind].build
    if build is None:
        raise NotImplementedError(f"layer kind '{node.kind}' has no Flax builder")
    return build(node.params, tuple(tensors[name] for name in node.inputs), dtype)


def construct_of(node: GraphNode, analysis: Analysis, dtype: str = "float32") -> Construct:
    """How to build `node` (its module class in `_flax.CONSTRUCTORS` and its literal arguments)."""
    return _construct(node, tensors_of(analysis), dtype)


def constructs(graph: Graph, analysis: Analysis, dtype: str = "float32") -> dict[str, Construct]:
    """`construct_of` for every node at once (in topological order), in linear time."""
    tensors = tensors_of(analysis)
    return {node.name: _construct(node, tensors, dtype) for node in graph.nodes}


def conv_lowerings(graph: Graph, analysis: Analysis, made: dict[str, Construct] | None = None,
                   mode: str | None = None, platform: str | None = None,
                   batch: int | None = None) -> tuple[dict[str, str], str, str]:
    """Each convolution layer's lowering by name (`dslc.compiler.conv_lowering`), and the mode and platform it was
    chosen for: `mode` None reads `$DSLC_CONV_LOWERING` (default 'auto'); `platform` None: JAX's default backend;
    `batch`: the examples a device trains on per step (None: a model that is not trained)."""
    mode = mode or lowering_rule.mode_from_env()
    platform = platform or jax.default_backend()
    tensors = tensors_of(analysis)
    inputs = {node.name: tensors[node.inputs[0]] for node in graph.nodes if node.inputs}
    made = made if made is not None else constructs(graph, analysis)
    return lowering_rule.choices(made, inputs, mode, platform, batch), mode, platform


def with_xla_convolutions(model: nnx.Module) -> nnx.Module:
    """`model` with XLA's convolution in every convolution layer (in place; the parameters are untouched): what
    exported programs and ONNX files hold, which run on other platforms and runtimes than the one that built it."""
    for _, node in nnx.iter_graph(model):
        if isinstance(node, Conv | ConvTranspose) and node.lowering != "xla":
            node.lower("xla")
    return model


def build_model(loaded: LoadedSpec, analysis: Analysis, *, seed: int | jax.Array = 0, dtype: str = "float32",
                remat: bool = False, scan: bool = False, conv_lowering: str | None = None,
                platform: str | None = None, batch: int | None = None) -> SpecModel:
    """The spec's model with freshly initialised parameters (deterministic in `seed`, an int or its
    `jax.random.key`, which gives the same parameters); `remat`: recompute each
    block instance's activations in the backward pass (activation checkpointing); `scan`: run consecutive
    interchangeable instances of a repeated block as one `lax.scan` (`dslc.compiler.scan`; same parameters);
    `conv_lowering`, `platform` and `batch`: how convolutions are computed (`conv_lowerings`; the parameters are the
    same).

    This allocates every parameter; for shapes alone wrap it: `nnx.eval_shape(lambda: build_model(...))`.
    `nnx.jit(lambda: build_model(...))()` builds the same model as one compiled program (which the
    persistent compilation cache keeps) instead of one dispatch per initialiser.
    """
    if dtype not in DTYPES:
        raise ValueError(f"compute dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    graph = loaded.graph
    rngs = nnx.Rngs(flat_drawing(seed))  # the same draws, compiled faster (dslc.compiler.random_draws)
    made = constructs(graph, analysis, dtype)
    layers = {name: _module(construct, rngs) for name, construct in made.items()}
    for name, lowering in conv_lowerings(graph, analysis, made, conv_lowering, platform, batch)[0].items():
        layer = layers[name]
        assert isinstance(layer, Conv | ConvTranspose)
        layer.lower(lowering)
    runs: tuple[Run | Scan, ...] | None = None
    if scan:
        runs = scans_of(runs_of(graph), graph, made, tensors_of(analysis), layers)
    elif remat:
        runs = runs_of(graph)
    model = SpecModel(layers, tuple((node.name, node.inputs) for node in graph.nodes),
                      tuple(i.name for i in graph.inputs), graph.outputs,
                      frozenset(node.name for node in graph.nodes if not node.trainable), dtype,
                      tuple((node.name, node.tied_to) for node in graph.nodes if node.tied_to), runs, remat)
    as_threefry(model)
    return model


def _module(construct: Construct, rngs: nnx.Rngs) -> nnx.Module:
    constructor: Callable[..., nnx.Module] = CONSTRUCTORS[construct.module]
    return constructor(**construct.arguments, rngs=rngs)
