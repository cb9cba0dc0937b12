"""Closed vocabularies of the `train` section: optimizers, schedules, losses, metrics, data sources.

Each vocabulary maps a name to a `Choice` model. A spec names a choice either
bare (`loss: mse`) or with parameters (`optimizer: {adam: {lr: 1e-3}}`, in the
DSL `adam(lr=1e-3)`); it never names anything outside these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


class Choice(BaseModel):
    """One entry of a vocabulary: `kind` names it, the other fields are its parameters."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    kind: str

    def params(self) -> dict[str, object]:
        """The parameters the spec set explicitly, in declaration order."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name != "kind" and name in self.model_fields_set}


def spec_keys(model: type[BaseModel]) -> list[str]:
    """The keys a spec may write for `model` (for hints): its fields, less a choice's `kind`, which its name gives."""
    return [name for name in model.model_fields if not (issubclass(model, Choice) and name == "kind")]


PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(ge=1)]
# Tensors have at most this many axes: a hostile shape of thousands of axes would make every
# element count a number of thousands of digits (slow, and unprintable).
MAX_RANK = 32
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]


PATH_OUTSIDE = "path_outside"  # the pydantic error type that `dslc.spec.validation` reports as E702


def _relative_path(value: str) -> str:
    """Spec paths stay inside the spec's folder: no absolute paths, '~', URLs or '..' (E702, as a path that
    a symlink leads out of at training time; an empty path is an invalid value, E205)."""
    if not value or "\0" in value:
        raise ValueError("a path must be a non-empty file name")
    if "://" in value or value.startswith("~"):
        raise PydanticCustomError(PATH_OUTSIDE, "a path must be a relative local path, not a URL or '~'")
    for pure in (PurePosixPath(value), PureWindowsPath(value)):
        if pure.is_absolute() or pure.drive or ".." in pure.parts:
            raise PydanticCustomError(PATH_OUTSIDE, "a path must be relative to the spec's folder and must not "
                                                    "contain '..'")
    return value


RelativePath = Annotated[str, AfterValidator(_relative_path)]


# Schedules: a learning rate may be a number or one of these.
class Constant(Choice):
    kind: Literal["constant"] = "constant"
    value: PositiveFloat


class Exponential(Choice):
    kind: Literal["exponential"] = "exponential"
    init: PositiveFloat
    decay_rate: Annotated[float, Field(gt=0.0, le=1.0)]
    decay_steps: PositiveInt
    staircase: bool = False


class Cosine(Choice):
    kind: Literal["cosine"] = "cosine"
    init: PositiveFloat
    decay_steps: PositiveInt
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class WarmupCosine(Choice):
    kind: Literal["warmup_cosine"] = "warmup_cosine"
    peak: PositiveFloat
    warmup_steps: PositiveInt
    decay_steps: PositiveInt
    init: Annotated[float, Field(ge=0.0)] = 0.0
    end: Annotated[float, Field(ge=0.0)] = 0.0


ScheduleChoice = Constant | Exponential | Cosine | WarmupCosine
Schedule = Annotated[ScheduleChoice, Field(discriminator="kind")]
LearningRate = PositiveFloat | Schedule


class Optimizer(Choice):
    lr: LearningRate
    clip_norm: PositiveFloat | None = None


class Sgd(Optimizer):
    kind: Literal["sgd"] = "sgd"
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    nesterov: bool = False


class Adam(Optimizer):
    kind: Literal["adam"] = "adam"
    b1: Fraction = 0.9
    b2: Fraction = 0.999
    eps: PositiveFloat = 1e-8


class AdamW(Optimizer):
    kind: Literal["adamw"] = "adamw"
    b1: Fraction = 0.9
    b2: Fraction = 0.999
    eps: PositiveFloat = 1e-8
    weight_decay: Annotated[float, Field(ge=0.0)] = 1e-4


