"""The typed intermediate representation: what every stage reads.

`Spec` is the spec as written, canonicalised: blocks stay blocks so that the
printers can write the file back. `Graph` (from `dslc.spec.expand`) is the
same model with blocks and repeats expanded into named layers with typed
parameters: what the analysis and the compiler consume. Both are immutable.
Source positions are not part of the IR (two syntaxes give equal IRs); they
live in the source map kept beside it (`dslc.spec.sourcemap`).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from dslc.spec.vocab import (
    MAX_RANK,
    DataChoice,
    InitChoice,
    LossChoice,
    MetricChoice,
    NonNegativeFloat,
    OptimizerChoice,
    PositiveInt,
)

SPEC_VERSION: Final = 1
DTYPES = ("float32", "float16", "bfloat16", "int32", "int64", "uint8", "bool")
DType = Literal["float32", "float16", "bfloat16", "int32", "int64", "uint8", "bool"]


class IRModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    def __eq__(self, other: object) -> bool:  # the values only (not which fields were given explicitly)
        return type(self) is type(other) and self.__dict__ == other.__dict__


class Ref(IRModel):
    """A reference to a block parameter (`$name`), allowed only inside block bodies."""

    name: str


# A parameter value as written: numbers, strings, booleans, nested tuples, block references.
# (The value is a string so that mypy can follow the recursion; pydantic evaluates it in this module.)
Value = TypeAliasType("Value", "Union[int, float, str, bool, None, Ref, tuple[Value, ...]]")


class LayerCall(IRModel):
    """One layer as written: its kind, the parameters given explicitly, and graph attributes."""

    kind: str
    params: dict[str, Value] = {}
    name: str | None = None
    inputs: tuple[str, ...] | None = None  # `from:`; None means "the previous layer"
    trainable: bool = True


class BlockCall(IRModel):
    """A use of a block: arguments, repeat count, and graph attributes (`trainable: false` freezes it all)."""

    block: str
    args: dict[str, Value] = {}
    name: str | None = None
    inputs: tuple[str, ...] | None = None
    trainable: bool = True
    repeat: PositiveInt = 1


Step = LayerCall | BlockCall


class BlockParam(IRModel):
    name: str
    default: Value = None
    required: bool = False


class BlockDef(IRModel):
    """A reusable, parameterised sub-graph. Inside it, `input` names the block's input."""

    name: str
    params: tuple[BlockParam, ...] = ()
    layers: tuple[Step, ...]


class Input(IRModel):
    """A model input; `shape` excludes the batch axis, `None` marks an unknown size."""

    name: str
    shape: tuple[Annotated[int, Field(ge=1)] | None, ...] = Field(max_length=MAX_RANK)
    dtype: DType = "float32"


class Model(IRModel):
    name: str
    inputs: tuple[Input, ...]
    layers: tuple[Step, ...]
    outputs: tuple[str, ...] | None = None  # None means "the last layer"


# The `train` section's choices: static unions (declared in `dslc.spec.vocab`), told apart by `kind`.
LossField = Annotated[LossChoice, Field(discriminator="kind")]
OptimizerField = Annotated[OptimizerChoice, Field(discriminator="kind")]
MetricField = Annotated[MetricChoice, Field(discriminator="kind")]
DataField = Annotated[DataChoice, Field(discriminator="kind")]
InitField = Annotated[InitChoice, Field(discriminator="kind")]


class Checkpoint(IRModel):
    every: PositiveInt | None = None  # steps between checkpoints; None: at the end of each epoch
    keep: PositiveInt = 3
    best: str | None = None  # a metric name: also keep the best checkpoint by it


class EarlyStopping(IRModel):
    patience: PositiveInt  # epochs without improvement before stopping
    monitor: str = "loss"  # a name the run reports on the validation split: "loss" or a metric name
    min_delta: NonNegativeFloat = 0.0  # smallest change that counts as an improvement


class Train(IRModel):
    loss: LossField
    optimizer: OptimizerField
    batch: PositiveInt
    epochs: PositiveInt | None = None
    steps: PositiveInt | None = None
    metrics: tuple[MetricField, ...] = ()
    data: DataField
    precision: Literal["float32", "bfloat16"] = "float32"
    accumulate: PositiveInt = 1  # micro-batches per batch: gradients summed over them, one update per batch
    remat: bool = False  # recompute each block use's activations in the backward pass instead of keeping them
    scan: bool = False  # run consecutive identical instances of a repeated block as one lax.scan (compiled once)
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    checkpoint: Checkpoint | None = None
    early_stopping: EarlyStopping | None = None
    init: tuple[InitField, ...] = ()  # initial weights, applied in order before training starts


class Spec(IRModel):
    version: Literal[1] = SPEC_VERSION
    blocks: tuple[BlockDef, ...] = ()
    model: Model
    train: Train | None = None

    def block(self, name: str) -> BlockDef | None:
        return next((block for block in self.blocks if block.name == name), None)
