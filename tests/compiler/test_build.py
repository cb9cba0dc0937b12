"""The built Flax model agrees with the analysis: per-layer parameter and batch-statistic counts, output shapes
and dtypes, for every layer kind (several parameter variants each) and every example; train and eval modes differ
where they must; frozen layers stay out of the optimiser; bf16 compute keeps float32 parameters.

Shapes come from `nnx.eval_shape`, so the big examples (ResNet-50, VGG-11) never allocate their weights.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from pathlib import Path
from typing import get_args

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import SpecModel, build_model, construct_of, constructs, frozen_filter, trainable_filter
from dslc.compiler.random_draws import flat_drawing
from dslc.spec.layers import REGISTRY, _flax
from dslc.spec.layers.activations import ACTIVATIONS, Activation
from dslc.spec.load import LoadedSpec, load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
BATCH = 2

# (kind, parameters in YAML flow syntax, input shape or shapes). Merges get two inputs; `int32:` marks ids.
CASES: list[tuple[str, str, tuple]] = [
    ("dense", "{units: 4}", ([3, 5],)),
    ("dense", "{units: 3, use_bias: false, activation: softmax}", ([6],)),
    ("embedding", "{vocab: 20, dim: 8}", ("int32:[5]",)),
    ("conv1d", "{filters: 4, kernel: 3}", ([10, 3],)),
    ("conv1d", "{filters: 6, kernel: 3, groups: depthwise, padding: same, stride: 2}", ([9, 3],)),
    ("conv2d", "{filters: 4, kernel: [3, 2], padding: [[1, 0], [2, 1]], dilation: [1, 2], activation: relu}",
     ([8, 8, 2],)),
    ("conv2d", "{filters: 4, kernel: 3, groups: 2, stride: 2, padding: same, use_bias: false}", ([7, 7, 4],)),
    ("conv3d", "{filters: 4, kernel: 3, stride: 2}", ([5, 5, 5, 2],)),
    ("conv1d_transpose", "{filters: 4, kernel: 3}", ([6, 3],)),
    ("conv1d_transpose", "{filters: 2, kernel: 2, stride: 3}", ([5, 3],)),
    ("conv2d_transpose", "{filters: 4, kernel: 3, stride: 2, padding: same, activation: tanh}", ([4, 5, 3],)),
    ("conv2d_transpose", "{filters: 2, kernel: 3, stride: 2, dilation: 2, padding: [[1, 1], [0, 2]]}", ([4, 4, 2],)),
    ("conv3d_transpose", "{filters: 2, kernel: 2, use_bias: false}", ([3, 3, 3, 2],)),
    ("maxpool", "{window: 2}", ([8, 8, 3],)),
    ("maxpool", "{window: 3, stride: 2, padding: [[1, 1], [1, 1]]}", ([7, 7, 2],)),
    ("maxpool", "{window: 2, padding: same}", ([7, 3],)),
    ("avgpool", "{window: [2, 2], stride: 1}", ([5, 5, 3],)),
    ("avgpool", "{window: 3, stride: 2, padding: same}", ([7, 7, 2],)),
    ("avgpool", "{window: 2}", ([4, 4, 4, 2],)),
    ("global_maxpool", "{}", ([6, 6, 3],)),
    ("global_avgpool", "{keepdims: true}", ([6, 6, 3],)),
    ("flatten", "{}", ([4, 4, 2],)),
    ("reshape", "{shape: [-1, 4]}", ([4, 4, 2],)),
    ("relu", "{}", ([4, 6],)),
    ("leaky_relu", "{negative_slope: 0.2}", ([4, 6],)),
    ("gelu", "{approximate: true}", ([4, 6],)),
    ("silu", "{}", ([4, 6],)),
    ("tanh", "{}", ([4, 6],)),
    ("sigmoid", "{}", ([4, 6],)),
    ("softmax", "{axis: 0}", ([4, 6],)),
    ("relu6", "{}", ([4, 6],)),
    ("hard_swish", "{}", ([4, 6],)),
    ("hard_sigmoid", "{}", ([4, 6],)),
    ("softplus", "{}", ([4, 6],)),
    ("dense", "{units: 3, activation: gelu_tanh}", ([6],)),
    ("dropout", "{rate: 0.5}", ([10],)),
    ("batchnorm", "{momentum: 0.9}", ([4, 4, 3],)),
    ("layernorm", "{}", ([5, 6],)),
    ("rnn", "{units: 8}", ([7, 5],)),
    ("rnn", "{units: 4, activation: relu, return_sequences: true}", ([7, 5],)),
    ("lstm", "{units: 8, return_sequences: true}", ([7, 5],)),
    ("lstm", "{units: 4, bidirectional: true}", ([7, 5],)),
    ("gru", "{units: 8, bidirectional: true}", ([7, 5],)),
    ("gru", "{units: 3, bidirectional: true, return_sequences: true}", ([7, 5],)),
    ("attention", "{heads: 2, causal: true}", ([6, 8],)),
    ("attention", "{heads: 3, key_dim: 5, use_bias: false, dropout: 0.1}", ([6, 8],)),
    ("transformer_encoder", "{heads: 2, mlp_dim: 16}", ([6, 8],)),
    ("transformer_encoder", "{heads: 4, mlp_dim: 8, norm_first: false, dropout: 0.1, causal: true, activation: relu}",
     ([6, 8],)),
    ("add", "{}", ([3, 4], [3, 4])),
    ("multiply", "{}", ([3, 4], [3, 4])),
    ("concat", "{}", ([3, 4], [3, 2])),
    ("concat", "{axis: 0}", ([3, 4], [2, 4])),
    ("gru", "{units: 4, convention: reset_after, dropout: 0.2, recurrent_dropout: 0.3}", ([7, 5],)),
    ("gru", "{units: 3, convention: reset_after, bidirectional: true, return_sequences: true}", ([7, 5],)),
    ("lstm", "{units: 4, bidirectional: true, dropout: 0.5, recurrent_dropout: 0.5}", ([7, 5],)),
    ("rnn", "{units: 4, recurrent_dropout: 0.1, return_sequences: true}", ([7, 5],)),
    ("moe", "{experts: 4, hidden: 6}", ([5, 8],)),
    ("moe", "{experts: 3, hidden: 4, top_k: 1, gated: false, activation: relu}", ([2, 3, 4],)),
    ("moe", "{experts: 2, hidden: 3, aux_weight: 0.0}", ([6],)),
    ("dense", "{units: 4, kernel_init: truncated_normal, kernel_std: 0.02, bias_init: constant, bias_value: 0.1}",
     ([5],)),
    ("conv2d", "{filters: 4, kernel: 3, groups: depthwise, kernel_init: he_normal, bias_init: ones}", ([6, 6, 2],)),
    ("conv1d_transpose", "{filters: 2, kernel: 3, kernel_init: xavier_uniform, bias_init: normal, bias_std: 0.5}",
     ([5, 3],)),
    ("attention", "{heads: 4, kv_heads: 2, qk_norm: true, rope: 10000, causal: true, window: 3, out_bias: false}",
     ([6, 8],)),
    ("attention", "{heads: 2, key_dim: 4, kv_heads: 1, dropout: 0.1, rope: 500, rope_style: interleaved}",
     ([6, 8], [5, 4])),
    ("rmsnorm", "{epsilon: 1e-5}", ([5, 6],)),
    ("gated_mlp", "{hidden: 12, activation: gelu_tanh, use_bias: true}", ([5, 6],)),
    ("decoder_block", "{heads: 2, kv_heads: 1, mlp_dim: 16, gated: true, norm: rmsnorm, use_bias: false, "
                      "rope: 100000, qk_norm: true, window: 4}", ([6, 8],)),
    ("decoder_block", "{heads: 2, mlp_dim: 16, parallel: true, shared_norm: true, rope: 10000, rope_fraction: 0.5, "
                      "dropout: 0.1, activation: gelu_tanh}", ([6, 8],)),
    ("transformer_encoder", "{heads: 2, mlp_dim: 8, epsilon: 1e-12, norm_first: false, activation: gelu_tanh}",
     ([6, 8],)),
    ("position_embedding", "{positions: 8}", ([6, 8],)),
    ("class_token", "{}", ([6, 8],)),
    ("select", "{}", ([6, 8],)),
    ("select", "{index: -2, axis: -2}", ([3, 4, 5],)),
    ("multiply", "{}", ([4, 4, 3], [1, 1, 3])),
    ("maxpool", "{window: 3, stride: 2, ceil_mode: true}", ([8, 8, 2],)),
    ("avgpool", "{window: 2, padding: [[1, 1]], ceil_mode: true}", ([5, 3],)),
    ("groupnorm", "{groups: 2}", ([4, 4, 6],)),
    ("upsample", "{factor: [2, 3]}", ([3, 4, 2],)),
    ("upsample", "{factor: 2, method: bilinear}", ([3, 4, 2],)),
    ("zero_padding", "{padding: [[1, 0], [2, 3]]}", ([3, 4, 2],)),
    ("cropping", "{cropping: [[1, 0], [0, 2]]}", ([5, 5, 2],)),
    ("adaptive_avgpool", "{output_size: [2, 3]}", ([5, 7, 2],)),
    ("layer_scale", "{init: 0.5}", ([4, 4, 3],)),
    ("stochastic_depth", "{rate: 0.5}", ([4, 4, 3],)),
]
CASE_IDS = [f"{kind}-{i}" for i, (kind, _, _) in enumerate(CASES)]


def case_spec(kind: str, params: str, shapes: tuple) -> str:
    def one(name: str, shape: object) -> str:
        if isinstance(shape, str):
            dtype, dims = shape.split(":")
            return f"{name}: {{shape: {dims}, dtype: {dtype}}}"
        return f"{name}: {shape}"

    names = ["x"] if len(shapes) == 1 else ["a", "b"]
    edge = f"\n      from: [{', '.join(names)}]" if len(shapes) > 1 else ""
    inputs = ", ".join(one(name, shape) for name, shape in zip(names, shapes, strict=True))
    return f"dslc: 1\nmodel:\n  name: m\n  inputs: {{{inputs}}}\n  layers:\n    - {kind}: {params}{edge}\n"


def loaded_case(index: int) -> tuple[LoadedSpec, Analysis]:
    loaded = load_text(case_spec(*CASES[index]), "yaml")
    return loaded, analyse(loaded)


def size(leaf: object) -> int:
    return math.prod(leaf.shape)


def counts(model: SpecModel, variable: type) -> Counter:
    """Elements of `variable`s per layer name."""
    found: Counter = Counter()
    for path, leaf in nnx.to_flat_state(nnx.state(model, variable)):
        assert path[0] == "layers"
        found[path[1]] += size(leaf)
    return found


def abstract_inputs(analysis: Analysis, dtype: str | None = None) -> list[jax.ShapeDtypeStruct]:
    return [jax.ShapeDtypeStruct((BATCH, *tensor.shape), dtype if dtype and "float" in tensor.dtype else tensor.dtype)
            for _, tensor in analysis.inputs]


def check_against_analysis(model: SpecModel, analysis: Analysis) -> None:
    """Per layer, parameters and batch statistics; then every output's shape and dtype, in train and eval mode."""
    params, stats = counts(model, nnx.Param), counts(model, nnx.BatchStat)
    for layer in analysis.layers:
        assert (params[layer.name], stats[layer.name]) == (layer.params, layer.state), layer.name
    assert sum(params.values()) == analysis.totals.params
    expected = [analysis.layer(name).output for name in analysis.outputs]
    for train in (True, False):
        out = nnx.eval_shape(lambda m, *xs, t=train: m(*xs, train=t), model, *abstract_inputs(analysis))
        outs = out if isinstance(out, tuple) else (out,)
        assert [(o.shape, str(o.dtype)) for o in outs] == [((BATCH, *t.shape), t.dtype) for t in expected]