class RmsProp(Optimizer):
    kind: Literal["rmsprop"] = "rmsprop"
    decay: Fraction = 0.9
    eps: PositiveFloat = 1e-8
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class Adafactor(Optimizer):
    kind: Literal["adafactor"] = "adafactor"


class Lion(Optimizer):
    kind: Literal["lion"] = "lion"
    b1: Fraction = 0.9
    b2: Fraction = 0.99
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0


OptimizerChoice = Sgd | Adam | AdamW | RmsProp | Adafactor | Lion


class SoftmaxCrossEntropy(Choice):
    kind: Literal["softmax_cross_entropy"] = "softmax_cross_entropy"
    label_smoothing: Fraction = 0.0
    # PaLM's auxiliary z-loss: z_loss * logsumexp(logits)^2 per position, added to the loss; keeps the
    # softmax's normaliser near 1 (large language models' logits otherwise drift in bfloat16)
    z_loss: NonNegativeFloat = 0.0


class SigmoidBinaryCrossEntropy(Choice):
    kind: Literal["sigmoid_binary_cross_entropy"] = "sigmoid_binary_cross_entropy"


class MeanSquaredError(Choice):
    kind: Literal["mse"] = "mse"


class MeanAbsoluteError(Choice):
    kind: Literal["mae"] = "mae"


class Huber(Choice):
    kind: Literal["huber"] = "huber"
    delta: PositiveFloat = 1.0


LossChoice = SoftmaxCrossEntropy | SigmoidBinaryCrossEntropy | MeanSquaredError | MeanAbsoluteError | Huber
LossKind = Literal["softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mse", "mae", "huber"]
# What each loss expects as a target (compiler/checks.py has the table): class ids, 0/1 values, or numbers.
CLASS_LOSSES: tuple[LossKind, ...] = ("softmax_cross_entropy",)
BINARY_LOSSES: tuple[LossKind, ...] = ("sigmoid_binary_cross_entropy",)
REGRESSION_LOSSES: tuple[LossKind, ...] = ("mse", "mae", "huber")
CLASS_LOSS: LossKind = CLASS_LOSSES[0]


class Accuracy(Choice):
    kind: Literal["accuracy"] = "accuracy"


class TopK(Choice):
    kind: Literal["top_k"] = "top_k"
    k: PositiveInt = 5


class MseMetric(Choice):
    kind: Literal["mse"] = "mse"


class MaeMetric(Choice):
    kind: Literal["mae"] = "mae"


class Perplexity(Choice):
    """exp of the mean cross-entropy per position (without label smoothing or z-loss)."""

    kind: Literal["perplexity"] = "perplexity"


class BitsPerByte(Choice):
    """The mean cross-entropy in bits: bits per byte for a model of text read as bytes."""

    kind: Literal["bits_per_byte"] = "bits_per_byte"


MetricChoice = Accuracy | TopK | MseMetric | MaeMetric | Perplexity | BitsPerByte
# Metrics of softmax cross-entropy's next-token predictions (the loss's own quantity, in other units).
CROSS_ENTROPY_METRICS = ("perplexity", "bits_per_byte")


Normalize = Literal["none", "standard", "minmax"]


class Digits(Choice):
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download)."""

    kind: Literal["digits"] = "digits"
    validation: Fraction = 0.1
    test: Fraction = 0.2
    normalize: Normalize = "minmax"
    target: Literal["label", "input"] = "label"  # "input": reconstruct the image (autoencoders)


class FileData(Choice):
    """Local files: paths are relative to the spec's folder; validation and test splits are fractions."""

    path_fields: ClassVar[tuple[str, ...]] = ("path",)  # the fields that name files or folders
    validation: Fraction = 0.1
    test: Fraction = 0.1
    normalize: Normalize = "none"
    normalize_target: Literal["none", "standard"] = "none"  # regression targets, by the train split's statistics


class Npz(FileData):
    kind: Literal["npz"] = "npz"
    path: RelativePath
    x: str = "x"
    y: str = "y"


