"""`--explain` (docs/depth.md#--explain): each rule's line with its value, threshold and margin, and the
evidence that decides the verdict, on specs that exercise each rule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.analysis.depth import DepthReport, agreeing, margin, plural
from dslc.compiler.analysis.explain import explain_lines, explain_markdown
from dslc.spec.load import load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"

RESIDUAL = """dslc: 1
model:
  name: residual
  inputs: {x: [16]}
  layers:
    - dense: {units: 16, activation: relu}
      name: a1
    - dense: {units: 16, activation: relu}
      name: a2
    - add: {}
      from: [a2, x]
      name: skip
    - dense: {units: 4}
      name: head
"""

ATTENTION = """dslc: 1
model:
  name: attentive
  inputs: {x: [8, 16]}
  layers:
    - attention: {heads: 2}
      name: attn
    - transformer_encoder: {heads: 2, mlp_dim: 32}
      name: enc
    - global_avgpool
    - dense: {units: 4}
"""

FROZEN_LSTM = """dslc: 1
model:
  name: reservoir
  inputs: {x: [20, 8]}
  layers:
    - lstm: {units: 16}
      name: frozen_lstm
      trainable: false
    - dense: {units: 4}
      name: readout
"""

ONE_FROZEN = """dslc: 1
model:
  name: one_frozen
  inputs: {x: [8]}
  layers:
    - dense: {units: 8, activation: relu}
      trainable: false
    - dense: {units: 8, activation: relu}
    - dense: {units: 4}
"""

# Two convolutions of 3 on one branch (receptive field 5, three weighted layers with the head), one of 7
# on the other (receptive field 7, two weighted layers): the longest path is not the widest.
TWO_KERNELS = """dslc: 1
model:
  name: two_kernels
  inputs: {image: [16, 16, 1]}
  layers:
    - conv2d: {filters: 4, kernel: 3, padding: same, activation: relu}
      name: small_a
      from: image
    - conv2d: {filters: 4, kernel: 3, padding: same, activation: relu}
      name: small_b
    - conv2d: {filters: 4, kernel: 7, padding: same, activation: relu}
      name: large
      from: image
    - concat: {}
      from: [small_b, large]
    - global_avgpool
    - dense: {units: 2}
"""


def depth_of(text: str, policy: str = "hierarchy") -> DepthReport:
    return analyse(load_text(text, "yaml", "m.yaml"), policy).depth


def example(stem: str, policy: str = "hierarchy") -> DepthReport:
    return analyse(load(EXAMPLES / f"{stem}.yaml"), policy).depth


def rule_block(lines: list[str], rule: str) -> list[str]:
    """A rule's headline and the evidence lines indented under it."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{rule} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


def test_the_header_names_the_deciding_rule_and_the_thresholds() -> None:
    lines = explain_lines(example("linear_stack"))
    assert lines[0] == "depth rules: hierarchy decides with D3; thresholds: shallow d <= 2; deep 3 <= d <= 10; " \
                       "very-deep d >= 11"
    assert lines[1].startswith("D0 classes = W 5, N 0, A 0")


def test_each_judged_rule_has_its_value_verdict_margin_and_role() -> None:
    lines = explain_lines(example("text_lstm", policy="cap"))
    assert rule_block(lines, "D1")[0] == "D1 weighted depth = 3: deep, at the threshold of 3 (deep); " \
                                         "the measure of seeds-strict"
    assert rule_block(lines, "D3")[0] == "D3 learned hierarchy = 2: shallow, 1 below the threshold of 3 (deep); " \
                                         "the measure of hierarchy"
    assert rule_block(lines, "C")[0] == "C CAP depth = 202: very-deep, 191 above the threshold of 11 (very-deep); " \
                                        "the measure of cap, which decides the verdict"
    assert rule_block(lines, "D4")[0] == "D4 recurrence = 199 (steps cap unrolls); reported, never decides"
    assert "  lstm_1 (T=200) is unrolled: +199 steps on cap's path" in rule_block(lines, "D4")


def test_d2_names_the_layers_that_collapse() -> None:
    block = rule_block(explain_lines(example("linear_stack")), "D2")
    assert block[0] == "D2 affine collapse = 1: shallow, 2 below the threshold of 3 (deep); judged, no policy's measure"
    assert "  dense_1, dense_2, dense_3, dense_4, dense_5 collapse into one level: no non-linearity between them" \
           in block


def test_d2_says_when_nothing_collapses() -> None:
    block = rule_block(explain_lines(depth_of(RESIDUAL)), "D2")
    assert "  no weighted layers collapse: a non-linearity follows each" in block


def test_d5_shows_the_branches_and_the_shortest_path_through_them() -> None:
    report = depth_of(RESIDUAL)
    block = rule_block(explain_lines(report), "D5")
    assert block[0] == "D5 branches and residuals = 1 (W on the shortest path); reported, never decides"
    assert "  shortest path: x -> skip -> head" in block
    assert "  skip merges a2, x" in block
    assert rule_block(explain_lines(report), "D1")[0].startswith("D1 weighted depth = 3: deep")


def test_the_attention_convention_is_stated_with_each_attention_layer() -> None:
    block = rule_block(explain_lines(depth_of(ATTENTION)), "D0")
    assert any(line.startswith("  attention convention: attention is W N") for line in block)
    assert "  attention as W N: attn" in block
    assert "  transformer_encoder as N W N N W N W: enc" in block  # pre-norm, the default
    assert not any("attention" in line for line in rule_block(explain_lines(example("linear_stack")), "D0"))


