"""Decoders against the reference implementations: Hugging Face's GPT-2, Llama (grouped-query attention, tied and
untied heads), Qwen3 (query/key norms) and GPT-J (parallel residual, one shared norm, partial interleaved rotary),
and BERT's post-norm encoder, built tiny with random weights; their weights are renamed into dslc's names and both
compute the logits (the encoder's output) of the same input in float32. The interleaved rotary embedding is also
checked against GPT-J's formula written in numpy.

On demand: `python -m pytest -m reference tests/reference/test_decoders.py -n 0` (needs torch and transformers).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.weights import assign_weights
from dslc.spec.layers._flax import _positions_turned
from dslc.spec.load import load_text

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.reference

VOCAB, WIDTH, LAYERS, TIME = 64, 32, 2, 12
TOLERANCE = 1e-4
Arrays = dict[str, np.ndarray]


def spec(name: str, layers: list[str], head: str) -> str:
    """A decoder-only language model: token embedding `embed`, blocks `block_<i>`, final norm `final`, `head`."""
    lines = [f"dslc: 1\nmodel:\n  name: {name}\n  inputs: {{ids: {{shape: [{TIME}], dtype: int32}}}}\n  layers:",
             f"    - embedding: {{vocab: {VOCAB}, dim: {WIDTH}}}\n      name: embed", *layers,
             f"    - dense: {head}\n      name: head"]
    return "\n".join(lines) + "\n"


def blocks(options: str, final: str) -> list[str]:
    return [*(f"    - decoder_block: {options}\n      name: block_{i}" for i in range(LAYERS)),
            f"    - {final}\n      name: final"]


def numpy_weights(reference: torch.nn.Module) -> Arrays:
    return {name: value.detach().numpy() for name, value in reference.state_dict().items()}


def agree(text: str, weights: Arrays, inputs: np.ndarray, expected: np.ndarray) -> float:
    """dslc's model of `text` with `weights` on `inputs` gives `expected` within TOLERANCE; the largest difference."""
    loaded = load_text(text, "yaml")
    model = build_model(loaded, analyse(loaded))
    assign_weights(model, weights, "the reference's weights")
    found = np.asarray(model(inputs, train=False))
    np.testing.assert_allclose(found, expected, rtol=TOLERANCE, atol=TOLERANCE)
    difference = float(np.abs(found - expected).max())
    print(f"max abs difference {difference:.2e}")
    return difference


def compare(text: str, reference: torch.nn.Module, convert: Callable[[Arrays], Arrays]) -> float:
    """A language model's logits against the reference's, on the same random tokens."""
    ids = np.random.default_rng(1).integers(0, VOCAB, (2, TIME))
    with torch.no_grad():
        expected = reference(torch.from_numpy(ids)).logits.numpy()
    return agree(text, convert(numpy_weights(reference)), ids.astype(np.int32), expected)


def block(i: int, name: str) -> str:
    return f"layers.block_{i}.{name}"


def tiny(config_class: type, model_class: type, **config: object) -> torch.nn.Module:
    torch.manual_seed(0)
    made = model_class(config_class(**config, attn_implementation="eager"))
    with torch.no_grad():  # random norms and biases too: ones and zeros would hide a misplaced one
        for name, value in made.named_parameters():
            if "norm" in name or "ln_" in name:
                value.normal_(1.0, 0.2)
            elif name.endswith("bias"):
                value.normal_(0.0, 0.1)
    return made.eval()


