"""`dslc train --workers N`: an image folder's train batches decoded and augmented in N worker processes.

docs/architecture.md#data. Decoding images holds Python's GIL (Grain's reader threads made it slower: 14.8k
examples/s in the loop, 8.9k with two threads), so the batches are made in processes, by Grain's `mp_prefetch`.
The run's remaining (epoch, chunk) pairs are one random-access source: item i is the i-th chunk's host batch,
made exactly as the loop would make it (the same rows from (seed, epoch), the same augmentation from (seed, epoch,
example)), so parameters are the same bit for bit with or without workers, and a resumed run starts the source at
its position. No JAX here: the workers import this module.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from dslc.runtime.chunks import Chunk, chunk_rows
from dslc.runtime.data import Dataset

PARENT_CHECK_S = 1.0  # how often a worker checks that the training process still runs
READ_AHEAD = 2  # batches each worker makes ahead of the loop
NO_SHARED_MEMORY = 2**62  # bytes: larger than any array, so that none goes through shared memory
HostBatch = tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]  # inputs, target, weight


class ChunkSource:
    """A run's remaining train chunks as a random-access source: item i is the host batch of `schedule[i]`."""

    def __init__(self, dataset: Dataset, schedule: Sequence[tuple[int, Chunk]], batch: int, seed: int) -> None:
        self.dataset, self.schedule, self.batch, self.seed = dataset, list(schedule), batch, seed
        self._order: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None  # the last epoch's batch rows

    def __len__(self) -> int:
        return len(self.schedule)

    def __getitem__(self, item: int) -> HostBatch:
        epoch, chunk = self.schedule[item]
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.dataset.batch_indices("train", self.batch, epoch, self.seed, shuffle=True))
        index, weight = chunk_rows(self._order[1], chunk)
        inputs, target = self.dataset.gather("train", index, epoch)
        return tuple(np.asarray(x) for x in inputs), np.asarray(target), weight


def workers_apply(dataset: Dataset) -> bool:
    """Whether `--workers` helps this data: train inputs decoded per batch (an image folder), not read or gathered."""
    return any(getattr(x, "decoded", False) for x in dataset.train.inputs)


def worker_batches(source: ChunkSource, workers: int) -> Any:
    """An iterator over `source`'s batches in order, made by `workers` processes; close it when done."""
    import grain
    from absl import flags

    if not flags.FLAGS.is_parsed():  # Grain reads its own absl flags; dslc has no absl command line
        flags.FLAGS.mark_as_parsed()
    # One reader thread per process: more only contend for the GIL (Grain's default is 16 threads, 500 batches ahead).
    dataset = grain.MapDataset.source(source).to_iter_dataset(
        grain.ReadOptions(num_threads=1, prefetch_buffer_size=READ_AHEAD))
    # Batches come back pickled, not in shared memory: Grain 0.2's shared memory of batches made but not taken (a
    # run that stops early) is never freed, and the process ends warning of leaks.
    dataset = grain.experimental.WithOptionsIterDataset(dataset, grain.experimental.DatasetOptions(
        min_shm_size=NO_SHARED_MEMORY))
    options = grain.MultiprocessingOptions(num_workers=workers, per_worker_buffer_size=READ_AHEAD)
    return iter(dataset.mp_prefetch(options, worker_init_fn=_start_worker))


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


def schedule_from(epoch: int, chunk: Chunk, epochs: int, per_epoch_chunks: list[Chunk]) -> Iterator[tuple[int, Chunk]]:
    """The (epoch, chunk) pairs a run goes through from `chunk` of `epoch` to its last epoch."""
    for number in range(epoch, epochs + 1):
        yield from ((number, c) for c in per_epoch_chunks if number > epoch or c.start >= chunk.start)