class Npy(FileData):
    kind: Literal["npy"] = "npy"
    path_fields: ClassVar[tuple[str, ...]] = ("x", "y")
    x: RelativePath
    y: RelativePath


class Csv(FileData):
    kind: Literal["csv"] = "csv"
    path: RelativePath
    label_column: str = "label"
    columns: tuple[str, ...] | None = None  # the feature columns, in this order; default: all but the label


class Parquet(FileData):
    """A Parquet file of numeric columns: `label_column` is the target, every other column a feature."""

    kind: Literal["parquet"] = "parquet"
    path: RelativePath
    label_column: str = "label"
    columns: tuple[str, ...] | None = None  # the feature columns, in this order; default: all but the label
    path_fields: ClassVar[tuple[str, ...]] = ("path",)


class Augment(BaseModel):
    """Random changes to each training image, drawn from (seed, epoch, example): a resumed run draws the same."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    flip: bool = False  # mirror left-right with probability 1/2
    crop: Annotated[int, Field(ge=0, le=64)] = 0  # pad N pixels on every side, then crop a random window back


class Images(FileData):
    """A folder with one sub-folder per class of PNG/JPEG images (the sorted folder names are the labels),
    resized to the model input's height x width; its last axis (1 or 3) picks grayscale or RGB."""

    kind: Literal["images"] = "images"
    path_fields: ClassVar[tuple[str, ...]] = ("path",)
    path: RelativePath
    resize: Literal["crop", "fit", "stretch"] = "crop"  # crop: shorter side to size, centre crop; fit: pad
    normalize: Normalize = "minmax"  # minmax: pixels / 255
    augment: Augment | None = None  # the train split only


# Tokenizers of text data (docs/architecture.md#data).
class ByteTokens(Choice):
    """UTF-8 bytes as tokens 0..255: no vocabulary file, reads any text."""

    kind: Literal["bytes"] = "bytes"


class Bpe(Choice):
    """Byte-level BPE (Hugging Face `tokenizers`) that dslc trains on the train split's text, at most `vocab` tokens
    (the 256 bytes and an end-of-text token among them), saved as tokenizer.json in the work directory."""

    kind: Literal["bpe"] = "bpe"
    vocab: Annotated[int, Field(ge=258, le=1_000_000)]


class TokenizerFile(Choice):
    """A local Hugging Face tokenizer.json."""

    kind: Literal["file"] = "file"
    path: RelativePath


TokenizerChoice = ByteTokens | Bpe | TokenizerFile


def _bare_tokenizer(value: object) -> object:
    """`tokenizer: bytes` names a choice without parameters: the choice itself."""
    if isinstance(value, str):
        if value != "bytes":
            raise ValueError(f"unknown tokenizer {value!r}: use bytes, bpe(vocab=N) or file(PATH)")
        return ByteTokens()
    return value


Tokenizer = Annotated[Annotated[TokenizerChoice, Field(discriminator="kind")], BeforeValidator(_bare_tokenizer)]


class Text(FileData):
    """A UTF-8 text file (one document), or a folder of `.txt` files (one document each), for language modelling:
    tokenised by `tokenizer` (default: bytes), cut into windows of the model input's length that never span two
    documents, each example's target the same window one token on (next-token prediction). A folder's validation
    and test splits are whole documents; a file's are its last stretches."""

    kind: Literal["text"] = "text"
    path: RelativePath
    stride: PositiveInt | None = None  # tokens between window starts; default: the window's length (no overlap)
    # model_construct: the same value without validating it, which would build ByteTokens' validator at import
    tokenizer: Tokenizer = ByteTokens.model_construct()


class Synthetic(Choice):
    """Generated tasks: `adding` (the adding problem for sequence models), `random` (noise with random labels)."""

    kind: Literal["synthetic"] = "synthetic"
    task: Literal["adding", "random"]
    samples: PositiveInt = 10_000
    length: PositiveInt = 50


DataChoice = Digits | Npz | Npy | Csv | Parquet | Images | Text | Synthetic


