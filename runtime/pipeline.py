"""The train batches of every source, made by one Grain pipeline over a run's remaining chunks.

docs/architecture.md#data. A run's remaining (epoch, chunk) pairs are one random-access source (`ChunkSource`):
item i is the i-th chunk's rows (example indices and weights, drawn from (seed, epoch)), cut to this process's
part of each global batch, and, unless the train split stays on the device (the loop gathers it there from the
rows), the host batch made from them exactly as the loop would make it (the same augmentation from (seed, epoch,
example)). Batches are a pure function of the position, so parameters are the same bit for bit with any number of
workers, and a resumed run starts the source at its position: a checkpoint needs no iterator state beyond the
position it already records.

`workers` 0: items are made in the training process, on demand, while the device runs the previous chunk (a reader
thread contended with decoding for Python's GIL: 14.8k examples/s in the loop, 8.9k with two threads). N > 0
(`dslc train --workers N`): Grain's `mp_prefetch` makes them in N processes. No JAX here: the workers import this
module.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dslc.runtime.chunks import Chunk, chunk_rows
from dslc.runtime.data import Dataset

PARENT_CHECK_S = 1.0  # how often a worker checks that the training process still runs
READ_AHEAD = 2  # batches each worker makes ahead of the loop
NO_SHARED_MEMORY = 2**62  # bytes: larger than any array, so that none goes through shared memory
HostBatch = tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]  # inputs, target, weight


@dataclass(frozen=True)
class Item:
    """One chunk of a run: its place, its rows (K, part) or (part,), and its host batch unless rows suffice."""

    epoch: int
    chunk: Chunk
    index: np.ndarray
    weight: np.ndarray
    batch: HostBatch | None


class ChunkSource:
    """A run's chunks from global chunk number `first` on (epoch e's chunk c is number (e - 1) * len(per_epoch) + c),
    as a random-access source: item i is chunk `first + i`.

    `part`: the columns of each global batch that this process reads (`Placement.local_part`); `rows_only`: items
    carry no host batch (the train split is on the device).
    """

    def __init__(self, dataset: Dataset, per_epoch: list[Chunk], epochs: int, first: int, *, batch: int, seed: int,
                 part: tuple[int, int] | None = None, rows_only: bool = False) -> None:
        self.dataset, self.per_epoch, self.first, self.batch, self.seed = dataset, per_epoch, first, batch, seed
        self.part, self.rows_only = part, rows_only
        self.count = max(epochs * len(per_epoch) - first, 0)
        self._order: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None  # the last epoch's batch rows

    def __len__(self) -> int:
        return self.count

    def place(self, item: int) -> tuple[int, Chunk]:
        """The (epoch, chunk) of item `item`."""
        epoch, number = divmod(self.first + item, len(self.per_epoch))
        return epoch + 1, self.per_epoch[number]

    def __getitem__(self, item: int) -> Item:
        epoch, chunk = self.place(item)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.dataset.batch_indices("train", self.batch, epoch, self.seed, shuffle=True))
        index, weight = chunk_rows(self._order[1], chunk)
        if self.part is not None:
            index, weight = index[..., slice(*self.part)], weight[..., slice(*self.part)]
        if self.rows_only:
            return Item(epoch, chunk, index, weight, None)
        inputs, target = self.dataset.gather("train", index, epoch)
        return Item(epoch, chunk, index, weight, (tuple(np.asarray(x) for x in inputs), np.asarray(target), weight))


def first_chunk(position: int, per_epoch_steps: int, per_epoch: list[Chunk]) -> int:
    """The global number of the chunk that starts at step `position` (a run stops or saves only at a chunk's end)."""
    epoch, offset = divmod(position, per_epoch_steps)
    return epoch * len(per_epoch) + next((n for n, chunk in enumerate(per_epoch) if chunk.start >= offset),
                                         len(per_epoch))


def items(source: ChunkSource, workers: int) -> Iterator[Item]:
    """`source`'s items in order, made in this process (`workers` 0) or by `workers` processes; an iterator with
    `close()` when workers make them (close it when done: a run that stops early leaves items unasked for)."""
    if not workers:  # in order, on demand, in this thread: what Grain does with no threads and no read-ahead
        return (source[item] for item in range(len(source)))
    import grain  # here: importing it costs a run's first step about 0.07 s, and only workers need it

    dataset = grain.MapDataset.source(source)
    _parse_grain_flags()
    # One reader thread per process: more only contend for the GIL (Grain's default is 16 threads, 500 batches ahead).
    made = dataset.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=READ_AHEAD))
    # Batches come back pickled, not in shared memory: Grain 0.2's shared memory of batches made but not taken (a
    # run that stops early) is never freed, and the process ends warning of leaks.
    made = grain.experimental.WithOptionsIterDataset(made, grain.experimental.DatasetOptions(
        min_shm_size=NO_SHARED_MEMORY))
    options = grain.MultiprocessingOptions(num_workers=workers, per_worker_buffer_size=READ_AHEAD)
    return iter(made.mp_prefetch(options, worker_init_fn=_start_worker))


def mapped(inputs: list[Any], function: Callable[[Any], Any], workers: int) -> Iterator[Any]:
    """`function` of each of `inputs`, in order: a one-off Grain map in this process (`workers` 0) or in `workers`
    processes (a text corpus's documents tokenised once, runtime/text.py)."""
    import grain

    dataset = grain.MapDataset.source(inputs).map(function)
    if not workers:
        return iter(dataset)
    _parse_grain_flags()
    made = dataset.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=READ_AHEAD))
    options = grain.MultiprocessingOptions(num_workers=workers, per_worker_buffer_size=READ_AHEAD)
    return iter(made.mp_prefetch(options, worker_init_fn=_start_worker))


def _parse_grain_flags() -> None:
    from absl import flags

    if not flags.FLAGS.is_parsed():  # Grain reads its own absl flags; dslc has no absl command line
        flags.FLAGS.mark_as_parsed()


def workers_apply(dataset: Dataset) -> bool:
    """Whether `--workers` can help: a train split read or decoded per batch (image folders, .npy files, text), not
    one held in memory (which the loop gathers, on the device where it fits)."""
    return not dataset.train.in_memory


def _start_worker(worker_index: int, worker_count: int) -> None:
    """Ctrl-C reaches the whole process group: the loop saves its checkpoint, then stops the workers, which must
    not die (printing tracebacks) first. A loop killed outright (SIGKILL) cannot stop them: they notice that
    their parent is gone and exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def exit_with_the_parent() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=exit_with_the_parent, name="dslc-worker-parent", daemon=True).start()


def close(iterator: Any) -> None:
    """Stop `items`' worker processes, if it has any."""
    if hasattr(iterator, "close"):
        iterator.close()
