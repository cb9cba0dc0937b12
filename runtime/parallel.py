"""Data parallelism with JAX's own engine (DESIGN §6): a `Mesh` with one axis, "data".

The mesh spans the local devices, or with several processes (`jax.distributed`, see
`start_processes`) every process's devices: each process runs the same program on the same
data order, puts its slice of each global batch on its own devices, and XLA's collectives
(gloo on CPU, NCCL on GPU) join them.

The training state is replicated on every device; each batch is split along its batch axis,
one slice per device. The jitted steps are unchanged: XLA partitions them from the shardings
of their arguments (GSPMD) and adds the gradient all-reduce itself, so the math is the
single-device math on the global batch (equal up to the order of float reductions).
With one device this is plain single-device placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dslc.spec.errors import DslcError

AXIS = "data"


@dataclass(frozen=True)
class Placement:
    mesh: Mesh

    @property
    def size(self) -> int:
        return self.mesh.size

    @property
    def local_device(self) -> jax.Device:
        """This process's first device of the mesh: where the model is built before it is replicated."""
        return next(device for device in self.mesh.devices.flat if device.process_index == jax.process_index())

    @property
    def platform(self) -> str:
        return self.mesh.devices.flat[0].platform

    def replicate(self, tree: Any) -> Any:
        """Every leaf whole on every device (the training state)."""
        everywhere = NamedSharding(self.mesh, PartitionSpec())

        def put(leaf: Any) -> Any:
            if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):  # typed keys cross processes as key data
                data = jax.device_put(jax.random.key_data(leaf), everywhere)
                return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
            return jax.device_put(leaf, everywhere)

        return jax.tree.map(put, tree)

    def batch(self, tree: Any, stacked: bool) -> Any:
        """Split along the batch axis: the first axis, or the second for a stack of K batches (K, batch, ...)."""
        spec = PartitionSpec(None, AXIS) if stacked else PartitionSpec(AXIS)
        return jax.device_put(tree, NamedSharding(self.mesh, spec))


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


def placement(devices: list[jax.Device], count: int | None, batch: int) -> Placement:
    """A mesh over the first `count` of `devices` (default: all); the batch must split evenly over them."""
    count = len(devices) if count is None else count
    if count > len(devices):
        raise DslcError("E613", f"--devices {count}: only {len(devices)} {devices[0].platform} device"
                                f"{'s are' if len(devices) != 1 else ' is'} present", stage="device",
                        hint=f"use --devices {len(devices)} or fewer")
    if batch % count:
        raise DslcError("E613", f"batch {batch} does not split evenly over {count} devices", stage="device",
                        hint=f"use a batch that is a multiple of {count}, or --devices with a divisor of {batch}")
    return Placement(Mesh(np.asarray(devices[:count]), (AXIS,)))
