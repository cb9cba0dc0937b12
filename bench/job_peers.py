"""The whole job's peers (docs/performance.md#the-whole-job): each trains one row's model on the split that
dslc makes, validates every epoch and reports its test accuracy, one fresh process a run.

    python bench/job_peers.py export SPEC FOLDER SEED...   # untimed: dslc's own splits, FOLDER/<SEED>.npz
    python bench/job_peers.py SIDE ROW NPZ EPOCHS SEED     # prints one JSON line

`export` loads the spec's data with dslc's loader (`dslc.runtime.data.load_dataset`) for each SEED, as `dslc train
--seed SEED` splits it, and saves the train, validation and test splits, already shaped and normalised, so every
side trains the same examples. A peer loads that file (it never imports dslc) and draws its initial weights,
shuffles and dropout masks from SEED.

SIDE is one of SIDES, ROW a key of ROWS. Every side builds the row's model by hand (the spec's layers, sizes,
activations and dropout; kernels LeCun-normal and biases zero, as Flax's defaults that dslc keeps), trains it
with the row's optimizer, learning rate and batch for EPOCHS epochs on shuffled batches (the last one ragged, or
padded with weight-0 examples on the Flax side so one program serves every batch), computes the validation
accuracy after every epoch and, at the end, the test accuracy of the final parameters (as `dslc train` does).

- flax: Flax NNX + optax, written as a careful user would: the model split once into a graph and a state,
  a `jax.jit` train step (state donated) and a `jax.jit` evaluation step over plain batches, a Python loop.
- keras: Keras 3 on the JAX backend: `model.fit(x, y, validation_data=(xv, yv), epochs=E, batch_size=B,
  verbose=0)`, then `model.evaluate` on the test split.
- torch: PyTorch eager (default thread count): a `randperm` each epoch, forward, `cross_entropy`, backward,
  the optimizer's step; validation and test under `no_grad` in `eval()` mode.

Nothing here imports JAX, Keras or PyTorch at module level: bench/job.py imports ROWS.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

SIDES = ("flax", "keras", "torch")
CLASSES = 10


@dataclass(frozen=True)
class Row:
    """One row of the whole-job table: the spec's model and training, as each peer writes them out."""

    title: str
    spec: str  # relative to the repository's root
    batch: int
    lr: float
    weight_decay: float  # 0: Adam; else AdamW with this decoupled decay
    epochs: int  # a full run's (the spec's, but for the CNN: see ROWS)
    quick_epochs: int


# The CNN runs 20 of its spec's 40 epochs, so that a full run (3 rounds, 16 processes each) fits in 8 minutes
# on 2 cores: PyTorch's eager CNN is the slowest process of the whole table.
ROWS = {
    "mlp": Row("digits MLP (64-128-dropout-64-10)", "examples/digits_mlp.yaml", 64, 0.002, 0.0, 30, 5),
    "cnn": Row("digits CNN (conv32-conv32-pool-conv64-avgpool-dropout-10)", "examples/digits_cnn.yaml", 64, 0.003,
               0.0, 20, 3),
    "csv": Row("breast-cancer CSV (30-16-2)", "examples/breast_cancer.yaml", 32, 0.003, 0.0, 40, 10),
    "transformer": Row("digits transformer (rows as tokens, 2 pre-norm blocks of width 64)",
                       "bench/specs/job_transformer.yaml", 64, 0.001, 0.01, 20, 3),
}


def classes(row: str) -> int:
    return 2 if row == "csv" else CLASSES


# -- the split, from dslc's own loader ------------------------------------------------------------------------
def export(spec: str, folder: str, *seeds: str) -> None:
    from pathlib import Path

    import numpy as np

    from dslc import api
    from dslc.runtime.data import load_dataset

    loaded = api.load(spec)
    analysis = api.analyse(loaded)
    for seed in seeds:
        dataset = load_dataset(loaded, analysis, seed=int(seed))
        arrays = {}
        for name in ("train", "validation", "test"):
            split = dataset.split(name)
            (x,) = split.inputs
            arrays[f"x_{name}"], arrays[f"y_{name}"] = np.asarray(x, np.float32), np.asarray(split.target, np.int32)
        np.savez(Path(folder) / f"{seed}.npz", **arrays)


def load(npz: str) -> dict[str, Any]:
    import numpy as np

    with np.load(npz) as data:
        return {key: data[key] for key in data.files}


