"""The hand-written reference (docs/performance.md#peers): Flax linen + optax, one `jax.jit` per step (or a
`lax.scan` over several steps per dispatch), state donated.

The models are written out by hand, as a user without dslc would, to measure dslc against. Convolutions use
the specs' padding (VALID; Flax's default is SAME), so parameter counts match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(512)(x))
        x = nn.relu(nn.Dense(512)(x))
        return nn.Dense(10)(x)


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(32, (3, 3), padding="VALID")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.relu(nn.Conv(64, (3, 3), padding="VALID")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(128)(x))
        return nn.Dense(10)(x)


class TinyMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(32)(x)))


MODELS = {"w1_mlp": (MLP, (784,)), "w2_cnn": (CNN, (28, 28, 1)), "w3_tiny_mlp": (TinyMLP, (64,))}


def train_step(workload: str, batch: int, fuse: int = 1, unroll: int = 1,
               seed: int = 0) -> tuple[Callable, Any, int]:
    """(step, state, parameter count). `step(state, x, y) -> (state, loss)`, jitted with the state donated;
    with `fuse` > 1 it is a `lax.scan` over `fuse` steps and takes (fuse, batch, ...) inputs."""
    module_class, shape = MODELS[workload]
    model, optimizer = module_class(), optax.adam(1e-3)
    params = model.init(jax.random.PRNGKey(seed), jnp.zeros((batch, *shape), jnp.float32))["params"]

    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def one(state, xy):
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, *xy)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    def step(state, x, y):
        return one(state, (x, y)) if fuse == 1 else jax.lax.scan(one, state, (x, y), unroll=unroll)

    count = sum(leaf.size for leaf in jax.tree.leaves(params))
    return jax.jit(step, donate_argnums=0), (params, optimizer.init(params)), count


def make(workload: str, batch: int, seed: int = 0):
    """(train_step, state, one random batch on the device, parameter count) for one workload."""
    step, state, count = train_step(workload, batch, seed=seed)
    key = jax.random.PRNGKey(seed)
    x = jax.random.normal(key, (batch, *MODELS[workload][1]), jnp.float32)
    y = jax.random.randint(key, (batch,), 0, 10)
    return step, state, (x, y), count
