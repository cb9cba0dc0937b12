"""Arrays bigger than memory: memory-mapped examples read a batch of rows at a time, statistics in chunks.

docs/architecture.md#data. A `RowReader` holds an array of examples, `(n, *example_shape)`: a
memory-mapped .npy file (`np.load(mmap_mode="r")`) or an array in memory. `LazyRows` is one
split of it: the reader and the split's sorted row indices. Indexing a `LazyRows` reads only
those rows, then casts them to the model input's dtype and normalises them: the values an
in-memory copy of the split would give, bit for bit. Nothing reads the whole array at once.

The mapping gives the array's layout; a C-ordered array's rows are read from the file with
positioned reads (`RowReader._read` says why not through the mapping), which leave them in the
page cache, not in the process's resident memory. Any other mapped array is read through the
mapping, whose pages are handed back (`madvise(MADV_DONTNEED)`) every `RELEASE_BYTES`. Either
way a run's resident memory stays bounded whatever the file's size.

`feature_scaling` computes a split's per-feature statistics (mean and standard deviation, or
minimum and range) over chunks of at most `CHUNK_BYTES` of a mapping, equal to numpy's up to
rounding; an array in memory is one chunk, given numpy's own `mean(axis=0)` and `std(axis=0)`, so
in-memory results are exactly what they were before mappings.
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

CHUNK_BYTES = 8 * 2**20  # rows read at once for statistics and checks (as float64)
RELEASE_BYTES = 16 * 2**20  # pages of a mapping read before they are handed back
PAGE = mmap.PAGESIZE


class RowReader:
    """An array of examples read by row, as `dtype` (default: its own): from a memory-mapped .npy file or in
    memory. A mapped C-ordered array's rows are read from its file with positioned reads; any other mapped
    array's through the mapping, its pages handed back every `RELEASE_BYTES`."""

    def __init__(self, array: np.ndarray, mapping: mmap.mmap | None = None, dtype: Any = None,
                 file: tuple[str, int] | None = None) -> None:
        self.array, self._mapping, self._file, self._unreleased = array, mapping, file, 0
        self.dtype = np.dtype(array.dtype if dtype is None else dtype)
        self._fd: int | None = None
        # a mapped file as `of` opened it (path, offset, dtype, shape, order): enough to map it again elsewhere
        self._origin: tuple[str, int, np.dtype, tuple[int, ...], str] | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled for worker processes: a mapped file is mapped again there, so its bytes never cross."""
        if self._origin is None:
            return RowReader, (self.array, None, self.dtype)
        return _mapped_again, (self._origin, self.array.shape[1:], self.dtype)

    @classmethod
    def of(cls, array: np.ndarray) -> RowReader:
        """A reader of `array`: as `np.load(path, mmap_mode="r")` gave it (a `np.memmap`), or in memory."""
        if not isinstance(array, np.memmap):
            return cls(array)
        mapping = getattr(array, "_mmap", None)  # numpy keeps the mapping there, and no other way
        plain = array.flags.c_contiguous and array.filename is not None
        reader = cls(array, mapping, file=(str(array.filename), array.offset) if plain else None)
        if array.filename is not None:
            order = "C" if array.flags.c_contiguous else "F"
            reader._origin = (str(array.filename), array.offset, array.dtype, array.shape, order)
        return reader

    def reshaped(self, shape: tuple[int, ...]) -> RowReader:
        """The same rows with examples of `shape` (as many values; nothing is read)."""
        return self._with(self.array.reshape((self.array.shape[0], *shape)), self.dtype)

    def cast(self, dtype: Any) -> RowReader:
        """The same rows, read as `dtype`."""
        return self._with(self.array, dtype)

    def _with(self, array: np.ndarray, dtype: Any) -> RowReader:
        """A reader of the same file (or memory) and mapping: `array` a view of this one's."""
        reader = RowReader(array, self._mapping, dtype, self._file)
        reader._origin = self._origin
        return reader

    @property
    def mapped(self) -> bool:
        return self._mapping is not None

    def take(self, rows: np.ndarray) -> np.ndarray:
        """A copy of the rows at `rows` (1-D), as `dtype`."""
        if self._file is not None:
            picked = self._read(rows)
        else:
            picked = np.asarray(self.array[rows])
            if self._mapping is not None:
                # a row maps whole pages: count them, so that small rows read at random are not undercounted
                self._unreleased += len(rows) * (math.ceil(self.row_bytes / PAGE) + 1) * PAGE
                if self._unreleased >= RELEASE_BYTES:
                    self.release()
        return picked.astype(self.dtype, copy=False)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """The rows from the file, each run of consecutive rows in one read.

        Not through the mapping: a kernel that caches files in large folios maps up to 2 MiB around every
        row read, and 256 rows read at random had made 240 MiB resident; read() leaves them in the page cache.
        """
        assert self._file is not None
        path, offset = self._file
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        buffer = np.empty((len(rows), *self.array.shape[1:]), self.array.dtype)
        data = buffer.reshape(len(rows), -1).view(np.uint8)
        if self.row_bytes:
            if self._fd is None:
                self._fd = os.open(path, os.O_RDONLY)
                weakref.finalize(self, os.close, self._fd)
            cuts = [0, *(np.flatnonzero(np.diff(ordered) != 1) + 1).tolist(), len(rows)]
            for start, stop in itertools.pairwise(cuts):
                position = offset + int(ordered[start]) * self.row_bytes
                view = memoryview(data[start:stop]).cast("B")  # type: ignore[arg-type]
                while view.nbytes:
                    count = os.preadv(self._fd, [view], position)
                    if not count:
                        raise OSError(f"{path}: the file ended before row {int(ordered[stop - 1])}")
                    view, position = view[count:], position + count
        picked = np.empty_like(buffer)
        picked[order] = buffer
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
        """Rows per chunk: bounded for a mapped file; an array in memory is one chunk (as numpy reads it)."""
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


def _mapped_again(origin: tuple[str, int, np.dtype, tuple[int, ...], str], example_shape: tuple[int, ...],
                  dtype: np.dtype) -> RowReader:
    path, offset, stored, shape, order = origin
    mapped = np.memmap(path, dtype=stored, mode="r", offset=offset, shape=shape, order=order)  # type: ignore[call-overload]
    return RowReader.of(mapped).reshaped(example_shape).cast(dtype)


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
        scale = np.sqrt(_sum(_squared(chunk - shift) for chunk in reader.chunks(rows)) / len(rows))
    else:
        low, high = zip(*((chunk.min(axis=0), chunk.max(axis=0)) for chunk in reader.chunks(rows)), strict=True)
        shift = np.min(low, axis=0)
        scale = np.max(high, axis=0) - shift
    scale = np.where(scale > 0, scale, 1.0)
    return Scaling(shift.reshape(shape), scale.reshape(shape))


def _sum(chunks: Iterator[np.ndarray]) -> np.ndarray:
    """The column sums of every chunk's rows (float64), kept as one running total."""
    total: np.ndarray | float = 0.0
    for chunk in chunks:
        total = total + chunk.sum(axis=0)
    return np.asarray(total)


def _squared(deviations: np.ndarray) -> np.ndarray:
    return np.square(deviations, out=deviations)  # in place: a chunk's worth of memory, not two


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
        rows = self.rows[positions.ravel()]
        values = np.empty((len(rows), *self.shape[1:]), self.dtype)
        step = self.reader.chunk_rows()  # normalising goes through float64: a chunk at a time keeps that small
        for start in range(0, len(rows), step):
            part = self.reader.take(rows[start:start + step])
            values[start:start + step] = part if self.scaling is None else self.scaling.apply(part)
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
