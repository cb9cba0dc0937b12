"""The analysis of whole specs: published parameter counts and layer depths, and the policy disagreements."""

from __future__ import annotations

from pathlib import Path

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.analysis.render import analysis_json
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def analysis_of(stem: str, policy: str = "hierarchy"):
    return analyse(load(EXAMPLES / f"{stem}.yaml"), policy)


def verdicts(stem: str) -> dict[str, tuple[object, str]]:
    policies = analysis_of(stem).depth.policies
    return {name: (p.value, p.verdict) for name, p in policies.items()}


def test_resnet50_matches_torchvision() -> None:
    analysis = analysis_of("resnet50")
    assert analysis.totals.trainable == 25_557_032  # torchvision.models.resnet50().parameters()
    assert analysis.totals.state == 53_120  # running mean and variance of every batch norm
    assert analysis.layer("fc").output.shape == (1000,)
    assert analysis.layer("layer4/relu_3").output.shape == (7, 7, 2048)
    depth = analysis.depth
    assert depth.rule("D1").value == 50  # projection shortcuts are not on the longest path
    assert depth.rule("D5").value == 6  # stem, four projections, fc
    assert depth.verdict == "very deep"


def test_vgg11_matches_torchvision() -> None:
    analysis = analysis_of("vgg11")
    assert analysis.totals.trainable == 132_863_336
    assert analysis.layer("flatten_1").output.shape == (25_088,)
    assert analysis.depth.rule("D1").value == 11
    assert verdicts("vgg11")["seeds-strict"] == (11, "very deep")


def test_a_linear_stack_collapses_under_d2() -> None:
    assert verdicts("linear_stack") == {"seeds-strict": (5, "deep"), "hierarchy": (1, "shallow"),
                                        "cap": (5, "deep")}
    assert analysis_of("linear_stack").depth.sentence.startswith("shallow (hierarchy: 1 level")


def test_an_lstm_classifier_is_judged_differently_by_each_policy() -> None:
    assert verdicts("text_lstm") == {"seeds-strict": (3, "deep"), "hierarchy": (2, "shallow"),
                                     "cap": (202, "very deep")}  # 3 + (200 - 1) time steps


def test_a_frozen_base_is_shallow_by_what_it_learns() -> None:
    analysis = analysis_of("frozen_base")
    assert verdicts("frozen_base") == {"seeds-strict": (12, "very deep"), "hierarchy": (2, "shallow"),
                                       "cap": (2, "shallow")}
    assert analysis.totals.frozen == sum(layer.params for layer in analysis.layers if layer.name.startswith("base"))
    assert analysis.totals.trainable == analysis.layer("dense_1").params + analysis.layer("dense_2").params


def test_the_policy_option_picks_the_deciding_verdict() -> None:
    assert analysis_of("linear_stack", "seeds-strict").depth.verdict == "deep"
    assert analysis_of("linear_stack", "cap").depth.verdict == "deep"
    assert analysis_of("linear_stack").depth.verdict == "shallow"


@pytest.mark.parametrize("stem", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_both_syntaxes_give_the_same_analysis(stem: str) -> None:
    from_yaml = analysis_json(analyse(load(EXAMPLES / f"{stem}.yaml")))
    from_dsl = analysis_json(analyse(load(EXAMPLES / f"{stem}.dsl")))
    for report in (from_yaml, from_dsl):
        report.pop("file")
        for layer in report["layers"]:
            layer.pop("line"), layer.pop("column")
    assert from_yaml == from_dsl


def test_shape_errors_name_the_layer_both_shapes_and_the_inputs() -> None:
    text = """dslc: 1
model:
  name: m
  inputs: {x: [8, 8, 3]}
  layers:
    - conv2d: {filters: 64, kernel: 3, padding: same}
      name: wide
      from: x
    - conv2d: {filters: 32, kernel: 3, padding: same}
      name: narrow
      from: x
    - add: {}
      from: [wide, narrow]
    - dense: {units: 3}
"""
    with pytest.raises(DslcErrors) as info:
        analyse(load_text(text, "yaml", "m.yaml"))
    [error] = info.value.errors
    assert (error.code, error.span.line, error.span.col) == ("E501", 12, 7)
    assert "(8, 8, 64)" in error.message and "(8, 8, 32)" in error.message and "'wide'" in error.message


def test_activation_memory_scales_with_the_batch() -> None:
    analysis = analysis_of("digits_cnn")
    assert analysis.totals.activation_bytes == 4 * analysis.totals.activations
    assert analysis_json(analysis, 64)["totals"]["activation_bytes"] == 64 * analysis.totals.activation_bytes