# Initial weights: where some or all of a model's weights come from before training (docs/export.md#pretrained-weights).
class InitFrom(Choice):
    """Weights of the spec's `layers` (layer or block-use names; none: the whole model) from a local file.

    `rename` rewrites the file's tensor names before they are matched: each (from, to) pair replaces a leading
    `from` with `to`, the first pair that applies winning (a whole name is a prefix too). A model's names are
    `layers.<layer>.<variable>`, as `dslc weights SPEC` lists them."""

    path_fields: ClassVar[tuple[str, ...]] = ("path",)
    path: RelativePath
    layers: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()


class SafetensorsInit(InitFrom):
    """A .safetensors file (Hugging Face's, timm's and torchvision's format; `dslc export --format safetensors`).
    `layout: pytorch` takes PyTorch's kernels: (out, in) dense and (out, in, *window) convolution kernels."""

    kind: Literal["safetensors"] = "safetensors"
    layout: Literal["flax", "pytorch"] = "flax"


class CheckpointInit(InitFrom):
    """A dslc run's work directory (its latest checkpoint), its best/ folder or one checkpoint's folder."""

    kind: Literal["checkpoint"] = "checkpoint"


InitChoice = SafetensorsInit | CheckpointInit


def data_paths(data: Choice | None) -> list[tuple[str, str]]:
    """(field, path) of each file or folder a data source names, in the order of its fields."""
    fields = data.path_fields if isinstance(data, FileData) else ()
    paths = [(field, getattr(data, field)) for field in fields]
    if isinstance(data, Text) and isinstance(data.tokenizer, TokenizerFile):
        paths.append(("tokenizer", data.tokenizer.path))
    return paths


@dataclass(frozen=True)
class Vocabulary:
    """A closed table of choices; `positional` names the DSL's positional parameters per choice."""

    noun: str
    choices: dict[str, type[Choice]]
    positional: dict[str, tuple[str, ...]]


def _models(union: object) -> tuple[type[Choice], ...]:
    """The choice models of a static union, in declaration order."""
    return get_args(union)


def _vocabulary(noun: str, union: object, positional: dict[str, tuple[str, ...]] | None = None) -> Vocabulary:
    """The table of a static union: each choice under its `kind`, so the union is the one declaration."""
    choices = {model.model_fields["kind"].default: model for model in _models(union)}
    return Vocabulary(noun, choices, positional or {})


SCHEDULES = _vocabulary("schedule", ScheduleChoice, positional={"constant": ("value",)})
OPTIMIZERS = _vocabulary("optimizer", OptimizerChoice,  # every optimizer takes lr positionally
                         positional={model.model_fields["kind"].default: ("lr",) for model in _models(OptimizerChoice)})
LOSSES = _vocabulary("loss", LossChoice)
METRICS = _vocabulary("metric", MetricChoice, positional={"top_k": ("k",)})
INITS = _vocabulary("initial weights", InitChoice, positional={"safetensors": ("path",), "checkpoint": ("path",)})
TOKENIZERS = _vocabulary("tokenizer", TokenizerChoice, positional={"bpe": ("vocab",), "file": ("path",)})
DATA_SOURCES = _vocabulary("data source", DataChoice, positional={"npz": ("path",), "csv": ("path",),
                                                                         "images": ("path",),
                                                                         "parquet": ("path",), "text": ("path",)})


REAL_TARGETS_HINT = "for real-valued targets use loss: mse (or mae, huber)"


def class_loss_on_one_unit_hint(data: Choice | None) -> str:
    """What to use instead of softmax cross-entropy on a one-unit output: a regression loss when the data source
    gives real-valued targets (the adding problem, digits reconstructing its images), else either kind."""
    real = (isinstance(data, Synthetic) and data.task == "adding") or (isinstance(data, Digits)
                                                                       and data.target == "input")
    return REAL_TARGETS_HINT if real else f"{REAL_TARGETS_HINT}; for yes/no targets, sigmoid_binary_cross_entropy"