# -- GPT-2 ------------------------------------------------------------------------------------------
def test_gpt2_matches_transformers() -> None:
    reference = tiny(transformers.GPT2Config, transformers.GPT2LMHeadModel, vocab_size=VOCAB, n_positions=16,
                     n_embd=WIDTH, n_layer=LAYERS, n_head=2, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    layers = ["    - position_embedding: {positions: 16}\n      name: positions",
              *blocks("{heads: 2, mlp_dim: 128, activation: gelu_tanh, epsilon: 1.0e-5}",
                      "layernorm: {epsilon: 1.0e-5}")]

    def convert(w: Arrays) -> Arrays:
        out = {"layers.embed.embedding": w["transformer.wte.weight"],
               "layers.positions.embedding": w["transformer.wpe.weight"],
               "layers.final.scale": w["transformer.ln_f.weight"], "layers.final.bias": w["transformer.ln_f.bias"]}
        for i in range(LAYERS):
            h = f"transformer.h.{i}."
            # GPT-2's Conv1D keeps (in, out) weights, as Flax does: no transposes; c_attn holds q, k, v side by side.
            for part, kernel, bias in zip(("query", "key", "value"), np.split(w[h + "attn.c_attn.weight"], 3, axis=1),
                                          np.split(w[h + "attn.c_attn.bias"], 3), strict=True):
                out[block(i, f"attention.{part}.kernel")], out[block(i, f"attention.{part}.bias")] = kernel, bias
            for mine, theirs in (("attention.out", "attn.c_proj"), ("mlp.mlp_in", "mlp.c_fc"),
                                 ("mlp.mlp_out", "mlp.c_proj")):
                out[block(i, f"{mine}.kernel")], out[block(i, f"{mine}.bias")] = w[h + f"{theirs}.weight"], \
                    w[h + f"{theirs}.bias"]
            for mine, theirs in (("attention_norm", "ln_1"), ("mlp_norm", "ln_2")):
                out[block(i, f"{mine}.scale")], out[block(i, f"{mine}.bias")] = w[h + f"{theirs}.weight"], \
                    w[h + f"{theirs}.bias"]
        return out

    compare(spec("gpt2", layers, f"{{units: {VOCAB}, use_bias: false, tied_to: embed}}"), reference, convert)


# -- Llama and Qwen3 ---------------------------------------------------------------------------------
def llama_layout(w: Arrays, untied_head: bool, qk_norm: bool = False) -> Arrays:
    """Hugging Face's Llama names (Qwen3 adds q_norm, k_norm); torch's Linear keeps (out, in): transposed."""
    out = {"layers.embed.embedding": w["model.embed_tokens.weight"], "layers.final.scale": w["model.norm.weight"]}
    if untied_head:
        out["layers.head.kernel"] = w["lm_head.weight"].T
    for i in range(LAYERS):
        h = f"model.layers.{i}."
        for mine, theirs in (("attention.query", "self_attn.q_proj"), ("attention.key", "self_attn.k_proj"),
                             ("attention.value", "self_attn.v_proj"), ("attention.out", "self_attn.o_proj"),
                             ("mlp.gate", "mlp.gate_proj"), ("mlp.up", "mlp.up_proj"), ("mlp.down", "mlp.down_proj")):
            out[block(i, f"{mine}.kernel")] = w[h + f"{theirs}.weight"].T
        out[block(i, "attention_norm.scale")] = w[h + "input_layernorm.weight"]
        out[block(i, "mlp_norm.scale")] = w[h + "post_attention_layernorm.weight"]
        if qk_norm:
            out[block(i, "attention.query_norm.scale")] = w[h + "self_attn.q_norm.weight"]
            out[block(i, "attention.key_norm.scale")] = w[h + "self_attn.k_norm.weight"]
    return out


LLAMA_BLOCK = "{heads: 4, kv_heads: 2, mlp_dim: 48, gated: true, activation: silu, norm: rmsnorm, epsilon: 1.0e-5, " \
              "use_bias: false, rope: 10000}"


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
def test_llama_with_grouped_query_attention_matches_transformers(tied: bool) -> None:
    reference = tiny(transformers.LlamaConfig, transformers.LlamaForCausalLM, vocab_size=VOCAB, hidden_size=WIDTH,
                     intermediate_size=48, num_hidden_layers=LAYERS, num_attention_heads=4, num_key_value_heads=2,
                     rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=64, tie_word_embeddings=tied)
    head = f"{{units: {VOCAB}, use_bias: false{', tied_to: embed' if tied else ''}}}"
    compare(spec("llama", blocks(LLAMA_BLOCK, "rmsnorm: {epsilon: 1.0e-5}"), head), reference,
            lambda w: llama_layout(w, untied_head=not tied))


def test_qwen3_with_query_key_norms_matches_transformers() -> None:
    reference = tiny(transformers.Qwen3Config, transformers.Qwen3ForCausalLM, vocab_size=VOCAB, hidden_size=WIDTH,
                     intermediate_size=48, num_hidden_layers=LAYERS, num_attention_heads=4, num_key_value_heads=2,
                     head_dim=16, rms_norm_eps=1e-6, rope_theta=1_000_000.0, max_position_embeddings=64,
                     tie_word_embeddings=True, use_sliding_window=False)
    options = "{heads: 4, kv_heads: 2, key_dim: 16, qk_norm: true, mlp_dim: 48, gated: true, norm: rmsnorm, " \
              "epsilon: 1.0e-6, use_bias: false, rope: 1000000}"
    compare(spec("qwen3", blocks(options, "rmsnorm: {epsilon: 1.0e-6}"),
                 f"{{units: {VOCAB}, use_bias: false, tied_to: embed}}"), reference,
            lambda w: llama_layout(w, untied_head=False, qk_norm=True))


# -- GPT-J: parallel residual, one norm, interleaved rotary on a fraction of each head ----------------
def test_gptj_matches_transformers() -> None:
    reference = tiny(transformers.GPTJConfig, transformers.GPTJForCausalLM, vocab_size=VOCAB, n_positions=64,
                     n_embd=WIDTH, n_layer=LAYERS, n_head=2, rotary_dim=8, n_inner=64, activation_function="gelu_new",
                     layer_norm_epsilon=1e-5, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     tie_word_embeddings=False)
    options = "{heads: 2, mlp_dim: 64, parallel: true, shared_norm: true, activation: gelu_tanh, epsilon: 1.0e-5, " \
              "qkv_bias: false, out_bias: false, rope: 10000, rope_fraction: 0.5, rope_style: interleaved}"

    def convert(w: Arrays) -> Arrays:
        out = {"layers.embed.embedding": w["transformer.wte.weight"],
               "layers.final.scale": w["transformer.ln_f.weight"], "layers.final.bias": w["transformer.ln_f.bias"],
               "layers.head.kernel": w["lm_head.weight"].T,
               "layers.head.bias": w["lm_head.bias"]}
        for i in range(LAYERS):
            h = f"transformer.h.{i}."
            for mine, theirs in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"), ("out", "out_proj")):
                out[block(i, f"attention.{mine}.kernel")] = w[h + f"attn.{theirs}.weight"].T
            for mine, theirs in (("mlp_in", "fc_in"), ("mlp_out", "fc_out")):
                out[block(i, f"mlp.{mine}.kernel")] = w[h + f"mlp.{theirs}.weight"].T
                out[block(i, f"mlp.{mine}.bias")] = w[h + f"mlp.{theirs}.bias"]
            out[block(i, "attention_norm.scale")], out[block(i, "attention_norm.bias")] = w[h + "ln_1.weight"], \
                w[h + "ln_1.bias"]
        return out

    compare(spec("gptj", blocks(options, "layernorm: {epsilon: 1.0e-5}"), f"{{units: {VOCAB}}}"), reference, convert)


def test_interleaved_rotary_is_gptjs_formula() -> None:
    """GPT-J's `apply_rotary_pos_emb` in numpy: sines and cosines repeated per pair, `rotate_every_two`."""
    batch, time, heads, head_dim, rotary, base = 2, 7, 3, 12, 8, 10000.0
    x = np.random.default_rng(0).standard_normal((batch, time, heads, head_dim)).astype(np.float32)
    inverse = 1.0 / base ** (np.arange(0, rotary, 2) / rotary)
    angles = np.arange(time)[:, None] * inverse[None, :]
    sin, cos = (np.repeat(f(angles), 2, axis=-1)[None, :, None, :] for f in (np.sin, np.cos))
    turned = x[..., :rotary]
    every_two = np.stack([-turned[..., 1::2], turned[..., 0::2]], axis=-1).reshape(turned.shape)
    expected = np.concatenate([turned * cos + every_two * sin, x[..., rotary:]], axis=-1)
    found = np.asarray(_positions_turned(x, base, rotary, "interleaved"))
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)
    print(f"max abs difference {float(np.abs(found - expected).max()):.2e}")