# -- Flax NNX + optax -----------------------------------------------------------------------------------------
def flax_model(row: str, shape: tuple[int, ...], seed: int = 0) -> Any:
    import jax
    from flax import nnx

    rngs = nnx.Rngs(params=seed)  # dropout draws from the step's key (keeps the state pure parameters)

    def dropout(layer: Any, x: Any, key: Any, site: int) -> Any:
        """`layer` (an `nnx.Dropout`) at site `site` of the model, only when training (`key` is not None)."""
        return x if key is None else layer(x, rngs=jax.random.fold_in(key, site))

    class MLP(nnx.Module):
        def __init__(self) -> None:
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.dropout = nnx.Dropout(0.1)
            self.hidden2 = nnx.Linear(128, 64, rngs=rngs)
            self.out = nnx.Linear(64, CLASSES, rngs=rngs)

        def __call__(self, x: Any, key: Any) -> Any:
            x = dropout(self.dropout, nnx.relu(self.hidden(x.reshape(x.shape[0], -1))), key, 0)
            return self.out(nnx.relu(self.hidden2(x)))

    class CNN(nnx.Module):
        def __init__(self) -> None:
            self.conv1 = nnx.Conv(1, 32, (3, 3), padding="SAME", rngs=rngs)
            self.conv2 = nnx.Conv(32, 32, (3, 3), padding="SAME", rngs=rngs)
            self.conv3 = nnx.Conv(32, 64, (3, 3), padding="SAME", rngs=rngs)
            self.dropout = nnx.Dropout(0.2)
            self.out = nnx.Linear(64, CLASSES, rngs=rngs)

        def __call__(self, x: Any, key: Any) -> Any:
            x = nnx.relu(self.conv2(nnx.relu(self.conv1(x))))
            x = nnx.max_pool(x, (2, 2), strides=(2, 2))
            x = nnx.relu(self.conv3(x)).mean(axis=(1, 2))
            return self.out(dropout(self.dropout, x, key, 0))

    class Tabular(nnx.Module):
        def __init__(self) -> None:
            self.hidden = nnx.Linear(shape[-1], 16, rngs=rngs)
            self.out = nnx.Linear(16, 2, rngs=rngs)

        def __call__(self, x: Any, key: Any) -> Any:
            return self.out(nnx.relu(self.hidden(x)))

    class Block(nnx.Module):
        """Pre-norm: x + drop(attention(norm(x))), then x + drop(mlp(norm(x))); gelu, dropout on the hidden
        units and on the attention weights."""

        def __init__(self, width: int = 64, heads: int = 4, hidden: int = 128, rate: float = 0.1) -> None:
            self.norm1 = nnx.LayerNorm(width, epsilon=1e-6, rngs=rngs)
            self.attention = nnx.MultiHeadAttention(heads, width, dropout_rate=rate, decode=False, keep_rngs=False,
                                                    rngs=rngs)
            self.norm2 = nnx.LayerNorm(width, epsilon=1e-6, rngs=rngs)
            self.mlp_in = nnx.Linear(width, hidden, rngs=rngs)
            self.mlp_out = nnx.Linear(hidden, width, rngs=rngs)
            self.dropout = nnx.Dropout(rate)

        def __call__(self, x: Any, key: Any) -> Any:
            rngs = None if key is None else nnx.Rngs(dropout=jax.random.fold_in(key, 3))
            h = self.attention(self.norm1(x), deterministic=key is None, rngs=rngs)
            x = x + dropout(self.dropout, h, key, 0)
            h = dropout(self.dropout, nnx.gelu(self.mlp_in(self.norm2(x)), approximate=False), key, 1)
            return x + dropout(self.dropout, self.mlp_out(h), key, 2)

    class Transformer(nnx.Module):
        def __init__(self) -> None:
            self.embed = nnx.Linear(shape[-1], 64, rngs=rngs)
            self.blocks = nnx.List([Block(), Block()])
            self.norm = nnx.LayerNorm(64, epsilon=1e-6, rngs=rngs)
            self.out = nnx.Linear(64, CLASSES, rngs=rngs)

        def __call__(self, x: Any, key: Any) -> Any:
            x = self.embed(x)
            for number, block in enumerate(self.blocks):
                x = block(x, None if key is None else jax.random.fold_in(key, number))
            return self.out(self.norm(x).mean(axis=1))

    return {"mlp": MLP, "cnn": CNN, "csv": Tabular, "transformer": Transformer}[row]()


