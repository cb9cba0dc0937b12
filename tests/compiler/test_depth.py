"""The depth verdict (docs/depth.md) on hand-built graphs: every rule, every policy, the disagreements."""

from __future__ import annotations

import json
import math

import pytest

from dslc.compiler.analysis.depth import POLICIES, DepthNode, DepthReport, depth_report, verdict_of
from dslc.spec.layers.base import NodeClass

W, N, A = NodeClass.W, NodeClass.N, NodeClass.A


def chain(*layers: tuple, source: str = "x") -> list[DepthNode]:
    """Layers in a line: each (name, classes) or (name, classes, options) reads from the one before it."""
    nodes: list[DepthNode] = []
    for name, classes, *options in layers:
        previous = nodes[-1].name if nodes else source
        nodes.append(DepthNode(name, (previous,), classes, **(options[0] if options else {})))
    return nodes


def report(nodes: list[DepthNode], policy: str = "hierarchy") -> DepthReport:
    return depth_report(nodes, ["x"], [nodes[-1].name], policy)


def values(r: DepthReport) -> dict[str, tuple[float, str]]:
    return {p: (v.value, v.verdict) for p, v in r.policies.items()}


def linear_stack() -> list[DepthNode]:
    return chain(*((f"d{i}", (W,)) for i in range(1, 6)))


def lstm_model(time_steps: int | None) -> list[DepthNode]:
    return chain(("emb", (W,)), ("lstm", (W, N), {"recurrent": True, "time_steps": time_steps}), ("out", (W,)))


def frozen_base() -> list[DepthNode]:
    base = [(f"conv{i}", (W, N), {"trainable": False}) for i in range(1, 17)]
    return chain(*base, ("flat", (A,)), ("fc1", (W, N)), ("fc2", (W,)))


def resnet18() -> list[DepthNode]:
    """ResNet-18's structure: conv1, max pool, 4 stages of 2 basic blocks (3x3 convs, batch norm,
    ReLU; identity shortcuts, or a 1x1 stride-2 projection where a stage starts), average pool, fc."""
    nodes = chain(("conv1", (W,), {"receptive": (7, 2, 1)}), ("bn1", (A,)), ("relu1", (N,)),
                  ("pool", (N,), {"receptive": (3, 2, 1)}))
    last = "pool"
    for stage in range(1, 5):
        for block in (1, 2):
            b = f"s{stage}b{block}"
            stride = 2 if stage > 1 and block == 1 else 1
            nodes += chain((f"{b}_a", (W,), {"receptive": (3, stride, 1)}), (f"{b}_bn_a", (A,)),
                           (f"{b}_relu_a", (N,)), (f"{b}_b", (W,), {"receptive": (3, 1, 1)}),
                           (f"{b}_bn_b", (A,)), source=last)
            shortcut = last
            if stride == 2:
                nodes += chain((f"{b}_proj", (W,), {"receptive": (1, 2, 1)}), (f"{b}_bn_proj", (A,)), source=last)
                shortcut = f"{b}_bn_proj"
            nodes += [DepthNode(f"{b}_add", (f"{b}_bn_b", shortcut), (A,)), DepthNode(f"{b}_relu", (f"{b}_add",), (N,))]
            last = f"{b}_relu"
    return nodes + chain(("gap", (A,)), ("fc", (W,)), source=last)


# --- the cases where the policies disagree (docs/depth.md#where-the-policies-disagree) ------------------


def test_linear_stack_collapses_to_one_level() -> None:
    r = report(linear_stack())
    assert values(r) == {"seeds-strict": (5, "deep"), "hierarchy": (1, "shallow"), "cap": (5, "deep")}
    assert r.verdict == "shallow"
    assert r.sentence == ("shallow (hierarchy: 1 level; 5 weighted layers collapse to 1 level under D2; "
                          "seeds-strict would say deep, cap would say deep)")
    assert r.rule("D2").value == 1 and "d1+…+d5" in r.rule("D2").detail


def test_dense_relu_stack_has_a_level_per_layer() -> None:
    r = report(chain(*((name, (W, N)) for name in ("d1", "d2", "d3"))))
    assert values(r) == {p: (3, "deep") for p in POLICIES}
    assert r.sentence == "deep (hierarchy: 3 levels; every policy agrees)"
    assert r.rule("D2").value == 3 and "d1, d2, d3" in r.rule("D2").detail


def test_embedding_lstm_dense() -> None:
    r = report(lstm_model(100))
    assert values(r) == {"seeds-strict": (3, "deep"), "hierarchy": (2, "shallow"), "cap": (102, "very-deep")}
    assert r.rule("D4").value == 99 and "lstm" in r.rule("D4").detail


