"""Text for language modelling: a UTF-8 file read as bytes (tokens 0..255), cut into windows of the model
input's length; each window's target is the same window one byte on (next-token prediction).

docs/architecture.md#data. The file is memory-mapped and never read whole: a split is its window starts, and a batch
reads just its windows (`TextWindows`), so a corpus larger than memory trains. Windows start every `stride` bytes
(default: the window's length, no overlap); train, validation and test are consecutive stretches of the file
(`_contiguous_parts`), so that overlapping windows never put the same text in two splits. A tokenizer other than
bytes is for later; bytes need no vocabulary file and read any text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dslc.runtime.data import Dataset, Split, _error, _resolve, _Want, _Where
from dslc.spec.vocab import Text


class TextWindows:
    """Windows of a byte array as int32 token ids, (n, length): indexing reads only the windows asked for."""

    def __init__(self, data: np.ndarray, starts: np.ndarray, length: int) -> None:
        self.data, self.starts, self.length = data, starts, length
        self.dtype = np.dtype(np.int32)
        self.shape = (len(starts), length)
        self.ndim = 2
        self.nbytes = len(starts) * length * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: Any) -> np.ndarray:  # an index array, a slice or an int, as numpy's
        starts = self.starts[index]
        return self.data[np.asarray(starts)[..., None] + np.arange(self.length)].astype(np.int32)


def load_text(source: Text, want: _Want, where: _Where) -> Dataset:
    """The file's windows split for the model (one int input of shape [length]; checked by `dslc check`)."""
    path = _resolve(source.path, "path", where)
    span = where.data("path")
    length = want.inputs[0][1].shape[0]
    assert isinstance(length, int)  # a known length: compiler/checks.py's text_fits
    size = path.stat().st_size
    if size < length + 1:
        raise _error("E704", f"text file '{source.path}' has {size:,} bytes: a window of {length} tokens and its "
                             f"next-token target need {length + 1:,}", span)
    data = np.memmap(path, np.uint8, mode="r")
    stride = source.stride or length
    starts = np.arange(0, size - length, stride, dtype=np.int64)  # each window's target ends inside the file
    return Dataset(*(Split((TextWindows(data, part, length),), TextWindows(data, part + 1, length))
                     for part in _contiguous_parts(starts, length, source.validation, source.test)))


def _contiguous_parts(starts: np.ndarray, length: int, validation: float,
                      test: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window starts of train, validation and test: consecutive stretches of the file, in that order, with the
    windows that would reach into the next stretch left out, so that no byte is read by two splits (windows that
    overlap, as with a stride below the length, would otherwise put the same text in train and test)."""
    n = len(starts)
    cuts = [0, n - round(n * test) - round(n * validation), n - round(n * test), n]
    parts = []
    for begin, end in zip(cuts, cuts[1:], strict=False):
        part = starts[begin:end]
        if end < n:  # the next stretch begins with the text of starts[end]
            part = part[part + length + 1 <= starts[end]]
        parts.append(part)
    return parts[0], parts[1], parts[2]
