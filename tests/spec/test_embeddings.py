"""Position embedding, class token, select and the tied head: their shape errors, what they compute, and the tie
(one table, at the embedding's path, counted, trained and ejected once)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model, trainable_filter
from dslc.compiler.eject import eject_source
from dslc.spec.errors import DslcErrors
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import ShapeError, Tensor
from dslc.spec.load import load_text
from dslc.spec.printer import print_spec


def infer(kind: str, params: dict, shape: tuple) -> Tensor:
    entry = REGISTRY[kind]
    return entry.infer(entry.params.model_validate(params), (Tensor(shape),))


@pytest.mark.parametrize(("kind", "params", "shape", "code", "param"), [
    ("position_embedding", {"positions": 4}, (5, 8), "E503", "positions"),
    ("position_embedding", {"positions": 4}, (8,), "E504", None),
    ("position_embedding", {"positions": 4}, (4, None), "E506", None),
    ("class_token", {}, (2, 3, 4), "E504", None),
    ("select", {"index": 3}, (3, 4), "E503", "index"),
    ("select", {"index": -4}, (3, 4), "E503", "index"),
    ("select", {"axis": 2}, (3, 4), "E503", "axis"),
    ("select", {}, (), "E504", None),
])
def test_shape_errors(kind: str, params: dict, shape: tuple, code: str, param: str | None) -> None:
    with pytest.raises(ShapeError) as info:
        infer(kind, params, shape)
    assert (info.value.code, info.value.param) == (code, param)


def test_unknown_time_is_accepted_and_kept() -> None:
    assert infer("position_embedding", {"positions": 4}, (None, 8)).shape == (None, 8)
    assert infer("class_token", {}, (None, 8)).shape == (None, 8)
    assert infer("select", {"index": -1}, (None, 8)).shape == (8,)


def analysed(layers: str, inputs: str = "{x: [3, 4]}", blocks: str = "") -> tuple:
    loaded = load_text(f"dslc: 1\n{blocks}model:\n  name: m\n  inputs: {inputs}\n  layers:\n{layers}", "yaml")
    return loaded, analyse(loaded)


def test_position_embedding_class_token_and_select_compute_what_they_say() -> None:
    loaded, analysis = analysed("    - position_embedding: {positions: 5}\n      name: pos\n"
                                "    - class_token: {}\n      name: cls\n    - select: {index: -1}\n")
    model = build_model(loaded, analysis)
    table, token = np.asarray(model.layers["pos"].embedding[...]), np.asarray(model.layers["cls"].token[...])
    assert table.shape == (5, 4) and 0.01 < table.std() < 0.03  # the usual N(0, 0.02) start
    model.layers["cls"].token[...] = jnp.arange(4.0)
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(model(x), x[:, -1] + table[2], rtol=1e-6)
    assert not token.any()  # the class token starts at zero (torchvision, HF)
    assert np.array_equal(model.layers["cls"](jnp.zeros((2, 3, 4)))[:, 0], np.tile(np.arange(4.0), (2, 1)))


TIED = """    - embedding: {vocab: 11, dim: 4}
      name: tok
    - dense: {units: 4, activation: tanh}
      name: hidden
    - dense: {units: 11, tied_to: tok}
      name: head