def test_lstm_over_unknown_steps_is_unbounded_under_cap() -> None:
    r = report(lstm_model(None), policy="cap")
    assert r.policies["cap"].value == math.inf and r.verdict == "very-deep"
    assert r.to_json()["policies"]["cap"]["value"] == "unbounded"
    assert r.sentence.startswith("very-deep (cap: unbounded")
    assert values(r)["hierarchy"] == (2, "shallow")


def test_frozen_base_with_a_trainable_head() -> None:
    r = report(frozen_base())
    assert values(r) == {"seeds-strict": (18, "very-deep"), "hierarchy": (2, "shallow"), "cap": (2, "shallow")}
    assert r.rule("D2").value == 18  # frozen or not, each conv+relu is a level; D3 drops the frozen ones
    assert r.sentence == ("shallow (hierarchy: 2 levels; 16 frozen weighted layers do not count under D3; "
                          "seeds-strict would say very-deep)")
    assert r.rule("D0").value == {"W": 18, "N": 17, "A": 1}


def test_frozen_reservoir_adds_no_recurrence() -> None:
    nodes = chain(("reservoir", (W, N), {"trainable": False, "recurrent": True, "time_steps": 50}), ("readout", (W,)))
    r = report(nodes)
    assert values(r) == {"seeds-strict": (2, "shallow"), "hierarchy": (1, "shallow"), "cap": (1, "shallow")}
    assert r.rule("D4").value == 0 and "adds nothing" in r.rule("D4").detail


def test_frozen_recurrence_after_the_first_trainable_layer_unrolls() -> None:
    nodes = chain(("d", (W, N)), ("rnn", (W, N), {"trainable": False, "recurrent": True, "time_steps": 10}),
                  ("out", (W,)))
    r = report(nodes)
    assert r.policies["cap"].value == 3 + 9
    assert r.policies["hierarchy"].value == 2  # the frozen RNN acts as affine, its gates still close a level


def test_stacked_recurrence_unrolls_once_per_path() -> None:
    rnn = {"recurrent": True, "time_steps": 20}
    r = report(chain(("r1", (W, N), rnn), ("r2", (W, N), rnn), ("out", (W,))))
    assert r.policies["cap"].value == 3 + 19  # L layers over T steps: L + T - 1


# --- branches and residuals ------------------------------------------------------------------


def test_resnet18_counts_like_the_paper() -> None:
    r = report(resnet18(), policy="seeds-strict")
    assert r.rule("D1").value == 18
    assert r.rule("D5").value == 5  # conv1, three projection shortcuts, fc
    assert "s2b1_proj" in r.rule("D5").detail
    assert "proj" not in r.rule("D1").detail  # projection shortcuts are not on the longest path
    assert values(r) == {"seeds-strict": (18, "very-deep"), "hierarchy": (18, "very-deep"), "cap": (18, "very-deep")}
    assert r.rule("R1").value == 435


def test_merge_takes_max_and_min() -> None:
    nodes = [*chain(("a1", (W, N)), ("a2", (W, N)), ("a3", (W, N))), DepthNode("b1", ("x",), (W, N)),
             DepthNode("cat", ("a3", "b1"), (A,)), DepthNode("out", ("cat",), (W,))]
    r = report(nodes)
    assert (r.rule("D1").value, r.rule("D5").value) == (4, 2)
    assert r.policies["hierarchy"].value == 4
    assert "1 merge (cat)" in r.rule("D5").detail


def test_collapse_merge_prefers_a_closed_run() -> None:
    # Both branches have one level, but only the closed one lets `out` open a second.
    nodes = [DepthNode("open", ("x",), (W,)), DepthNode("closed", ("x",), (W, N)),
             DepthNode("add", ("open", "closed"), (A,)), DepthNode("out", ("add",), (W,))]
    assert report(nodes).policies["hierarchy"].value == 2
    nodes[2] = DepthNode("add", ("closed", "open"), (A,))
    assert report(nodes).policies["hierarchy"].value == 2


def test_cap_keeps_every_path_that_a_later_recurrence_could_favour() -> None:
    # At the merge the short branch leads (1 W + 9 unrolled against 5 W), but once the later
    # RNN unrolls 99 steps on both, the long branch wins: 6 + 99 against 2 + 99.
    long = chain(*((f"a{i}", (W, N)) for i in range(1, 6)))
    short = chain(("r", (W, N), {"recurrent": True, "time_steps": 10}))
    nodes = [*long, *short, DepthNode("cat", ("a5", "r"), (A,)),
             DepthNode("rnn", ("cat",), (W, N), recurrent=True, time_steps=100)]
    assert report(nodes).policies["cap"].value == 6 + 99


