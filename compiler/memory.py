"""Per-device memory of one training step, planned before launch (no JAX): `dslc check --device-memory`,
`dslc train --device-memory`.

The estimate is a sum of parts, each a simple formula over the analysis (parameters, their trainable flags,
batch statistics, every layer's output shape) and the train section (optimizer, batch, accumulate, remat,
precision), under a placement (`devices` data-parallel, the state split `shard_params` ways):

- **parameters**: 4 bytes a parameter (parameters are always float32), trainable and frozen, and the batch
  statistics; divided by `shard_params`.
- **gradients**: 4 bytes a trainable parameter; twice that with `accumulate` > 1 (the running sum and one
  micro-batch's gradients); divided by `shard_params`.
- **optimizer state**: `OPTIMIZER_SLOTS` float32 copies of the trainable parameters (sgd 0, with momentum 1;
  adam and adamw 2; rmsprop 1, with momentum 2; lion 1; adafactor 1, an upper bound of its factored moments);
  divided by `shard_params`.
- **activations**: what the forward pass keeps for the backward pass, for one micro-batch on one device
  (batch / devices / accumulate examples): `ACTIVATION_FACTOR` x the tensors each layer keeps: its output (two
  tensors for a norm, which keeps its normalised input too, and for a layer with a fused activation, which keeps
  the value before it; none for a reshape), plus the tensors a composite layer holds inside (attention scores
  and their softmax, queries, keys and values, a feed-forward's hidden units: `_internal`); plus `LOSS_BYTES`
  per output element (the loss's float32 logits, softmax and gradient). Floating activations take the compute
  dtype's bytes (2 under `precision: bfloat16`), integer ones their own. With `remat: true` each outermost block
  instance keeps only its output, and one instance's activations at a time are recomputed: the layers outside
  blocks, the instances' outputs and the largest instance.
- **batch**: the inputs and targets of the device's share of the batch (batch / devices examples).

Against XLA's own `compiled.memory_analysis()` of the jitted train step, compiled on the CPU with XLA's
convolutions as an accelerator compiles them (argument + output - alias + temporaries), the estimate of every zoo
model lies between 20% under and 80% over XLA's figure (`UNDER`, `OVER`; bench/memory_estimate.py,
docs/memory.md): an upper-ish bound, since XLA fuses what the formula counts apart (a batch norm and its
activation) more often than it keeps more. The CPU's own convolution lowerings are not counted (docs/memory.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslc.compiler.analysis.model import DTYPE_BYTES

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis, LayerReport
    from dslc.spec.expand import Graph
    from dslc.spec.ir import Train

PARAM_BYTES = 4  # parameters, gradients and optimizer state are float32 whatever the precision
ACTIVATION_FACTOR = 1.5  # kept per tensor a layer keeps (calibrated against XLA: bench/memory_estimate.py)
LOSS_BYTES = 24  # per output element: the loss's float32 logits, their softmax and its gradient
NORMS = frozenset({"batchnorm", "layernorm", "rmsnorm", "groupnorm"})
VIEWS = frozenset({"reshape", "flatten"})  # a new view of the same buffer: nothing kept
# Against XLA's figure on the CPU, every zoo model's estimate lies in [XLA x (1 - UNDER), XLA x (1 + OVER)]
UNDER, OVER = 0.2, 0.8
DEFAULT_OPTIMIZER = "adam"  # what a spec without a train section is assumed to train with
DEFAULT_BATCH = 1


@dataclass(frozen=True)
class Placement:
    """How a step is spread: `devices` share each batch; the state is split `shard_params` ways."""

    devices: int = 1
    shard_params: int = 1


@dataclass(frozen=True)
class Setup:
    """What the estimate reads from a train section (`setup_of`), or assumes without one."""

    optimizer: str = DEFAULT_OPTIMIZER
    momentum: bool = False  # sgd and rmsprop: a momentum slot
    batch: int = DEFAULT_BATCH
    accumulate: int = 1
    remat: bool = False
    precision: str = "float32"
    loss: str = "softmax_cross_entropy"
    assumed: bool = False  # no train section: the defaults above stand in for one


@dataclass(frozen=True)
class Estimate:
    """Bytes per device, by part."""

    parameters: int
    gradients: int
    optimizer: int
    activations: int
    batch: int
    setup: Setup
    placement: Placement

    @property
    def parts(self) -> dict[str, int]:
        return {"parameters": self.parameters, "gradients": self.gradients, "optimizer state": self.optimizer,
                "activations": self.activations, "batch": self.batch}

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    @property
    def biggest(self) -> str:
        return max(self.parts.items(), key=lambda item: item[1])[0]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, **{name.replace(" ", "_"): value for name, value in self.parts.items()},
                "devices": self.placement.devices, "shard_params": self.placement.shard_params,
                "batch_size": self.setup.batch, "remat": self.setup.remat, "precision": self.setup.precision,
                "optimizer": self.setup.optimizer, "assumed_train": self.setup.assumed}


def optimizer_slots(setup: Setup) -> int:
    """float32 copies of the trainable parameters the optimizer keeps."""
    if setup.optimizer == "sgd":
        return 1 if setup.momentum else 0
    if setup.optimizer in ("adam", "adamw"):
        return 2
    if setup.optimizer == "rmsprop":
        return 2 if setup.momentum else 1
    return 1  # lion (momentum); adafactor (factored second moments: at most one copy)


def setup_of(train: Train | None) -> Setup:
    if train is None:
        return Setup(assumed=True)
    optimizer = train.optimizer
    return Setup(optimizer=optimizer.kind, momentum=bool(getattr(optimizer, "momentum", 0.0)),
                 batch=train.batch, accumulate=train.accumulate, remat=train.remat, precision=train.precision,
                 loss=train.loss.kind)


def estimate(analysis: Analysis, graph: Graph, setup: Setup, placement: Placement = Placement()) -> Estimate:
    """The per-device memory of one train step of `analysis`'s model under `setup` and `placement`."""
    totals = analysis.totals
    shards = placement.shard_params
    parameters = _ceil(PARAM_BYTES * (totals.trainable + totals.frozen + totals.state), shards)
    gradients = _ceil(PARAM_BYTES * totals.trainable * (2 if setup.accumulate > 1 else 1), shards)
    optimizer = _ceil(PARAM_BYTES * totals.trainable * optimizer_slots(setup), shards)
    examples = max(1, -(-setup.batch // placement.devices))  # this device's share of the batch
    micro = max(1, -(-examples // setup.accumulate))
    activations = micro * activation_bytes_per_example(analysis, graph, setup)
    batch = examples * batch_bytes_per_example(analysis, setup)
    return Estimate(parameters, gradients, optimizer, activations, batch, setup, placement)


def largest_batch(analysis: Analysis, graph: Graph, setup: Setup, placement: Placement, memory: int) -> int:
    """The largest batch (a multiple of devices x accumulate) whose estimate fits `memory`; 0 when none does."""
    step = placement.devices * setup.accumulate
    fixed = estimate(analysis, graph, _with_batch(setup, step), placement)
    per_step = fixed.activations + fixed.batch  # one step of the batch adds one micro-batch example per device
    room = memory - (fixed.total - per_step)
    return max(0, room // per_step) * step if per_step > 0 else setup.batch


def _with_batch(setup: Setup, batch: int) -> Setup:
    from dataclasses import replace

    return replace(setup, batch=batch)


def _ceil(amount: int, parts: int) -> int:
    return -(-amount // parts)


def _element_bytes(dtype: str, setup: Setup) -> int:
    if dtype.startswith("float") or dtype == "bfloat16":
        return 2 if setup.precision == "bfloat16" else 4
    return DTYPE_BYTES.get(dtype, 4)


def _size(shape: Iterable[int | None]) -> int:
    size = 1
    for dim in shape:
        size *= dim or 1
    return size


def activation_bytes_per_example(analysis: Analysis, graph: Graph, setup: Setup) -> int:
    """Bytes the forward pass keeps for the backward pass per example (with remat: what remat keeps)."""
    kept: dict[str | None, int] = {}  # per outermost block instance (None: outside blocks)
    outputs: dict[str, int] = {}  # each instance's output, what remat keeps of it
    for layer in analysis.layers:
        node = graph.node(layer.name)
        bytes_ = int(ACTIVATION_FACTOR * _element_bytes(layer.output.dtype, setup)
                     * (_size(layer.output.shape) * _tensors(layer) + _internal(layer, node.params, analysis)))
        block = layer.scope[0] if layer.scope else None
        kept[block] = kept.get(block, 0) + bytes_
        if block is not None:
            outputs[block] = _element_bytes(layer.output.dtype, setup) * _size(layer.output.shape)
    loss = LOSS_BYTES * sum(_size(analysis.layer(name).output.shape) for name in analysis.outputs)
    outside = kept.pop(None, 0)
    if not setup.remat or not kept:
        return outside + sum(kept.values()) + loss
    return outside + sum(outputs.values()) + max(kept.values()) + loss


def batch_bytes_per_example(analysis: Analysis, setup: Setup) -> int:
    inputs = sum(_size(tensor.shape) * DTYPE_BYTES.get(tensor.dtype, 4) for _, tensor in analysis.inputs)
    targets = 0
    for name in analysis.outputs:
        shape = analysis.layer(name).output.shape
        targets += _size(shape[:-1]) * 4 if setup.loss == "softmax_cross_entropy" else _size(shape) * 4
    return inputs + targets + 4  # and the example's weight


def _tensors(layer: LayerReport) -> int:
    """Output-sized tensors a layer keeps for its backward pass."""
    if layer.kind in VIEWS:
        return 0
    return 2 if layer.kind in NORMS or len(layer.classes) == 2 else 1  # classes (W, N): a fused activation


def _internal(layer: LayerReport, params: Any, analysis: Analysis) -> int:
    """Elements per example a composite layer keeps inside it, beyond its output."""
    shape = layer.output.shape
    if layer.kind in ("attention", "decoder_block", "transformer_encoder"):
        length = _size(shape[:-1])
        width = shape[-1] or 1
        heads = params.heads
        key_dim = getattr(params, "key_dim", None) or width // heads
        window = getattr(params, "window", None)
        seen = min(length, window) if window else length
        inside = 2 * heads * length * seen + 4 * heads * key_dim * length  # scores and softmax; q, k, v, mixed
        if layer.kind != "attention":
            mlp = params.mlp_dim
            gated = getattr(params, "gated", False)
            inside += length * (mlp * (3 if gated else 2) + 4 * width)  # hidden units (and gate); norms, residuals
        return inside
    if layer.kind == "gated_mlp":
        return _size(shape[:-1]) * params.hidden * 3
    if layer.kind == "moe":
        # every expert runs on every position; the router's scores, probabilities, choice and combine weights
        return _size(shape[:-1]) * (params.experts * params.hidden * (3 if params.gated else 2) + 4 * params.experts)
    if layer.kind in ("lstm", "gru", "rnn"):
        return _size(shape) * 4  # each step's gates
    return 0


def fits(estimate_: Estimate, memory: int) -> bool:
    return estimate_.total <= memory


# -- devices and the verdict ------------------------------------------------------------------
GIB = 2**30
# Memory per device by name (vendor datasheets; `--device-memory NAME`). JAX on a GPU preallocates 75% of it
# by default (XLA_PYTHON_CLIENT_MEM_FRACTION): give that figure as a size where the default stands.
DEVICE_MEMORY: dict[str, int] = {
    "h100": 80 * GIB,  # H100 SXM and PCIe: 80 GB HBM3 / HBM2e
    "h100-nvl": 94 * GIB,
    "h200": 141 * GIB,
    "a100-40gb": 40 * GIB,
    "a100-80gb": 80 * GIB,
    "a100": 80 * GIB,
    "l4": 24 * GIB,
    "l40s": 48 * GIB,
    "a10g": 24 * GIB,
    "v4": 32 * GIB,  # Cloud TPU v4: 32 GiB HBM a chip
    "v5e": 16 * GIB,
    "v5p": 95 * GIB,
    "v6e": 32 * GIB,
}


def parse_memory(text: str) -> int | None:
    """`--device-memory`'s value in bytes: a size (`80GiB`, `512MiB`, `16GB`, bytes) or a device name; None when
    it is neither."""
    cleaned = text.strip().lower().replace("_", "")
    if cleaned in DEVICE_MEMORY:
        return DEVICE_MEMORY[cleaned]
    for unit, scale in (("kib", 2**10), ("mib", 2**20), ("gib", 2**30), ("tib", 2**40),
                        ("kb", 10**3), ("mb", 10**6), ("gb", 10**9), ("tb", 10**12), ("b", 1), ("", 1)):
        if cleaned.endswith(unit):
            number = cleaned[:len(cleaned) - len(unit)].strip()
            try:
                value = float(number)
            except ValueError:
                continue
            if value > 0 and value == value and value != float("inf"):
                return int(value * scale)
            return None
    return None


def shown(amount: int) -> str:
    """Bytes as people read them: 1.5 GiB, 640.0 MiB, 12.0 KiB."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if amount >= scale:
            return f"{amount / scale:,.1f} {unit}"
    return f"{amount} B"


def breakdown(planned: Estimate) -> str:
    """The parts, biggest first: 'optimizer state 950.0 MiB, parameters 475.0 MiB, ...'."""
    parts = sorted(planned.parts.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {shown(value)}" for name, value in parts)


def advice(analysis: Analysis, graph: Graph, planned: Estimate, memory: int) -> list[str]:
    """What would make the step fit `memory`, each with its estimate: a smaller batch, sharding, remat, bfloat16."""
    from dataclasses import replace

    setup, placement = planned.setup, planned.placement
    changes = []
    batch = largest_batch(analysis, graph, setup, placement, memory)
    if 0 < batch < setup.batch:
        changes.append(f"batch {batch} (the largest that fits)")
    if setup.remat is False and any(layer.scope for layer in analysis.layers):
        with_remat = estimate(analysis, graph, replace(setup, remat=True), placement)
        changes.append(f"remat: true ({shown(with_remat.total)})")
    if setup.precision == "float32":
        bf16 = estimate(analysis, graph, replace(setup, precision="bfloat16"), placement)
        changes.append(f"precision: bfloat16 ({shown(bf16.total)})")
    for shards in (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        if shards <= placement.shard_params:
            continue
        spread = Placement(max(placement.devices, shards), shards)
        sharded = estimate(analysis, graph, setup, spread)
        if sharded.total <= memory:
            changes.append(f"--devices {spread.devices} --shard-params {shards} ({shown(sharded.total)})")
            break
    return changes


def over_memory(analysis: Analysis, graph: Graph, planned: Estimate, memory: int, span: Any,
                flag: str = "--device-memory") -> Any:
    """The E616 error when `planned` exceeds `memory`, else None: the total and its parts, biggest first, and what
    would make it fit. `span`: where to point (the train section's batch, else the model's name)."""
    if planned.total <= memory:
        return None
    from dslc.spec.errors import DslcError

    setup, placement = planned.setup, planned.placement
    where = ("no train section: assumed adam, batch 1" if setup.assumed else f"batch {setup.batch}")
    where += (f" over {placement.devices} devices" if placement.devices > 1 else "")
    where += (f", state split {placement.shard_params} ways" if placement.shard_params > 1 else "")
    message = (f"a train step needs about {shown(planned.total)} per device ({where}), more than "
               f"{flag} {shown(memory)}; the biggest part is the {planned.biggest}: {breakdown(planned)}")
    changes = advice(analysis, graph, planned, memory)
    hint = ("try " + "; or ".join(changes)) if changes else "even one example per device does not fit this device"
    return DslcError("E616", message, span, hint=hint, stage="device")
