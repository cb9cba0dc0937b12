"""The attention module computes what its options say: cross-attention as the textbook formula, grouped-query heads
sharing keys, sliding windows that hide far positions, and a written-out path for weight dropout that equals
`jax.nn.dot_product_attention` when nothing is dropped."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from dslc.compiler.random_draws import flat_drawing
from dslc.spec.layers._flax import Attention, _visible

RNG = np.random.default_rng(0)


def kernel(layer: nnx.Linear) -> np.ndarray:
    return np.asarray(layer.kernel.get_value())


def bias(layer: nnx.Linear) -> np.ndarray:
    return np.asarray(layer.bias.get_value())


def softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_cross_attention_with_shared_key_heads_is_the_textbook_formula() -> None:
    """4 query heads of 3 attend to a memory through 2 key/value heads (query heads 0, 1 share key head 0)."""
    attention = Attention(8, 4, 3, kv_heads=2, memory_features=5, rngs=nnx.Rngs(flat_drawing(0)))
    x, memory = RNG.standard_normal((2, 6, 8)), RNG.standard_normal((2, 7, 5))
    q = (x @ kernel(attention.query) + bias(attention.query)).reshape(2, 6, 4, 3)
    k = (memory @ kernel(attention.key) + bias(attention.key)).reshape(2, 7, 2, 3)
    v = (memory @ kernel(attention.value) + bias(attention.value)).reshape(2, 7, 2, 3)
    k, v = np.repeat(k, 2, axis=2), np.repeat(v, 2, axis=2)
    weights = softmax(np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(3))
    heads = np.einsum("bnts,bsnh->btnh", weights, v).reshape(2, 6, 12)
    expected = heads @ kernel(attention.out) + bias(attention.out)
    found = attention(jnp.asarray(x, jnp.float32), jnp.asarray(memory, jnp.float32))
    np.testing.assert_allclose(np.asarray(found), expected, rtol=1e-4, atol=1e-5)


def test_a_window_hides_positions_further_back() -> None:
    attention = Attention(8, 2, 4, causal=True, window=3, rngs=nnx.Rngs(flat_drawing(0)))
    x = jnp.asarray(RNG.standard_normal((1, 8, 8)), jnp.float32)
    changed = attention(x.at[:, 0].add(1.0)) - attention(x)
    assert np.abs(np.asarray(changed[:, :3])).min() > 0  # positions 0-2 see position 0
    np.testing.assert_array_equal(np.asarray(changed[:, 3:]), 0.0)  # position 3 sees 1-3 only


def test_visible_keys() -> None:
    np.testing.assert_array_equal(np.asarray(_visible(4, True, 2)), [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0],
                                                                     [0, 0, 1, 1]])
    np.testing.assert_array_equal(np.asarray(_visible(3, False, 2)), [[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    assert _visible(3, False, None) is None


def test_written_out_attention_equals_the_fused_one_when_nothing_drops() -> None:
    attention = Attention(8, 4, 2, kv_heads=2, causal=True, rope=(10000.0, 2, "halves"), dropout=0.5,
                          rngs=nnx.Rngs(flat_drawing(0)))
    x = jnp.asarray(RNG.standard_normal((2, 5, 8)), jnp.float32)
    fused = attention(x, train=False)
    attention.dropout.rate = 0.0  # the written-out path, dropping nothing
    query = attention._heads(attention.query(x), 4, None)
    key = attention._heads(attention.key(x), 2, None)
    value = attention.value(x).reshape(2, 5, 2, 2)
    written = attention._weights_dropped(query, key, value, _visible(5, True, None))
    np.testing.assert_allclose(np.asarray(attention.out(written.reshape(2, 5, 8))), np.asarray(fused), rtol=1e-5,
                               atol=1e-6)