def test_every_kind_has_a_case() -> None:
    assert {kind for kind, _, _ in CASES} == set(REGISTRY)


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_kind_builds_what_the_analysis_says(index: int) -> None:
    loaded, analysis = loaded_case(index)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    check_against_analysis(model, analysis)
    [node] = loaded.graph.nodes
    arguments = construct_of(node, analysis).arguments
    assert ast.literal_eval(repr(arguments)) == arguments  # literals only: the ejector prints them as source


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_bfloat16_computes_in_bfloat16_with_float32_parameters(index: int) -> None:
    loaded, analysis = loaded_case(index)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis, dtype="bfloat16"))
    assert {str(leaf.dtype) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))} <= {"float32"}
    assert {str(leaf.dtype) for leaf in jax.tree.leaves(nnx.state(model, nnx.BatchStat))} <= {"float32"}
    out = nnx.eval_shape(lambda m, *xs: m(*xs, train=True), model, *abstract_inputs(analysis))
    assert out.dtype == jnp.bfloat16
    assert out.shape == (BATCH, *analysis.layer(analysis.outputs[0]).output.shape)


@pytest.mark.parametrize("index", [i for i, case in enumerate(CASES) if case[0] != "embedding"],
                         ids=[i for i, case in zip(CASE_IDS, CASES, strict=True) if case[0] != "embedding"])
