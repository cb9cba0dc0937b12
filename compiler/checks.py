"""Training checks: combinations of model and `train` section that make no sense, found before any step runs.

docs/architecture.md#compiler: "an unsupported combination is a spec error, not a crash at step 1".
Each rule below reads the IR (`Train`) and the static analysis (output shapes,
parameter counts) and returns located `DslcError`s (codes E6xx; E702 for a data
path that leads out of the spec's folder). No JAX here:
`dslc check` runs these rules and must start fast.

The loss decides what a target is, and every metric must read the same target:

| loss                           | target per example                      | metrics that fit    |
|--------------------------------|-----------------------------------------|---------------------|
| `softmax_cross_entropy`        | class indices, shape `output[:-1]`      | accuracy, top_k     |
| `sigmoid_binary_cross_entropy` | 0/1 values, shape `output`              | accuracy (binary)   |
| `mse`, `mae`, `huber`          | real values, shape `output`             | mse, mae            |

Under softmax cross-entropy, `perplexity` and `bits_per_byte` restate the cross-entropy; bits per byte only for
text read as bytes (a token is a byte there; with any other data it would be bits per token).

Positions come from the loaded spec's source map (`dslc.spec.sourcemap`):
`("train", "optimizer", "lr", "warmup_steps")` is where that value was written,
by name or (in the DSL) by position.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.data_files import Request, scanned_label_faults, table_faults
from dslc.compiler.image_folders import folder_inside, list_folder
from dslc.compiler.initial_weights import check_faults
from dslc.spec.errors import DslcError, Span, did_you_mean, show_value
from dslc.spec.ir import Train
from dslc.spec.layers._shapes import INTEGER_DTYPES
from dslc.spec.layers.base import Tensor
from dslc.spec.layers.base import show_array_shape as _show
from dslc.spec.load import LoadedSpec
from dslc.spec.sourcemap import IRPath, SourceMap
from dslc.spec.validation import OUTSIDE_HINT
from dslc.spec.vocab import (
    BINARY_LOSSES,
    CLASS_LOSS,
    CLASS_LOSSES,
    CROSS_ENTROPY_METRICS,
    REGRESSION_LOSSES,
    Bpe,
    ByteTokens,
    Choice,
    Csv,
    Digits,
    FileData,
    Images,
    Parquet,
    Text,
    TokenizerFile,
    TopK,
    WarmupCosine,
    class_loss_on_one_unit_hint,
    data_paths,
)

# The E6xx codes (spec/codes.py holds the published catalogue).

DIGITS_CLASSES = 10
DIGITS_PIXELS = 64
FLOATS = ("float32", "float16", "bfloat16")
IMAGE_CHANNELS = (1, 3)  # grayscale, RGB
BYTE_TOKENS = 256  # text is read as bytes (runtime/text.py)
MAX_TOKENIZER_BYTES = 256 * 2**20  # a tokenizer.json larger than this is not read (GPT-2's is 1.4 MB)


def metric_name(metric: Choice) -> str:
    """The name a metric is reported under (and that `checkpoint.best` and `early_stopping.monitor` may name)."""
    return f"top_{metric.k}_accuracy" if isinstance(metric, TopK) else metric.kind


def metric_names(train: Train) -> tuple[str, ...]:
    """Every name a training run reports: the loss first, then the metrics in spec order."""
    return ("loss", *(metric_name(metric) for metric in train.metrics))


# Reported as the exp of a mean: combined over batches by a weighted geometric mean (exp of the mean of logs).
GEOMETRIC_METRICS = ("perplexity",)


def metric_mode(name: str) -> Literal["min", "max"]:
    """Whether a reported name improves upward (accuracy, top_k accuracy) or downward (loss, mse, mae)."""
    return "max" if name == "accuracy" or name.endswith("_accuracy") else "min"


def check_training(loaded: LoadedSpec, analysis: Analysis | None) -> list[DslcError]:
    """Every training error of a spec ([] without a `train` section). The rules that compare the train
    section with the model run when there is an analysis; the others run regardless."""
    train = loaded.spec.train
    if train is None:
        return []
    where = _Where(loaded.source_map, loaded.data_folder, loaded.data_folder_name, loaded.limits.data_scan_bytes)
    errors: list[DslcError] = []
    for rule in TRAIN_RULES:
        errors.extend(rule(train, where))
    if analysis is not None:
        for model_rule in MODEL_RULES:
            errors.extend(model_rule(train, analysis, where))
    return errors


# -- where things were written ------------------------------------------------------------------
class _Where:
    """Spans in the train section, from the source map."""

    def __init__(self, source_map: SourceMap, folder: Path, named: str, scan_bytes: int) -> None:
        self.map = source_map
        self.folder, self.named = folder, named  # where data paths resolve (LoadedSpec.data_folder), for messages
        self.scan_bytes = scan_bytes  # CSV files up to this size have their labels scanned; images' headers, 4 KiB each

    def train(self) -> Span:
        """The `train` key itself: for findings about the training run as a whole."""
        return self.map.key_or_value(("train",))

    def at(self, *path: str | int) -> Span:
        """Where `train.<path>` was written, or the closest thing above it."""
        return self.map.nearest(("train", *path))

    def written(self, *path: str | int) -> Span | None:
        """Where `train.<path>` was written; None when it was not (a default)."""
        return self.map.value(("train", *path))

    def kind(self, *path: str | int) -> Span:
        """A choice's name: a bare name (`mse`) or the one key of `{adam: {...}}` / `adam(...)`."""
        full: IRPath = ("train", *path)
        return self.map.value((*full, "kind")) or self.map.nearest(full)

    def model_outputs(self) -> Span | None:
        return self.map.value(("model", "outputs"))


