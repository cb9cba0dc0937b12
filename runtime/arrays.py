"""Arrays bigger than memory: memory-mapped examples read a batch of rows at a time, statistics in chunks.

docs/architecture.md#data. A `RowReader` holds an array of examples, `(n, *example_shape)`: a
memory-mapped .npy file (`np.load(mmap_mode="r")`) or an array in memory. `LazyRows` is one
split of it: the reader and the split's sorted row indices. Indexing a `LazyRows` reads only
those rows, then casts them to the model input's dtype and normalises them: the values an
in-memory copy of the split would give, bit for bit. Nothing reads the whole array at once.

Reading through a mapping makes every page read part of the process's resident memory until
the kernel wants it back; a `RowReader` hands the pages back (`madvise(MADV_DONTNEED)`: they
stay in the page cache) after every `RELEASE_BYTES` it read, so a run's resident memory stays
bounded whatever the file's size.

`feature_scaling` computes a split's per-feature statistics (mean and standard deviation, or
minimum and range) over chunks of at most `CHUNK_BYTES` of a mapping (an array in memory is one
chunk: numpy's own `mean(axis=0)` and `std(axis=0)`, so in-memory results are numpy's exactly).
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

CHUNK_BYTES = 16 * 2**20  # rows read at once for statistics and checks (as float64)
RELEASE_BYTES = 64 * 2**20  # pages of a mapping read before they are handed back
PAGE = mmap.PAGESIZE


class RowReader:
    """An array of examples read by row, as `dtype` (default: its own): memory-mapped (pages handed back as it
    reads) or in memory."""

    def __init__(self, array: np.ndarray, mapping: mmap.mmap | None = None, dtype: Any = None) -> None:
        self.array, self._mapping, self._unreleased = array, mapping, 0
        self.dtype = np.dtype(array.dtype if dtype is None else dtype)

    @classmethod
    def of(cls, array: np.ndarray) -> RowReader:
        """A reader of `array`; a `np.memmap` (or a view of one) is read as a mapping."""
        return cls(array, getattr(array, "_mmap", None))

    def cast(self, dtype: Any) -> RowReader:
        """The same rows, read as `dtype`."""
        return RowReader(self.array, self._mapping, dtype)

    @property
    def mapped(self) -> bool:
        return self._mapping is not None

    def take(self, rows: np.ndarray) -> np.ndarray:
        """A copy of the rows at `rows` (1-D), as `dtype`."""
        picked = np.asarray(self.array[rows]).astype(self.dtype, copy=False)
        if self._mapping is not None:
            # a row touches whole pages: count them, so that small rows read at random are not undercounted
            self._unreleased += len(rows) * (math.ceil(self.row_bytes / PAGE) + 1) * PAGE
            if self._unreleased >= RELEASE_BYTES:
                self.release()
        return picked

    def release(self) -> None:
        """Hand the mapping's resident pages back to the kernel (they are read again from the page cache)."""
        if self._mapping is not None:
            self._mapping.madvise(mmap.MADV_DONTNEED)
            self._unreleased = 0

    @property
    def row_bytes(self) -> int:
        return math.prod(self.array.shape[1:]) * self.array.itemsize

    def chunk_rows(self) -> int:
        """Rows per chunk: bounded for a mapping; an array in memory is one chunk (as numpy would read it)."""
        if self._mapping is None:
            return max(self.array.shape[0], 1)
        return max(1, CHUNK_BYTES // max(math.prod(self.array.shape[1:]) * 8, 1))

    def chunks(self, rows: np.ndarray | None = None, native: bool = False) -> Iterator[np.ndarray]:
        """The rows at `rows` (default: every row) in order, `chunk_rows` at a time: float64 arrays
        (k, features), or with `native` the rows as stored."""
        if rows is None and self._mapping is None and self.dtype == self.array.dtype:
            yield self.array if native else self.array.reshape(len(self.array), -1).astype(np.float64)
            return
        rows = np.arange(self.array.shape[0]) if rows is None else rows
        features, step = math.prod(self.array.shape[1:]), self.chunk_rows()
        for start in range(0, len(rows), step):
            chunk = self.take(rows[start:start + step])
            yield chunk if native else chunk.reshape(-1, features).astype(np.float64)
        self.release()


@dataclass(frozen=True)
class Scaling:
    """Per-feature statistics of a train split: values become `(x - shift) / scale`."""

    shift: np.ndarray  # float64, the example shape (a 0-d array for an empty split)
    scale: np.ndarray  # float64, > 0

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x.astype(np.float64) - self.shift) / self.scale).astype(np.float32)

    def undo(self, y: np.ndarray) -> np.ndarray:
        return (y.astype(np.float64) * self.scale + self.shift).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Scaling:
        return cls(np.asarray(value["shift"], np.float64), np.asarray(value["scale"], np.float64))


