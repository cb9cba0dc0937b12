"""BERT and ViT against Hugging Face transformers: the same random weights, the same outputs (float32).

On demand (`python -m pytest -m reference tests/reference/test_encoders.py -n 0`; needs torch and transformers).
Each reference model is built at a tiny size with random weights, its parameters are renamed into dslc's
(`layers.<layer>.<attribute>`: linear weights transposed, the patch convolution OIHW -> HWIO) and assigned
all-or-nothing, and both run on the same random input.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytestmark = pytest.mark.reference

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
HIDDEN, HEADS, MLP, LAYERS = 32, 4, 64, 2


def encoder_arrays(params: dict[str, np.ndarray], prefix: str, layer: str, names: dict[str, str]) -> Iterator:
    """One HF encoder layer's tensors under dslc's names for `transformer_encoder` layer `layer`.

    `names` maps each part of dslc's block (query, key, value, out, the two norms, mlp_in, mlp_out) to its
    HF sub-path under `prefix`.
    """
    for projection in ("query", "key", "value", "out"):  # (in, out) kernels, heads in HF's order
        yield from dense(params, f"{prefix}.{names[projection]}", f"{layer}.attention.{projection}")
    for part in ("attention_norm", "mlp_norm"):
        yield from norm(params, f"{prefix}.{names[part]}", f"{layer}.{part}")
    for part in ("mlp_in", "mlp_out"):
        yield from dense(params, f"{prefix}.{names[part]}", f"{layer}.mlp.{part}")


def dense(params: dict[str, np.ndarray], hf: str, layer: str) -> Iterator:
    yield f"{layer}.kernel", params[f"{hf}.weight"].T
    yield f"{layer}.bias", params[f"{hf}.bias"]


def norm(params: dict[str, np.ndarray], hf: str, layer: str) -> Iterator:
    yield f"{layer}.scale", params[f"{hf}.weight"]
    yield f"{layer}.bias", params[f"{hf}.bias"]


def numpy_params(module: object) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy() for name, value in module.named_parameters()}


def dslc_model(text: str, arrays: dict[str, np.ndarray]) -> object:
    from dslc.compiler.analysis.analyse import analyse
    from dslc.compiler.build import build_model
    from dslc.compiler.weights import assign_weights
    from dslc.spec.load import load_text

    loaded = load_text(text, "yaml")
    model = build_model(loaded, analyse(loaded))
    assign_weights(model, arrays)  # every parameter named, none left over
    return model


def agree(ours: object, theirs: object, what: str) -> float:
    ours, theirs = np.asarray(ours), theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, **TOLERANCE, err_msg=what)
    difference = float(np.abs(ours - theirs).max())
    print(f"{what}: max abs difference {difference:.2e}")
    return difference


VOCAB, POSITIONS, TIME = 50, 16, 12
BERT = f"""dslc: 1
blocks:
  layer:
    layers:
      - transformer_encoder: {{heads: {HEADS}, mlp_dim: {MLP}, norm_first: false, epsilon: 1.0e-12}}
model:
  name: bert
  inputs:
    ids: {{shape: [{TIME}], dtype: int32}}
    token_types: {{shape: [{TIME}], dtype: int32}}
  layers:
    - embedding: {{vocab: {VOCAB}, dim: {HIDDEN}}}
      name: words
      from: ids
    - embedding: {{vocab: 2, dim: {HIDDEN}}}
      name: types
      from: token_types
    - add: {{}}
      from: [words, types]
    - position_embedding: {{positions: {POSITIONS}}}
      name: positions
    - layernorm: {{epsilon: 1.0e-12}}
      name: embedding_norm
    - layer: {{}}
      repeat: {LAYERS}
      name: encoder
    - select: {{index: 0}}
    - dense: {{units: {HIDDEN}, activation: tanh}}
      name: pooler
  outputs: [encoder, pooler]