TrainRule = Callable[[Train, _Where], Iterator[DslcError]]
ModelRule = Callable[[Train, Analysis, _Where], Iterator[DslcError]]


def _error(code: str, message: str, span: Span, hint: str | None = None,
           related: tuple[tuple[str, Span], ...] = ()) -> DslcError:
    return DslcError(code, message, span, hint=hint, stage="train", related=related)


def _output(analysis: Analysis) -> Tensor | None:
    """The model's one output (None with several: `single_output` reports that)."""
    if len(analysis.outputs) != 1:
        return None
    return analysis.layer(analysis.outputs[0]).output


def _classes_problem(output: Tensor) -> str | None:
    """Why an output cannot be class scores over its last axis, or None when it can."""
    if not output.shape:
        return f"the model's output {_show(output.shape)} has no class axis"
    if output.shape[-1] is None:
        return f"the number of classes (the last axis of the output {_show(output.shape)}) is unknown"
    if output.shape[-1] < 2:
        return f"the model's output {_show(output.shape)} has one unit: a single score is not a class distribution"
    return None


# -- the rules ----------------------------------------------------------------------------------
def single_output(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    if len(analysis.outputs) > 1:
        outputs = where.model_outputs()
        yield _error("E602", f"the model has {len(analysis.outputs)} outputs ({', '.join(analysis.outputs)}); "
                             "training supports models with one output only (for now)",
                     where.kind("loss"), hint="name one layer in the model's 'outputs' to train it",
                     related=(("the outputs are listed here", outputs),) if outputs else ())


def loss_fits_output(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    output = _output(analysis)
    if output is None or train.loss.kind not in CLASS_LOSSES:
        return
    problem = _classes_problem(output)
    if problem:
        one_unit = bool(output.shape) and output.shape[-1] == 1
        hint = (class_loss_on_one_unit_hint(train.data) if one_unit
                else "end the model with a layer whose last axis has one unit per class, e.g. dense(units=10)")
        yield _error("E603", f"loss '{train.loss.kind}': {problem}", where.kind("loss"), hint=hint)


def metrics_fit(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    output = _output(analysis)
    loss = train.loss.kind
    seen: dict[str, int] = {}
    for index, metric in enumerate(train.metrics):
        name = metric_name(metric)
        if name in seen:
            yield _error("E605", f"metric '{name}' is given twice", where.kind("metrics", index),
                         hint="remove one of them")
            continue
        seen[name] = index
        if output is not None:
            yield from _metric_fits(metric, output, loss, index, where)


def _metric_fits(metric: Choice, output: Tensor, loss: str, index: int, where: _Where) -> Iterator[DslcError]:
    kind = metric.kind
    span = where.kind("metrics", index)
    if kind in CROSS_ENTROPY_METRICS:
        if loss not in CLASS_LOSSES:
            yield _error("E604", f"metric '{kind}' restates softmax cross-entropy, but the loss is '{loss}'", span,
                         hint=f"use it with loss {CLASS_LOSS}")
        elif problem := _classes_problem(output):
            yield _error("E604", f"metric '{kind}': {problem}", span)
    elif kind in ("accuracy", "top_k") and loss in REGRESSION_LOSSES:
        yield _error("E604", f"metric '{kind}' compares class labels, but loss '{loss}' trains on real-valued "
                             "targets", span, hint="use the metrics mse or mae with this loss")
    elif kind in ("mse", "mae") and loss not in REGRESSION_LOSSES:
        yield _error("E604", f"metric '{kind}' compares real-valued targets, but loss '{loss}' trains on labels",
                     span, hint="use the metric accuracy with this loss")
    elif kind == "top_k" and loss in BINARY_LOSSES:
        yield _error("E604", f"metric 'top_k' ranks classes, but loss '{loss}' makes independent yes/no "
                             "predictions", span, hint="use the metric accuracy with this loss")
    elif kind in ("accuracy", "top_k") and loss in CLASS_LOSSES:
        problem = _classes_problem(output)
        if problem:
            yield _error("E604", f"metric '{kind}': {problem}", span)
        elif isinstance(metric, TopK) and metric.k >= output.shape[-1]:  # type: ignore[operator]
            classes = output.shape[-1]
            yield _error("E604", f"metric 'top_k': k={metric.k} is not smaller than the number of classes "
                                 f"({classes}): it would always be 1", where.written("metrics", index, "k") or span,
                         hint=f"choose k below {classes}")


def bits_per_byte_data(train: Train, where: _Where) -> Iterator[DslcError]:
    """Bits per byte is the loss in bits only where each token is one byte: text data with the byte tokenizer."""
    data = train.data
    for index, metric in enumerate(train.metrics):
        if metric.kind != "bits_per_byte":
            continue
        if not isinstance(data, Text):
            yield _error("E615", f"metric 'bits_per_byte' needs text data read as bytes; data '{data.kind}' gives "
                                 "no bytes", where.kind("metrics", index), hint="use the metric perplexity")
        elif not isinstance(data.tokenizer, ByteTokens):
            yield _error("E615", f"metric 'bits_per_byte' needs text read as bytes, but the text's tokenizer is "
                                 f"'{data.tokenizer.kind}' (a token is not a byte)", where.kind("metrics", index),
                         hint="use the metric perplexity, or the tokenizer bytes",
                         related=(("the tokenizer", where.kind("data", "tokenizer")),))


def accumulate_divides_batch(train: Train, where: _Where) -> Iterator[DslcError]:
    if train.batch % train.accumulate:
        yield _error("E614", f"accumulate: {train.accumulate} micro-batches do not divide the batch of "
                             f"{train.batch} examples", where.at("accumulate"),
                     hint=f"choose a divisor of {train.batch}, or a batch that is a multiple of {train.accumulate}")


def trainable_parameters(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    if analysis.totals.trainable == 0:
        frozen = analysis.totals.frozen
        detail = f"all {frozen:,} parameters are frozen" if frozen else "it has no layer with parameters"
        hint = "set 'trainable: true' on some layer" if frozen else "add a layer with parameters (dense, conv…)"
        yield _error("E607", f"nothing to train: {detail}", where.train(), hint=hint)


def precision_fits_model(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    if train.precision != "bfloat16":
        return
    # Layers with parameters compute in floating point whatever their input (parameters are float);
    # the analysis' tensor dtypes tell the rest.
    tensors = [tensor for _, tensor in analysis.inputs] + [layer.output for layer in analysis.layers]
    if analysis.totals.params == 0 and not any(tensor.dtype in FLOATS for tensor in tensors):
        yield _error("E606", "precision 'bfloat16' sets the dtype of floating-point computation, but this model "
                             "computes only on integers", where.at("precision"),
                     hint="leave precision at float32")


def schedule_consistent(train: Train, where: _Where) -> Iterator[DslcError]:
    lr = train.optimizer.lr
    if isinstance(lr, WarmupCosine) and lr.warmup_steps >= lr.decay_steps:
        yield _error("E608", f"schedule 'warmup_cosine': warmup_steps ({lr.warmup_steps}) must be smaller than "
                             f"decay_steps ({lr.decay_steps}), the schedule's whole length including the warmup",
                     where.written("optimizer", "lr", "warmup_steps") or where.kind("optimizer", "lr"),
                     hint=f"set decay_steps to the total number of steps, e.g. {lr.warmup_steps + lr.decay_steps}")


def optimizer_options(train: Train, where: _Where) -> Iterator[DslcError]:
    optimizer = train.optimizer
    if optimizer.kind == "sgd" and optimizer.nesterov and optimizer.momentum == 0.0:
        yield _error("E609", "optimizer 'sgd': nesterov has no effect without momentum",
                     where.written("optimizer", "nesterov") or where.kind("optimizer"),
                     hint="set momentum (e.g. 0.9) or remove nesterov")


def checkpoint_best(train: Train, where: _Where) -> Iterator[DslcError]:
    best = train.checkpoint.best if train.checkpoint else None
    yield from _reported("E610", "checkpoint", "best", best, train, where)


def early_stopping_monitor(train: Train, where: _Where) -> Iterator[DslcError]:
    monitor = train.early_stopping.monitor if train.early_stopping else None
    yield from _reported("E612", "early_stopping", "monitor", monitor, train, where)


def _reported(code: str, setting: str, key: str, name: str | None, train: Train,
              where: _Where) -> Iterator[DslcError]:
    """An error at `setting.key` when it names something the run does not report."""
    names = metric_names(train)
    if name is not None and name not in names:
        yield _error(code, f"{setting}.{key}: '{name}' is not reported by this run (it reports "
                           f"{', '.join(names)})", where.at(setting, key),
                     hint=did_you_mean(name, names) or "name the loss or one of the metrics")


def data_fits(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    """Built-in data whose shape is known: scikit-learn's digits (64 pixels, labels 0-9)."""
    data = train.data
    output = _output(analysis)
    if not isinstance(data, Digits) or output is None:
        return
    span = where.kind("data")
    sizes = [tensor.size for _, tensor in analysis.inputs]
    if len(sizes) != 1 or sizes[0] != DIGITS_PIXELS:
        shapes = ", ".join(_show(tensor.shape) for _, tensor in analysis.inputs)
        yield _error("E611", f"data 'digits' gives one input of {DIGITS_PIXELS} pixels per example, but the model "
                             f"takes {shapes}", span, hint="use one input of shape [8, 8, 1], [8, 8] or [64]")
    loss = train.loss.kind
    if data.target == "label":
        if loss not in CLASS_LOSSES:
            yield _error("E611", f"data 'digits' gives class labels 0-9, but loss '{loss}' needs "
                                 f"{'0/1 targets' if loss in BINARY_LOSSES else 'real-valued targets'}", span,
                         hint="use softmax_cross_entropy, or digits(target=input) to reconstruct the images")
        elif output.shape != (DIGITS_CLASSES,):
            yield _error("E611", f"data 'digits' has {DIGITS_CLASSES} classes, one label per image, but the model's "
                                 f"output is {_show(output.shape)}", span, hint="end the model with dense(units=10)")
    else:
        if loss in CLASS_LOSSES:
            yield _error("E611", f"data 'digits' with target=input gives pixel values, but loss '{loss}' needs "
                                 "class labels", span, hint="use mse, mae, huber or sigmoid_binary_cross_entropy")
        elif output.size != DIGITS_PIXELS:
            count = output.size or "an unknown number of"
            yield _error("E611", f"data 'digits' with target=input gives {DIGITS_PIXELS} pixels per image, but the "
                                 f"model's output {_show(output.shape)} has {count} values", span)


def images_fit(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    """An image folder gives one input of known shape [height, width, 1 or 3] (grayscale or RGB)."""
    if not isinstance(train.data, Images):
        return
    shapes = [tensor.shape for _, tensor in analysis.inputs]
    if len(shapes) != 1 or len(shapes[0]) != 3 or None in shapes[0] or shapes[0][-1] not in IMAGE_CHANNELS:
        yield _error("E611", "data 'images' gives one input of shape [height, width, 1 or 3], but the model takes "
                             f"{', '.join(map(_show, shapes))}", where.kind("data"),
                     hint="declare the input as [height, width, 1] for grayscale or [height, width, 3] for RGB")


def text_fits(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    """Text gives windows of token ids: one integer input [length], next-token targets for class scores
    (length, >= the tokenizer's vocabulary) under softmax cross-entropy, an embedding of the input with a row
    for every token; nothing to normalise."""
    data = train.data
    if not isinstance(data, Text):
        return
    span = where.kind("data")
    inputs = [tensor for _, tensor in analysis.inputs]
    if len(inputs) != 1 or len(inputs[0].shape) != 1 or inputs[0].shape[0] is None \
            or inputs[0].dtype not in INTEGER_DTYPES:
        shown = ", ".join(f"{_show(tensor.shape)} {tensor.dtype}" for tensor in inputs)
        yield _error("E611", f"data 'text' gives one input of token ids [length] (an integer dtype), but the model "
                             f"takes {shown}", span, hint="declare the input as tokens: int32[length]")
        return
    length = inputs[0].shape[0]
    output = _output(analysis)
    vocab = BYTE_TOKENS
    if not isinstance(data.tokenizer, ByteTokens):
        found = yield from _tokenizer_vocab(data.tokenizer, where)
        if found is None:
            return
        vocab, span = found, where.written("data", "tokenizer") or span
    named = "byte" if isinstance(data.tokenizer, ByteTokens) else f"{data.tokenizer.kind} tokenizer's"
    if train.loss.kind != CLASS_LOSS:
        yield _error("E611", f"data 'text' gives next-token class ids, but loss '{train.loss.kind}' needs "
                             f"{'0/1 targets' if train.loss.kind in BINARY_LOSSES else 'real-valued targets'}", span,
                     hint=f"use loss {CLASS_LOSS}")
    elif output is not None and (len(output.shape) != 2 or output.shape[0] != length
                                 or (output.shape[1] or 0) < vocab):
        yield _error("E611", f"data 'text' gives one of {vocab:,} {named} tokens per position, but the model's "
                             f"output is {_show(output.shape)}, not ({length}, {vocab} or more)", span,
                     hint=f"end the model with dense({vocab}) over each position")
    token_input = analysis.inputs[0][0]
    for layer in analysis.layers:
        if layer.kind == "embedding" and token_input in layer.inputs and layer.output.shape[-1]:
            rows = layer.params // (layer.output.shape[-1] or 1)  # an embedding's parameters: rows x dim
            if rows < vocab:
                yield _error("E611", f"data 'text' gives one of {vocab:,} {named} tokens per position, but embedding "
                                     f"'{layer.name}' has {rows:,} rows", span,
                             hint=f"give the embedding {vocab} rows", related=(("the embedding", layer.span),))
    for setting in ("normalize", "normalize_target"):
        if getattr(data, setting) != "none":
            yield _error("E611", f"data 'text' gives token ids: {setting} does not apply", where.at("data", setting))


def _tokenizer_vocab(tokenizer: Bpe | TokenizerFile, where: _Where) -> Generator[DslcError, None, int | None]:
    """How many tokens a tokenizer gives: bpe(vocab=N) at most N; a tokenizer.json its largest id + 1, read from
    its JSON alone (no `tokenizers`, no JAX). None where a file is missing (W109 says so) or unreadable (E701)."""
    if isinstance(tokenizer, Bpe):
        return tokenizer.vocab
    file = where.folder / tokenizer.path
    if path_problem(tokenizer.path) or not file.is_file():
        return None
    try:
        if file.stat().st_size > MAX_TOKENIZER_BYTES:
            raise ValueError(f"larger than {MAX_TOKENIZER_BYTES // 2**20} MiB")
        return _json_vocab_size(json.loads(file.read_bytes()))
    except (OSError, ValueError) as exc:
        yield _error("E701", f"tokenizer file '{tokenizer.path}' cannot be read as a tokenizer.json: "
                             f"{show_value(str(exc))}", where.at("data", "tokenizer"))
        return None


def _json_vocab_size(document: object) -> int:
    """A tokenizer.json's largest token id + 1: its model.vocab (a mapping, or a list of pieces), added tokens too."""
    model = document.get("model") if isinstance(document, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    ids = list(vocab.values()) if isinstance(vocab, dict) else list(range(len(vocab))) if isinstance(vocab, list) \
        else []
    added = document.get("added_tokens") if isinstance(document, dict) else None
    ids += [token.get("id") for token in added or () if isinstance(token, dict)]
    ids = [number for number in ids if isinstance(number, int) and not isinstance(number, bool)]
    if not ids:
        raise ValueError("it has no model.vocab")
    return max(ids) + 1


def data_files_fit(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    """What data that exists tells without being read whole: a table's CSV header or Parquet schema
    (compiler/data_files.py), an image folder's listing (compiler/image_folders.py)."""
    data = train.data
    if not isinstance(data, Csv | Parquet | Images) or path_problem(data.path):
        return
    file = where.folder / data.path
    if isinstance(data, Images):
        if file.is_dir():
            yield from _listing_faults(data, _output(analysis), train.loss.kind, where)
    elif file.is_file():
        span = where.at("data", "path")
        request = Request(data.path, data.label_column, data.columns, span,
                          where.written("data", "label_column") or span, where.written("data", "columns") or span)
        faults = list(table_faults(data.kind, file, request, analysis.inputs))
        yield from faults
        output = _output(analysis)
        if not faults and isinstance(data, Csv) and output is not None and output.shape:
            classes = output.shape[-1] if train.loss.kind == CLASS_LOSS else None
            yield from scanned_label_faults(file, request, train.loss.kind, classes, _show(output.shape),
                                            where.scan_bytes)


def _listing_faults(data: Images, output: Tensor | None, loss: str, where: _Where) -> Iterator[DslcError]:
    """No class, an empty class, too many files, a file that leads out of the data folder (E708, E702), a file whose
    header is no PNG or JPEG, within the scan budget (E701); more classes than the output scores (E706)."""
    span, base = where.at("data", "path"), where.folder.resolve()
    try:
        listing = list_folder(data.path, folder_inside(data.path, base, span, where.named), base, span, where.named,
                              where.scan_bytes)
    except DslcError as fault:
        yield fault
        return
    if output is None or not output.shape or loss != CLASS_LOSS:
        return
    scores = output.shape[-1]
    if scores is not None and len(listing.classes) > scores:
        yield _error("E706", f"image folder '{data.path}' has {len(listing.classes)} classes, but the model's output "
                             f"{_show(output.shape)} scores {scores}", span,
                     hint=f"end the model with dense({len(listing.classes)})")


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:", re.IGNORECASE)


def path_problem(path: str) -> str | None:
    """Why a spec's data path would lead outside the spec's folder, or None when it stays inside.

    Path arithmetic only (no file system): `dslc check` needs no data. At training time
    `dslc.runtime.data` resolves the path again and also refuses symlinks that lead out.
    """
    if _URL.match(path):
        return "is a URL"
    if path.startswith("~"):
        return "starts with '~' (a home folder)"
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        return "is an absolute path"
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return "climbs out with '..'"
    return None


def target_normalisation(train: Train, where: _Where) -> Iterator[DslcError]:
    """`normalize_target` rescales real-valued targets: class ids and 0/1 targets have no units to undo."""
    data, loss = train.data, train.loss.kind
    if isinstance(data, FileData) and data.normalize_target != "none" and loss not in REGRESSION_LOSSES:
        yield _error("E611", f"data '{data.kind}': normalize_target={data.normalize_target} rescales real-valued "
                             f"targets, but loss '{loss}' needs "
                             f"{'class ids' if loss in CLASS_LOSSES else '0/1 targets'}",
                     where.written("data", "normalize_target") or where.kind("data"),
                     hint=f"use a regression loss ({', '.join(REGRESSION_LOSSES)}) or normalize_target: none")


def data_paths_inside(train: Train, where: _Where) -> Iterator[DslcError]:
    """Data files lie inside the spec's folder (docs/safety.md#paths): no absolute paths, '~', URLs or climbing '..'."""
    data = train.data
    for argument, path in data_paths(data):
        problem = path_problem(path)
        if problem:
            assert data is not None  # it names a path
            yield _error("E702", f"data '{data.kind}': {argument} {show_value(path)} {problem}; data files must "
                                 "lie inside the spec's folder", where.written("data", argument) or where.kind("data"),
                         hint=OUTSIDE_HINT)


def init_paths_inside(train: Train, where: _Where) -> Iterator[DslcError]:
    """Initial weights lie inside the spec's folder too (docs/safety.md#paths)."""
    for index, entry in enumerate(train.init):
        problem = path_problem(entry.path)
        if problem:
            yield _error("E702", f"init '{entry.kind}': path {show_value(entry.path)} {problem}; weights files must "
                                 "lie inside the spec's folder", where.at("init", index, "path"), hint=OUTSIDE_HINT)


def initial_weights_fit(train: Train, analysis: Analysis, where: _Where) -> Iterator[DslcError]:
    """Each `init` entry selects layers of the model, and a safetensors file's header has tensors for them
    (compiler/initial_weights.py; names and shapes one by one are checked when training builds the model)."""
    for index, entry in enumerate(train.init):
        if path_problem(entry.path):
            continue
        span = where.at("init", index, "path")
        yield from check_faults(entry, where.folder / entry.path, analysis, span,
                                where.written("init", index, "layers") or span)


TRAIN_RULES: tuple[TrainRule, ...] = (schedule_consistent, optimizer_options, checkpoint_best, early_stopping_monitor,
                                     data_paths_inside, init_paths_inside, target_normalisation,
                                     accumulate_divides_batch, bits_per_byte_data)
MODEL_RULES: tuple[ModelRule, ...] = (single_output, trainable_parameters, loss_fits_output, metrics_fit,
                                      precision_fits_model, data_fits, data_files_fit, images_fit, text_fits,
                                      initial_weights_fit)