def run_flax(row: Row, key: str, data: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from flax import nnx

    model = flax_model(key, data["x_train"].shape[1:], seed)
    graph, params = nnx.split(model, nnx.Param)
    optimizer = (optax.adamw(row.lr, weight_decay=row.weight_decay) if row.weight_decay
                 else optax.adam(row.lr))

    def train_step(state: Any, x: Any, y: Any, weight: Any) -> Any:
        params, opt_state, key = state
        key, dropout_key = jax.random.split(key)

        def loss_fn(params: Any) -> Any:
            losses = optax.softmax_cross_entropy_with_integer_labels(nnx.merge(graph, params)(x, dropout_key), y)
            return (losses * weight).sum() / weight.sum()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, key), loss

    def eval_step(params: Any, x: Any, y: Any, weight: Any) -> Any:
        logits = nnx.merge(graph, params)(x, None)
        return ((jnp.argmax(logits, -1) == y) * weight).sum()

    train_jit = jax.jit(train_step, donate_argnums=0)
    eval_jit = jax.jit(eval_step)
    batch = row.batch

    def padded(order: Any) -> tuple[Any, Any]:
        """Batches of row indices, the last filled up with weight-0 copies (one shape, one program)."""
        count = math.ceil(len(order) / batch)
        weight = np.zeros(count * batch, np.float32)
        weight[:len(order)] = 1.0
        order = np.concatenate([order, np.full(count * batch - len(order), order[-1])])
        return order.reshape(count, batch), weight.reshape(count, batch)

    def accuracy(params: Any, split: str) -> float:
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        rows, weights = padded(np.arange(len(y)))
        correct = sum(eval_jit(params, x[r], y[r], w) for r, w in zip(rows, weights, strict=True))
        return float(correct) / len(y)

    state = (params, optimizer.init(params), jax.random.key(seed + 1))
    x, y = data["x_train"], data["y_train"]
    rng = np.random.default_rng(seed)
    validation, losses = [], []
    for _ in range(epochs):
        rows, weights = padded(rng.permutation(len(y)))
        for r, w in zip(rows, weights, strict=True):
            state, loss = train_jit(state, x[r], y[r], w)
        losses.append(float(loss))
        validation.append(accuracy(state[0], "validation"))
    params = sum(leaf.size for leaf in jax.tree.leaves(state[0]))
    return {"test_accuracy": accuracy(state[0], "test"), "validation_accuracy": validation,
            "last_loss": losses[-1], "params": params}


