"""XLA's own figure for the memory of a spec's train step, to hold `dslc.compiler.memory`'s estimate against.

`compiled_step_memory` builds the train step `dslc train` runs (`build_model`, `init_state`, `make_steps`) on
shapes only (`jax.eval_shape`: nothing is initialised) and lowers and compiles it for one device without running
it. Its `memory_analysis()` gives the sizes of the arguments (the state and the batch), the outputs, the outputs
that alias donated arguments (the state, updated in place) and the temporaries (gradients, activations,
workspace); what the step holds at its peak is argument + output - alias + temporaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import jax
import jax.numpy as jnp

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import build_model
from dslc.compiler.steps import Batch, compute_dtype, init_state, make_steps, make_task
from dslc.spec.ir import Train
from dslc.spec.load import LoadedSpec


@dataclass(frozen=True)
class StepMemory:
    argument: int
    output: int
    alias: int
    temp: int

    @property
    def total(self) -> int:
        return self.argument + self.output - self.alias + self.temp


def compiled_step_memory(loaded: LoadedSpec, analysis: Analysis, train: Train) -> StepMemory:
    """XLA's memory analysis of the jitted train step of `loaded`'s model under `train`, on the default device."""
    task = make_task(train)
    kept: dict[str, Any] = {}

    def state() -> Any:
        model = build_model(loaded, analysis, dtype=compute_dtype(train), remat=train.remat, scan=train.scan)
        kept["graphdef"], fresh = init_state(model, task)
        return fresh

    shapes = jax.eval_shape(state)
    step = cast(Any, make_steps(kept["graphdef"], task).train)  # a jitted function: it lowers
    compiled = step.lower(shapes, batch_shapes(analysis, train)).compile()
    memory = compiled.memory_analysis()
    return StepMemory(memory.argument_size_in_bytes, memory.output_size_in_bytes, memory.alias_size_in_bytes,
                      memory.temp_size_in_bytes)


def batch_shapes(analysis: Analysis, train: Train) -> Batch:
    """A batch of `train.batch` examples as shapes: the model's inputs, the loss's targets, weights."""
    size = train.batch
    inputs = tuple(jax.ShapeDtypeStruct((size, *(d or 1 for d in tensor.shape)), jnp.dtype(tensor.dtype))
                   for _, tensor in analysis.inputs)
    output = tuple(d or 1 for d in analysis.layer(analysis.outputs[0]).output.shape)
    if train.loss.kind == "softmax_cross_entropy":
        target = jax.ShapeDtypeStruct((size, *output[:-1]), jnp.int32)
    else:
        target = jax.ShapeDtypeStruct((size, *output), jnp.float32)
    return Batch(*cast(Any, (inputs, target, jax.ShapeDtypeStruct((size,), jnp.float32))))  # shapes for arrays
