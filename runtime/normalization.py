"""The constants a run's raw inputs and targets are normalised with, as `(shift, scale)` pairs: what an exported
Flax package (compiler/package.py, through `TrainedModel.normalization`) applies.

`dslc.runtime.data.prepare_inputs` turns raw examples into model inputs, by the run's data source:
`digits` divides by 16 (minmax) or standardises with its train split's statistics; an image folder
divides by 255 (minmax) or standardises each channel; a file source applies the run's stored
per-feature statistics. Each rule is `(x - shift) / scale` (computed in float64, then cast to the
input's dtype), so a package stores `shift` and `scale` per input and needs none of the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dslc.runtime.trained import Affine
from dslc.spec.ir import Spec, Train
from dslc.spec.vocab import Digits, FileData, Images

if TYPE_CHECKING:
    from dslc.runtime.trained import TrainedModel


def run_train(trained: TrainedModel) -> tuple[Train, int]:
    """The train section and seed the run was trained with (its spec.json and marker): its data split's."""
    from dslc.runtime.checkpoint import SPEC_FILE, locate_checkpoint

    workdir, _, _ = locate_checkpoint(trained.checkpoint)
    spec = Spec.model_validate_json((workdir.path / SPEC_FILE).read_text(encoding="utf-8"))
    assert spec.train is not None  # the run opened: it has one
    return spec.train, int((workdir.identity() or {})["seed"])


def input_normalization(trained: TrainedModel, train: Train, seed: int) -> list[Affine | None]:
    """Each model input's `(shift, scale)`, None where its values are taken as they are."""
    source, inputs = train.data, trained.analysis.inputs
    if isinstance(source, Digits):
        return [_digits(source, inputs[0][1].shape, seed)]
    if isinstance(source, Images):
        return [_images(trained, train, seed)]
    if isinstance(source, FileData) and source.normalize != "none" and trained.statistics.inputs is not None:
        return [(trained.statistics.inputs.shift, trained.statistics.inputs.scale)]
    return [None] * len(inputs)


def target_normalization(trained: TrainedModel) -> Affine | None:
    """`normalize_target`'s `(shift, scale)`: a regression's outputs are `y * scale + shift` in the data's units."""
    target = trained.statistics.target
    return None if target is None else (target.shift, target.scale)


def _digits(source: Digits, shape: tuple[int | None, ...], seed: int) -> Affine | None:
    """`shape`: the input's, whose 64 values training checked (known sizes)."""
    from dslc.runtime.arrays import RowReader, feature_scaling
    from dslc.runtime.data import DIGITS_RANGE, _digits_arrays, _split_indices

    if source.normalize == "minmax":
        return np.asarray(0.0), np.asarray(DIGITS_RANGE)
    if source.normalize == "standard":  # the statistics of the run's train split of the 64 pixels
        pixels, labels = _digits_arrays()
        rows = _split_indices(len(labels), source.validation, source.test, seed, labels)[0]
        scaling = feature_scaling(RowReader(pixels), rows, "standard")
        known = tuple(-1 if size is None else size for size in shape)
        return scaling.shift.reshape(known), scaling.scale.reshape(known)
    return None


def _images(trained: TrainedModel, train: Train, seed: int) -> Affine | None:
    from dslc.runtime.data import _want, _Where
    from dslc.runtime.images import _scaling, _train_validation_test, geometry, open_folder

    source = train.data
    assert isinstance(source, Images)
    if source.normalize == "none":
        return None
    want, where = _want(train, trained.analysis), _Where(trained.loaded)
    shape = geometry(source, want, where.data("path"))
    statistics = None
    if source.normalize == "standard":  # each channel's, from the run's train images read again
        folder, decoder = open_folder(source, where, shape)
        statistics = (decoder, _train_validation_test(source, folder, want, seed)[0], seed)
    scaling = _scaling(source, shape.channels, np.float32, statistics)
    return np.asarray(scaling.shift, np.float64), np.asarray(scaling.scale, np.float64)
