"""Max pooling's gradient in training (`_flax.tiled_max_pool`, docs/performance.md#max-pooling): where the windows
tile the input, the training pass differentiates comparisons rather than XLA's select-and-scatter, and gives the
same values and the same gradient bit for bit, ties included (each window's first maximum takes it)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dslc.spec.layers._flax import Pool

CASES = [  # (batch, *spatial, channels), window
    ((4, 10, 3), (3,)),  # 1-D; 10 = 3 x 3 + 1: the last element is in no window
    ((3, 9, 8, 4), (2, 2)),  # 2-D, an odd height
    ((2, 7, 12, 5), (2, 3)),
    ((2, 7, 9, 5, 3), (2, 3, 2)),  # 3-D
]


def _inputs(shape: tuple[int, ...], dtype: str) -> jax.Array:
    """Whole numbers, half of them clipped to zero as a ReLU would: ties in almost every window."""
    values = np.maximum(np.round(np.random.default_rng(0).normal(size=shape) * 2), 0)
    return jnp.asarray(values, dtype)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize(("shape", "window"), CASES)
def test_training_pools_and_differentiates_as_select_and_scatter_does(shape: tuple[int, ...],
                                                                     window: tuple[int, ...], dtype: str) -> None:
    x = _inputs(shape, dtype)
    pool = Pool("max", window, stride=window, padding="valid")
    weights = jnp.asarray(np.random.default_rng(1).normal(size=pool(x).shape), dtype)

    def loss(x: jax.Array, train: bool) -> jax.Array:
        return jnp.sum(pool(x, train=train) * weights)

    trained = jax.jit(jax.value_and_grad(lambda x: loss(x, True)))
    plain = jax.jit(jax.value_and_grad(lambda x: loss(x, False)))
    assert "select_and_scatter" not in str(jax.make_jaxpr(trained)(x))  # the comparisons' gradient is used
    assert "select_and_scatter" in str(jax.make_jaxpr(plain)(x))
    (value, grad), (plain_value, plain_grad) = trained(x), plain(x)
    np.testing.assert_array_equal(np.asarray(value, np.float32), np.asarray(plain_value, np.float32))
    np.testing.assert_array_equal(np.asarray(grad, np.float32), np.asarray(plain_grad, np.float32))
    assert grad.dtype == x.dtype and grad.shape == x.shape


def test_overlapping_windows_keep_xlas_gradient() -> None:
    x = _inputs((2, 9, 9, 3), "float32")
    pool = Pool("max", (3, 3), stride=(2, 2), padding="valid")
    assert "select_and_scatter" in str(jax.make_jaxpr(jax.grad(lambda x: jnp.sum(pool(x, train=True))))(x))
