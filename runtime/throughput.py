"""Training throughput: examples/s, tokens/s for token inputs, and model FLOPs utilisation (MFU).

MFU = training FLOPs per example x examples/s / the device's peak FLOP/s at the run's precision. Training
FLOPs per example are 3x the analysis's forward FLOPs (the backward pass costs about twice the forward:
a gradient for the activations and one for the weights); a rematerialising run recomputes the forward of
its blocks too, which MFU does not count (model FLOPs, not hardware FLOPs). The peak comes from
`dslc.compiler.devices_peak`; a device not listed there (any CPU) has MFU "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.devices_peak import peak_flops
from dslc.spec.layers._shapes import INTEGER_DTYPES

BACKWARD_FACTOR = 3  # forward + backward
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Throughput:
    """What turns examples/s into tokens/s and MFU for one run."""

    tokens: int | None  # tokens per example (a model whose first input is [length] integer ids), else None
    flops: float | None  # training FLOPs per example; None when the analysis cannot count them
    peak: float | None  # the device's peak FLOP/s at the run's precision; None: not known

    @classmethod
    def of(cls, analysis: Analysis, device_kind: str, precision: str, devices: int = 1) -> Throughput:
        """`devices`: how many devices the run's batches are split over (their peaks add up)."""
        first = analysis.inputs[0][1] if analysis.inputs else None
        ids = first is not None and len(first.shape) == 1 and first.dtype in INTEGER_DTYPES
        tokens = first.shape[0] if first is not None and ids else None
        forward = analysis.totals.flops
        peak = peak_flops(device_kind, precision)
        return cls(tokens, None if forward is None else float(BACKWARD_FACTOR * forward),
                   None if peak is None else peak * devices)

    def mfu(self, examples_per_second: float) -> float | None:
        if self.flops is None or self.peak is None:
            return None
        return self.flops * examples_per_second / self.peak

    def summary(self, examples_per_second: float | None) -> dict[str, Any]:
        """run.json's entries: tokens/s (token inputs only) and MFU (a fraction, or "unknown")."""
        if examples_per_second is None:
            return {}
        mfu = self.mfu(examples_per_second)
        tokens = {} if self.tokens is None else {"tokens_per_second": examples_per_second * self.tokens}
        return {**tokens, "mfu": UNKNOWN if mfu is None else mfu}

    def line(self, examples_per_second: float) -> str:
        """E.g. `1,234 ex/s, 78,976 tok/s, MFU 12.3%` (MFU unknown on a device without a known peak)."""
        mfu = self.mfu(examples_per_second)
        tokens = "" if self.tokens is None else f", {examples_per_second * self.tokens:,.0f} tok/s"
        shown = UNKNOWN if mfu is None else f"{mfu:.1%}"
        return f"{examples_per_second:,.0f} ex/s{tokens}, MFU {shown}"
