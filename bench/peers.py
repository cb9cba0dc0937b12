"""The peers dslc is measured against, one training run per fresh process (docs/performance.md#peers).

    python bench/peers.py SIDE WORKLOAD STEPS [SECONDS]    # prints one JSON line

SIDE is one of SIDES; WORKLOAD a key of common.WORKLOADS (w1, w2, w3). Every side trains the workload's model
with Adam (lr 1e-3) on host arrays shaped like the spec's random train split, runs one first step (compiling,
where there is compiling), then times about STEPS more, or fewer where SECONDS (default: no limit) run out
first. It prints steps/s, the parameter count, the loss of the
first step and of the last, and `first_step_at` (unix time when the first step had finished) so the parent can
compute the time to first step from the moment it spawned the process.

- flax: hand-written Flax linen + optax (reference_flax.py), one jitted, donated step a dispatch; each step
  gathers a shuffled batch from the host arrays and `jax.device_put`s it, as a user's loop would.
- flax-scan: the same with `lax.scan` over the workload's `scan` steps a dispatch (one staged (K, batch, ...)
  stack a call).
- flax-resident: the per-step loop on one batch put on the device once (no per-step copies), for context.
- keras: Keras 3 on the JAX backend, `model.fit` on the host arrays (shuffled, `steps_per_execution` 1), whole
  batches only (a ragged last batch would compile a second program, as the per-step Flax loop drops it too).
  The first step is a `fit` over one batch; the timed `fit` runs about STEPS steps in whole epochs (fewer where
  an epoch is longer), with Keras's per-epoch work, counting the steps with a callback on each batch's begin.
- torch: PyTorch eager on the CPU (default thread count), a plain loop: a `randperm` each epoch, index the
  tensors, forward, `cross_entropy`, backward, `Adam.step`.
- torch-1: the same on one thread (`torch.set_num_threads(1)`), for context: when other processes load the
  machine, PyTorch's default of one thread per core can run many times slower.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any

from common import CLASSES, WORKLOADS, Workload, batch_indices, random_data

SIDES = ("flax", "flax-scan", "flax-resident", "keras", "torch", "torch-1")


def measure_flax(workload: Workload, steps: int, limit: float = math.inf, fuse: int = 1, unroll: int = 1,
                 resident: bool = False) -> dict[str, Any]:
    import jax
    import numpy as np
    from reference_flax import train_step

    x, y = random_data(workload)
    step, state, count = train_step(workload.name, workload.batch, fuse, unroll)
    indices = batch_indices(workload.train_examples, workload.batch)
    on_device = jax.device_put((x[:workload.batch], y[:workload.batch]))

    def run(state: Any) -> tuple[Any, Any]:
        if resident:
            return step(state, *on_device)
        rows = np.stack([next(indices) for _ in range(fuse)]) if fuse > 1 else next(indices)
        return step(state, jax.device_put(x[rows]), jax.device_put(y[rows]))

    state, first = run(state)  # compiles
    jax.block_until_ready(state)
    first_step_at = time.time()
    calls, start = 0, time.perf_counter()
    while calls < max(steps // fuse, 1) and (calls == 0 or time.perf_counter() - start < limit):
        state, last = run(state)
        calls += 1
    jax.block_until_ready(state)
    elapsed = time.perf_counter() - start
    return {"steps_per_s": calls * fuse / elapsed, "steps": calls * fuse, "params": count,
            "first_loss": float(np.mean(first)), "last_loss": float(np.mean(last)), "first_step_at": first_step_at}


def keras_model(workload: Workload) -> Any:
    import keras
    from keras import layers

    stack: list[Any] = [keras.Input(workload.shape)]
    if workload.name == "w1_mlp":
        stack += [layers.Dense(512, activation="relu"), layers.Dense(512, activation="relu")]
    elif workload.name == "w2_cnn":
        stack += [layers.Conv2D(32, 3, activation="relu", padding="valid"), layers.MaxPooling2D(2),
                  layers.Conv2D(64, 3, activation="relu", padding="valid"), layers.MaxPooling2D(2),
                  layers.Flatten(), layers.Dense(128, activation="relu")]
    else:
        stack += [layers.Dense(32, activation="relu")]
    return keras.Sequential([*stack, layers.Dense(CLASSES)])


def measure_keras(workload: Workload, steps: int, limit: float = math.inf) -> dict[str, Any]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import keras

    if keras.backend.backend() != "jax":
        sys.exit(f"Keras runs on the {keras.backend.backend()} backend, not JAX (set KERAS_BACKEND=jax)")
    keras.utils.set_random_seed(0)
    model = keras_model(workload)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = random_data(workload)
    batch = workload.batch
    first = model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    first_step_at = time.time()

    class Limit(keras.callbacks.Callback):
        """Counts the steps and stops `fit` once `limit` seconds have passed. It hooks the batch's begin: a
        callback on its end would make Keras wait for every step's logs."""

        def __init__(self) -> None:
            super().__init__()
            self.steps = 0

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.steps += 1
            if time.perf_counter() - start > limit:
                self.model.stop_training = True

    whole = min(steps, workload.train_examples // batch)  # batches an epoch
    x, y = x[:whole * batch], y[:whole * batch]
    epochs = max(round(steps / whole), 1)
    counter = Limit()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=True, callbacks=[counter])
    jax.block_until_ready([variable.value for variable in model.trainable_variables])
    elapsed = time.perf_counter() - start
    return {"steps_per_s": counter.steps / elapsed, "steps": counter.steps, "params": model.count_params(),
            "first_loss": float(first.history["loss"][0]), "last_loss": float(history.history["loss"][-1]),
            "first_step_at": first_step_at}


