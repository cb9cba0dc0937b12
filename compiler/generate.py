"""Text generation from a decoder over token ids (`dslc generate`, `dslc.api.generate`).

The prompt is prefilled in one call (`SpecModel.decode` over the whole window, the prompt padded to the model
input's length, so it compiles once), which fills every attention layer's key/value cache; each new token is
then one jitted step that computes one position against the cache (compiled once for the cache's shape) and
samples the next token on the device: greedy, or from the logits at a temperature, cut to the top k and to
the top-p nucleus, with `jax.random` keys drawn from the seed and the token's index.

The cache holds the model input's `length` positions. A text longer than that slides the window: once the
cache is full, the cache is recomputed from the last `length - 1` tokens (one prefill) and decoding goes on
from there, so the model always sees at least `length - 1` tokens of context, at the price of one full pass
every second token beyond the window. A learned position table or a causal mask then sees positions as in
training (a window starting at 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import SpecModel
from dslc.compiler.random_draws import seed_key
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.layers._flax import decode_problem
from dslc.spec.layers._shapes import INTEGER_DTYPES
from dslc.spec.layers.base import show_array_shape
from dslc.spec.load import LoadedSpec

CODE = "E809"  # the model cannot generate text (docs/errors.md)


@dataclass(frozen=True)
class Sampling:
    """How the next token is drawn from the logits: `greedy` takes the largest; otherwise a draw from
    `softmax(logits / temperature)` restricted to the `top_k` largest and to the smallest set of the
    largest whose probability reaches `top_p` (the nucleus), each where given."""

    greedy: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


def kept_logits(logits: jax.Array, sampling: Sampling) -> jax.Array:
    """`logits` `(..., vocab)` at the temperature, with those outside the top k and the top-p nucleus at -inf."""
    scaled = logits.astype(jnp.float32) / sampling.temperature
    ordered = jnp.sort(scaled, axis=-1)[..., ::-1]  # descending
    if sampling.top_k is not None and sampling.top_k < scaled.shape[-1]:
        scaled = jnp.where(scaled < ordered[..., sampling.top_k - 1:sampling.top_k], -jnp.inf, scaled)
        ordered = jnp.where(jnp.arange(scaled.shape[-1]) < sampling.top_k, ordered, -jnp.inf)
    if sampling.top_p is not None:
        probabilities = jax.nn.softmax(ordered, axis=-1)
        before = jnp.cumsum(probabilities, axis=-1) - probabilities  # the mass of the larger ones
        # the smallest prefix reaching top_p: every token whose larger ones do not reach it yet (the first always)
        smallest = jnp.min(jnp.where(before < sampling.top_p, ordered, jnp.inf), axis=-1, keepdims=True)
        scaled = jnp.where(scaled < smallest, -jnp.inf, scaled)
    return scaled


def sample(logits: jax.Array, key: jax.Array, sampling: Sampling) -> jax.Array:
    """The next token ids `(...)` from `logits` `(..., vocab)`."""
    if sampling.greedy:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    return jax.random.categorical(key, kept_logits(logits, sampling), axis=-1).astype(jnp.int32)


# -- what can generate ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decoder:
    """A model that generates: token ids `[length]` in (of `dtype`), scores `(length, vocab)` out."""

    length: int
    vocab: int
    dtype: str


def decoder_of(loaded: LoadedSpec, analysis: Analysis) -> Decoder:
    """The model as a decoder over token ids, or a located E809 saying why it is none (no JAX work)."""
    inputs, outputs = analysis.inputs, analysis.outputs
    where = loaded.source_map.key_or_value(("model", "inputs", 0))
    if len(inputs) != 1 or len(inputs[0][1].shape) != 1 or inputs[0][1].shape[0] is None \
            or inputs[0][1].dtype not in INTEGER_DTYPES:
        shown = ", ".join(f"{show_array_shape(tensor.shape)} {tensor.dtype}" for _, tensor in inputs)
        raise _refused(loaded, f"generation needs a model over token ids [length] (one integer input), but "
                               f"{loaded.spec.model.name} takes {shown}", where,
                       "generate from a decoder whose input is tokens: int32[length]")
    length = inputs[0][1].shape[0]
    output = analysis.layer(outputs[0]).output if len(outputs) == 1 else None
    if output is None or len(output.shape) != 2 or output.shape[0] != length or not output.shape[1]:
        shown = ", ".join(show_array_shape(analysis.layer(name).output.shape) for name in outputs)
        raise _refused(loaded, f"generation needs scores over the vocabulary at each position, (length {length}, "
                               f"vocab), but {loaded.spec.model.name} gives {shown}",
                       loaded.graph.node(outputs[-1]).span,
                       "end the model with dense(vocab) over each position")
    if length < 2:
        raise _refused(loaded, "generation needs an input of at least 2 positions (the window slides by one)",
                       where, None)
    return Decoder(length, output.shape[1], inputs[0][1].dtype)


def check_decodable(loaded: LoadedSpec, analysis: Analysis, model: SpecModel) -> None:
    """Every layer can run on new positions alone (`_flax.decode_problem`): else E809 at each that cannot."""
    tensors = {**dict(analysis.inputs), **{layer.name: layer.output for layer in analysis.layers}}
    errors = []
    for node in loaded.graph.nodes:
        problem = decode_problem(model.layers[node.name], len(node.inputs), len(tensors[node.inputs[0]].shape))
        if problem is not None:
            errors.append(DslcError(CODE, f"layer '{node.name}' ({node.kind}) cannot decode one position at a "
                                          f"time: {problem}", node.span, stage="run",
                                    hint="generation runs causal decoders: attention with causal: true, and "
                                         "layers that work position by position"))
    if errors:
        raise DslcErrors(errors, loaded.source.text)


def _refused(loaded: LoadedSpec, message: str, span: Any, hint: str | None) -> DslcErrors:
    return DslcErrors([DslcError(CODE, message, span, hint=hint, stage="run")], loaded.source.text)


# -- the loop ----------------------------------------------------------------------------------------------
def _one(outputs: jax.Array | tuple[jax.Array, ...]) -> jax.Array:
    if isinstance(outputs, tuple):
        raise TypeError("generation needs a model with one output (decoder_of checks it)")
    return outputs


class Generator:
    """Generation from `model` (a decoder, `decoder_of`), with its prefill and step jitted once each."""

    def __init__(self, model: SpecModel, decoder: Decoder, sampling: Sampling) -> None:
        self.decoder, self.sampling = decoder, sampling
        graphdef, self._weights = nnx.split(model)
        length = decoder.length

        # Each returns the next token's id and the cache; the key of the token's draw is folded in on the device
        # (from the seed's key and the token's index), so a token costs one dispatch and one read back.
        def prefill(weights: Any, ids: jax.Array, count: jax.Array, key: jax.Array, index: jax.Array,
                    ) -> tuple[jax.Array, Any]:
            model = nnx.merge(graphdef, weights)
            logits, cache = model.decode(ids, start=0, cache=model.empty_cache(1, length))
            last = jax.lax.dynamic_index_in_dim(_one(logits), count - 1, axis=1, keepdims=False)
            return sample(last, jax.random.fold_in(key, index), sampling)[0], cache

        def step(weights: Any, cache: Any, token: jax.Array, position: jax.Array, key: jax.Array,
                 index: jax.Array) -> tuple[jax.Array, Any]:
            logits, cache = nnx.merge(graphdef, weights).decode(token[:, None], start=position, cache=cache)
            return sample(_one(logits)[:, 0], jax.random.fold_in(key, index), sampling)[0], cache

        self._prefill = jax.jit(prefill)
        self._step = jax.jit(step, donate_argnums=1)  # the cache is updated in place

    def _filled(self, context: Sequence[int], key: jax.Array, index: int) -> tuple[jax.Array, Any]:
        ids = np.zeros((1, self.decoder.length), self.decoder.dtype)  # padding: positions no query sees
        ids[0, :len(context)] = context
        return self._prefill(self._weights, ids, np.int32(len(context)), key, np.int32(index))

    def tokens(self, prompt: Sequence[int], max_tokens: int, seed: int = 0, end_id: int | None = None,
               ) -> Iterator[int]:
        """The continuation of `prompt` (token ids), token by token: at most `max_tokens`, ending before
        `end_id`. A prompt longer than the window keeps its last `length` tokens."""
        if not prompt:
            raise ValueError("the prompt holds no token")
        if max_tokens <= 0:
            return
        length, key = self.decoder.length, seed_key(seed)
        tokens = list(prompt)
        token, cache = self._filled(tokens[-length:], key, 0)
        filled = min(len(tokens), length)  # positions in the cache: where the next token goes
        for index in range(1, max_tokens + 1):
            new = int(np.asarray(token))  # a read back, no dispatch
            if new == end_id:
                return
            yield new
            if index == max_tokens:
                return
            tokens.append(new)
            if filled == length:  # the window is full: slide it (the module docstring says why this way)
                token, cache = self._filled(tokens[-(length - 1):], key, index)
                filled = length - 1
            else:
                token, cache = self._step(self._weights, cache, np.asarray([new], self.decoder.dtype),
                                          np.int32(filled), key, np.int32(index))
                filled += 1


def generate(model: SpecModel, decoder: Decoder, prompt: Sequence[int], max_tokens: int,
             sampling: Sampling = Sampling(), seed: int = 0, end_id: int | None = None) -> list[int]:
    """`Generator(...).tokens(...)` collected: the continuation's token ids."""
    return list(Generator(model, decoder, sampling).tokens(prompt, max_tokens, seed, end_id))
