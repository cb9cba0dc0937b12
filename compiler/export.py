"""Serialized StableHLO of a spec's forward pass and train step, for any platform, from `jax.export`.

Lowering needs no hardware of the target platform: a CPU-only machine writes programs for
`cuda` and `tpu` as well. The batch axis is symbolic (`batch`), so one program serves every
batch size. Each program's SHA-256 is recorded; lowering the same spec again gives the same
bytes, so the hashes are reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import jax
import jax.numpy as jnp
from flax import nnx
from jax import export

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import SpecModel, with_xla_convolutions
from dslc.compiler.steps import Batch, init_state, make_task, train_step
from dslc.spec.load import LoadedSpec
from dslc.spec.vocab import CLASS_LOSSES, LossKind

TARGETS = ("cpu", "cuda", "tpu")


@dataclass(frozen=True)
class Program:
    name: str  # "forward" or "train_step"
    target: str
    serialized: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.serialized).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.name}.{self.target}.stablehlo"


def _abstract(tree):
    return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype), tree)


def _batched(shape: tuple[int | None, ...], dtype: str, batch) -> jax.ShapeDtypeStruct:
    if any(dim is None for dim in shape):
        raise ValueError("cannot export a model with an unknown (null) input dimension yet")
    return jax.ShapeDtypeStruct((batch, *shape), jnp.dtype(dtype))


def export_programs(loaded: LoadedSpec, analysis: Analysis, model: SpecModel,
                    targets: tuple[str, ...]) -> list[Program]:
    """The forward pass (inference mode) and, when the spec has a `train` section, one train step."""
    (batch,) = export.symbolic_shape("batch")
    inputs = tuple(_batched(tensor.shape, tensor.dtype, batch) for _, tensor in analysis.inputs)
    graphdef, state = nnx.split(with_xla_convolutions(model))  # portable programs: the CPU's lowerings stay here
    pure = nnx.to_pure_dict(state)

    def forward(state, *xs):
        module = nnx.merge(graphdef, nnx.State(state) if not isinstance(state, nnx.State) else state)
        return module(*xs, train=False)

    programs = [_lower("forward", jax.jit(forward), target, (_abstract(pure), *inputs)) for target in targets]
    train = loaded.spec.train
    if train is not None:
        task = make_task(train)
        train_graphdef, train_state = init_state(nnx.merge(graphdef, state), task)
        target_shapes = [layer.output for layer in analysis.layers if layer.name in analysis.outputs]
        labels = _label_struct(train.loss.kind, target_shapes[0], batch)
        # Abstract leaves: export traces shapes and dtypes only, never values.
        example = Batch(cast(tuple[jax.Array, ...], inputs), cast(jax.Array, labels), None)

        # The exported program takes and returns flat lists of arrays: optax's state types are not
        # serializable pytree nodes, and a flat calling convention is what other runtimes expect anyway.
        leaves, tree = jax.tree.flatten((_abstract(train_state), example))

        def step(*flat):
            state_, batch_ = jax.tree.unflatten(tree, flat)
            new_state, metrics = train_step(train_graphdef, state_, batch_, task=task)
            return jax.tree.leaves(new_state), metrics

        programs += [_lower("train_step", jax.jit(step), target, tuple(leaves)) for target in targets]
    return programs


def _label_struct(loss: LossKind, output, batch) -> jax.ShapeDtypeStruct:
    if loss in CLASS_LOSSES:  # integer class ids, one per output position
        return jax.ShapeDtypeStruct((batch, *output.shape[:-1]), jnp.int32)
    return jax.ShapeDtypeStruct((batch, *output.shape), jnp.float32)


def _lower(name: str, function, target: str, arguments: tuple) -> Program:
    exported = export.export(function, platforms=[target])(*arguments)
    return Program(name, target, bytes(exported.serialize()))


def write_bound_forward(loaded: LoadedSpec, analysis: Analysis, model: nnx.Module, out: Path,
                        targets: tuple[str, ...] = TARGETS) -> list[str]:
    """The forward pass (inference mode) with `model`'s weights bound as constants, one program per target in the
    folder `out`: it takes the model's inputs only (symbolic batch axis). Returns the files' names."""
    (batch,) = export.symbolic_shape("batch")
    inputs = tuple(_batched(tensor.shape, tensor.dtype, batch) for _, tensor in analysis.inputs)
    graphdef, state = nnx.split(with_xla_convolutions(model))  # portable programs: the CPU's lowerings stay here

    def forward(*xs):
        return nnx.merge(graphdef, state)(*xs, train=False)

    out.mkdir(parents=True, exist_ok=True)
    names = []
    for target in targets:
        program = _lower("forward", jax.jit(forward), target, inputs)
        (out / program.file_name).write_bytes(program.serialized)
        names.append(program.file_name)
    return names