def torch_model(workload: Workload) -> Any:
    from torch import nn

    if workload.name == "w1_mlp":
        body = [nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, CLASSES)]
    elif workload.name == "w2_cnn":  # NCHW; padding 0 (VALID), as the spec says
        body = [nn.Conv2d(1, 32, 3, padding=0), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=0), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(5 * 5 * 64, 128), nn.ReLU(), nn.Linear(128, CLASSES)]
    else:
        body = [nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, CLASSES)]
    return nn.Sequential(*body)


def measure_torch(workload: Workload, steps: int, limit: float = math.inf, threads: int = 0) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_model(workload)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_host, y_host = random_data(workload)
    if x_host.ndim == 4:
        x_host = x_host.transpose(0, 3, 1, 2).copy()  # NHWC -> NCHW
    x, y = torch.from_numpy(x_host), torch.from_numpy(y_host).long()
    batch, examples = workload.batch, workload.train_examples

    def batches() -> Any:
        while True:
            order = torch.randperm(examples)
            for start in range(0, examples, batch):
                yield order[start:start + batch]

    def step(rows: Any) -> Any:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
        return loss

    order = batches()
    first = step(next(order)).item()
    first_step_at = time.time()
    done, start = 0, time.perf_counter()
    while done < steps and (done == 0 or time.perf_counter() - start < limit):
        last = step(next(order))
        done += 1
    last = last.item()
    elapsed = time.perf_counter() - start
    return {"steps_per_s": done / elapsed, "steps": done, "params": sum(p.numel() for p in model.parameters()),
            "first_loss": first, "last_loss": last, "first_step_at": first_step_at,
            "threads": torch.get_num_threads()}


def measure(side: str, workload: Workload, steps: int, limit: float = math.inf) -> dict[str, Any]:
    if side == "flax":
        return measure_flax(workload, steps, limit)
    if side == "flax-scan":
        return measure_flax(workload, steps, limit, fuse=workload.scan, unroll=workload.unroll)
    if side == "flax-resident":
        return measure_flax(workload, steps, limit, resident=True)
    if side == "keras":
        return measure_keras(workload, steps, limit)
    if side == "torch":
        return measure_torch(workload, steps, limit)
    if side == "torch-1":
        return measure_torch(workload, steps, limit, threads=1)
    raise SystemExit(f"unknown side {side!r} (one of {', '.join(SIDES)})")


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    side, workload, steps = sys.argv[1], WORKLOADS[sys.argv[2]], int(sys.argv[3])
    limit = float(sys.argv[4]) if len(sys.argv) == 5 else math.inf
    result = measure(side, workload, steps, limit)
    finite = all(math.isfinite(result[key]) for key in ("first_loss", "last_loss"))
    print(json.dumps({**result, "side": side, "workload": workload.name, "finite": finite}))


if __name__ == "__main__":
    main()
