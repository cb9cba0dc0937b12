"""An epoch's batches cut into chunks of fused steps, and the rows of each chunk: shared by the training loop and
its pipeline (`dslc.runtime.pipeline`), which must cut them alike. No JAX (workers import this)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Chunk(NamedTuple):
    start: int  # index of its first batch in the epoch
    size: int


def chunks(per_epoch: int, fuse: int) -> list[Chunk]:
    """An epoch cut into chunks of `fuse` steps; the remainder runs one step at a time (a small second compilation)."""
    whole = per_epoch - per_epoch % fuse
    return ([Chunk(start, fuse) for start in range(0, whole, fuse)]
            + [Chunk(start, 1) for start in range(whole, per_epoch)])


def chunk_rows(order: tuple[np.ndarray, np.ndarray], chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """The example indices and weights of a chunk's batches: (K, batch) stacked for a fused step, or (batch,)."""
    index, weight = order
    if chunk.size > 1:
        rows = slice(chunk.start, chunk.start + chunk.size)
        return index[rows], weight[rows]
    return index[chunk.start], weight[chunk.start]
