"""Data parallelism over local devices with JAX's own engine (DESIGN §6): a `Mesh` with one axis, "data".

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
    def platform(self) -> str:
        return self.mesh.devices.flat[0].platform

    def replicate(self, tree: Any) -> Any:
        """Every leaf whole on every device (the training state)."""
        return jax.device_put(tree, NamedSharding(self.mesh, PartitionSpec()))

    def batch(self, tree: Any, stacked: bool) -> Any:
        """Split along the batch axis: the first axis, or the second for a stack of K batches (K, batch, ...)."""
        spec = PartitionSpec(None, AXIS) if stacked else PartitionSpec(AXIS)
        return jax.device_put(tree, NamedSharding(self.mesh, spec))


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
