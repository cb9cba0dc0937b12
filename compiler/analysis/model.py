"""What the analysis reports: per-layer facts, totals, and the depth verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dslc.spec.errors import Span
from dslc.spec.layers.base import NodeClass, Tensor

if TYPE_CHECKING:
    from dslc.compiler.analysis.depth import DepthReport

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int32": 4, "int64": 8, "uint8": 1, "bool": 1}


@dataclass(frozen=True)
class LayerReport:
    name: str
    kind: str
    scope: tuple[str, ...]  # block instances it sits in, outermost first
    inputs: tuple[str, ...]  # names of layers or model inputs
    output: Tensor
    params: int  # learned parameters (trainable or frozen, see `trainable`)
    state: int  # batch statistics
    flops: int | None  # per example; None when a dimension is unknown
    trainable: bool
    classes: tuple[NodeClass, ...]
    span: Span
    macs: int | None = 0  # per example: multiply-accumulates of its products (`base.Cost`); None when unknown
    depthwise: bool = False  # a convolution with one group per input channel


@dataclass(frozen=True)
class Totals:
    trainable: int
    frozen: int
    state: int
    flops: int | None  # per example
    activations: int | None  # output elements of every layer, per example
    activation_bytes: int | None  # the same in bytes (each layer's output dtype)
    macs: int | None = 0  # per example

    @property
    def params(self) -> int:
        """Learned parameters, trainable and frozen: PyTorch's `sum(p.numel() for p in model.parameters())`."""
        return self.trainable + self.frozen

    @property
    def non_trainable(self) -> int:
        """Keras's "non-trainable params": frozen parameters and batch statistics."""
        return self.frozen + self.state

    @property
    def with_batch_stats(self) -> int:
        """Keras's "total params": learned parameters and batch statistics."""
        return self.params + self.state


@dataclass(frozen=True)
class Analysis:
    file: str
    model: str
    inputs: tuple[tuple[str, Tensor], ...]
    layers: tuple[LayerReport, ...]
    outputs: tuple[str, ...]
    totals: Totals
    depth: DepthReport

    def layer(self, name: str) -> LayerReport:
        return next(layer for layer in self.layers if layer.name == name)
