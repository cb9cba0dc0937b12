"""`diff_analyses` on hand-built analyses: matching by name, deltas, verdict change, text/markdown/JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from dslc.compiler.analysis.diff import diff_analyses, percent
from dslc.compiler.analysis.model import Analysis, LayerReport, Totals
from dslc.spec.errors import Span
from dslc.spec.layers.base import NodeClass, Tensor


@dataclass(frozen=True)
class FakeDepth:
    """Stands in for `DepthReport`: the attributes the diff reads."""

    verdict: str
    policy: str = "hierarchy"
    sentence: str = ""

    def to_json(self) -> dict[str, str]:
        return {"verdict": self.verdict, "policy": self.policy, "sentence": self.sentence}


def layer(name: str, kind: str, shape: tuple, params: int, flops: int | None, inputs: tuple[str, ...],
          trainable: bool = True, scope: tuple[str, ...] = ()) -> LayerReport:
    return LayerReport(name=name, kind=kind, scope=scope, inputs=inputs, output=Tensor(shape), params=params,
                       state=0, flops=flops, trainable=trainable, classes=(NodeClass.W,), span=Span("m.yaml", 1, 1))


def analysis(layers: list[LayerReport], verdict: str = "deep", model: str = "m", file: str = "m.yaml",
             inputs: tuple = (("image", Tensor((8, 8, 1))),)) -> Analysis:
    flops = [lay.flops for lay in layers]
    totals = Totals(trainable=sum(lay.params for lay in layers if lay.trainable),
                    frozen=sum(lay.params for lay in layers if not lay.trainable), state=0,
                    flops=None if None in flops else sum(flops),  # type: ignore[arg-type]
                    activations=None, activation_bytes=None)
    return Analysis(file=file, model=model, inputs=inputs, layers=tuple(layers), outputs=(layers[-1].name,),
                    totals=totals, depth=FakeDepth(verdict))  # type: ignore[arg-type]


CONV = layer("conv", "conv2d", (8, 8, 16), 160, 18432, ("image",))
FLAT = layer("flatten_1", "flatten", (1024,), 0, 0, ("conv",))
DENSE = layer("logits", "dense", (10,), 10250, 20480, ("flatten_1",))
OLD = analysis([CONV, FLAT, DENSE], verdict="deep", file="old.yaml")


def test_identical_analyses_have_no_changes() -> None:
    diff = diff_analyses(OLD, OLD)
    assert diff.layers == () and diff.unchanged == 4  # the input and three layers
    assert diff.empty
    assert diff.headline() == "params unchanged, FLOPs unchanged, verdict deep (unchanged)"
    assert "No layer changed." in diff.to_markdown()


def test_added_removed_and_changed_layers_with_deltas() -> None:
    wider = replace(CONV, output=Tensor((8, 8, 32)), params=320, flops=36864)
    flat = replace(FLAT, output=Tensor((2048,)))
    logits = replace(DENSE, params=20490, flops=40960)
    extra = layer("relu_1", "relu", (10,), 0, 10, ("logits",))
    new = analysis([wider, flat, logits, extra], verdict="very deep", file="new.yaml")
    dropout = layer("dropout_1", "dropout", (8, 8, 16), 0, 0, ("conv",))
    old = analysis([CONV, dropout, replace(FLAT, inputs=("dropout_1",)), DENSE], file="old.yaml")
    diff = diff_analyses(old, new)
    by_name = {c.name: c for c in diff.layers}
    assert [(c.name, c.status) for c in diff.layers] == [
        ("conv", "changed"), ("flatten_1", "changed"), ("logits", "changed"), ("relu_1", "added"),
        ("dropout_1", "removed")]
    assert by_name["conv"].reasons == ("output", "params")
    assert by_name["conv"].params_delta == 160 and by_name["conv"].flops_delta == 18432
    assert by_name["flatten_1"].reasons == ("output", "inputs")  # its input was the dropout
    assert by_name["relu_1"].params_delta == 0 and by_name["relu_1"].flops_delta == 10
    assert by_name["dropout_1"].old_kind == "dropout" and by_name["dropout_1"].new_kind is None
    assert diff.unchanged == 1  # the model input
    assert diff.params.delta == 10400 and diff.trainable.delta == 10400 and diff.frozen.delta == 0
    assert diff.flops.delta == 38922
    assert (diff.old_verdict, diff.new_verdict) == ("deep", "very deep")
    assert diff.headline() == "params +10,400 (+99.9%), FLOPs +38,922 (+100.0%), verdict deep -> very deep"


def test_kind_change_and_trainable_change() -> None:
    frozen = replace(CONV, trainable=False)
    gelu = layer("flatten_1", "reshape", (1024,), 0, 0, ("conv",))
    diff = diff_analyses(OLD, analysis([frozen, gelu, DENSE]))
    by_name = {c.name: c for c in diff.layers}
    assert by_name["conv"].reasons == ("trainable",)
    assert by_name["flatten_1"].reasons == ("kind",) and by_name["flatten_1"].kind == "flatten -> reshape"
    assert diff.trainable.delta == -160 and diff.frozen.delta == 160 and diff.params.delta == 0


def test_input_shape_change_is_reported() -> None:
    new = analysis([CONV, FLAT, DENSE], inputs=(("image", Tensor((28, 28, 1))),))
    diff = diff_analyses(OLD, new)
    (change,) = diff.layers
    assert (change.name, change.kind, change.output) == ("image", "input", "8x8x1 -> 28x28x1")


def test_unknown_flops_make_deltas_unknown() -> None:
    rnn = layer("rnn", "lstm", (None, 32), 4352, None, ("image",))
    diff = diff_analyses(OLD, analysis([CONV, FLAT, DENSE, rnn]))
    assert diff.flops.delta is None
    assert "FLOPs ?" in diff.headline()
    assert diff.layers[-1].flops_delta is None
    assert "?x32" in diff.to_text()


def test_percent() -> None:
    assert percent(1000, 1031) == "+3.1%"
    assert percent(1000, 900) == "-10.0%"
    assert percent(0, 10) is None and percent(None, 10) is None


def test_text_rendering() -> None:
    new = analysis([replace(CONV, output=Tensor((8, 8, 32)), params=320, flops=36864), FLAT, DENSE],
                   verdict="very deep", file="new.yaml")
    text = diff_analyses(OLD, new).to_text()
    lines = text.splitlines()
    assert lines[0] == "m: params +160 (+1.5%), FLOPs +18,432 (+47.4%), verdict deep -> very deep"
    assert lines[1] == "layers: 0 added, 0 removed, 1 changed, 3 unchanged"
    assert lines[2].split() == ["~", "conv", "conv2d", "8x8x16", "->", "8x8x32", "160", "->", "320",
                                "FLOPs", "+18,432", "(output,", "params)"]
    assert lines[3] == "totals: trainable 10,410 -> 10,570 (+160, +1.5%), frozen 0, FLOPs 38,912 -> 57,344 " \
                       "(+18,432, +47.4%)"
    assert lines[4] == "depth verdict (hierarchy): deep -> very deep"


def test_markdown_is_a_pr_comment_table() -> None:
    new = analysis([CONV, FLAT, DENSE, layer("out|x`<b>", "softmax", (10,), 0, 30, ("logits",))],
                   verdict="deep", model="m")
    md = diff_analyses(OLD, new).to_markdown()
    lines = md.splitlines()
    assert lines[0] == "**dslc diff** `m`: params unchanged, FLOPs +30 (+0.1%), verdict deep (unchanged)"
    assert lines[2] == "| | layer | kind | output | params | Δ params | Δ FLOPs |"
    assert lines[4] == "| ➕ | `out\\|x'<b>` | `softmax` | 10 | 0 | 0 | +30 |"  # a pipe cannot split the row
    assert "| trainable params | 10,410 | 10,410 | unchanged |" in md
    assert "| FLOPs per example | 38,912 | 38,942 | +30 (+0.1%) |" in md
    assert "| depth verdict (hierarchy) | deep | deep |  |" in md


def test_json_is_plain_and_complete() -> None:
    new = analysis([CONV, FLAT, replace(DENSE, params=100)], verdict="shallow")
    data = diff_analyses(OLD, new).to_json()
    json.dumps(data)
    assert data["verdict"] == {"old": "deep", "new": "shallow", "changed": True, "old_policy": "hierarchy",
                               "new_policy": "hierarchy"}
    assert data["totals"]["params"] == {"old": 10410, "new": 260, "delta": -10150}
    (change,) = data["layers"]
    assert change["name"] == "logits" and change["status"] == "changed" and change["params_delta"] == -10150
    assert change["old"]["output"] == {"shape": [10], "dtype": "float32"}


def test_model_rename_shows_in_the_headline() -> None:
    diff = diff_analyses(OLD, analysis([CONV, FLAT, DENSE], model="m2"))
    assert not diff.empty
    assert diff.to_text().startswith("m -> m2: ")
