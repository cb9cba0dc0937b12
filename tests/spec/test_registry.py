"""Every layer kind of the registry is complete: documented, loadable in both syntaxes, errors located.

A kind added without a sample here fails `test_every_kind_has_a_sample`, which is the point: each new
kind comes with its tests.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.spec import layers
from dslc.spec.errors import DslcErrors
from dslc.spec.layers import REGISTRY, LayerKind, kinds_of
from dslc.spec.layers.base import Arity
from dslc.spec.load import load_text
from dslc.spec.printer import print_spec

# The smallest valid parameters of each kind, in YAML flow syntax.
SAMPLES: dict[str, str] = {
    "dense": "{units: 4}", "embedding": "{vocab: 100, dim: 8}",
    "conv1d": "{filters: 4, kernel: 3}", "conv2d": "{filters: 4, kernel: [3, 3], padding: same}",
    "conv3d": "{filters: 4, kernel: 3, stride: 2}",
    "conv1d_transpose": "{filters: 4, kernel: 3}", "conv2d_transpose": "{filters: 4, kernel: 3, stride: 2}",
    "conv3d_transpose": "{filters: 4, kernel: 3}",
    "maxpool": "{window: 2}", "avgpool": "{window: [2, 2], stride: 1}",
    "global_maxpool": "{}", "global_avgpool": "{keepdims: true}",
    "flatten": "{}", "reshape": "{shape: [-1, 4]}",
    "relu": "{}", "leaky_relu": "{negative_slope: 0.2}", "gelu": "{approximate: true}", "silu": "{}",
    "tanh": "{}", "sigmoid": "{}", "softmax": "{axis: -1}", "relu6": "{}", "hard_swish": "{}",
    "hard_sigmoid": "{}", "softplus": "{}",
    "dropout": "{rate: 0.5}", "batchnorm": "{momentum: 0.9}", "layernorm": "{}",
    "rnn": "{units: 8}", "lstm": "{units: 8, return_sequences: true}", "gru": "{units: 8, bidirectional: true}",
    "attention": "{heads: 2, causal: true}", "transformer_encoder": "{heads: 2, mlp_dim: 16}",
    "add": "{}", "multiply": "{}", "concat": "{axis: -1}",
    "moe": "{experts: 4, hidden: 8, top_k: 1, gated: false, activation: gelu, aux_weight: 0.02}",
    "rmsnorm": "{epsilon: 1e-5}", "gated_mlp": "{hidden: 16}",
    "decoder_block": "{heads: 2, mlp_dim: 16, norm: rmsnorm, rope: 10000}",
    "position_embedding": "{positions: 16}", "class_token": "{}", "select": "{index: -1, axis: 1}",
    "groupnorm": "{groups: 2}", "upsample": "{factor: 2, method: bilinear}", "zero_padding": "{padding: 1}",
    "cropping": "{cropping: [[1, 2], [0, 1]]}", "adaptive_avgpool": "{output_size: 3}", "layer_scale": "{init: 0.1}",
    "stochastic_depth": "{rate: 0.1}",
}


def spec_text(kind: str, params: str) -> str:
    edge = "\n      from: [x, x]" if REGISTRY[kind].arity is Arity.MERGE else ""
    return (f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [8, 8, 4]}}\n  layers:\n"
            f"    - {kind}: {params}{edge}\n")


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(REGISTRY)


def test_the_registry_lists_every_module_s_kinds_in_the_order_they_are_found() -> None:
    """The registry's static index against a full discovery: every module of the package imported, its kinds read."""
    found: dict[str, LayerKind] = {}
    for module_info in sorted(pkgutil.iter_modules(layers.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        for kind in kinds_of(importlib.import_module(f"{layers.__name__}.{module_info.name}")):
            assert kind.name not in found, f"layer kind '{kind.name}' is registered twice"
            found[kind.name] = kind
    assert list(REGISTRY) == list(found) and len(REGISTRY) == len(found)
    assert all(REGISTRY[name] is kind for name, kind in found.items())  # each looked up in the module that has it
    assert "dnse" not in REGISTRY and REGISTRY.get("dnse") is None


def test_check_imports_only_the_layer_modules_its_spec_uses() -> None:
    """The registry is lazy: a spec of dense layers loads no convolution, recurrence or attention module."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "digits_mlp.yaml"
    code = ("import sys; from dslc.runtime.cli import main; code = main(['check', " + repr(str(spec)) + "]); "
            "print(sorted(m.rpartition('.')[2] for m in sys.modules if m.startswith('dslc.spec.layers.'))); "
            "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = set(result.stdout.splitlines()[-1].strip("[]").replace("'", "").split(", "))
    assert {"dense", "dropout", "flatten"} <= loaded
    assert not loaded & {"conv1d", "conv2d", "conv3d", "_conv", "lstm", "gru", "_recurrent", "attention",
                         "_attention", "transformer_encoder", "decoder_block", "moe"}


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_kind_is_documented(kind: str) -> None:
    entry = REGISTRY[kind]
    assert entry.summary() and entry.category
    assert set(entry.positional) <= set(entry.params.model_fields)


@pytest.mark.parametrize("syntax", ["yaml", "dsl"])
@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_kind_round_trips_through_both_printers(kind: str, syntax: str) -> None:
    loaded = load_text(spec_text(kind, SAMPLES[kind]), "yaml")
    [node] = loaded.graph.nodes
    assert node.kind == kind
    again = load_text(print_spec(loaded.spec, syntax), syntax)
    assert again.spec == loaded.spec
    assert again.graph.nodes[0].params == node.params


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_unknown_parameter_is_reported_at_its_key(kind: str) -> None:
    params = SAMPLES[kind].replace("{", "{bogus: 1, ", 1).replace(", }", "}")
    with pytest.raises(DslcErrors) as info:
        load_text(spec_text(kind, params), "yaml")
    [error] = info.value.errors
    assert (error.code, error.span.line, error.span.col) == ("E101", 6, 10 + len(kind))
    assert "bogus" in error.message


@pytest.mark.parametrize("kind", sorted(k for k, v in REGISTRY.items()
                                        if any(f.is_required() for f in v.params.model_fields.values())))
def test_missing_required_parameter_is_reported(kind: str) -> None:
    with pytest.raises(DslcErrors) as info:
        load_text(spec_text(kind, "{}"), "yaml")
    assert {e.code for e in info.value.errors} == {"E102"}
    assert all(e.span.line == 6 for e in info.value.errors)
