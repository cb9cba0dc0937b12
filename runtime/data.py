"""Training data: scikit-learn's digits, local .npz/.npy/CSV/Parquet files (`dslc.runtime.tabular`), image
folders (`dslc.runtime.images`) and synthetic tasks, split and batched.

docs/architecture.md#data, docs/safety.md#paths. `load_dataset` turns the spec's `train.data` choice into a
`Dataset` of three `Split`s (train, validation, test) of numpy arrays shaped for
the model: one input array per model input, `(n, *input_shape)` in the input's
dtype, and a target that is int32 class ids for softmax cross-entropy (shape
`(n, *output_shape[:-1])`) and float32 otherwise (shape `(n, *output_shape)`).
Every split and every shuffle is deterministic from the seed.

`Dataset.batches` yields fixed-size batches: the last partial batch is padded
with weight-0 examples, so a jitted step never sees a new shape.

`.npy` files are memory-mapped: their input arrays are never read whole. Their splits are
`LazyRows` (`dslc.runtime.arrays`: the mapped array and the split's row indices), which read,
cast and normalise a batch's rows when indexed; checks and statistics read them in chunks.
Their targets are read into memory (labels and values are small next to the inputs).
Every other source's splits are numpy arrays in memory.

`normalize_target: standard` (regression losses) standardises the targets with the train
split's mean and standard deviation; `Dataset.statistics` holds those and the inputs'
normalisation statistics, which training stores with each checkpoint.

`prepare_inputs` turns new raw examples (`dslc predict`) into model inputs the
way `load_dataset` turned the training data: same reshape, dtype and
normalisation statistics (those of the run's train split).

Files named in a spec are hostile input: their paths resolve inside the spec's
folder (symlinks that lead out are refused), they are read with
`allow_pickle=False`, and every mismatch with the model is a located error (tabular files:
`dslc.runtime.tabular`, which also names the file's row and column):

| code | meaning                                                                     |
|------|-----------------------------------------------------------------------------|
| E701 | a data file is missing or cannot be read                                    |
| E702 | a data path leads outside the spec's folder                                 |
| E703 | a key of an .npz file or a column of a CSV/Parquet file is missing          |
| E704 | the data's shape does not fit the model's input, its output or the loss     |
| E705 | the data's dtype does not fit (float data for an integer input, ...)        |
| E706 | class labels outside range(classes), or binary labels other than 0 and 1    |
| E707 | the batch is larger than the train split                                    |
| E708 | an image folder has no class sub-folder, an empty class, or too many files  |

No JAX here: the loop moves batches to the device itself.
"""

from __future__ import annotations

import importlib.util
import math
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.data_files import binary_label_fault, class_id_fault, whole_label_fault
from dslc.compiler.data_files import data_error as _error
from dslc.runtime.arrays import LazyRows, RowReader, Scaling, Statistics, feature_scaling
from dslc.runtime.tabular import Request, column_names, read_table
from dslc.spec.errors import DslcError, Span, show_value
from dslc.spec.ir import Train
from dslc.spec.layers.base import Tensor
from dslc.spec.layers.base import show_array_shape as _show
from dslc.spec.load import LoadedSpec
from dslc.spec.vocab import (
    BINARY_LOSSES,
    CLASS_LOSS,
    REGRESSION_LOSSES,
    Csv,
    Digits,
    FileData,
    Images,
    Npy,
    Npz,
    Parquet,
    Synthetic,
    Text,
)

DIGITS_RANGE = 16.0  # sklearn's digits: pixel values 0..16
SYNTHETIC_SPLIT = (0.1, 0.1)  # validation, test
INT_LIMIT = 10  # synthetic integer inputs are drawn from [0, INT_LIMIT)
NUMPY_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": np.float32,  # the step casts to bf16
                "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "bool": np.bool_}
SPLITS = ("train", "validation", "test")
# Streams of one seed: the split, synthetic generation (batch shuffles use (seed, epoch)).
_SPLIT_STREAM, _SYNTHETIC_STREAM = 1, 2


class Rows(Protocol):
    """An input read or decoded on demand (`dslc.runtime.arrays.LazyRows`: rows of a memory-mapped file;
    `dslc.runtime.images.ImageRows`: images): indexing gives the rows asked for."""

    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def nbytes(self) -> int: ...

    def __len__(self) -> int: ...
    def __getitem__(self, index: Any) -> np.ndarray: ...