"""


def bert_arrays(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {
        "layers.words.embedding": params["embeddings.word_embeddings.weight"],
        "layers.types.embedding": params["embeddings.token_type_embeddings.weight"],
        "layers.positions.embedding": params["embeddings.position_embeddings.weight"],
        **dict(norm(params, "embeddings.LayerNorm", "layers.embedding_norm")),
        **dict(dense(params, "pooler.dense", "layers.pooler")),
    }
    names = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
             "out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
             "mlp_in": "intermediate.dense", "mlp_out": "output.dense", "mlp_norm": "output.LayerNorm"}
    for i in range(LAYERS):
        arrays.update(encoder_arrays(params, f"encoder.layer.{i}", f"layers.encoder.{i + 1}/transformer_encoder_1",
                                     names))
    return arrays


def test_bert_matches_hugging_face() -> None:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                        intermediate_size=MLP, max_position_embeddings=POSITIONS, type_vocab_size=2,
                        hidden_act="gelu", attn_implementation="eager")
    reference = BertModel(config, add_pooling_layer=True).eval()
    model = dslc_model(BERT, bert_arrays(numpy_params(reference)))
    rng = np.random.default_rng(0)
    ids, types = rng.integers(0, VOCAB, (3, TIME)), rng.integers(0, 2, (3, TIME))
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(types))
    hidden, pooled = model(ids.astype(np.int32), types.astype(np.int32))
    agree(hidden, expected.last_hidden_state, "BERT last hidden state")
    agree(pooled, expected.pooler_output, "BERT pooled output")


IMAGE, PATCH, CHANNELS, CLASSES = 8, 2, 3, 10
TOKENS = (IMAGE // PATCH) ** 2
VIT = f"""dslc: 1
blocks:
  layer:
    layers:
      - transformer_encoder: {{heads: {HEADS}, mlp_dim: {MLP}, epsilon: 1.0e-12}}  # HF's, not torchvision's 1e-6
model:
  name: vit
  inputs: {{image: [{IMAGE}, {IMAGE}, {CHANNELS}]}}
  layers:
    - conv2d: {{filters: {HIDDEN}, kernel: {PATCH}, stride: {PATCH}}}
      name: patches
    - reshape: {{shape: [{TOKENS}, {HIDDEN}]}}
    - class_token: {{}}
      name: class_token
    - position_embedding: {{positions: {TOKENS + 1}}}
      name: positions
    - layer: {{}}
      repeat: {LAYERS}
      name: encoder
    - layernorm: {{epsilon: 1.0e-12}}
      name: encoder_norm
    - select: {{index: 0}}
    - dense: {{units: {CLASSES}}}
      name: head
  outputs: [encoder_norm, head]
"""


def vit_arrays(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {
        "layers.patches.kernel": params["vit.embeddings.patch_embeddings.projection.weight"].transpose(2, 3, 1, 0),
        "layers.patches.bias": params["vit.embeddings.patch_embeddings.projection.bias"],
        "layers.class_token.token": params["vit.embeddings.cls_token"].reshape(HIDDEN),
        "layers.positions.embedding": params["vit.embeddings.position_embeddings"].reshape(TOKENS + 1, HIDDEN),
        **dict(norm(params, "vit.layernorm", "layers.encoder_norm")),
        **dict(dense(params, "classifier", "layers.head")),
    }
    names = {"query": "attention.q_proj", "key": "attention.k_proj", "value": "attention.v_proj",
             "out": "attention.o_proj", "attention_norm": "layernorm_before", "mlp_in": "mlp.fc1",
             "mlp_out": "mlp.fc2", "mlp_norm": "layernorm_after"}  # transformers 5's names
    for i in range(LAYERS):
        arrays.update(encoder_arrays(params, f"vit.layers.{i}",
                                     f"layers.encoder.{i + 1}/transformer_encoder_1", names))
    return arrays


def test_vit_matches_hugging_face() -> None:
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    config = ViTConfig(image_size=IMAGE, patch_size=PATCH, num_channels=CHANNELS, hidden_size=HIDDEN,
                       num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=MLP,
                       hidden_act="gelu", num_labels=CLASSES, attn_implementation="eager")
    reference = ViTForImageClassification(config).eval()
    params = numpy_params(reference)
    # HF starts the class token and position table at zero and N(0, 0.02): make them matter
    rng = np.random.default_rng(1)
    for name in ("vit.embeddings.cls_token", "vit.embeddings.position_embeddings"):
        params[name] = rng.normal(size=params[name].shape).astype(np.float32)
    with torch.no_grad():
        for name in ("vit.embeddings.cls_token", "vit.embeddings.position_embeddings"):
            reference.get_parameter(name).copy_(torch.from_numpy(params[name]))
    model = dslc_model(VIT, vit_arrays(params))
    images = rng.normal(size=(3, CHANNELS, IMAGE, IMAGE)).astype(np.float32)
    with torch.no_grad():
        expected = reference(pixel_values=torch.from_numpy(images), output_hidden_states=True)
        last_hidden = reference.vit.layernorm(expected.hidden_states[-1])
    hidden, logits = model(images.transpose(0, 2, 3, 1))
    agree(hidden, last_hidden, "ViT last hidden state (after the final layer norm)")
    agree(logits, expected.logits, "ViT logits")