def test_integer_input_gives_the_dtype_the_analysis_says(index: int) -> None:
    """uint8 pixels into any kind: fractional arithmetic gives float32, the rest keeps uint8, as the analysis says."""
    kind, params, shapes = CASES[index]
    loaded = load_text(case_spec(kind, params, tuple(f"uint8:{shape}" for shape in shapes)), "yaml")
    analysis = analyse(loaded)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    out = nnx.eval_shape(lambda m, *xs: m(*xs, train=True), model, *abstract_inputs(analysis))
    expected = analysis.layer(analysis.outputs[0]).output
    assert (out.shape, str(out.dtype)) == ((BATCH, *expected.shape), expected.dtype)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_builds_what_the_analysis_says(path: Path) -> None:
    loaded = load(path)
    analysis = analyse(loaded)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    check_against_analysis(model, analysis)
    assert model.frozen == {layer.name for layer in analysis.layers if not layer.trainable}


def real_model(text: str, **options: object) -> tuple[SpecModel, Analysis]:
    loaded = load_text(text, "yaml")
    analysis = analyse(loaded)
    return build_model(loaded, analysis, **options), analysis


SMALL = """dslc: 1
model:
  name: small
  inputs: {x: [6]}
  layers:
    - dense: {units: 16}
      trainable: false
    - batchnorm: {}
      name: frozen_bn
      trainable: false
    - dense: {units: 16}
    - batchnorm: {}
      name: bn
    - dropout: {rate: 0.5}
    - dense: {units: 3}
      name: head
"""


