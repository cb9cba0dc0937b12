"""Data parallelism with JAX's own engine: a `Mesh` with an axis "data", and "fsdp" to shard the state.

Overview: docs/architecture.md#distributed-training.

The mesh spans the local devices, or with several processes (`jax.distributed`, see
`start_processes`) every process's devices: each process runs the same program on the same
data order, reads only its part of each global batch (`Placement.local_part`), puts it on its own
devices, and XLA's collectives (gloo on CPU, NCCL on GPU) join them.

By default the training state is replicated on every device; each batch is split along its batch axis,
one slice per device. The jitted steps are unchanged: XLA partitions them from the shardings
of their arguments (GSPMD) and adds the gradient all-reduce itself, so the math is the
single-device math on the global batch (equal up to the order of float reductions).
With one device this is plain single-device placement.

`--shard-params N` (FSDP-style, for a state too big for one device) makes the mesh 2-D,
(devices / N) x N over ("data", "fsdp"): each batch is split over all the devices, and each
leaf of the state (parameters and optimiser state alike) is split N ways along its largest
dimension that N divides, or replicated where none does (biases of odd sizes, step counts,
PRNG keys). The "fsdp" axis groups neighbouring devices (one host's, where N divides its
count). The train steps are jitted with these shardings as the state's `out_shardings`, so the
state keeps them from step to step; XLA adds the all-gathers of the parameters and the
reduction of the gradients onto their shards itself (GSPMD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dslc.compiler.random_draws import is_key
from dslc.spec.errors import DslcError

AXIS = "data"
SHARD_AXIS = "fsdp"


@dataclass(frozen=True)
class Placement:
    mesh: Mesh

    @property
    def size(self) -> int:
        return self.mesh.size

    @property
    def local_device(self) -> jax.Device:
        """This process's first device of the mesh."""
        return next(device for device in self.mesh.devices.flat if device.process_index == jax.process_index())

    @property
    def platform(self) -> str:
        return self.mesh.devices.flat[0].platform

    @property
    def shards(self) -> int:
        """How many ways each state leaf is split (1: the state is replicated)."""
        return self.mesh.shape.get(SHARD_AXIS, 1)

    @property
    def build_device(self) -> jax.Device:
        """Where the model and its optimiser state are built before they are placed: `local_device`, or for a
        state to be sharded (it may not fit one device whole) host memory, where JAX runs on the CPU too."""
        if self.shards > 1:
            try:
                return jax.local_devices(backend="cpu")[0]
            except RuntimeError:  # JAX_PLATFORMS leaves the CPU out
                pass
        return self.local_device

    def sharding(self, leaf: Any) -> NamedSharding:
        """Where a state leaf lives: split along its largest dimension that `shards` divides, else on every device."""
        keep_whole = self.shards == 1 or is_key(leaf)
        shape = () if keep_whole else leaf.shape
        splittable = [dim for dim, size in enumerate(shape) if size >= self.shards and size % self.shards == 0]
        if not splittable:
            return NamedSharding(self.mesh, PartitionSpec())
        split = max(splittable, key=lambda dim: shape[dim])
        return NamedSharding(self.mesh, PartitionSpec(*(SHARD_AXIS if dim == split else None
                                                        for dim in range(len(shape)))))

    def state_shardings(self, tree: Any) -> Any:
        """`sharding` for every leaf of `tree`: the jitted steps' `out_shardings` for the state."""
        return jax.tree.map(self.sharding, tree)

    def place(self, tree: Any) -> Any:
        """The training state on the mesh: every leaf whole on every device, or split as `sharding` says."""
        def put(leaf: Any) -> Any:
            where = self.sharding(leaf)
            key = is_key(leaf)  # typed keys cross processes as key data
            data = jax.random.key_data(leaf) if key else leaf
            if not where.is_fully_addressable:  # other processes' devices too: each gives its own (equal) copy
                data = np.asarray(data)
            data = jax.device_put(data, where)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf)) if key else data

        return jax.tree.map(put, tree)

    def batch_sharding(self, stacked: bool) -> NamedSharding:
        """Split along the batch axis over every device: the first axis, or the second for K batches (K, batch, ...)."""
        axes = self.mesh.axis_names
        return NamedSharding(self.mesh, PartitionSpec(None, axes) if stacked else PartitionSpec(axes))

    def local_part(self, batch: int) -> tuple[int, int]:
        """The columns [start, stop) of a global batch of `batch` examples that this process's devices hold: the
        rows it reads (every row with one process)."""
        split = NamedSharding(self.mesh, PartitionSpec(self.mesh.axis_names))
        spans = [index[0].indices(batch) for index in split.addressable_devices_indices_map((batch,)).values()
                 if index is not None]
        start, stop = min(span[0] for span in spans), max(span[1] for span in spans)
        assert stop - start == batch * len(spans) // self.size, "this process's devices hold a broken range"
        return start, stop

    def batch(self, tree: Any, stacked: bool) -> Any:
        """A batch on the mesh, split along its batch axis. With several processes, `tree` is this process's
        part (`local_part`) and the processes' parts make the global batch."""
        sharding = self.batch_sharding(stacked)
        if jax.process_count() == 1:
            return jax.device_put(tree, sharding)
        return jax.tree.map(lambda part: jax.make_array_from_process_local_data(sharding, part), tree)


