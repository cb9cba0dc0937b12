"""Repeated blocks compiled once: consecutive identical block instances run as one `jax.lax.scan`.

`h * 24` expands into 24 block instances (`h_1.1` ... `h_1.24`), each its own layers and parameters; unrolled,
XLA compiles 24 copies of the block. With the train section's `scan: true` (`build_model(..., scan=True)`) a
`Scan` traces the first instance's layers once and scans that computation over the instances' variables, stacked
when the model is called (`jnp.stack`, at trace time). The variables stay stored per instance, so parameter names,
checkpoints, weights files and exports do not change; the gradient reaches each instance's parameters through the
stack. Batch statistics and dropout streams (each dropout owns its key and counter) are stacked likewise, advanced
in the scan body and written back to each instance: the same values as unrolled.

`scans_of` groups a maximal run (two or more) of instances of one block use when they are interchangeable:

- each instance reads one value and gives one value (its last layer), and every instance but the last gives it
  to the next instance only;
- their layers, by their names inside the instance, have equal constructs (module class and arguments, so equal
  shapes), the same wiring and the same `trainable` flag; the instance's output shape equals its input shape;
- no layer is a tied head or a tied embedding, and no instance shares a variable with another (a shared object
  could not be stacked);
- no layer sows values for the loss (`AuxiliaryLoss`, a mixture of experts' balance loss): `nnx.capture`
  cannot see through the scan.

Anything else runs unscanned, as without `scan`. With `remat` too the scan body is rematerialised
(`jax.checkpoint`): the backward pass recomputes one instance at a time from the value between instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import nnx

from dslc.spec.expand import Graph
from dslc.spec.layers._flax import MixtureOfExperts
from dslc.spec.layers.base import Construct, Tensor

if TYPE_CHECKING:  # build imports this module
    from dslc.compiler.build import Run

INPUT = ""  # the local name of the value an instance reads (no layer name is empty)
_INSTANCE = re.compile(r"(?P<use>.+)\.(?P<index>\d+)")  # `<use>.<i>`: one instance of a repeated block use
_SOWS: tuple[type[nnx.Module], ...] = (MixtureOfExperts,)  # module classes that sow an `AuxiliaryLoss`


@dataclass(frozen=True)
class Scan:
    """Consecutive interchangeable instances of one block use, computed by one `lax.scan` over their variables.

    `layers[k]` names instance k's layers in the order of `wiring` (local names: the layer names of instance 0
    without the instance prefix, reading `INPUT` for the value the instance reads); `frozen` holds the local names
    of layers marked `trainable: false`. The scan reads `reads` and gives `gives` (one value each): each instance
    gives the value of its layer `result` to the next."""

    block: str
    wiring: tuple[tuple[str, tuple[str, ...]], ...]
    layers: tuple[tuple[str, ...], ...]
    frozen: frozenset[str]
    reads: tuple[str, ...]  # one name
    gives: tuple[str, ...]  # one name
    result: str


class _Instance:
    """One block instance's run seen from inside: its layers by local name, their wiring and their flags."""

    def __init__(self, run: Run, use: str, graph: Graph, constructs: Mapping[str, Construct]) -> None:
        self.run, self.use, self.block = run, use, str(run.block)
        prefix = f"{self.block}/"
        self.names = tuple(name for name, _ in run.wiring)
        self.local_ok = all(name.startswith(prefix) for name in self.names) and len(run.reads) == len(run.gives) == 1

        def local(name: str) -> str:
            return INPUT if name == run.reads[0] else name.removeprefix(prefix)

        self.wiring = tuple((local(name), tuple(local(s) for s in sources)) for name, sources in run.wiring)
        self.key = tuple((name, constructs[full], graph.node(full).trainable)
                         for (name, _), full in zip(self.wiring, self.names, strict=True))

    def same_as(self, other: _Instance) -> bool:
        return self.use == other.use and self.wiring == other.wiring and self.key == other.key