def batch_stats(model: SpecModel, layer: str) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(model.layers[layer], nnx.BatchStat))]


def test_train_mode_drops_and_uses_batch_statistics() -> None:
    model, _ = real_model(SMALL)
    x = jax.random.normal(flat_drawing(1), (8, 6)) * 3 + 2
    before = batch_stats(model, "bn")
    evaluated = model(x)
    np.testing.assert_array_equal(evaluated, model(x))  # eval is deterministic and leaves the statistics alone
    assert all(np.array_equal(a, b) for a, b in zip(before, batch_stats(model, "bn"), strict=True))
    trained = model(x, train=True)
    assert not np.allclose(trained, evaluated)
    assert not np.allclose(trained, model(x, train=True))  # a fresh dropout mask each call
    assert not all(np.array_equal(a, b) for a, b in zip(before, batch_stats(model, "bn"), strict=True))


def test_dropout_zeroes_and_rescales_only_in_training() -> None:
    model, _ = real_model("dslc: 1\nmodel:\n  name: d\n  inputs: {x: [1000]}\n  layers:\n    - dropout: {rate: 0.25}\n")
    x = jnp.ones((4, 1000))
    np.testing.assert_array_equal(model(x), x)
    dropped = np.asarray(model(x, train=True))
    assert set(np.unique(dropped)) == {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (dropped == 0).mean() < 0.3


def test_frozen_layers_are_left_out_of_the_trainable_filter() -> None:
    model, analysis = real_model(SMALL)
    trainable = nnx.state(model, trainable_filter(model))
    frozen = nnx.state(model, frozen_filter(model))
    layers = lambda state: {path[1] for path, _ in nnx.to_flat_state(state)}  # noqa: E731
    assert layers(trainable) == {"dense_2", "bn", "head"}
    assert layers(frozen) == {"dense_1", "frozen_bn"}
    assert sum(size(leaf) for leaf in jax.tree.leaves(trainable)) == analysis.totals.trainable
    assert sum(size(leaf) for leaf in jax.tree.leaves(frozen)) == analysis.totals.frozen
    before = batch_stats(model, "frozen_bn")
    model(jnp.ones((4, 6)), train=True)  # a frozen layer runs in inference mode: its statistics stay
    assert all(np.array_equal(a, b) for a, b in zip(before, batch_stats(model, "frozen_bn"), strict=True))


def test_frozen_block_calls_freeze_their_layers() -> None:
    loaded = load(EXAMPLES / "frozen_base.yaml")
    model = nnx.eval_shape(lambda: build_model(loaded, analyse(loaded)))
    paths = [path for path, _ in nnx.to_flat_state(nnx.state(model, trainable_filter(model)))]
    assert {path[1] for path in paths} == {"dense_1", "dense_2"}


def test_bfloat16_model_runs_in_bfloat16() -> None:
    loaded = load(EXAMPLES / "transformer_encoder.yaml")
    analysis = analyse(loaded)

    def forward(x: jax.Array) -> tuple[jax.Array, nnx.State]:  # one compilation, not one per initialiser
        model = build_model(loaded, analysis, dtype="bfloat16")
        return model(x, train=True), nnx.state(model, nnx.Param)

    out, params = jax.jit(forward)(jnp.ones((2, 8, 8)))
    assert out.dtype == jnp.bfloat16 and bool(jnp.isfinite(out.astype(jnp.float32)).all())
    assert {leaf.dtype for leaf in jax.tree.leaves(params)} == {jnp.dtype("float32")}


def test_parameters_depend_on_the_seed_only() -> None:
    text = "dslc: 1\nmodel:\n  name: s\n  inputs: {x: [4]}\n  layers:\n    - dense: {units: 3}\n"
    kernel = lambda seed: np.asarray(real_model(text, seed=seed)[0].layers["dense_1"].kernel[...])  # noqa: E731
    np.testing.assert_array_equal(kernel(0), kernel(0))
    assert not np.array_equal(kernel(0), kernel(1))


def test_a_jitted_build_equals_an_eager_one() -> None:
    """The runtime may initialise inside `nnx.jit` (one compilation, cached across runs): the same state."""
    loaded = load_text(SMALL.replace("dropout: {rate: 0.5}", "dropout: {rate: 0.5}\n    - reshape: [4, 4]\n"
                                     "    - gru: {units: 3}"), "yaml")
    analysis = analyse(loaded)
    eager = nnx.state(build_model(loaded, analysis, seed=3))
    jitted = nnx.state(nnx.jit(lambda: build_model(loaded, analysis, seed=3))())
    for (path, a), (other, b) in zip(nnx.to_flat_state(eager), nnx.to_flat_state(jitted), strict=True):
        assert path == other
        a, b = a[...], b[...]
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b, err_msg=str(path))