def test_a_frozen_recurrent_layer_is_not_unrolled_and_says_why() -> None:
    report = depth_of(FROZEN_LSTM, policy="cap")
    assert report.policies["cap"].value == 1
    block = rule_block(explain_lines(report), "D4")
    assert block[0] == "D4 recurrence = 0 (steps cap unrolls); reported, never decides"
    assert "  frozen_lstm (T=20, frozen) is not unrolled: it comes before the path's first trainable W, " \
           "where credit assignment starts" in block


def test_a_recurrent_layer_off_cap_path_and_a_second_one_on_it_say_why() -> None:
    stacked = ("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [10, 4]}\n  layers:\n"
               "    - lstm: {units: 8, return_sequences: true}\n      name: r1\n"
               "    - lstm: {units: 8}\n      name: r2\n    - dense: {units: 2}\n")
    block = rule_block(explain_lines(depth_of(stacked)), "D4")
    assert "  r1 (T=10) is unrolled: +9 steps on cap's path" in block
    assert "  r2 (T=10) is not unrolled again: a path unrolls once, by its largest T - 1" in block


def test_r1_is_the_maximum_over_paths_not_along_the_longest() -> None:
    report = depth_of(TWO_KERNELS)
    assert report.rule("D1").value == 3 and "small_a" in report.rule("D1").detail  # the longest path
    assert report.rule("R1").value == 7  # the kernel of 7, not 3 + 2 along the longest path
    block = rule_block(explain_lines(report), "R1")
    assert block[0] == "R1 receptive field = 7 (input positions on the first spatial axis); reported, never decides"
    assert block[1] == "  the largest over all paths, first spatial axis: image -> dense_1 through large; " \
                       "reported, never decisive"


def test_r1_is_reported_only_for_spatial_layers() -> None:
    windowed = ATTENTION.replace("attention: {heads: 2}", "attention: {heads: 2, window: 4}")
    assert [rule.rule for rule in depth_of(windowed).rules] == ["D0", "D1", "D2", "D3", "D4", "D5", "C"]
    assert not any(line.startswith("R1") for line in explain_lines(depth_of(windowed)))


def test_the_verdict_sentence_agrees_in_number() -> None:
    assert "; 1 frozen weighted layer does not count under D3;" in depth_of(ONE_FROZEN).sentence
    assert "10 frozen weighted layers do not count under D3" in example("frozen_base").sentence


@pytest.mark.parametrize(("n", "noun", "text"), [(1, "level", "1 level"), (0, "merge", "0 merges"),
                                                 (3, "step", "3 steps"), (math.inf, "step", "unbounded steps")])
def test_plural(n: float, noun: str, text: str) -> None:
    assert plural(n, noun) == text


def test_agreeing() -> None:
    assert [agreeing(n, "does", "do") for n in (0, 1, 2)] == ["do", "does", "do"]


@pytest.mark.parametrize(("d", "text"), [
    (0, "3 below the threshold of 3 (deep)"), (2, "1 below the threshold of 3 (deep)"),
    (3, "at the threshold of 3 (deep)"), (6, "3 above the threshold of 3 (deep)"),
    (7, "4 below the threshold of 11 (very-deep)"), (11, "at the threshold of 11 (very-deep)"),
    (40, "29 above the threshold of 11 (very-deep)"), (math.inf, "unbounded, above the threshold of 11 (very-deep)"),
])
def test_margin_is_to_the_nearest_threshold(d: float, text: str) -> None:
    assert margin(d) == text


def test_markdown_has_a_table_and_the_evidence_escaped() -> None:
    markdown = explain_markdown(example("linear_stack"))
    lines = markdown.splitlines()
    assert lines[2:4] == ["| rule | value | verdict | margin | role |", "|---|--:|---|---|---|"]
    assert "| D3 learned hierarchy | 1 | shallow | 2 below the threshold of 3 (deep) | " \
           "the measure of hierarchy, which decides the verdict |" in lines
    assert "| D4 recurrence | 0 (steps cap unrolls) |   |   | reported, never decides |" in lines
    assert "  - dense\\_1, dense\\_2, dense\\_3, dense\\_4, dense\\_5 collapse into one level: " \
           "no non-linearity between them" in lines
    assert markdown.endswith("\n") and "\\<= 2" in lines[0]


def test_every_rule_of_the_report_is_explained() -> None:
    report = example("resnet_digits")
    headlines = [line for line in explain_lines(report)[1:] if not line.startswith("  ")]
    assert [line.split()[0] for line in headlines] == [rule.rule for rule in report.rules]
    bullets = [line for line in explain_markdown(report).splitlines() if line.startswith("- **")]
    assert len(bullets) == len(report.rules)


def test_a_recurrent_layer_over_one_step_adds_none() -> None:
    one_step = FROZEN_LSTM.replace("[20, 8]", "[1, 8]").replace("      trainable: false\n", "")
    one_step = one_step.replace("frozen_lstm", "once")
    assert "  once (T=1) adds no step: it runs over one time step" in \
           rule_block(explain_lines(depth_of(one_step, policy="cap")), "D4")
