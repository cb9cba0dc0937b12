"""What `dslc predict` gives for a model's outputs: what the user means by a prediction, by the loss it trained with.

- softmax cross-entropy (a classifier): the class id and the softmax probabilities of each position;
- sigmoid binary cross-entropy (binary or multi-label): the 0/1 label and the sigmoid probability of each unit;
- regression: the values, in the data's units (the caller has undone `normalize_target`);
- `raw`: the outputs as the model computes them (logits; normalised targets).

A CSV holds them by name (`prediction`, `class`, `p0..`; `prediction`, `p`; `y0..`); an .npy array holds the
probabilities of a classifier, else the values. No JAX: numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from dslc.spec.vocab import BINARY_LOSSES, CLASS_LOSS

Kind = Literal["classes", "binary", "values"]


def kind_of(loss: str, raw: bool = False) -> Kind:
    """How outputs trained under `loss` read: `values` for regression, and for every loss when `raw`."""
    if raw:
        return "values"
    return "classes" if loss == CLASS_LOSS else "binary" if loss in BINARY_LOSSES else "values"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis, float32 (computed in float64)."""
    wide = logits.astype(np.float64)
    shifted = np.exp(wide - wide.max(axis=-1, keepdims=True, initial=-np.inf))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Each logit's probability, float32 (computed in float64, stable for large logits)."""
    wide = logits.astype(np.float64)
    small = np.exp(-np.abs(wide))  # never overflows
    return np.where(wide >= 0, 1 / (1 + small), small / (1 + small)).astype(np.float32)


@dataclass(frozen=True)
class Predictions:
    """A model's outputs (n, *output shape), float32, read as `kind` says."""

    outputs: np.ndarray
    kind: Kind
    class_names: tuple[str, ...] | None = None  # an image folder's classes: class id i is class_names[i]

    def array(self) -> np.ndarray:
        """What an .npy output holds: a classifier's probabilities (the outputs' shape), else the values."""
        if self.kind == "classes":
            return softmax(self.outputs)
        if self.kind == "binary":
            return sigmoid(self.outputs)
        return self.outputs

    def csv(self) -> str:
        """A header and one row per example."""
        n = len(self.outputs)
        if self.kind == "classes" and self.outputs.ndim >= 2:
            header, rows = self._classes(n)
        elif self.kind == "binary":
            probabilities = sigmoid(self.outputs).reshape(n, -1)
            units = probabilities.shape[1]
            header = ["prediction", "p"] if units == 1 else [*(f"prediction_{i}" for i in range(units)),
                                                              *(f"p_{i}" for i in range(units))]
            rows = [[str(int(p >= 0.5)) for p in row] + [_number(p) for p in row] for row in probabilities]
        else:
            flat = self.outputs.reshape(n, math.prod(self.outputs.shape[1:]))
            header = [f"y{i}" for i in range(flat.shape[1])]
            rows = [[_number(value) for value in row] for row in flat]
        return "\n".join([",".join(header), *(",".join(row) for row in rows)]) + "\n"

    def _classes(self, n: int) -> tuple[list[str], list[list[str]]]:
        classes, positions = self.outputs.shape[-1], math.prod(self.outputs.shape[1:-1])
        logits = self.outputs.reshape(n, positions, classes)
        probabilities, predictions = softmax(logits), np.argmax(logits, axis=-1)
        named = self.class_names if positions == 1 else None
        if positions == 1:
            header = ["prediction", *(["class"] if named else []), *(f"p{c}" for c in range(classes))]
        else:
            header = [*(f"prediction_{i}" for i in range(positions)),
                      *(f"p{i}_{c}" for i in range(positions) for c in range(classes))]
        rows = [[str(int(value)) for value in ids] + ([_cell(named[int(ids[0])])] if named else [])
                + [_number(value) for value in probs.ravel()]
                for ids, probs in zip(predictions, probabilities, strict=True)]
        return header, rows


@dataclass(frozen=True)
class Predicted(Predictions):
    """`dslc predict`'s result: the predictions and the checkpoint that made them."""

    checkpoint: Path = Path()
    step: int = 0


def _cell(text: str) -> str:
    """A CSV cell holding `text` (a folder name may hold a comma or a quote)."""
    return '"' + text.replace('"', '""') + '"' if any(char in text for char in ',"\n\r') else text


def _number(value: np.floating) -> str:
    return str(np.float32(value))  # the shortest text that reads back as the same float32
