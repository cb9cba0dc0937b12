"""Random draws in a form XLA's CPU backend compiles fast, with the same values: initialisation and dropout.

XLA's CPU compiler takes about a second to compile one draw of random bits shaped like a small 2-D kernel whose
last axis is not a multiple of 8 (a (512, 10) or (64, 10) classifier head, a dropout mask over 100 features),
against about 0.25 s for the same number of bits drawn as one flat vector. A 3-layer MLP's initialisation took
1.9 s to compile, most of it in its 10-unit head. Threefry's bits are a function of each element's flat index,
so drawing them flat and reshaping gives the same bits, and so the same parameters and dropout masks, bit for bit
(`tests/compiler/test_random_draws.py`).

The model is built from a key of `FLAT_THREEFRY` (threefry in every respect but the shape it draws in), and its
random streams are handed back as ordinary threefry keys; a train step's forward pass does the same with the
state's keys. So what the state holds, checkpoints and the program cache see no difference.
docs/performance.md#initialisation says what it saves.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import jax
from flax import nnx
from jax.extend import random as jax_random

_THREEFRY = jax_random.threefry_prng_impl
T = TypeVar("T")


def _flat_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    return _THREEFRY.random_bits(key, bit_width, (math.prod(shape),)).reshape(shape)


FLAT_THREEFRY = jax_random.define_prng_impl(
    key_shape=_THREEFRY.key_shape, seed=_THREEFRY.seed, split=_THREEFRY.split, random_bits=_flat_bits,
    fold_in=_THREEFRY.fold_in, name="threefry2x32_flat", tag="fry_flat")


def seed_key(seed: int) -> jax.Array:
    """The threefry key of `seed`, whatever JAX's default generator (`JAX_DEFAULT_PRNG_IMPL`): a run's draws,
    checkpoints and cached programs are threefry's, so a seed means the same parameters everywhere."""
    return jax.random.key(seed, impl="threefry2x32")


def flat_drawing(seed: int | jax.Array) -> jax.Array:
    """The key of `seed` (an int, or a threefry key) that draws flat: the same draws as threefry's, compiled faster."""
    key = seed if isinstance(seed, jax.Array) else seed_key(seed)
    return jax.random.wrap_key_data(jax.random.key_data(key), impl=FLAT_THREEFRY)


def is_key(leaf: Any) -> bool:
    """Whether `leaf` is a typed PRNG key array (which orbax, device transfers across processes and these
    functions handle as its key data)."""
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _with_impl(tree: T, impl: Any) -> T:
    return jax.tree.map(
        lambda leaf: jax.random.wrap_key_data(jax.random.key_data(leaf), impl=impl) if is_key(leaf) else leaf, tree)


def drawing_flat(tree: T) -> T:
    """`tree` with its keys made `FLAT_THREEFRY` keys (a train step's dropout then compiles faster)."""
    return _with_impl(tree, FLAT_THREEFRY)


def drawing_threefry(tree: T) -> T:
    """`tree` with its keys made threefry keys again: what the state holds, checkpoints and the program cache see."""
    return _with_impl(tree, "threefry2x32")


def as_threefry(model: nnx.Module) -> None:
    """Turn the model's random streams (dropout's, ...) back into threefry keys of the same data."""
    nnx.update(model, drawing_threefry(nnx.state(model, nnx.RngKey)))
