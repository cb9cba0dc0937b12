"""`--device-memory`: a train step's memory planned before launch (`dslc.compiler.memory`; no JAX), for `dslc check`
and `dslc train`. Over the device's memory it is E616, exit 2, before anything compiles."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from dslc.compiler.memory import DEVICE_MEMORY, Estimate, Placement, estimate, over_memory, parse_memory, setup_of
from dslc.spec.errors import DslcError

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis
    from dslc.spec.ir import Train
    from dslc.spec.load import LoadedSpec

DEVICE_MEMORY_HELP = ("memory of one device, a size (80GiB, 512MiB, 16GB, bytes) or a device name ("
                      + ", ".join(DEVICE_MEMORY) + "): a train step whose planned memory per device exceeds it is "
                      "an error (E616) before anything compiles, with what to change")


def device_memory(text: str) -> int:
    """An argparse type: `--device-memory`'s bytes."""
    value = parse_memory(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"not a size (80GiB, 512MiB, bytes) or a device name "
                                         f"({', '.join(DEVICE_MEMORY)}): {text!r}")
    return value


def add_device_memory_option(parser: argparse.ArgumentParser, placement: bool = False) -> None:
    """`--device-memory`; with `placement` (dslc check) also `--devices` and `--shard-params`, as `dslc train` has."""
    group = parser.add_argument_group("memory planned before launch")
    group.add_argument("--device-memory", type=device_memory, metavar="SIZE|NAME", help=DEVICE_MEMORY_HELP)
    if placement:
        group.add_argument("--devices", type=_positive, default=1, metavar="N",
                           help="plan for training data-parallel on N devices (each holds batch/N examples)")
        group.add_argument("--shard-params", type=_positive, default=1, metavar="N",
                           help="plan for the parameters and optimiser state split N ways (as dslc train's flag)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number >= 1: {text!r}")
    return value


def plan(loaded: LoadedSpec, analysis: Analysis, train: Train | None, devices: int | None = 1,
         shard_params: int = 1) -> Estimate:
    """The per-device estimate of a train step; `devices` None (every device, unknown before JAX) plans for the
    fewest the state's split allows."""
    return estimate(analysis, loaded.graph, setup_of(train), Placement(max(devices or 1, shard_params), shard_params))


def memory_error(loaded: LoadedSpec, analysis: Analysis, train: Train | None, memory: int,
                 devices: int | None = 1, shard_params: int = 1) -> DslcError | None:
    """E616 at the train section's batch (or the model's name) when the step does not fit `memory`."""
    planned = plan(loaded, analysis, train, devices, shard_params)
    path = ("train", "batch") if train is not None else ("model", "name")
    return over_memory(analysis, loaded.graph, planned, memory, loaded.source_map.nearest(path))


def memory_line(planned: Estimate, memory: int | None) -> str:
    """One line for `dslc check`'s output: the total per device, against the device, and its parts."""
    from dslc.compiler.memory import breakdown, shown

    against = f" of {shown(memory)}" if memory is not None else ""
    assumed = "; no train section: assumed adam, batch 1" if planned.setup.assumed else ""
    return f"  memory per device: about {shown(planned.total)}{against} ({breakdown(planned)}{assumed})"