# -- Keras 3 on JAX -------------------------------------------------------------------------------------------
def keras_model(row: str, shape: tuple[int, ...]) -> Any:
    import keras
    from keras import layers

    init = {"kernel_initializer": "lecun_normal"}
    inputs = keras.Input(shape)
    if row == "mlp":
        x = layers.Flatten()(inputs)
        x = layers.Dropout(0.1)(layers.Dense(128, activation="relu", **init)(x))
        x = layers.Dense(64, activation="relu", **init)(x)
    elif row == "cnn":
        x = layers.Conv2D(32, 3, padding="same", activation="relu", **init)(inputs)
        x = layers.Conv2D(32, 3, padding="same", activation="relu", **init)(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(64, 3, padding="same", activation="relu", **init)(x)
        x = layers.Dropout(0.2)(layers.GlobalAveragePooling2D()(x))
    elif row == "csv":
        x = layers.Dense(16, activation="relu", **init)(inputs)
    else:
        x = layers.Dense(64, **init)(inputs)
        for _ in range(2):
            h = layers.LayerNormalization(epsilon=1e-6)(x)
            h = layers.MultiHeadAttention(4, 16, dropout=0.1, **init)(h, h)
            x = x + layers.Dropout(0.1)(h)
            h = layers.Dropout(0.1)(layers.Dense(128, activation="gelu", **init)(layers.LayerNormalization(
                epsilon=1e-6)(x)))
            x = x + layers.Dropout(0.1)(layers.Dense(64, **init)(h))
        x = layers.GlobalAveragePooling1D()(layers.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(inputs, layers.Dense(classes(row), **init)(x))


def run_keras(row: Row, key: str, data: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    os.environ["KERAS_BACKEND"] = os.environ.get("KERAS_BACKEND", "jax")  # before Keras is imported
    import keras

    if (backend := keras.config.backend()) != "jax":
        raise SystemExit(f"this side is Keras on JAX, but KERAS_BACKEND chose {backend}")
    keras.utils.set_random_seed(seed)
    model = keras_model(key, data["x_train"].shape[1:])
    optimizer = (keras.optimizers.AdamW(row.lr, weight_decay=row.weight_decay, epsilon=1e-8) if row.weight_decay
                 else keras.optimizers.Adam(row.lr, epsilon=1e-8))  # optax and PyTorch: 1e-8
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(data["x_train"], data["y_train"], validation_data=(data["x_validation"],
                        data["y_validation"]), epochs=epochs, batch_size=row.batch, verbose=0)
    _, test = model.evaluate(data["x_test"], data["y_test"], batch_size=row.batch, verbose=0)
    return {"test_accuracy": float(test), "validation_accuracy": [float(v) for v in history.history["val_accuracy"]],
            "last_loss": float(history.history["loss"][-1]), "params": model.count_params()}


# -- PyTorch eager --------------------------------------------------------------------------------------------
def torch_model(row: str, shape: tuple[int, ...]) -> Any:
    import torch
    from torch import nn

    class Transformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(shape[-1], 64)
            self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(
                64, 4, 128, dropout=0.1, activation="gelu", layer_norm_eps=1e-6, batch_first=True, norm_first=True)
                for _ in range(2)])
            self.norm = nn.LayerNorm(64, eps=1e-6)
            self.out = nn.Linear(64, CLASSES)

        def forward(self, x: Any) -> Any:
            x = self.embed(x)
            for block in self.blocks:
                x = block(x)
            return self.out(self.norm(x).mean(dim=1))

    if row == "mlp":
        model: nn.Module = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
                                         nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, CLASSES))
    elif row == "cnn":  # NCHW
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, CLASSES))
    elif row == "csv":
        model = nn.Sequential(nn.Linear(shape[-1], 16), nn.ReLU(), nn.Linear(16, 2))
    else:
        model = Transformer()
    with torch.no_grad():  # LeCun-normal kernels (truncated at 2 sigma) and zero biases, as Flax's defaults
        for name, parameter in model.named_parameters():
            if parameter.ndim >= 2:
                fan_in = parameter[0].numel()
                nn.init.trunc_normal_(parameter, std=(1 / fan_in) ** 0.5 / 0.87962566, a=-2 * (1 / fan_in) ** 0.5
                                      / 0.87962566, b=2 * (1 / fan_in) ** 0.5 / 0.87962566)
            elif "norm" not in name:
                nn.init.zeros_(parameter)
    return model


def run_torch(row: Row, key: str, data: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    tensors = {}
    for name, array in data.items():
        if name.startswith("x_") and array.ndim == 4:
            array = array.transpose(0, 3, 1, 2).copy()  # NHWC -> NCHW
        tensors[name] = torch.from_numpy(array) if name.startswith("x_") else torch.from_numpy(array).long()
    model = torch_model(key, tuple(data["x_train"].shape[1:]))
    optimizer = (torch.optim.AdamW(model.parameters(), lr=row.lr, weight_decay=row.weight_decay)
                 if row.weight_decay else torch.optim.Adam(model.parameters(), lr=row.lr))

    def accuracy(split: str) -> float:
        model.eval()
        with torch.no_grad():
            logits = model(tensors[f"x_{split}"])
        return float((logits.argmax(-1) == tensors[f"y_{split}"]).float().mean())

    x, y = tensors["x_train"], tensors["y_train"]
    validation = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y), row.batch):
            rows = order[start:start + row.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            loss = loss.detach()
        validation.append(accuracy("validation"))
    return {"test_accuracy": accuracy("test"), "validation_accuracy": validation, "last_loss": float(loss),
            "params": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads()}


RUNNERS = {"flax": run_flax, "keras": run_keras, "torch": run_torch}


def main() -> None:
    if len(sys.argv) >= 5 and sys.argv[1] == "export":
        export(*sys.argv[2:])
        return
    if len(sys.argv) != 6 or sys.argv[1] not in RUNNERS or sys.argv[2] not in ROWS:
        sys.exit(__doc__)
    side, key, npz, epochs, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    result = RUNNERS[side](ROWS[key], key, load(npz), epochs, seed)
    print(json.dumps({**result, "side": side, "row": key, "epochs": epochs, "seed": seed}))


if __name__ == "__main__":
    main()
