"""The hand-written reference of DESIGN §10: Flax linen + optax, one `jax.jit` per step, donated state.

The models are written out by hand, as a user without dslc would, to measure dslc against.
"""

from __future__ import annotations

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


MODELS = {"w1_mlp": (MLP, (784,)), "w2_cnn": (CNN, (28, 28, 1))}


def make(workload: str, batch: int, seed: int = 0):
    """(train_step, state, batch arrays, parameter count) for one workload."""
    module_class, shape = MODELS[workload]
    model = module_class()
    key = jax.random.PRNGKey(seed)
    x = jax.random.normal(key, (batch, *shape), jnp.float32)
    y = jax.random.randint(key, (batch,), 0, 10)
    params = model.init(key, x)["params"]
    optimizer = optax.adam(1e-3)
    state = (params, optimizer.init(params))

    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def _step(state, x, y):
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    step = jax.jit(_step.__wrapped__, donate_argnums=0)
    count = sum(leaf.size for leaf in jax.tree.leaves(params))
    return step, state, (x, y), count
