"""The recurrent layers' dropouts: off at inference, on in training, one mask per sequence held for every
time step (as Keras). A linear simple rnn makes the masks visible: each step is an affine map of the
dropped-out input and state, so the mask is what solves every step's equations at once."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.compiler.random_draws import flat_drawing
from dslc.spec.load import load_text

TIME, FEATURES, UNITS, BATCH, RATE = 8, 3, 4, 5, 0.5


def linear_rnn(options: str) -> SpecModel:
    loaded = load_text(f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [{TIME}, {FEATURES}]}}\n  layers:\n"
                       f"    - rnn: {{units: {UNITS}, activation: linear, return_sequences: true, {options}}}\n"
                       "      name: rec\n", "yaml")
    return build_model(loaded, analyse(loaded))


def weights(model: SpecModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cell = model.layers["rec"].rnn.cell
    return (np.asarray(cell.dense_i.kernel[...], np.float64), np.asarray(cell.dense_i.bias[...], np.float64),
            np.asarray(cell.dense_h.kernel[...], np.float64))


def solved_mask(columns: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """The one diagonal mask `m` with `target_t = column_t @ diag(m)...` for every step, checked to fit them all."""
    a, b = np.concatenate(columns), np.concatenate(targets)
    mask, *_ = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(a @ mask, b, atol=1e-4)  # one mask explains every time step
    return mask


def assert_dropout_mask(mask: np.ndarray) -> None:
    np.testing.assert_allclose(np.minimum(np.abs(mask), np.abs(mask - 1 / (1 - RATE))), 0, atol=1e-3)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.asarray(jax.random.normal(flat_drawing(1), (BATCH, TIME, FEATURES)), np.float64)


def test_recurrent_dropout_drops_state_units_with_one_mask_per_sequence(x: np.ndarray) -> None:
    model = linear_rnn(f"recurrent_dropout: {RATE}")
    w_i, b, w_h = weights(model)
    h = np.asarray(model(x.astype(np.float32), train=True), np.float64)
    masks = []
    for example in range(BATCH):
        # h_t - W_i x_t - b = (h_{t-1} * m) @ W_h = h_{t-1} @ diag(m) @ W_h, linear in m
        columns = [(h[example, t - 1][:, None] * w_h).T for t in range(1, TIME)]
        targets = [h[example, t] - x[example, t] @ w_i - b for t in range(1, TIME)]
        masks.append(solved_mask(columns, targets))
    assert_dropout_mask(np.stack(masks))
    assert np.isclose(np.stack(masks), 0).any()


def test_input_dropout_drops_features_with_one_mask_per_sequence(x: np.ndarray) -> None:
    model = linear_rnn(f"dropout: {RATE}")
    w_i, b, w_h = weights(model)
    h = np.asarray(model(x.astype(np.float32), train=True), np.float64)
    masks = []
    for example in range(BATCH):
        previous = np.concatenate([np.zeros((1, UNITS)), h[example, :-1]])
        # h_t - h_{t-1} W_h - b = (x_t * m) @ W_i, linear in m
        columns = [(x[example, t][:, None] * w_i).T for t in range(TIME)]
        targets = [h[example, t] - previous[t] @ w_h - b for t in range(TIME)]
        masks.append(solved_mask(columns, targets))
    assert_dropout_mask(np.stack(masks))
    assert np.isclose(np.stack(masks), 0).any()


def test_dropouts_are_off_at_inference(x: np.ndarray) -> None:
    inputs = x.astype(np.float32)
    plain = linear_rnn("dropout: 0.0")(inputs)
    dropping = linear_rnn(f"dropout: {RATE}, recurrent_dropout: {RATE}")  # the same seed: the same weights
    np.testing.assert_allclose(dropping(inputs), plain, rtol=1e-6)
    assert not np.allclose(dropping(inputs, train=True), plain)