# -- BERT: post-norm encoder blocks, LayerNorm epsilon 1e-12, exact gelu ------------------------------
def test_bert_encoder_matches_transformers() -> None:
    reference = tiny(transformers.BertConfig, transformers.BertModel, vocab_size=VOCAB, hidden_size=WIDTH,
                     num_hidden_layers=LAYERS, num_attention_heads=2, intermediate_size=64, hidden_act="gelu",
                     layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    w = numpy_weights(reference)
    weights = {}
    for i in range(LAYERS):
        h = f"encoder.layer.{i}."
        for mine, theirs in (("attention.query", "attention.self.query"), ("attention.key", "attention.self.key"),
                             ("attention.value", "attention.self.value"), ("attention.out", "attention.output.dense"),
                             ("mlp.mlp_in", "intermediate.dense"), ("mlp.mlp_out", "output.dense")):
            weights[block(i, f"{mine}.kernel")] = w[h + f"{theirs}.weight"].T
            weights[block(i, f"{mine}.bias")] = w[h + f"{theirs}.bias"]
        for mine, theirs in (("attention_norm", "attention.output.LayerNorm"), ("mlp_norm", "output.LayerNorm")):
            weights[block(i, f"{mine}.scale")], weights[block(i, f"{mine}.bias")] = w[h + f"{theirs}.weight"], \
                w[h + f"{theirs}.bias"]
    x = np.random.default_rng(1).standard_normal((2, TIME, WIDTH)).astype(np.float32)
    with torch.no_grad():
        expected = reference.encoder(torch.from_numpy(x)).last_hidden_state.numpy()
    layers = "".join(f"    - transformer_encoder: {{heads: 2, mlp_dim: 64, norm_first: false, epsilon: 1.0e-12, "
                     f"activation: gelu}}\n      name: block_{i}\n" for i in range(LAYERS))
    text = f"dslc: 1\nmodel:\n  name: bert\n  inputs: {{x: [{TIME}, {WIDTH}]}}\n  layers:\n{layers}"
    agree(text, weights, x, expected)