def test_several_inputs_and_outputs_keep_the_spec_order() -> None:
    text = """dslc: 1
model:
  name: two
  inputs: {a: [3], b: [5]}
  layers:
    - dense: {units: 2}
      name: from_b
      from: b
    - dense: {units: 4}
      name: from_a
      from: a
  outputs: [from_a, from_b]
"""
    model, _ = real_model(text)
    first, second = model(jnp.ones((2, 3)), jnp.ones((2, 5)))
    assert (first.shape, second.shape) == ((2, 4), (2, 2))
    with pytest.raises(TypeError, match="2 inputs"):
        model(jnp.ones((2, 3)))


def test_constructs_match_construct_of_and_name_known_modules() -> None:
    loaded = load(EXAMPLES / "resnet_digits.yaml")
    analysis = analyse(loaded)
    every = constructs(loaded.graph, analysis, "bfloat16")
    assert list(every) == [node.name for node in loaded.graph.nodes]
    for node in loaded.graph.nodes:
        assert every[node.name] == construct_of(node, analysis, "bfloat16")
        assert every[node.name].module in _flax.CONSTRUCTORS


def test_unknown_compute_dtype_is_refused() -> None:
    loaded = load(EXAMPLES / "digits_mlp.yaml")
    with pytest.raises(ValueError, match="compute dtype"):
        build_model(loaded, analyse(loaded), dtype="float16")