# Changes to a batch of train inputs, drawn from its example indices and the epoch (image augmentation).
Augment = Callable[[tuple[np.ndarray, ...], np.ndarray, int], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class Split:
    inputs: tuple[np.ndarray | Rows, ...]  # one per model input, (n, *input_shape): in memory, or `Rows`
    target: np.ndarray | Rows  # int32 class ids (softmax cross-entropy) or float32; `Rows` read per batch
    augment: Augment | None = None  # applied by `Dataset.gather` when given the epoch

    def __len__(self) -> int:
        return int(self.target.shape[0])

    @property
    def in_memory(self) -> bool:
        """Plain arrays that a device can hold and gather from: none decoded or augmented per batch."""
        return self.augment is None and all(isinstance(x, np.ndarray) for x in (*self.inputs, self.target))


@dataclass(frozen=True)
class Dataset:
    train: Split
    validation: Split
    test: Split
    # the train split's normalisation statistics, where a source has them (stored with the checkpoints)
    statistics: Statistics = field(default_factory=Statistics, kw_only=True)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r} (expected one of {', '.join(SPLITS)})")
        return getattr(self, name)

    def batch_indices(self, split: str, batch: int, epoch: int, seed: int,
                      shuffle: bool) -> tuple[np.ndarray, np.ndarray]:
        """(index, weight), both (batches, batch): which examples make each batch, and their weights.

        The last batch is filled up with weight-0 copies, so every batch has the same shape.
        With `shuffle`, the order is a permutation drawn from (seed, epoch) only.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        n = len(self.split(split))
        order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
        count = max(math.ceil(n / batch), 1) if n else 0
        padding = count * batch - n
        weight = np.ones(count * batch, np.float32)
        if padding:
            weight[n:] = 0.0
            order = np.concatenate([order, np.full(padding, order[(count - 1) * batch])])
        return order.reshape(count, batch), weight.reshape(count, batch)

    def gather(self, split: str, index: np.ndarray,
               epoch: int | None = None) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """The inputs and target of the examples at `index` (any shape: it leads the results' shapes).

        `epoch`: a training batch's epoch, which the split's augmentation (if any) draws from.
        """
        data = self.split(split)
        inputs = tuple(x[index] for x in data.inputs)
        if data.augment is not None and epoch is not None:
            inputs = data.augment(inputs, index, epoch)
        return inputs, data.target[index]

    def batches(self, split: str, batch: int, epoch: int, seed: int,
                shuffle: bool) -> Iterator[tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]]:
        """(inputs, target, weight) of exactly `batch` examples each (see `batch_indices`)."""
        index, weight = self.batch_indices(split, batch, epoch, seed, shuffle)
        for rows, weights in zip(index, weight, strict=True):
            inputs, target = self.gather(split, rows)
            yield inputs, target, weights


def load_dataset(loaded: LoadedSpec, analysis: Analysis, seed: int, train: Train | None = None, *,
                 workdir: Path | None = None, workers: int = 0) -> Dataset:
    """The spec's data, split and shaped for its model; raises a located `DslcError`.

    `train`: the train section to read (a run's own, with its command-line overrides); default the spec's.
    `workdir`, `workers`: text's tokenizer and token cache live in the run's work directory, made in `workers`
    processes.
    """
    train = train or loaded.spec.train
    if train is None:
        raise ValueError("the spec has no train section")
    where = _Where(loaded)
    source = train.data
    if isinstance(source, Digits):
        dataset = _digits(source, train, analysis, seed, where)
    elif isinstance(source, Images):
        from dslc.runtime.images import load_images  # Pillow only for specs that read images

        dataset = load_images(source, _want(train, analysis), seed, where)
    elif isinstance(source, Text):
        from dslc.runtime.text import load_text

        dataset = load_text(source, _want(train, analysis), where, workdir, workers)
    elif isinstance(source, FileData):
        dataset = _files(source, train, analysis, seed, where)
    elif isinstance(source, Synthetic):
        dataset = _synthetic(source, train, analysis, seed, where)
    else:  # pragma: no cover - the vocabulary is closed
        raise TypeError(f"unknown data source {source.kind!r}")
    size = len(dataset.train)
    if train.batch > size:
        raise DslcError("E707", f"batch {train.batch} is larger than the train split ({size} examples)",
                        where.at(("batch",)), hint=f"use a batch of at most {size}", stage="data")
    return dataset


# -- where things were written ------------------------------------------------------------------
class _Where:
    """Spans in the spec's train section, from its source map."""

    def __init__(self, loaded: LoadedSpec) -> None:
        self.loaded = loaded

    def at(self, path: tuple[str, ...]) -> Span:
        return self.loaded.source_map.nearest(("train", *path))

    def base(self) -> tuple[Path, str]:
        """The folder data paths resolve in and may not leave, and its name for messages."""
        return self.loaded.data_folder.resolve(), self.loaded.data_folder_name

    def data(self, *arguments: str) -> Span:
        """The data value: the first of `arguments` written in the spec, else the source's name."""
        source_map = self.loaded.source_map
        for argument in arguments:
            span = source_map.value(("train", "data", argument))
            if span is not None:
                return span
        return source_map.value(("train", "data", "kind")) or self.at(("data",))


# -- what the model wants -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Want:
    inputs: tuple[tuple[str, Tensor], ...]
    output: Tensor
    loss: str

    @property
    def classes(self) -> int | None:
        return self.output.shape[-1] if self.loss == CLASS_LOSS and self.output.shape else None

    @property
    def target_shape(self) -> tuple[int | None, ...]:
        return self.output.shape[:-1] if self.loss == CLASS_LOSS else self.output.shape


def _want(train: Train, analysis: Analysis) -> _Want:
    if len(analysis.outputs) != 1:
        raise ValueError("training supports models with one output only")  # checked before: E602
    return _Want(analysis.inputs, analysis.layer(analysis.outputs[0]).output, train.loss.kind)


def _fit(array: np.ndarray, shape: tuple[int | None, ...]) -> np.ndarray | None:
    """`array` (n, ...) with its example shape made `shape`: as is, or reshaped when the sizes agree."""
    got = array.shape[1:]
    if len(got) == len(shape) and all(want is None or want == dim for want, dim in zip(shape, got, strict=True)):
        return array
    known = tuple(dim for dim in shape if dim is not None)
    if len(known) == len(shape) and math.prod(got) == math.prod(known):
        return array.reshape((array.shape[0], *known))
    return None


def _is_int(dtype: str) -> bool:
    return np.issubdtype(NUMPY_DTYPES.get(dtype, np.float32), np.integer)


def _integral(array: np.ndarray) -> bool:
    if array.dtype.kind in "biu":
        return True
    return array.dtype.kind == "f" and bool(np.all(np.isfinite(array))) and bool(np.all(array == np.round(array)))


def _cast_input(array: np.ndarray, tensor: Tensor, what: str, span: Span | None) -> np.ndarray:
    return array.astype(_input_dtype(RowReader(array), tensor, what, span))


def _input_dtype(reader: RowReader, tensor: Tensor, what: str, span: Span | None) -> np.dtype:
    """The numpy dtype that `reader`'s values take for the model input; values checked chunk by chunk."""
    array = reader.array
    if array.dtype.kind not in "biuf":
        raise _error("E705", f"{what} has dtype {array.dtype}, but the model input takes {tensor.dtype}", span,
                     hint="store numbers (integers or floats)")
    dtype = np.dtype(NUMPY_DTYPES.get(tensor.dtype, np.float32))
    if not _is_int(tensor.dtype) or not array.size:
        return dtype
    lows, highs = [], []
    for chunk in reader.chunks(native=True):
        if not _integral(chunk):
            raise _error("E705", f"{what} has non-integer values ({array.dtype}), but the model input takes "
                                 f"{tensor.dtype}", span, hint="store integer ids, or declare a float input")
        lows.append(chunk.min())
        highs.append(chunk.max())
    low, high = min(lows), max(highs)
    info = np.iinfo(NUMPY_DTYPES[tensor.dtype])
    if low < info.min or high > info.max:
        raise _error("E705", f"{what} has values {show_value(low.item())}..{show_value(high.item())} that do not "
                             f"fit the model input's {tensor.dtype}", span)
    return dtype


def _target(y: np.ndarray, want: _Want, what: str, span: Span,
            label_at: Callable[[int], str] | None = None) -> np.ndarray:
    """Labels or values shaped for the loss; class ids are checked against the output's classes, binary
    labels against 0 and 1. `label_at` names where example i's label was read (default: its index)."""
    if y.dtype.kind not in "biuf":
        raise _error("E705", f"{what} has dtype {y.dtype}, but the loss '{want.loss}' needs numbers", span)
    fitted = _fit(y, want.target_shape)
    if fitted is None:
        kind = "class ids" if want.classes is not None else "targets"
        raise _error("E704", f"{what}: expected {kind} of shape {_show(want.target_shape)} per example for the "
                             f"model's output {_show(want.output.shape)}, got {_show(y.shape[1:])}", span)
    if want.loss in BINARY_LOSSES:
        bad = (fitted != 0) & (fitted != 1)
        if np.any(bad):
            at, value = _first_bad(fitted, bad, what, label_at)
            raise binary_label_fault(at, value, want.loss, span)
    if want.classes is None:
        return fitted.astype(np.float32)
    whole = (np.isfinite(fitted) & (fitted == np.round(fitted)) if fitted.dtype.kind == "f"
             else np.ones(fitted.shape, bool))
    if not np.all(whole):
        at, value = _first_bad(fitted, ~whole, what, label_at)
        raise whole_label_fault(at, value, span)
    ids = fitted.astype(np.int64)
    bad = (ids < 0) | (ids >= want.classes)
    if np.any(bad):
        at, value = _first_bad(ids, bad, what, label_at)
        raise class_id_fault(at, value, want.classes, _show(want.output.shape), int(ids.min()), int(ids.max()), span)
    return ids.astype(np.int32)


def _first_bad(labels: np.ndarray, bad: np.ndarray, what: str,
               label_at: Callable[[int], str] | None) -> tuple[str, object]:
    """Where the first example with a bad label was read, and that label."""
    rows, flags = labels.reshape(len(labels), -1), bad.reshape(len(bad), -1)
    index = int(np.flatnonzero(flags.any(axis=1))[0])
    at = label_at(index) if label_at is not None else f"{what}, example {index}"
    value = rows[index][flags[index]][0].item()
    return at, int(value) if isinstance(value, float) and value.is_integer() else value


# -- splitting and normalising ------------------------------------------------------------------
def _split_indices(n: int, validation: float, test: float, seed: int,
                   labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint train/validation/test indices of sizes n - v - t, round(n * validation), round(n * test).

    With `labels`, each class is spread evenly over the order before it is cut (stratified).
    """
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    order = rng.permutation(n)
    if labels is not None:
        flat = labels.reshape(n, -1)[:, 0] if labels.ndim > 1 else labels
        shuffled = flat[order]
        rank = np.zeros(n)
        for value in np.unique(shuffled):
            members = np.flatnonzero(shuffled == value)
            rank[members] = (np.arange(len(members)) + 0.5) / len(members)
        order = order[np.argsort(rank, kind="stable")]
    n_test, n_val = round(n * test), round(n * validation)
    test_index, val_index, train_index = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return np.sort(train_index), np.sort(val_index), np.sort(test_index)


def _normalize(train: np.ndarray, others: list[np.ndarray], how: str) -> list[np.ndarray]:
    """Per-feature statistics from the train split, applied to every split; float32 results."""
    if how == "none":
        return [train, *others]
    scaling = feature_scaling(RowReader(train), np.arange(len(train)), how)
    return [scaling.apply(x) for x in (train, *others)]


def _take(arrays: tuple[np.ndarray, ...], target: np.ndarray, index: np.ndarray) -> Split:
    return Split(tuple(x[index] for x in arrays), target[index])


# -- digits -------------------------------------------------------------------------------------
def _digits(source: Digits, train: Train, analysis: Analysis, seed: int, where: _Where) -> Dataset:
    want = _want(train, analysis)
    span = where.data()
    pixels, labels = _digits_arrays()
    if len(want.inputs) != 1:
        raise _error("E704", f"data 'digits' gives one input per example, but the model takes {len(want.inputs)}",
                     span)
    name, tensor = want.inputs[0]
    if _is_int(tensor.dtype) and source.normalize != "none":
        raise _error("E705", f"data 'digits' with normalize={source.normalize} gives floats, but input '{name}' "
                             f"takes {tensor.dtype}", span, hint="use normalize: none or a float input")
    index = _split_indices(len(labels), source.validation, source.test, seed, labels)
    parts = [pixels[i] for i in index]
    if source.normalize == "minmax":
        parts = [(part / DIGITS_RANGE).astype(np.float32) for part in parts]
    else:
        parts = _normalize(parts[0], parts[1:], source.normalize)
    splits = []
    for part, i in zip(parts, index, strict=True):
        x = _fit(part, tensor.shape)
        if x is None:
            raise _error("E704", f"data 'digits' gives 64 pixels per example, but input '{name}' is "
                                 f"{_show(tensor.shape)}", span, hint="use an input of shape [8, 8, 1], [8, 8] or [64]")
        x = x.astype(NUMPY_DTYPES.get(tensor.dtype, np.float32))
        if source.target == "label":
            target = _target(labels[i], want, "data 'digits'", span)
        else:
            fitted = _fit(part, want.output.shape)
            if fitted is None or want.loss == CLASS_LOSS:
                raise _error("E704", f"data 'digits' with target=input gives 64 pixels per example, but the "
                                     f"model's output is {_show(want.output.shape)} with loss '{want.loss}'", span)
            target = fitted.astype(np.float32)
        splits.append(Split((x,), target))
    return Dataset(*splits)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: (1797, 64) pixels 0..16 and their labels.

    Read straight from the file scikit-learn ships, the way `load_digits` reads it:
    importing `sklearn.datasets` takes about 1.3 s, which every run would wait for.
    """
    spec = importlib.util.find_spec("sklearn")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    path = folder / "datasets" / "data" / "digits.csv.gz" if folder else None
    if path is None or not path.is_file():  # a layout this does not know: take the slow, sure way
        from sklearn.datasets import load_digits

        pixels, labels = load_digits(return_X_y=True)
    else:
        table = np.loadtxt(path, delimiter=",")
        pixels, labels = table[:, :-1], table[:, -1]
    return np.asarray(pixels, np.float64), np.asarray(labels, np.int64)


# -- files --------------------------------------------------------------------------------------
def _files(source: FileData, train: Train, analysis: Analysis, seed: int, where: _Where) -> Dataset:
    want = _want(train, analysis)
    label_at = None
    if isinstance(source, Npz):
        path = _resolve(source.path, "path", where)
        arrays = _read_npz(path, source, where)
        x, y = arrays
        x_what, y_what = f"'{source.path}' key '{source.x}'", f"'{source.path}' key '{source.y}'"
        x_span = y_span = where.data("path")
    elif isinstance(source, Npy):
        x_path, y_path = _resolve(source.x, "x", where), _resolve(source.y, "y", where)
        x, y = _read_npy(x_path, source.x, where.data("x")), _read_npy(y_path, source.y, where.data("y"))  # mapped
        x_what, y_what = f"'{source.x}'", f"'{source.y}'"
        x_span, y_span = where.data("x"), where.data("y")
    elif isinstance(source, Csv | Parquet):
        path = _resolve(source.path, "path", where)
        table = read_table(path, source.kind, Request(source.path, source.label_column, source.columns,
                                                      where.data("path"), where.data("label_column", "path"),
                                                      where.data("columns", "path")))
        x, y, label_at = table.features, table.label, table.label_at
        x_what, y_what = f"'{source.path}' (feature columns)", f"'{source.path}' column '{source.label_column}'"
        x_span = y_span = where.data("path")
    else:  # pragma: no cover - the vocabulary is closed
        raise TypeError(f"unknown file source {source.kind!r}")
    if len(want.inputs) != 1:
        raise _error("E704", f"data '{source.kind}' gives one input array, but the model takes "
                             f"{len(want.inputs)} inputs ({', '.join(name for name, _ in want.inputs)})", x_span)
    if x.ndim == 0 or y.ndim == 0:
        raise _error("E704", f"{x_what if x.ndim == 0 else y_what}: expected an array with a leading example "
                             "axis, got a single value", x_span if x.ndim == 0 else y_span)
    if x.shape[0] != y.shape[0]:
        raise _error("E704", f"{x_what} has {x.shape[0]} examples but {y_what} has {y.shape[0]}", y_span)
    name, tensor = want.inputs[0]
    fitted = _fit(x, tensor.shape)
    if fitted is None:
        raise _error("E704", f"{x_what}: input '{name}' expects examples of shape {_show(tensor.shape)}, "
                             f"got {_show(x.shape[1:])} (array {_show(x.shape)})", x_span)
    reader = RowReader.of(x).reshaped(fitted.shape[1:])
    dtype = _input_dtype(reader, tensor, x_what, x_span)
    if source.normalize != "none" and _is_int(tensor.dtype):
        raise _error("E705", f"normalize={source.normalize} gives floats, but input '{name}' takes {tensor.dtype}",
                     where.data("normalize", "path"), hint="use normalize: none for integer inputs")
    target = _target(y, want, y_what, y_span, label_at)
    labels = target if want.classes is not None else None
    index = _split_indices(len(target), source.validation, source.test, seed, labels)
    x = fitted if reader.mapped else fitted.astype(dtype)
    reader = reader.cast(dtype) if reader.mapped else RowReader(x)
    scaling = None if source.normalize == "none" else feature_scaling(reader, index[0], source.normalize)
    statistics = Statistics(scaling, _target_scaling(source, want, target, index[0]))
    if statistics.target is not None:
        target = statistics.target.apply(target)
    if reader.mapped:  # the splits are row indices into the mapping, read a batch at a time
        inputs: list[np.ndarray | Rows] = [LazyRows(reader, i, scaling) for i in index]
    else:
        inputs = [x[i] if scaling is None else scaling.apply(x[i]).astype(dtype, copy=False) for i in index]
    train_split, validation, test = (Split((part,), target[i]) for part, i in zip(inputs, index, strict=True))
    return Dataset(train_split, validation, test, statistics=statistics)


def _target_scaling(source: FileData, want: _Want, target: np.ndarray, train_rows: np.ndarray) -> Scaling | None:
    """`normalize_target: standard`: the train targets' mean and standard deviation (regression losses only)."""
    if source.normalize_target == "none":
        return None
    if want.loss not in REGRESSION_LOSSES:  # `dslc check` refuses it first (E611)
        raise ValueError(f"normalize_target needs a regression loss, not {want.loss!r}")
    return feature_scaling(RowReader(target), train_rows, "standard")


def _resolve(relative: str, argument: str, where: _Where) -> Path:
    """A spec path inside the data folder (the spec's, or `--data-root`); missing files and escapes (symlinks) are
    errors."""
    span = where.data(argument)
    base, named = where.base()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise _error("E702", f"data file '{relative}' resolves to '{path}', outside {named} '{base}'",
                     span, hint=f"keep data files inside {named} (no symlinks that lead out)")
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise _error("E701", f"data file '{relative}' {problem} (looked for '{path}')", span,
                     hint=f"paths are relative to {named}" + ("" if where.loaded.limits.data_root
                                                              else " (or to --data-root DIR)"))
    return path


def _unreadable(relative: str, exc: Exception, span: Span, kind: str) -> DslcError:
    return _error("E701", f"data file '{relative}' cannot be read as {kind}: {show_value(str(exc))}", span)


def _read_npz(path: Path, source: Npz, where: _Where) -> tuple[np.ndarray, np.ndarray]:
    span = where.data("path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError("not an .npz archive")
            missing = [key for key in (source.x, source.y) if key not in archive.files]
            if missing:
                key = missing[0]
                raise _error("E703", f"data file '{source.path}' has no key {show_value(key)} (it has "
                                     f"{', '.join(map(show_value, archive.files)) or 'no arrays'})",
                             where.data("x" if key == source.x else "y", "path"),
                             hint="name the arrays with npz(path, x=..., y=...)")
            return np.asarray(archive[source.x]), np.asarray(archive[source.y])
    except DslcError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(source.path, exc, span, "an .npz archive") from None


def _read_npy(path: Path, relative: str, span: Span) -> np.ndarray:
    """The file's array, memory-mapped (read only where it is indexed)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _unreadable(relative, exc, span, "an .npy array") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise _unreadable(relative, ValueError("an .npz archive, not an .npy array"), span, "an .npy array")
    return array


# -- synthetic ----------------------------------------------------------------------------------
def _synthetic(source: Synthetic, train: Train, analysis: Analysis, seed: int, where: _Where) -> Dataset:
    want = _want(train, analysis)
    span = where.data()
    rng = np.random.default_rng([seed, _SYNTHETIC_STREAM])
    n = source.samples
    if source.task == "adding":
        inputs, target = _adding(source, want, rng, span)
    else:
        inputs, target = _random(want, rng, n, span)
    index = _split_indices(n, *SYNTHETIC_SPLIT, seed)
    return Dataset(*(_take(inputs, target, i) for i in index))


def _known(shape: tuple[int | None, ...], what: str, span: Span) -> tuple[int, ...]:
    if None in shape:
        raise _error("E704", f"synthetic data needs known sizes, but {what} is {_show(shape)}", span)
    return shape  # type: ignore[return-value]


def _random(want: _Want, rng: np.random.Generator, n: int, span: Span) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    inputs: list[np.ndarray] = []
    for name, tensor in want.inputs:
        shape = (n, *_known(tensor.shape, f"input '{name}'", span))
        if _is_int(tensor.dtype):
            inputs.append(rng.integers(0, INT_LIMIT, shape).astype(NUMPY_DTYPES[tensor.dtype]))
        else:
            inputs.append(rng.standard_normal(shape).astype(NUMPY_DTYPES.get(tensor.dtype, np.float32)))
    shape = (n, *_known(want.target_shape, "the model's output", span))
    if want.classes is not None:
        target = rng.integers(0, want.classes, shape).astype(np.int32)
    elif want.loss in BINARY_LOSSES:
        target = rng.integers(0, 2, shape).astype(np.float32)
    else:
        target = rng.standard_normal(shape).astype(np.float32)
    return tuple(inputs), target


def _adding(source: Synthetic, want: _Want, rng: np.random.Generator,
            span: Span) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The adding problem: (value, marker) pairs, two markers set; the target is the sum of the marked values."""
    n, length = source.samples, source.length
    if length < 2:
        raise _error("E704", f"synthetic 'adding' needs length >= 2 (two marked positions), got {length}", span)
    shapes = ", ".join(_show(tensor.shape) for _, tensor in want.inputs)
    if len(want.inputs) != 1 or _fit(np.zeros((0, length, 2)), want.inputs[0][1].shape) is None:
        raise _error("E704", f"synthetic 'adding' gives one input of shape {_show((length, 2))} per example, but the "
                             f"model takes {shapes}", span, hint=f"use an input of shape [{length}, 2]")
    name, tensor = want.inputs[0]
    if _is_int(tensor.dtype):
        raise _error("E705", f"synthetic 'adding' gives float values, but input '{name}' takes {tensor.dtype}", span)
    if want.classes is not None or _fit(np.zeros((0, 1)), want.target_shape) is None:
        raise _error("E704", f"synthetic 'adding' gives one real value per sequence, but the model's output is "
                             f"{_show(want.output.shape)} with loss '{want.loss}'", span,
                     hint="end the model with dense(units=1) and use mse")
    values = rng.random((n, length))
    picks = np.argsort(rng.random((n, length)), axis=1)[:, :2]  # two distinct positions per sequence
    markers = np.zeros((n, length))
    np.put_along_axis(markers, picks, 1.0, axis=1)
    x: np.ndarray = np.stack([values, markers], axis=-1).astype(NUMPY_DTYPES.get(tensor.dtype, np.float32))
    target = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    fitted_x, fitted_y = _fit(x, tensor.shape), _fit(target, want.target_shape)
    assert fitted_x is not None and fitted_y is not None
    return (fitted_x,), fitted_y



# -- new examples (`dslc predict`) ---------------------------------------------------------------
def feature_columns(loaded: LoadedSpec, train: Train | None = None) -> list[str] | None:
    """The feature columns of a CSV or Parquet data source in the order training read them (its `columns`, or all
    its columns less the label column); None when the data is not tabular. `train` defaults to the spec's train
    section."""
    train = train if train is not None else loaded.spec.train
    source = train.data if train is not None else None
    if not isinstance(source, Csv | Parquet):
        return None
    if source.columns is not None:
        return list(source.columns)
    where = _Where(loaded)
    path = _resolve(source.path, "path", where)
    return [name for name in column_names(path, source.path, source.kind, where.data("path"))
            if name != source.label_column]


def prepare_inputs(loaded: LoadedSpec, analysis: Analysis, seed: int, raw: Sequence[np.ndarray], *,
                   train: Train | None = None, what: Sequence[str] | None = None,
                   statistics: Statistics | None = None) -> tuple[np.ndarray, ...]:
    """New examples in the form of the spec's training data, made model inputs exactly as `load_dataset` did.

    `raw` holds one array per model input (in `analysis.inputs` order), examples first, each example
    either in the data's own form (64 pixel values 0..16 for `digits`, the feature columns of a CSV
    file, the arrays of an .npy/.npz file) or already in the input's shape (same number of values).
    The arrays are reshaped to the input's shape, cast to its dtype and normalised with the statistics
    of the train split of `seed` (the run's seed): `statistics` where the run stored them, else computed
    again from the data. `train` defaults to the spec's train section; `what` names each array in errors
    (E704 shape, E705 dtype; they carry no span).
    """
    train = train if train is not None else loaded.spec.train
    if train is None:
        raise ValueError("the spec has no train section")
    want = _want(train, analysis)
    names = list(what) if what is not None else [f"input '{name}'" for name, _ in want.inputs]
    if len(raw) != len(want.inputs) or len(names) != len(raw):
        raise ValueError(f"expected {len(want.inputs)} arrays (one per model input), got {len(raw)}")
    arrays = [np.asarray(array) for array in raw]
    for array, label in zip(arrays, names, strict=True):
        if array.ndim == 0:
            raise _error("E704", f"{label}: expected an array of examples (a leading example axis), got a single "
                                 "value", None)
    counts = [array.shape[0] for array in arrays]
    if len(set(counts)) > 1:
        raise _error("E704", "the inputs hold different numbers of examples: " + ", ".join(
            f"{label} {count}" for label, count in zip(names, counts, strict=True)), None)
    source = train.data
    if isinstance(source, Digits):
        return (_digits_inputs(source, want, arrays[0], names[0], seed),)
    if isinstance(source, Images):
        from dslc.runtime.images import image_inputs

        return (image_inputs(source, want, arrays[0], names[0], seed, _Where(loaded)),)
    prepared = []
    for (name, tensor), array, label in zip(want.inputs, arrays, names, strict=True):
        fitted = _fit(array, tensor.shape)
        if fitted is None:
            raise _input_shape_error(label, name, tensor, array)
        prepared.append(_cast_input(fitted, tensor, label, None))
    if isinstance(source, FileData) and source.normalize != "none":
        # the run's stored statistics, else those of its train split, from the data read again
        scaling = statistics.inputs if statistics is not None else None
        scaling = scaling or _files(source, train, analysis, seed, _Where(loaded)).statistics.inputs
        assert scaling is not None
        prepared = [scaling.apply(x).astype(x.dtype, copy=False) for x in prepared]
    return tuple(prepared)


def _digits_inputs(source: Digits, want: _Want, array: np.ndarray, what: str, seed: int) -> np.ndarray:
    name, tensor = want.inputs[0]
    pixels = _fit(array, (64,))
    if pixels is None:
        raise _input_shape_error(what, name, tensor, array, "64 pixel values 0..16 (as scikit-learn's "
                                                            "load_digits().data) or")
    if pixels.dtype.kind not in "biuf":
        raise _error("E705", f"{what} has dtype {array.dtype}, but data 'digits' is pixel values 0..16", None)
    pixels = pixels.astype(np.float64)
    if source.normalize == "minmax":
        x = (pixels / DIGITS_RANGE).astype(np.float32)
    elif source.normalize == "standard":
        everything, labels = _digits_arrays()
        index = _split_indices(len(labels), source.validation, source.test, seed, labels)
        x = feature_scaling(RowReader(everything), index[0], "standard").apply(pixels)
    else:
        x = pixels
    fitted = _fit(x, tensor.shape)
    if fitted is None:  # training refused this model already
        raise _input_shape_error(what, name, tensor, array)
    return _cast_input(fitted, tensor, what, None)


def _input_shape_error(what: str, name: str, tensor: Tensor, array: np.ndarray, raw: str = "") -> DslcError:
    got, size = array.shape[1:], math.prod(array.shape[1:])
    known = None not in tensor.shape
    values = f" = {math.prod(tensor.shape)} values" if known else ""  # type: ignore[arg-type]
    expected = f"{raw} the input's shape {_show(tensor.shape)}" if raw else f"shape {_show(tensor.shape)}{values}"
    hint = (f"the first axis counts the examples: one example is an array of shape (1, {array.shape[0]})"
            if array.ndim == 1 else None)
    return _error("E704", f"{what}: input '{name}' expects examples of {expected}, got {_show(got)} = {size} "
                          f"value{'s' if size != 1 else ''} per example (array {_show(array.shape)})", None, hint)