def scans_of(runs: Sequence[Run], graph: Graph, constructs: Mapping[str, Construct],
             tensors: Mapping[str, Tensor], layers: Mapping[str, nnx.Module]) -> tuple[Run | Scan, ...]:
    """`runs` (`build.runs_of`) with each maximal group of interchangeable instances replaced by one `Scan`."""
    readers: dict[str, set[int]] = {}
    for index, run in enumerate(runs):
        for name in run.reads:
            readers.setdefault(name, set()).add(index)
    tied = {name for node in graph.nodes if node.tied_to for name in (node.name, node.tied_to)}

    def scannable(index: int) -> _Instance | None:
        run = runs[index]
        repeated = _INSTANCE.fullmatch(run.block) if run.block is not None else None
        if repeated is None:
            return None
        instance = _Instance(run, repeated["use"], graph, constructs)
        if (not instance.local_ok or tensors[run.reads[0]] != tensors[run.gives[0]]
                or tied.intersection(instance.names)
                or any(isinstance(module, _SOWS) for name in instance.names for _, module in
                       nnx.iter_graph(layers[name]))):
            return None
        return instance

    def follows(first: _Instance, previous: int, index: int) -> _Instance | None:
        """Instance `index`, when it continues the group of `first` whose last instance is `previous`."""
        candidate = scannable(index)
        given = runs[previous].gives[0]
        if (candidate is None or candidate.run.reads != (given,) or readers.get(given) != {index}
                or given in graph.outputs or not candidate.same_as(first)):
            return None
        return candidate

    grouped: list[Run | Scan] = []
    index = 0
    while index < len(runs):
        first = scannable(index)
        group = [first] if first is not None else []
        while first is not None and (after := index + len(group)) < len(runs) and (
                following := follows(first, after - 1, after)) is not None:
            group.append(following)
        if first is not None and len(group) > 1 and _separate(group, layers):
            frozen = frozenset(local for local, _, trainable in first.key if not trainable)
            grouped.append(Scan(first.block, first.wiring, tuple(g.names for g in group), frozen,
                                first.run.reads, group[-1].run.gives,
                                first.run.gives[0].removeprefix(f"{first.block}/")))
            index += len(group)
        else:
            grouped.append(runs[index])
            index += 1
    return tuple(grouped)


def _separate(group: list[_Instance], layers: Mapping[str, nnx.Module]) -> bool:
    """No variable object belongs to two instances (so each instance's state can be stacked and written back)."""
    seen: set[int] = set()
    for instance in group:
        mine = {id(value) for name in instance.names for _, value in nnx.iter_graph(layers[name])
                if isinstance(value, nnx.Variable)}
        if seen & mine:
            return False
        seen |= mine
    return True


def run_scan(scan: Scan, layers: Mapping[str, nnx.Module], x: jax.Array, *, train: bool, remat: bool) -> jax.Array:
    """The value the last instance gives, computed by scanning instance 0's computation over every instance's
    variables; each instance's batch statistics and RNG streams are updated as its own call would update them."""
    local = [name for name, _ in scan.wiring]
    instances = [dict(zip(local, (layers[name] for name in names), strict=True)) for names in scan.layers]
    graphdef = nnx.split(instances[0], nnx.Param, ...)[0]
    params, rest = zip(*(nnx.state(instance, nnx.Param, ...) for instance in instances), strict=True)
    both = (_stack(params), _stack(rest))

    def body(value: jax.Array, state: tuple[Any, Any]) -> tuple[jax.Array, Any]:
        modules = nnx.merge(graphdef, *state)
        values = {INPUT: value}
        for name, sources in scan.wiring:
            values[name] = modules[name](*(values[s] for s in sources), train=train and name not in scan.frozen)
        return values[scan.result], nnx.state(modules, nnx.Not(nnx.Param))

    step: Callable[..., tuple[jax.Array, Any]] = jax.checkpoint(body) if remat else body
    out, updated = jax.lax.scan(step, x, both)
    for k, instance in enumerate(instances):
        nnx.update(instance, jax.tree.map(lambda leaf, k=k: leaf[k], updated))
    return out


def _stack(states: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)
