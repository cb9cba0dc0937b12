"""Benchmark: tokens/s of `dslc generate` with its KV cache against a full forward pass per token.

    python bench/generate.py                  # examples/text_bytes.yaml (64 positions), 5 rounds
    python bench/generate.py --rounds 3 --spec examples/zoo/smollm2_135m_tiny.yaml

The model has random weights (speed does not depend on them); both sides decode greedily, one token per
dispatch, after a warm-up that compiles them. `cached` is `dslc.compiler.generate.Generator` (the prompt
prefilled in one call, then one position per token; past the window, one prefill every second token);
`full pass` runs the whole window (the last `length` tokens, padded) for every token. Two lengths: a text
that stays within the window, and one four windows long. Prints medians (min-max) of tokens/s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def full_passes(model: Any, length: int) -> Callable[[list[int], int], list[int]]:
    """Greedy decoding without a cache: each token from a forward pass over the last `length` tokens."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    graphdef, weights = nnx.split(model)

    @jax.jit
    def next_token(weights: Any, ids: jax.Array, count: jax.Array) -> jax.Array:
        logits = nnx.merge(graphdef, weights)(ids)
        return jnp.argmax(jax.lax.dynamic_index_in_dim(logits, count - 1, axis=1, keepdims=False), axis=-1)

    def run(prompt: list[int], count: int) -> list[int]:
        tokens = list(prompt)
        for _ in range(count):
            context = tokens[-length:]
            ids = np.zeros((1, length), np.int32)
            ids[0, :len(context)] = context
            tokens.append(int(np.asarray(next_token(weights, ids, np.int32(len(context))))[0]))
        return tokens[len(prompt):]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=ROOT / "examples" / "text_bytes.yaml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import jax

    from dslc.compiler.analysis.analyse import analyse
    from dslc.compiler.build import build_model
    from dslc.compiler.generate import Generator, Sampling, check_decodable, decoder_of
    from dslc.spec.load import load

    loaded = load(args.spec)
    analysis = analyse(loaded)
    model = build_model(loaded, analysis)
    check_decodable(loaded, analysis, model)
    decoder = decoder_of(loaded, analysis)
    cached = Generator(model, decoder, Sampling(greedy=True))
    sides: dict[str, Callable[[list[int], int], list[int]]] = {
        "cached": lambda prompt, count: list(cached.tokens(prompt, count)),
        "full pass": full_passes(model, decoder.length)}
    prompt = [ord(c) % decoder.vocab for c in "The "]
    cases = {f"within the window ({decoder.length - len(prompt)} tokens)": decoder.length - len(prompt),
             f"four windows ({4 * decoder.length} tokens)": 4 * decoder.length}
    for side in sides.values():
        side(prompt, decoder.length + 2)  # compile: prefill, step and the slide
    print(f"{args.spec.name}: {decoder.length} positions, vocabulary {decoder.vocab}, on "
          f"{jax.devices()[0].device_kind} ({jax.devices()[0].platform}); {args.rounds} rounds, greedy")
    print(f"| text | {' | '.join(f'{name} tokens/s' for name in sides)} | speed-up |")
    print(f"|---|{'---|' * len(sides)}---|")
    for case, count in cases.items():
        rates: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, side in sides.items():
                start = time.perf_counter()
                side(prompt, count)
                rates[name].append(count / (time.perf_counter() - start))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        shown = " | ".join(f"{medians[name]:,.0f} ({min(rates[name]):,.0f}-{max(rates[name]):,.0f})"
                           for name in sides)
        print(f"| {case} | {shown} | {medians['cached'] / medians['full pass']:.1f}x |")


if __name__ == "__main__":
    main()