"""
IDS = "{ids: {shape: [3], dtype: int32}}"


def test_the_tied_table_is_one_parameter_at_the_embeddings_path() -> None:
    loaded, analysis = analysed(TIED, IDS)
    assert analysis.layer("head").params == 11  # its bias; the 11 x 4 table is counted at tok
    assert analysis.totals.params == 44 + 20 + 11
    assert analysis.layer("head").flops == 3 * 2 * 4 * 11
    model = build_model(loaded, analysis)
    paths = {"/".join(map(str, path)): leaf.shape for path, leaf in nnx.to_flat_state(nnx.state(model, nnx.Param))}
    assert paths["layers/tok/embedding"] == (11, 4) and not any(p.startswith("layers/head/") and "bias" not in p
                                                                  for p in paths)
    assert sum(int(np.prod(s)) for s in paths.values()) == analysis.totals.params
    ids = jnp.array([[1, 2, 3], [4, 5, 10]])
    hidden = model.layers["hidden"](model.layers["tok"](ids))
    expected = hidden @ model.layers["tok"].embedding[...].T + model.layers["head"].bias[...]
    np.testing.assert_allclose(model(ids), expected, rtol=1e-6)


def test_one_gradient_trains_the_table_for_both_uses() -> None:
    loaded, analysis = analysed(TIED, IDS)
    model = build_model(loaded, analysis)
    graphdef, params, rest = nnx.split(model, trainable_filter(model), ...)
    ids = jnp.array([[1, 2, 3]])

    def loss(p: nnx.State) -> jax.Array:
        return jnp.sum(nnx.merge(graphdef, p, rest)(ids) ** 2)

    grads = nnx.to_flat_state(jax.grad(loss)(params))
    table_grads = [g for path, g in grads if path[:2] == ("layers", "tok")]
    assert len(table_grads) == 1
    # the lookup touches rows 1-3 only; the head's use gives every row a gradient
    assert np.abs(np.asarray(table_grads[0])).min(axis=1).all()


def test_eject_reproduces_the_tie() -> None:
    loaded, analysis = analysed(TIED, IDS)
    model = build_model(loaded, analysis)
    namespace: dict = {}
    exec(compile(eject_source(loaded, analysis), "model.py", "exec"), namespace)  # noqa: S102 - our own output
    ejected = namespace["Model"](rngs=nnx.Rngs(1))
    nnx.update(ejected, nnx.state(model))
    ids = jnp.array([[0, 7, 10]])
    np.testing.assert_array_equal(ejected(ids), model(ids))
    assert sum(leaf.size for leaf in jax.tree.leaves(nnx.state(ejected, nnx.Param))) == analysis.totals.params


@pytest.mark.parametrize("syntax", ["yaml", "dsl"])
def test_the_tie_survives_printing(syntax: str) -> None:
    loaded, _ = analysed(TIED, IDS)
    again = load_text(print_spec(loaded.spec, syntax), syntax)
    assert again.spec == loaded.spec and again.graph.node("head").tied_to == "tok"


def test_a_tie_inside_a_block_resolves_in_the_blocks_scope() -> None:
    blocks = ("blocks:\n  lm:\n    layers:\n      - embedding: {vocab: 7, dim: 4}\n        name: tok\n"
              "      - dense: {units: 7, tied_to: tok, use_bias: false}\n")
    loaded, analysis = analysed("    - lm: {}\n      name: a\n    - select: {}\n    - relu: {}\n", IDS, blocks)
    assert loaded.graph.node("a/dense_1").tied_to == "a/tok"
    assert analysis.totals.params == 28


def errors_of(layers: str, inputs: str = IDS) -> list:
    with pytest.raises(DslcErrors) as info:
        analysed(layers, inputs)
    return info.value.errors


def test_tied_to_must_name_an_embedding() -> None:
    [error] = errors_of(TIED.replace("tied_to: tok", "tied_to: hidden"))
    assert (error.code, error.span.line) == ("E407", 10)
    assert "names a dense layer, not an embedding" in error.message and "tok" in error.hint
    [error] = errors_of(TIED.replace("tied_to: tok", "tied_to: ids"))
    assert error.code == "E407" and "a model input" in error.message


def test_tied_to_an_unknown_name_suggests_one() -> None:
    [error] = errors_of(TIED.replace("tied_to: tok", "tied_to: tik"))
    assert error.code == "E401" and "tok" in error.hint


def test_the_heads_units_must_be_the_vocab() -> None:
    [error] = errors_of(TIED.replace("units: 11", "units: 12"))
    assert error.code == "E407" and "vocab 11" in error.message and error.hint == "set units to 11"


def test_the_heads_features_must_be_the_tables_dim() -> None:
    [error] = errors_of(TIED.replace("units: 4, activation", "units: 5, activation"))
    assert (error.code, error.span.line) == ("E503", 10)
    assert "5 features but its tied embedding 'tok' has dim 4" in error.message
