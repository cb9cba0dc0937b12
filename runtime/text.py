"""Text for language modelling: documents tokenised, cut into windows of the model input's length that never span two
documents; each window's target is the same window one token on (next-token prediction).

docs/architecture.md#data. `text(path)` names a file (one document) or a folder whose `.txt` files (at any depth, in
path order) are its documents. Windows start every `stride` tokens of a document (default: the window's length, no
overlap); a document shorter than a window and its target adds none. Documents are cut apart rather than packed
with attention masks: the model needs no mask input, and no window mixes two unrelated texts.

Splits: a folder's validation and test splits are whole documents (`document_splits`: documents in the order of a
hash of their paths, so adding a file moves no other, take each split's share of the bytes); a single file's are
its last stretches (`_contiguous_parts`), with no token read by two splits.

Tokens: bytes are the files themselves, memory-mapped (`ByteCorpus`). Any other tokenizer encodes each document once,
before training, into a token cache in the work directory (`token_cache`: one .npy of every document's tokens, each
ended by the tokenizer's end-of-text token, and one of document offsets), memory-mapped afterwards: windows need
every document's token count before the first batch (to count and split them), so tokenising per batch would
tokenise everything twice; a resumed run finds the same cache (its name is a hash of the tokenizer and the files)
and reads the same tokens. The cache is written by a one-off Grain map over the documents, in `--workers` processes
where given. A batch reads just its windows (`TextWindows`), so a corpus larger than memory trains.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dslc.runtime.data import Dataset, Split, _error, _resolve, _Want, _Where
from dslc.spec.vocab import ByteTokens, Text

if TYPE_CHECKING:
    from dslc.runtime.tokenizers import Tokenizer
    from dslc.spec.load import LoadedSpec

MAX_FILES = 1_000_000  # a folder's text files: listing stops here rather than walk a whole disk
SUFFIX = ".txt"
CACHE = "tokens"  # the token caches' folder in the work directory
TRAIN, VALIDATION, TEST = 0, 1, 2


class Corpus:
    """Documents as one sequence of tokens: document i holds tokens offsets[i]..offsets[i + 1] of it."""

    offsets: np.ndarray

    def window_starts(self, length: int, stride: int) -> np.ndarray:
        """Every `stride` tokens of each document, the starts of the windows whose next-token target ends in it."""
        return np.concatenate([np.arange(begin, end - length, stride, dtype=np.int64)
                               for begin, end in zip(self.offsets, self.offsets[1:], strict=False)])

    def document_of(self, starts: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, starts, side="right") - 1

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        raise NotImplementedError


class ByteCorpus(Corpus):
    """Text files mapped as bytes: each file is a document, its bytes its tokens."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.files = [np.memmap(path, np.uint8, mode="r") for path in paths]
        self.offsets = np.cumsum([0, *(len(file) for file in self.files)], dtype=np.int64)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled for worker processes: the files are mapped again there, so their bytes never cross."""
        return ByteCorpus, (self.paths,)

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        """The `length` bytes from each of `starts` (any shape; windows within one file), as int32."""
        flat = starts.ravel()
        which = self.document_of(flat)
        out = np.empty((len(flat), length), np.int32)
        for number in np.unique(which):
            picked = which == number
            local = flat[picked] - self.offsets[number]
            out[picked] = self.files[number][local[:, None] + np.arange(length)]
        return out.reshape((*starts.shape, length))


class TokenCorpus(Corpus):
    """Every document's tokens in one array (a memory-mapped cache, or in memory), with the documents' offsets."""

    def __init__(self, tokens: np.ndarray | str, offsets: np.ndarray) -> None:
        self.source = tokens
        self.tokens = np.load(tokens, mmap_mode="r") if isinstance(tokens, str) else tokens
        self.offsets = offsets

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """A cache crosses to worker processes as its path (mapped again there), not its tokens."""
        return TokenCorpus, (self.source, self.offsets)

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        return np.asarray(self.tokens[starts[..., None] + np.arange(length)], np.int32)


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


def load_text(source: Text, want: _Want, where: _Where, workdir: Path | None = None, workers: int = 0) -> Dataset:
    """The corpus's windows split for the model (one int input of shape [length]; checked by `dslc check`).

    `workdir`: where a bpe tokenizer and the token cache live (a run's work directory); `workers`: processes that
    tokenise the documents."""
    paths, split = documents(source, where)
    span = where.data("path")
    length = want.inputs[0][1].shape[0]
    assert isinstance(length, int)  # a known length: compiler/checks.py's text_fits
    corpus: Corpus
    if isinstance(source.tokenizer, ByteTokens):
        # a file shorter than a window and its target adds nothing: leaving it out also spares mapping empty files
        kept = [number for number, path in enumerate(paths) if path.stat().st_size > length]
        if not kept:
            size = max(path.stat().st_size for path in paths)
            what = f"text file '{source.path}' has" if len(paths) == 1 else \
                f"the longest text file in '{source.path}' has"
            raise _error("E704", f"{what} {size:,} bytes: a window of {length} tokens and its next-token target need "
                                 f"{length + 1:,}", span)
        paths, split = [paths[number] for number in kept], None if split is None else split[kept]
        corpus = ByteCorpus(tuple(str(path) for path in paths))
    else:
        from dslc.runtime.tokenizers import text_tokenizer

        corpus = token_cache(paths, text_tokenizer(source, where.loaded, workdir), workdir, workers)
    starts = corpus.window_starts(length, source.stride or length)
    if not len(starts):
        longest = int(np.diff(corpus.offsets).max(initial=0))
        raise _error("E704", f"the longest document in '{source.path}' has {longest:,} tokens: a window of {length} "
                             f"tokens and its next-token target need {length + 1:,}", span)
    if split is None:
        parts = _contiguous_parts(starts, length, source.validation, source.test)
    else:
        of_window = split[corpus.document_of(starts)]
        parts = (starts[of_window == TRAIN], starts[of_window == VALIDATION], starts[of_window == TEST])
    return Dataset(*(Split((TextWindows(corpus, part, length),), TextWindows(corpus, part + 1, length))
                     for part in parts))


def documents(source: Text, where: _Where) -> tuple[list[Path], np.ndarray | None]:
    """The source's documents, and for a folder each one's split (None for one file: its splits are stretches)."""
    paths = _text_files(source.path, where)
    base, _ = where.base()
    root = (base / source.path).resolve()
    if not root.is_dir():
        return paths, None
    names = [path.relative_to(root).as_posix() for path in paths]
    sizes = np.array([path.stat().st_size for path in paths], np.int64)
    return paths, document_splits(names, sizes, source.validation, source.test)


def document_splits(names: list[str], sizes: np.ndarray, validation: float, test: float) -> np.ndarray:
    """Each document's split (TRAIN, VALIDATION or TEST), in the order of `names` (paths within the folder).

    Documents are taken in the order of a hash of their names (adding a file moves no other): test, then
    validation, each takes documents until it holds its share of the corpus's bytes (so at least one where its
    share is above 0), but never the last one, which stays in train."""
    order = sorted(range(len(names)), key=lambda number: hashlib.sha256(names[number].encode()).hexdigest())
    split = np.full(len(names), TRAIN, np.int8)
    total, taken = int(sizes.sum()), 0
    for number, share in ((TEST, test), (VALIDATION, validation)):
        held = 0
        while share > 0 and held < share * total and taken < len(names) - 1:
            split[order[taken]] = number
            held += int(sizes[order[taken]])
            taken += 1
    return split


def train_texts(source: Text, loaded: LoadedSpec) -> Iterator[str]:
    """The train split's text (what a bpe tokenizer learns from): a folder's train documents, or a file's first
    stretch (its share of the bytes, a character cut at the stretch's end left out)."""
    paths, split = documents(source, _Where(loaded))
    if split is None:
        data = paths[0].read_bytes()
        yield data[:round(len(data) * (1 - source.validation - source.test))].decode("utf-8", errors="ignore")
        return
    for path, number in zip(paths, split, strict=True):
        if number == TRAIN:
            yield path.read_bytes().decode("utf-8", errors="replace")


def token_cache(paths: list[Path], tokenizer: Tokenizer, workdir: Path | None, workers: int) -> TokenCorpus:
    """The documents' tokens: read from the work directory's cache for this tokenizer and these files, else
    tokenised (and cached where there is a work directory)."""
    if workdir is None:
        arrays = list(_encoded(paths, tokenizer, workers))
        tokens = np.concatenate(arrays) if arrays else np.zeros(0, np.int32)
        return TokenCorpus(tokens, np.cumsum([0, *(len(array) for array in arrays)], dtype=np.int64))
    key = hashlib.sha256(_identity(tokenizer).encode())
    for path in paths:
        stat = path.stat()
        key.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    folder = workdir / CACHE
    name = key.hexdigest()[:32]
    cached, starts = folder / f"{name}.npy", folder / f"{name}.offsets.npy"
    if not cached.is_file():
        _write_cache(paths, tokenizer, workers, cached, starts)
    return TokenCorpus(str(cached), np.load(starts))


def _identity(tokenizer: Tokenizer) -> str:
    """What the tokens depend on besides the files: the tokenizer's own file."""
    path = getattr(tokenizer, "path", None)
    return Path(path).read_text(encoding="utf-8") if path is not None else type(tokenizer).__name__


def _write_cache(paths: list[Path], tokenizer: Tokenizer, workers: int, tokens: Path, offsets: Path) -> None:
    """Stream every document's tokens to disk (never all in memory), then give them a .npy header; the tokens
    file is renamed into place last, so a cache that exists is whole."""
    tokens.parent.mkdir(parents=True, exist_ok=True)
    raw, partial = tokens.with_suffix(".raw.partial"), tokens.with_suffix(".npy.partial")
    counts = [0]
    with raw.open("wb") as out:
        for array in _encoded(paths, tokenizer, workers):
            out.write(array.tobytes())
            counts.append(len(array))
    np.save(offsets, np.cumsum(counts, dtype=np.int64))
    with partial.open("wb") as out, raw.open("rb") as body:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int32)), "fortran_order": False,
                  "shape": (sum(counts),)}
        np.lib.format.write_array_header_1_0(out, header)
        shutil.copyfileobj(body, out)
    raw.unlink()
    os.replace(partial, tokens)


class _Encode:
    """One document's tokens, its end token last (a picklable function for Grain's worker processes)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, path: str) -> np.ndarray:
        ids = self.tokenizer.encode(Path(path).read_bytes().decode("utf-8", errors="replace"))
        end = self.tokenizer.end_id
        return np.asarray(ids if end is None else [*ids, end], np.int32)


def _encoded(paths: list[Path], tokenizer: Tokenizer, workers: int) -> Iterator[np.ndarray]:
    """The documents' tokens in order, encoded by a Grain map in this process or in `workers` processes."""
    from dslc.runtime.pipeline import mapped

    return mapped([str(path) for path in paths], _Encode(tokenizer), workers)


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
    windows that would reach into the next stretch left out, so that no token is read by two splits (windows that
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
