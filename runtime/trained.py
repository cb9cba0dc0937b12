"""A trained model as the exporters take it: the spec, the model holding a checkpoint's weights, and what turns
raw examples into its inputs and its outputs into predictions (`dslc export`, docs/export.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dslc.compiler.analysis.model import Analysis
from dslc.runtime.arrays import Statistics
from dslc.spec.limits import Limits
from dslc.spec.load import LoadedSpec

Affine = tuple[np.ndarray, np.ndarray]  # (shift, scale), float64, broadcasting over an example


@dataclass(frozen=True)
class TrainedModel:
    loaded: LoadedSpec
    analysis: Analysis
    model: Any  # the `SpecModel` (an nnx.Module) holding the checkpoint's parameters and batch statistics
    statistics: Statistics  # the run's normalisation of inputs and targets (its train split's)
    loss: str  # the loss kind it trained with: how its outputs read (`dslc.runtime.predictions.kind_of`)
    class_names: tuple[str, ...] | None  # an image folder's classes: class id i is class_names[i]
    checkpoint: Path
    step: int

    @property
    def name(self) -> str:
        return self.loaded.spec.model.name

    def normalization(self) -> tuple[list[Affine | None], Affine | None]:
        """Each input's `(shift, scale)` (None: taken as it is) and the target's, as the run normalised them."""
        from dslc.runtime.normalization import input_normalization, run_train, target_normalization

        train, seed = run_train(self)
        return input_normalization(self, train, seed), target_normalization(self)


def open_trained_model(spec: str | Path, checkpoint: Path | None, limits: Limits, device: str = "cpu",
                       compile_cache: str | None = None) -> TrainedModel:
    """The run's restored model (default checkpoint as `dslc eval` takes it)."""
    from dslc.compiler.steps import model_from_state
    from dslc.runtime.commands.predict import stored_statistics
    from dslc.runtime.session import open_trained

    session, restored = open_trained(spec, checkpoint, limits, device, compile_cache)
    loss: Any = session.train.loss
    return TrainedModel(session.loaded, session.analysis, model_from_state(session.graphdef, restored.state),
                        stored_statistics(restored.record, session.dataset), loss.kind,
                        getattr(session.dataset.train.inputs[0], "classes", None), Path(restored.folder),
                        restored.step)