def state_bytes(tree: Any) -> tuple[int, int]:
    """The bytes of `tree`'s arrays: in all, and on each device of their mesh (each holds one shard of every leaf)."""
    leaves = jax.tree.leaves(tree)
    total = sum(leaf.size * leaf.dtype.itemsize for leaf in leaves)
    per_device = sum(math.prod(leaf.sharding.shard_shape(leaf.shape)) * leaf.dtype.itemsize for leaf in leaves)
    return total, per_device


def to_host(tree: Any) -> Any:
    """`tree`'s arrays whole in host memory; those split over other processes' devices are gathered from them."""
    def gathered(leaf: Any) -> Any:
        if isinstance(leaf, jax.Array) and not (leaf.is_fully_addressable or leaf.is_fully_replicated):
            return multihost_utils.process_allgather(leaf, tiled=True)  # a collective: every process calls it
        return leaf

    return jax.device_get(jax.tree.map(gathered, tree))


def start_processes(coordinator: str | None, processes: int | None, process_id: int | None,
                    detect: bool) -> None:
    """Join a multi-process run before JAX starts its backends (`--coordinator`, or a launcher's environment).

    CPU processes exchange gradients through gloo; GPUs and TPUs through their own collectives.
    """
    if coordinator is None and not detect:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator is None:
        jax.distributed.initialize()  # SLURM, Open MPI, Cloud TPU and JAX_COORDINATOR_ADDRESS are read by JAX
    else:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=processes, process_id=process_id)


def is_primary() -> bool:
    """Process 0 writes the logs, the progress and the summary; every process takes part in checkpoints."""
    return jax.process_index() == 0


def placement(devices: list[jax.Device], count: int | None, batch: int, shards: int = 1) -> Placement:
    """A mesh over the first `count` of `devices` (default: all); the batch must split evenly over them.

    `shards` > 1: a 2-D mesh ("data", "fsdp") whose second axis splits the state `shards` ways.
    """
    count = len(devices) if count is None else count
    if count > len(devices):
        raise DslcError("E613", f"--devices {count}: only {len(devices)} {devices[0].platform} device"
                                f"{'s are' if len(devices) != 1 else ' is'} present", stage="device",
                        hint=f"use --devices {len(devices)} or fewer")
    if batch % count:
        raise DslcError("E613", f"batch {batch} does not split evenly over {count} devices", stage="device",
                        hint=f"use a batch that is a multiple of {count}, or --devices with a divisor of {batch}")
    if count % shards:
        raise DslcError("E613", f"--shard-params {shards} does not divide the device count, {count}", stage="device",
                        hint=f"use --shard-params with a divisor of {count}, or --devices with a multiple of {shards}")
    if shards == 1:
        return Placement(Mesh(np.asarray(devices[:count]), (AXIS,)))
    return Placement(Mesh(np.asarray(devices[:count]).reshape(count // shards, shards), (AXIS, SHARD_AXIS)))
