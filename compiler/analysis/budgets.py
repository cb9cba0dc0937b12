"""The model's budgets, checked once shapes are known: parameters (E008), activation memory per example and
per training step (E009), FLOPs (E016).

They bound what a hostile spec can make the later stages allocate or compute: a dense layer of
10^9 units on an input of 10^9 features is a few bytes of YAML and 10^18 parameters. The counts
are Python integers computed from shapes, so checking them allocates nothing whatever their size,
and tensor sizes are multiplied out only until they pass the budget (a shape of thousands of
60-digit dimensions would otherwise take seconds). Each finding is located at the layer (or
model input) that contributes most, and names it.

These are budgets (invalid input, exit 2), not the policy gates of `dslc check --max-params`
and `--max-flops` (a valid model that a project's policy refuses, exit 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dslc.compiler.analysis.model import DTYPE_BYTES, LayerReport, Totals
from dslc.compiler.analysis.render import byte_size
from dslc.spec.errors import DslcError, Span
from dslc.spec.layers.base import Tensor
from dslc.spec.limits import Limits, count_text

PARAMS_FLAG = "--limit-params"
ACTIVATIONS_FLAG = "--limit-activations"
FLOPS_FLAG = "--limit-flops"

NO_LAYERS = Totals(trainable=0, frozen=0, state=0, flops=0, activations=0, activation_bytes=0)
"""The totals to give `over_budget` when the walk stopped early (only the activation budget is checked then)."""


@dataclass(frozen=True)
class ModelInput:
    """A model input as the activation budget sees it (held per example, like a layer's output)."""

    name: str
    tensor: Tensor
    span: Span | None = None


@dataclass(frozen=True)
class _Share:
    what: str  # "'conv2d_1' (conv2d)" or "input 'image'"
    count: int
    span: Span | None
    exact: bool = True  # False: a lower bound


class Meter:
    """The activation memory of a walk over the graph so far, model inputs first.

    `analyse` stops the walk once it is over the budget: the shapes after it could be huge, and
    multiplying them out (for sizes and costs) slow.
    """

    def __init__(self, limits: Limits, inputs: Sequence[ModelInput] = ()) -> None:
        self.budget = limits.max_activation_bytes
        self.total = sum(_bytes(i.tensor, self.budget)[0] for i in inputs)

    @property
    def within(self) -> bool:
        return self.total <= self.budget

    def add(self, tensor: Tensor) -> bool:
        """Counts a layer's output; whether the total is still within the budget."""
        self.total += _bytes(tensor, self.budget)[0]
        return self.within


def over_budget(layers: Sequence[LayerReport], totals: Totals, limits: Limits, model_span: Span | None = None,
                inputs: Sequence[ModelInput] = (), complete: bool = True) -> list[DslcError]:
    """Every budget of `limits` the model exceeds, one located error each.

    Activation memory counts the model's inputs and every layer's output per example; an unknown
    dimension counts as 1, which gives a lower bound ("at least"), as does a walk that stopped
    early (`complete=False`: `layers` are the ones analysed before the activation budget ran out;
    give `NO_LAYERS` as the totals then), or one that left out layers whose shapes failed (`complete=False`:
    the parameters and FLOPs are at least the totals then). FLOPs are not checked when a dimension is unknown (the
    analysis does not know them).
    """
    errors = []
    params = totals.params + totals.state
    if params > limits.max_params:
        shares = [_Share(_named(layer), layer.params + layer.state, layer.span) for layer in layers]
        statement = f"the model has {'' if complete else 'at least '}{count_text(params)} parameters"
        errors.append(_error("E008", limits.over(statement, limits.max_params, PARAMS_FLAG), shares, "",
                             model_span))
    cap = limits.max_activation_bytes
    sized = _sized(layers, inputs, cap)
    memory = sum(count for _, (count, _), _ in sized)
    if memory > cap:
        exact = complete and all(exact for _, (_, exact), _ in sized)
        statement = f"the model's inputs and layer outputs take {_amount(memory, exact)} per example"
        shares = [_Share(what, count, span, exact) for what, (count, exact), span in sized]
        errors.append(_error("E009", limits.over(statement, cap, ACTIVATIONS_FLAG), shares, " bytes", model_span))
    flops = totals.flops
    if flops is not None and flops > limits.max_flops:
        shares = [_Share(_named(layer), layer.flops or 0, layer.span) for layer in layers]
        statement = f"the model needs {'' if complete else 'at least '}{count_text(flops)} FLOPs per example"
        errors.append(_error("E016", limits.over(statement, limits.max_flops, FLOPS_FLAG), shares, "",
                             model_span))
    return errors


def step_over_budget(layers: Sequence[LayerReport], inputs: Sequence[ModelInput], batch: int,
                     limits: Limits) -> DslcError | None:
    """E009 when one training step, `batch` examples, holds more activation memory than the budget (which the
    model's own activations per example are within: `over_budget` found nothing). The error has no span:
    the caller places it at the batch."""
    cap = limits.max_activation_bytes
    sized = _sized(layers, inputs, cap)
    memory = sum(count for _, (count, _), _ in sized)
    if memory * batch <= cap:
        return None
    exact = all(exact for _, (_, exact), _ in sized)
    statement = (f"a training step of batch {count_text(batch)} holds {_amount(memory * batch, exact)} of inputs "
                 f"and layer outputs ({count_text(memory)} bytes per example)")
    return DslcError("E009", limits.over(statement, cap, ACTIVATIONS_FLAG), stage="budget",
                     hint=f"a batch of at most {cap // memory:,} fits the budget" if memory else None)


def _sized(layers: Sequence[LayerReport], inputs: Sequence[ModelInput],
           cap: int) -> list[tuple[str, tuple[int, bool], Span | None]]:
    """(what, (bytes per example, exact), span) of each model input and layer output."""
    return [*((f"input '{i.name}'", _bytes(i.tensor, cap), i.span) for i in inputs),
            *((_named(layer), _bytes(layer.output, cap), layer.span) for layer in layers)]


def _amount(memory: int, exact: bool) -> str:
    amount = f"{count_text(memory)} bytes"
    if not exact and not amount.startswith("at least"):
        return f"at least {amount}"
    if exact and memory < 2**50:  # beyond, GiB are no easier to read than bytes
        return f"{amount} ({byte_size(memory)})"
    return amount


def _named(layer: LayerReport) -> str:
    return f"'{layer.name}' ({layer.kind})"


def _bytes(tensor: Tensor, cap: int) -> tuple[int, bool]:
    """Bytes per example and whether that is exact: an unknown dimension counts as 1, and the
    product stops growing once it passes `cap` and 10^36 (a lower bound then, which is all a budget
    needs: `count_text` shows no more digits)."""
    count, exact, enough = DTYPE_BYTES.get(tensor.dtype, 4), True, max(cap, 10**36)
    for dim in tensor.shape:
        if dim is None:
            exact = False
        elif count > enough:
            return count, False
        else:
            count *= dim
    return count, exact


def _error(code: str, message: str, shares: list[_Share], unit: str, model_span: Span | None) -> DslcError:
    """Located at the largest share (the first of equals), which the message names."""
    largest = max(shares, key=lambda share: share.count, default=None)  # max keeps the first of equals
    if largest is None:
        return DslcError(code, message, model_span, stage="budget")
    amount = count_text(largest.count)
    if not largest.exact and not amount.startswith("at least"):
        amount = f"at least {amount}"
    return DslcError(code, f"{message}; the largest share is {largest.what}, with {amount}{unit}",
                     largest.span or model_span, stage="budget")
