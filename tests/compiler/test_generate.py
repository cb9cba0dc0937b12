"""Generation (dslc.compiler.generate): the KV-cache path against the full forward pass, sampling, the window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.compiler.generate import Decoder, Generator, Sampling, check_decodable, decoder_of, kept_logits
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SMOLLM = (EXAMPLES / "zoo" / "smollm2_135m_tiny.yaml").read_text(encoding="utf-8")
# SmolLM2's layout (RoPE, GQA, RMSNorm, SwiGLU) with query/key norms, a sliding window and half-width
# interleaved rotary features on top: every option the decode path treats apart.
VARIANT = SMOLLM.replace("rope: 100000}", "rope: 100000, qk_norm: true, window: 5, rope_fraction: 0.5,\n"
                                          "                        rope_style: interleaved}")
assert VARIANT != SMOLLM


def built(loaded: Any) -> tuple[SpecModel, Decoder]:
    analysis = analyse(loaded)
    model = build_model(loaded, analysis, seed=1)
    check_decodable(loaded, analysis, model)
    return model, decoder_of(loaded, analysis)


@pytest.fixture(scope="module", params=["text_bytes", "smollm2_variant"])
def decoder(request: pytest.FixtureRequest) -> tuple[SpecModel, Decoder]:
    if request.param == "smollm2_variant":
        return built(load_text(VARIANT, "yaml", "smollm2_variant.yaml"))
    return built(load(EXAMPLES / "text_bytes.yaml"))


def test_each_cached_step_gives_the_full_forward_logits_at_its_position(decoder: tuple[SpecModel, Decoder]) -> None:
    model, shape = decoder
    ids = np.random.default_rng(0).integers(0, shape.vocab, (1, shape.length)).astype(np.int32)
    full = np.asarray(model(ids))
    graphdef, weights = nnx.split(model)

    @jax.jit
    def decode(weights: Any, cache: Any, ids: jax.Array, start: jax.Array) -> tuple[jax.Array, Any]:
        logits, cache = nnx.merge(graphdef, weights).decode(ids, start=start, cache=cache)
        return logits, cache

    # a prompt of 3 tokens in one call, then one position per call
    prefix, cache = decode(weights, model.empty_cache(1, shape.length), ids[:, :3], jnp.int32(0))
    steps = [prefix]
    for t in range(3, shape.length):
        logits, cache = decode(weights, cache, ids[:, t:t + 1], jnp.int32(t))
        steps.append(logits)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-5, atol=1e-5)
    whole, _ = decode(weights, model.empty_cache(1, shape.length), ids, jnp.int32(0))  # the prefill's window
    np.testing.assert_allclose(whole, full, rtol=1e-5, atol=1e-5)


def reference_greedy(model: SpecModel, shape: Decoder, prompt: list[int], count: int) -> list[int]:
    """Greedy continuation by full forward passes, sliding the window as the module docstring says."""
    tokens, start, made = list(prompt), max(0, len(prompt) - shape.length), []
    forward = jax.jit(lambda ids: model(ids))
    while len(made) < count:
        context = tokens[start:]
        ids = np.zeros((1, shape.length), np.int32)
        ids[0, :len(context)] = context
        made.append(int(np.argmax(forward(ids)[0, len(context) - 1])))
        tokens.append(made[-1])
        if len(tokens) - start > shape.length:
            start = len(tokens) - (shape.length - 1)
    return made


@pytest.fixture(scope="module")
def smollm() -> tuple[SpecModel, Decoder]:
    return built(load_text(VARIANT, "yaml", "smollm2_variant.yaml"))


def test_greedy_matches_full_passes_past_the_window_and_is_deterministic(smollm: tuple[SpecModel, Decoder],
                                                                         ) -> None:
    model, shape = smollm  # 16 positions: 40 tokens slide the window many times
    greedy = Generator(model, shape, Sampling(greedy=True))
    made = list(greedy.tokens([1, 2, 3], 40))
    assert made == reference_greedy(model, shape, [1, 2, 3], 40)
    assert list(greedy.tokens([1, 2, 3], 40, seed=7)) == made
    long_prompt = list(range(20))  # longer than the window: its last 16 tokens
    assert list(greedy.tokens(long_prompt, 5)) == reference_greedy(model, shape, long_prompt, 5)
    # top-k 1 keeps only the largest logit: sampling then is greedy
    assert list(Generator(model, shape, Sampling(top_k=1)).tokens([1, 2, 3], 40, seed=3)) == made


def test_seeded_sampling_is_reproducible_and_stops_at_the_end_token(smollm: tuple[SpecModel, Decoder]) -> None:
    model, shape = smollm
    sampler = Generator(model, shape, Sampling(temperature=1.5, top_k=20, top_p=0.95))
    first = list(sampler.tokens([5], 30, seed=11))
    assert len(first) == 30 and list(sampler.tokens([5], 30, seed=11)) == first
    assert list(sampler.tokens([5], 30, seed=12)) != first
    end = next(i for i, token in enumerate(first) if token not in first[:i] and i > 0)
    assert list(sampler.tokens([5], 30, seed=11, end_id=first[end])) == first[:end]


def test_top_p_keeps_the_smallest_set_that_reaches_p_and_top_k_the_k_largest() -> None:
    probabilities = jnp.array([0.05, 0.5, 0.15, 0.3])
    logits = jnp.log(probabilities)

    def kept(**options: Any) -> list[int]:
        return [int(i) for i in np.flatnonzero(np.isfinite(kept_logits(logits, Sampling(**options))))]

    assert kept(top_p=0.45) == [1]
    assert kept(top_p=0.7) == [1, 3]  # 0.5 does not reach 0.7, 0.5 + 0.3 does
    assert kept(top_p=0.9) == [1, 2, 3]
    assert kept(top_p=1.0) == [0, 1, 2, 3]
    assert kept(top_k=2) == [1, 3]
    assert kept(top_k=3, top_p=0.85) == [1, 2, 3]  # the nucleus of the top 3, renormalised: 0.5/0.95 + 0.3/0.95
    np.testing.assert_allclose(kept_logits(logits, Sampling(temperature=2.0)), logits / 2)


def test_layers_that_mix_positions_are_named() -> None:
    spec = SMOLLM.replace("      - decoder_block:", "      - conv1d: {filters: 32, kernel: 3, padding: same}\n"
                                                   "      - decoder_block:")
    spec = spec.replace("{heads: 4, kv_heads: 2,", "{heads: 4, kv_heads: 2, causal: false,")
    loaded = load_text(spec, "yaml", "mixing.yaml")
    analysis = analyse(loaded)
    with pytest.raises(DslcErrors) as raised:
        check_decodable(loaded, analysis, nnx.eval_shape(lambda: build_model(loaded, analysis)))
    messages = [error.message for error in raised.value.errors]
    assert len(messages) == 4 and all(error.code == "E809" and error.span for error in raised.value.errors)
    # each of the 2 repeats' conv1d and decoder block, at its line
    assert sum("(conv1d) cannot decode one position at a time: it combines several positions" in m
               for m in messages) == 2
    assert sum("(decoder_block) cannot decode" in m and "not causal" in m for m in messages) == 2
