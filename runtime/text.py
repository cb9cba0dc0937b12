"""Text for language modelling: UTF-8 files read as bytes (tokens 0..255), cut into windows of the model input's
length; each window's target is the same window one byte on (next-token prediction).

docs/architecture.md#data. `text(path)` names a file, or a folder whose `.txt` files (at any depth, in path order)
make one corpus. Files are memory-mapped and never read whole: a split is its window starts, and a batch reads just
its windows (`TextWindows`), so a corpus larger than memory trains. Windows start every `stride` bytes of a file
(default: the window's length, no overlap) and never span two files (a file shorter than a window and its target
adds none); train, validation and test are consecutive stretches of the corpus (`_contiguous_parts`), so that
overlapping windows never put the same text in two splits. A tokenizer other than bytes is for later; bytes need no
vocabulary file and read any text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from dslc.runtime.data import Dataset, Split, _error, _resolve, _Want, _Where
from dslc.spec.vocab import Text

MAX_FILES = 1_000_000  # a folder's text files: listing stops here rather than walk a whole disk
SUFFIX = ".txt"


class Corpus:
    """Text files mapped as one sequence of bytes: file i holds bytes offsets[i]..offsets[i + 1] of it."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.files = [np.memmap(path, np.uint8, mode="r") for path in paths]
        self.offsets = np.cumsum([0, *(len(file) for file in self.files)], dtype=np.int64)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled for worker processes: the files are mapped again there, so their bytes never cross."""
        return Corpus, (self.paths,)

    def window_starts(self, length: int, stride: int) -> np.ndarray:
        """Every `stride` bytes of each file, the starts of the windows whose next-byte target ends in that file."""
        return np.concatenate([np.arange(begin, end - length, stride, dtype=np.int64)
                               for begin, end in zip(self.offsets, self.offsets[1:], strict=False)])

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        """The `length` bytes from each of `starts` (any shape; windows within one file), as int32."""
        flat = starts.ravel()
        which = np.searchsorted(self.offsets, flat, side="right") - 1
        out = np.empty((len(flat), length), np.int32)
        for number in np.unique(which):
            picked = which == number
            local = flat[picked] - self.offsets[number]
            out[picked] = self.files[number][local[:, None] + np.arange(length)]
        return out.reshape((*starts.shape, length))


class TextWindows:
    """Windows of a corpus as int32 token ids, (n, length): indexing reads only the windows asked for."""

    def __init__(self, corpus: Corpus, starts: np.ndarray, length: int) -> None:
        self.corpus, self.starts, self.length = corpus, starts, length
        self.dtype = np.dtype(np.int32)
        self.shape = (len(starts), length)
        self.ndim = 2
        self.nbytes = len(starts) * length * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: Any) -> np.ndarray:  # an index array, a slice or an int, as numpy's
        return self.corpus.windows(np.asarray(self.starts[index]), self.length)


def load_text(source: Text, want: _Want, where: _Where) -> Dataset:
    """The corpus's windows split for the model (one int input of shape [length]; checked by `dslc check`)."""
    paths = _text_files(source.path, where)
    span = where.data("path")
    length = want.inputs[0][1].shape[0]
    assert isinstance(length, int)  # a known length: compiler/checks.py's text_fits
    # a file shorter than a window and its target adds nothing: leaving it out also spares mapping empty files
    corpus = Corpus(tuple(str(path) for path in paths if path.stat().st_size > length))
    if not corpus.paths:
        size = max(path.stat().st_size for path in paths)
        what = f"text file '{source.path}' has" if len(paths) == 1 else f"the longest text file in '{source.path}' has"
        raise _error("E704", f"{what} {size:,} bytes: a window of {length} tokens and its next-token target need "
                             f"{length + 1:,}", span)
    starts = corpus.window_starts(length, source.stride or length)
    return Dataset(*(Split((TextWindows(corpus, part, length),), TextWindows(corpus, part + 1, length))
                     for part in _contiguous_parts(starts, length, source.validation, source.test)))


def _text_files(shown: str, where: _Where) -> list[Path]:
    """The file `shown`, or the `.txt` files in the folder `shown` at any depth, in path order; each must resolve
    inside the data folder (E702), and a folder must hold one (E701)."""
    base, named = where.base()
    root = (base / shown).resolve()
    if not root.is_dir():
        return [_resolve(shown, "path", where)]
    span = where.data("path")
    found: list[Path] = []
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.endswith(SUFFIX) and not name.startswith("."):
                found.append(Path(folder) / name)
                if len(found) > MAX_FILES:
                    raise _error("E701", f"text folder '{shown}' has more than {MAX_FILES:,} {SUFFIX} files", span,
                                 hint="train on a smaller folder")
    if not found:
        raise _error("E701", f"text folder '{shown}' holds no {SUFFIX} file (looked in '{root}')", span,
                     hint=f"put the corpus in {SUFFIX} files, or name one file")
    for path in found:
        if not path.resolve().is_relative_to(base):
            relative = path.relative_to(root).as_posix()
            raise _error("E702", f"text file '{shown}/{relative}' resolves to '{path.resolve()}', outside {named} "
                                 f"'{base}'", span, hint=f"keep data inside {named} (no symlinks that lead out)")
    return found


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
