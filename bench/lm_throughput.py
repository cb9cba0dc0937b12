"""Benchmark: `dslc train` on examples/python_bpe.yaml against a hand-written Flax NNX training loop for the same
model, side by side in one run (tokens/s, medians of --rounds).

    python bench/lm_throughput.py              # 3 rounds
    python bench/lm_throughput.py --rounds 1

The CLI rows run the whole command on the example's corpus (`python examples/write_data.py python_stdlib`, written
into a temporary folder): the BPE tokenizer and token cache are made once, then each round trains one epoch in a
fresh work directory copy and reads `tokens_per_second` from run.json (timed from the first step's end, so
compilation is left out). The reference is the same GPT written with nnx by hand (embedding, learned positions,
2 pre-norm decoder blocks of 4 heads with a 256-wide GELU MLP, a final layer norm, the output tied to the
embedding), trained with optax's adam in one `jax.jit` step with donated state on random tokens of the same batch
and length, for as many steps as the CLI's epoch; compilation is left out too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "python_bpe.yaml"
VOCAB, LENGTH, WIDTH, HEADS, MLP, BLOCKS, BATCH, LR = 1024, 64, 64, 4, 256, 2, 32, 0.003


def cli_rates(folder: Path, rounds: int) -> tuple[list[float], int]:
    """tokens/s of `dslc train --epochs 1` per round, and the steps of an epoch."""
    loader = importlib.util.spec_from_file_location("write_data", ROOT / "examples" / "write_data.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    (folder / "data").mkdir()
    module.python_stdlib(folder / "data")
    spec = folder / EXAMPLE.name
    shutil.copy(EXAMPLE, spec)
    prepared = folder / "prepared"  # tokenizer.json and the token cache, made once
    subprocess.run([sys.executable, "-m", "dslc", "tokenizer", "train", str(spec), "--workdir", str(prepared)],
                   check=True, capture_output=True)
    rates, steps = [], 0
    for number in range(rounds):
        workdir = folder / f"run{number}"
        shutil.copytree(prepared, workdir)
        subprocess.run([sys.executable, "-m", "dslc", "train", str(spec), "--epochs", "1", "--workdir",
                        str(workdir), "--quiet"], check=True, capture_output=True)
        summary = json.loads((workdir / "run.json").read_text())
        rates.append(summary["tokens_per_second"])
        steps = summary["steps"]
    return rates, steps


def reference_rates(steps: int, rounds: int) -> list[float]:
    """tokens/s of the hand-written NNX loop, `steps` steps per round."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.norm1, self.norm2 = nnx.LayerNorm(WIDTH, rngs=rngs), nnx.LayerNorm(WIDTH, rngs=rngs)
            self.attention = nnx.MultiHeadAttention(HEADS, WIDTH, decode=False, rngs=rngs)
            self.up, self.down = nnx.Linear(WIDTH, MLP, rngs=rngs), nnx.Linear(MLP, WIDTH, rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            mask = nnx.make_causal_mask(jnp.ones(x.shape[:2]))
            x = x + self.attention(self.norm1(x), mask=mask)
            return x + self.down(jax.nn.gelu(self.up(self.norm2(x))))

    class GPT(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.embed = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
            self.positions = nnx.Param(jax.random.normal(rngs.params(), (LENGTH, WIDTH)) * 0.02)
            self.blocks = nnx.List([Block(rngs) for _ in range(BLOCKS)])
            self.norm = nnx.LayerNorm(WIDTH, rngs=rngs)

        def __call__(self, tokens: jax.Array) -> jax.Array:
            x = self.embed(tokens) + self.positions[...]
            for block in self.blocks:
                x = block(x)
            return self.embed.attend(self.norm(x))

    model = GPT(nnx.Rngs(0))
    graphdef, params = nnx.split(model, nnx.Param)
    tx = optax.adam(LR)
    state = (params, tx.init(params))

    @jax.jit
    def step(state, tokens, targets):  # type: ignore[no-untyped-def]
        params, opt = state

        def loss(params):  # type: ignore[no-untyped-def]
            logits = nnx.merge(graphdef, params)(tokens)
            return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), value

    step = jax.jit(step.__wrapped__, donate_argnums=0)  # type: ignore[attr-defined]
    data = jax.random.randint(jax.random.key(1), (8, BATCH, LENGTH + 1), 0, VOCAB)
    state, value = step(state, data[0, :, :-1], data[0, :, 1:])  # compiles
    jax.block_until_ready(value)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for number in range(steps):
            batch = data[number % len(data)]
            state, value = step(state, batch[:, :-1], batch[:, 1:])
        jax.block_until_ready(value)
        rates.append(steps * BATCH * LENGTH / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cli, steps = cli_rates(Path(folder), args.rounds)
    reference = reference_rates(steps, args.rounds)
    import jax

    print(f"{EXAMPLE.name}: batch {BATCH} x {LENGTH} tokens, {steps} steps an epoch, {jax.devices()[0].device_kind}, "
          f"medians of {args.rounds} rounds\n")
    print(f"| {'training loop':<36} | {'tokens/s (min-max)':<26} | {'/ reference':>11} |")
    print(f"|{'-' * 38}|{'-' * 28}|{'-' * 13}|")
    base = statistics.median(reference)
    for name, rates in (("dslc train (CLI, data pipeline)", cli), ("hand-written nnx + optax, jit", reference)):
        median = statistics.median(rates)
        print(f"| {name:<36} | {f'{median:,.0f} ({min(rates):,.0f}-{max(rates):,.0f})':<26} | {median / base:>11.2f} |")


if __name__ == "__main__":
    main()