def test_flax_modules_file_is_self_contained() -> None:
    """The ejected file copies `_flax.py` verbatim, so it may import only JAX, Flax and the standard library."""
    tree = ast.parse(Path(_flax.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "collections", "functools", "itertools", "math", "operator", "typing", "jax",
                        "flax", "numpy"}


def one_layer(kind: str, params: str, shape: list[int], **options: object) -> SpecModel:
    return real_model(case_spec(kind, params, (shape,)), **options)[0]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recurrent_last_state_is_the_end_of_each_direction(cell: str) -> None:
    """Without `return_sequences`: the forward direction's last step and the backward direction's first."""
    x = jax.random.normal(flat_drawing(0), (2, 5, 3))
    for bidirectional in ("false", "true"):
        params = f"units: 4, bidirectional: {bidirectional}"
        sequence = one_layer(cell, f"{{{params}, return_sequences: true}}", [5, 3])(x)
        last = one_layer(cell, f"{{{params}}}", [5, 3])(x)  # the same seed: the same weights
        expected = sequence[:, -1] if bidirectional == "false" else jnp.concatenate(
            [sequence[:, -1, :4], sequence[:, 0, 4:]], axis=-1)
        np.testing.assert_allclose(last, expected, rtol=1e-5, atol=1e-6)


def test_causal_attention_ignores_later_positions() -> None:
    for kind in ("attention", "transformer_encoder"):
        model = one_layer(kind, "{heads: 2, causal: true}" if kind == "attention" else
                          "{heads: 2, mlp_dim: 8, causal: true}", [5, 4])
        x = jax.random.normal(flat_drawing(0), (1, 5, 4))
        changed = x.at[:, -1].set(7.0)
        np.testing.assert_allclose(model(x)[:, :-1], model(changed)[:, :-1], rtol=1e-5, atol=1e-6)
        assert not np.allclose(model(x)[:, -1], model(changed)[:, -1])


def test_softmax_axis_counts_after_the_batch_axis() -> None:
    out = one_layer("softmax", "{axis: 0}", [4, 6])(jax.random.normal(flat_drawing(0), (2, 4, 6)))
    np.testing.assert_allclose(out.sum(axis=1), np.ones((2, 6)), rtol=1e-5)


def test_average_pooling_does_not_count_padding() -> None:
    out = one_layer("avgpool", "{window: 3, stride: 2, padding: same}", [5, 5, 2])(jnp.ones((1, 5, 5, 2)))
    np.testing.assert_allclose(out, np.ones((1, 3, 3, 2)))


@pytest.mark.parametrize("params", ["{window: 3, stride: 2, padding: same}", "{window: 2, padding: [[1, 0], [0, 1]]}"])
@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
def test_pooling_is_differentiable(kind: str, params: str) -> None:
    """Max pooling must lower to `reduce_window_max` (a Python scalar init), which JAX can differentiate."""
    model = one_layer(kind, params, [5, 5, 2])
    grad = jax.grad(lambda x: model(x).sum())(jax.random.normal(flat_drawing(0), (1, 5, 5, 2)))
    assert grad.shape == (1, 5, 5, 2) and bool(jnp.isfinite(grad).all())


def test_every_declared_activation_has_one_flax_implementation() -> None:
    """`_flax.py` cannot import dslc (the ejected file copies it), so its table is checked against the declaration."""
    declared = set(get_args(Activation))
    assert set(ACTIVATIONS) == declared
    assert set(_flax.FUNCTIONS) == declared
    shorthand_only = {name for name, entry in ACTIVATIONS.items() if entry.doc is None}
    assert shorthand_only == {"linear", "gelu_tanh"}
    assert {kind.name for kind in REGISTRY.values() if kind.category == "activation"} == declared - shorthand_only
