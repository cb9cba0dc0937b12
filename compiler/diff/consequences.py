"""What the changes do: layers whose output shape or parameter count changed, the totals, and the depth
verdict under every policy.

Expanded layers are matched through the step matching, not by name: `stage.2/conv_a` of the old
model is the layer of the new one that the old step `stage` and the old body step `conv_a` became,
so a layer inserted before it, which shifts automatic names, does not make it another layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.compiler.diff.names import step_names
from dslc.compiler.diff.steps import StepsDiff
from dslc.spec.ir import BlockCall, Spec, Step
from dslc.spec.layers.base import Tensor, show_shape

_REPETITION = re.compile(r"(.+)(\.\d+)")  # `stage.2`: the second instance of a repeated block call


def shape_text(tensor: Tensor) -> str:
    """`8x8x16`, `?` for an unknown dimension, `()` for a scalar; non-float32 dtypes are named."""
    text = show_shape(tensor.shape, compact=True)
    return text if tensor.dtype == "float32" else f"{text} {tensor.dtype}"


@dataclass(frozen=True)
class LayerEffect:
    """An expanded layer on both sides whose output or parameter count changed."""

    name: str  # the new name
    old_output: str
    new_output: str
    old_params: int
    new_params: int
    location: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "old_output": self.old_output, "new_output": self.new_output,
                "old_params": self.old_params, "new_params": self.new_params, "location": self.location}


@dataclass(frozen=True)
class Total:
    old: int | None  # None: unknown (a dimension of unknown size)
    new: int | None

    @property
    def delta(self) -> int | None:
        return None if self.old is None or self.new is None else self.new - self.old

    def to_json(self) -> dict[str, object]:
        return {"old": self.old, "new": self.new, "delta": self.delta}


@dataclass(frozen=True)
class VerdictChange:
    policy: str
    measure: str
    old_value: int | float
    new_value: int | float
    old: str
    new: str

    def to_json(self) -> dict[str, object]:
        return {"measure": self.measure, "old_value": _depth_json(self.old_value),
                "new_value": _depth_json(self.new_value), "old": self.old, "new": self.new,
                "changed": self.old != self.new}


@dataclass(frozen=True)
class Consequences:
    layers: tuple[LayerEffect, ...]
    totals: dict[str, Total]  # params, trainable, frozen, state, flops, activation_bytes
    verdicts: tuple[VerdictChange, ...]  # one per policy
    policy: str  # the policy whose verdict is the headline

    @property
    def verdict(self) -> VerdictChange:
        return next(v for v in self.verdicts if v.policy == self.policy)

    def to_json(self) -> dict[str, object]:
        return {"layers": [effect.to_json() for effect in self.layers],
                "totals": {name: total.to_json() for name, total in self.totals.items()},
                "depth": {"policy": self.policy,
                          "verdicts": {v.policy: v.to_json() for v in self.verdicts}}}


def consequences(old_spec: Spec, old: Analysis, new: Analysis, model: StepsDiff,
                 bodies: dict[str, StepsDiff]) -> Consequences:
    translate = _Translator(old_spec, model, bodies)
    new_layers = {layer.name: layer for layer in new.layers}
    effects: list[LayerEffect] = []
    for layer in old.layers:
        name = translate(layer.name)
        after = new_layers.get(name) if name is not None else None
        if after is not None and (layer.output != after.output or layer.params != after.params):
            effects.append(_effect(layer, after))
    old_totals, new_totals = old.totals, new.totals
    totals = {"params": Total(old_totals.params, new_totals.params),
              "trainable": Total(old_totals.trainable, new_totals.trainable),
              "frozen": Total(old_totals.frozen, new_totals.frozen),
              "state": Total(old_totals.state, new_totals.state),
              "flops": Total(old_totals.flops, new_totals.flops),
              "activation_bytes": Total(old_totals.activation_bytes, new_totals.activation_bytes)}
    verdicts = tuple(VerdictChange(policy, verdict.measure, verdict.value, new.depth.policies[policy].value,
                                   verdict.verdict, new.depth.policies[policy].verdict)
                     for policy, verdict in old.depth.policies.items() if policy in new.depth.policies)
    return Consequences(tuple(effects), totals, verdicts, new.depth.policy)


def _effect(old: LayerReport, new: LayerReport) -> LayerEffect:
    return LayerEffect(new.name, shape_text(old.output), shape_text(new.output), old.params, new.params,
                       str(new.span))


class _Translator:
    """An old expanded layer's name -> the new name of the same layer, or None when it has none."""

    def __init__(self, old_spec: Spec, model: StepsDiff, bodies: dict[str, StepsDiff]) -> None:
        self.renames: dict[str | None, dict[str, str]] = {None: model.renames}
        self.renames.update((name, body.renames) for name, body in bodies.items())
        self.calls: dict[str | None, dict[str, str]] = {None: _calls(old_spec.model.layers)}
        self.calls.update((block.name, _calls(block.layers)) for block in old_spec.blocks)

    def __call__(self, name: str) -> str | None:
        sequence: str | None = None  # the model, then the body of each block the path enters
        parts: list[str] = []
        for part in name.split("/"):
            renames = self.renames.get(sequence)
            if renames is None:
                return None
            base, suffix = part, ""
            if base not in renames:
                repeated = _REPETITION.fullmatch(part)
                if repeated is None or repeated.group(1) not in renames:
                    return None
                base, suffix = repeated.groups()
            parts.append(renames[base] + suffix)
            sequence = self.calls.get(sequence, {}).get(base)
        return "/".join(parts)


def _calls(steps: tuple[Step, ...]) -> dict[str, str]:
    """Step name -> the block it calls."""
    return {name: step.block for step, name in zip(steps, step_names(steps), strict=True)
            if isinstance(step, BlockCall)}


def _depth_json(value: int | float) -> object:
    return "unbounded" if value == math.inf else value