def test_separable_conv_is_two_weights_in_one_level() -> None:
    r = report(chain(("sep", (W, W, N)), ("out", (W,))))
    assert (r.rule("D1").value, r.policies["hierarchy"].value) == (3, 2)


def test_output_that_is_a_model_input_has_depth_zero() -> None:
    r = depth_report([DepthNode("d", ("x",), (W,))], ["x"], ["x"])
    assert values(r) == {p: (0, "shallow") for p in POLICIES}


# --- R1 --------------------------------------------------------------------------------------


def test_receptive_field_of_three_convs() -> None:
    conv = {"receptive": (3, 1, 1)}
    assert report(chain(("c1", (W, N), conv), ("c2", (W, N), conv), ("c3", (W, N), conv))).rule("R1").value == 7


def test_receptive_field_with_a_stride_two_pool_between() -> None:
    conv = {"receptive": (3, 1, 1)}
    nodes = chain(("c1", (W, N), conv), ("pool", (N,), {"receptive": (2, 2, 1)}), ("c2", (W, N), conv),
                  ("c3", (W, N), conv))
    assert report(nodes).rule("R1").value == 3 + 1 + 2 * 2 + 2 * 2  # 12


def test_receptive_field_counts_dilation() -> None:
    assert report(chain(("c", (W,), {"receptive": (3, 1, 2)}))).rule("R1").value == 5


def test_receptive_field_is_the_maximum_over_paths() -> None:
    # At the merge the wide branch leads (5 against 2), but the strided one grows twice as fast after it:
    # through `wide` 5 + 4 = 9, through `strided` 2 + 4 * 2 = 10. The merge keeps both (r, j) states.
    nodes = [DepthNode("wide", ("x",), (W, N), receptive=(5, 1, 1)),
             DepthNode("strided", ("x",), (W, N), receptive=(2, 2, 1)),
             DepthNode("add", ("wide", "strided"), (A,)), DepthNode("after", ("add",), (W,), receptive=(5, 1, 1))]
    r = report(nodes)
    assert r.rule("R1").value == 10 and "strided, after" in r.rule("R1").detail


def test_receptive_field_omitted_without_conv_or_pooling() -> None:
    assert [r.rule for r in report(linear_stack()).rules] == ["D0", "D1", "D2", "D3", "D4", "D5", "C"]


# --- the report ------------------------------------------------------------------------------


CASES = {"linear": linear_stack, "lstm": lambda: lstm_model(100), "lstm_unknown": lambda: lstm_model(None),
         "frozen": frozen_base, "resnet18": resnet18}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_policy_is_reported_and_json_safe(case: str, policy: str) -> None:
    r = report(CASES[case](), policy)
    assert list(r.policies) == list(POLICIES)
    assert r.policy == policy and r.verdict == r.policies[policy].verdict
    assert r.sentence.startswith(f"{r.verdict} ({policy}: ")
    data = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert data["verdict"] == r.verdict and len(data["rules"]) == len(r.rules)
    assert [rule["evidence"] for rule in data["rules"]] == [list(rule.evidence) for rule in r.rules]


def test_judged_rules_carry_threshold_and_holds() -> None:
    r = report(linear_stack())
    assert r.rule("D1").holds is True and r.rule("D3").holds is False and r.rule("C").holds is True
    assert r.rule("D1").threshold and r.rule("D4").holds is None and r.rule("D4").threshold is None


def test_sentence_names_only_the_policies_that_disagree() -> None:
    r = report(lstm_model(100), policy="seeds-strict")
    assert r.sentence == ("deep (seeds-strict: 3 weighted layers on the longest path; "
                          "hierarchy would say shallow, cap would say very-deep)")


@pytest.mark.parametrize(("d", "verdict"), [(0, "shallow"), (2, "shallow"), (3, "deep"), (10, "deep"),
                                             (11, "very-deep"), (math.inf, "very-deep")])
def test_thresholds(d: float, verdict: str) -> None:
    assert verdict_of(d) == verdict


def test_unknown_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown depth policy 'deepest'"):
        report(linear_stack(), policy="deepest")


def test_malformed_graph_is_an_error() -> None:
    with pytest.raises(ValueError, match="'nowhere'"):
        depth_report([DepthNode("d", ("nowhere",), (W,))], ["x"], ["d"])
    with pytest.raises(ValueError, match="output 'y'"):
        depth_report([DepthNode("d", ("x",), (W,))], ["x"], ["y"])


def test_long_chains_are_linear_and_elided() -> None:
    nodes = chain(*((f"d{i}", (W, N)) for i in range(10_000)))
    r = report(nodes)
    assert r.policies["hierarchy"].value == 10_000
    assert max(len(rule.detail) for rule in r.rules) < 400