def feature_scaling(reader: RowReader, rows: np.ndarray, how: str) -> Scaling:
    """The statistics of `reader`'s rows at `rows` for `normalize: standard` (mean, standard deviation) or
    `minmax` (minimum, range); a zero scale becomes 1. Read in chunks: two passes for standard."""
    shape = reader.array.shape[1:]
    if not len(rows):
        return Scaling(np.asarray(0.0), np.asarray(1.0))
    if len(rows) <= reader.chunk_rows():  # one chunk: numpy's own statistics
        (chunk,) = reader.chunks(rows)
        if how == "standard":
            shift, scale = chunk.mean(axis=0), chunk.std(axis=0)
        else:
            shift = chunk.min(axis=0)
            scale = chunk.max(axis=0) - shift
    elif how == "standard":
        shift = _sum(reader.chunks(rows)) / len(rows)
        scale = np.sqrt(_sum(np.square(chunk - shift) for chunk in reader.chunks(rows)) / len(rows))
    else:
        low, high = zip(*((chunk.min(axis=0), chunk.max(axis=0)) for chunk in reader.chunks(rows)), strict=True)
        shift = np.min(low, axis=0)
        scale = np.max(high, axis=0) - shift
    scale = np.where(scale > 0, scale, 1.0)
    return Scaling(shift.reshape(shape), scale.reshape(shape))


def _sum(chunks: Iterator[np.ndarray]) -> np.ndarray:
    """The column sums, each chunk's rows added to the running total in turn."""
    total: np.ndarray | None = None
    for chunk in chunks:
        total = np.add.reduce(chunk if total is None else np.concatenate([total[None], chunk]), axis=0)
    assert total is not None
    return total


class LazyRows:
    """One split of a `RowReader`: its sorted row indices, read on indexing (as the reader's dtype), then normalised.

    Quacks like the split's array where the loop needs it: `len`, `shape`, `dtype`, `nbytes`, and indexing
    by an index array of any shape (or a slice), which gives a numpy array.
    """

    def __init__(self, reader: RowReader, rows: np.ndarray, scaling: Scaling | None = None) -> None:
        self.reader, self.rows, self.scaling = reader, rows, scaling

    @property
    def dtype(self) -> np.dtype:
        return self.reader.dtype

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.reader.array.shape[1:])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __getitem__(self, index: np.ndarray | slice) -> np.ndarray:
        positions = np.arange(len(self.rows))[index] if isinstance(index, slice) else np.asarray(index)
        values = self.reader.take(self.rows[positions.ravel()])
        if self.scaling is not None:
            values = self.scaling.apply(values).astype(self.dtype, copy=False)
        return values.reshape((*positions.shape, *self.shape[1:]))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Every row in memory: for small data and tests; the loop never asks for it."""
        values = self[:]
        return values if dtype is None else values.astype(dtype)


@dataclass(frozen=True)
class Statistics:
    """A run's normalisation statistics (of its train split), stored with its checkpoints for eval and predict."""

    inputs: Scaling | None = None  # `normalize: standard|minmax` of a file source
    target: Scaling | None = None  # `normalize_target: standard`

    def to_json(self) -> dict[str, Any]:
        return {name: scaling.to_json() for name, scaling in (("inputs", self.inputs), ("target", self.target))
                if scaling is not None}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Statistics:
        return cls(*(Scaling.from_json(value[name]) if name in value else None for name in ("inputs", "target")))
