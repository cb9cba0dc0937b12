"""`to_dot` on hand-built analyses: nodes, shape-labelled edges, nested clusters, escaping, determinism."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from dslc.compiler.analysis.dot import quote, shape_label, to_dot
from dslc.compiler.analysis.model import Analysis, LayerReport, Totals
from dslc.spec.errors import Span
from dslc.spec.layers.base import NodeClass, Tensor


@dataclass(frozen=True)
class FakeDepth:
    verdict: str = "deep"
    policy: str = "hierarchy"
    sentence: str = ""

    def to_json(self) -> dict[str, str]:
        return {"verdict": self.verdict}


def layer(name: str, kind: str, shape: tuple, params: int, inputs: tuple[str, ...],
          scope: tuple[str, ...] = (), trainable: bool = True, dtype: str = "float32") -> LayerReport:
    return LayerReport(name=name, kind=kind, scope=scope, inputs=inputs, output=Tensor(shape, dtype), params=params,
                       state=0, flops=0, trainable=trainable, classes=(NodeClass.A,), span=Span("m.yaml", 1, 1))


def analysis(layers: list[LayerReport], inputs: tuple = (("image", Tensor((8, 8, 1))),), model: str = "m",
             outputs: tuple[str, ...] | None = None) -> Analysis:
    totals = Totals(trainable=sum(lay.params for lay in layers), frozen=0, state=0, flops=0, activations=None,
                    activation_bytes=None)
    return Analysis(file="m.yaml", model=model, inputs=inputs, layers=tuple(layers),
                    outputs=outputs or (layers[-1].name,), totals=totals, depth=FakeDepth())  # type: ignore[arg-type]


RESNET = analysis([
    layer("stem", "conv2d", (8, 8, 16), 160, ("image",)),
    layer("stage.1/conv_a", "conv2d", (8, 8, 16), 2320, ("stem",), scope=("stage.1",)),
    layer("stage.1/inner.1/relu_1", "relu", (8, 8, 16), 0, ("stage.1/conv_a",), scope=("stage.1", "inner.1")),
    layer("stage.1/add_1", "add", (8, 8, 16), 0, ("stem", "stage.1/inner.1/relu_1"), scope=("stage.1",)),
    layer("stage.2/conv_a", "conv2d", (8, 8, 16), 2320, ("stage.1/add_1",), scope=("stage.2",), trainable=False),
    layer("gap", "global_avgpool", (16,), 0, ("stage.2/conv_a",)),
    layer("logits", "dense", (10,), 170, ("gap",)),
])


def test_shape_labels() -> None:
    assert shape_label(Tensor((8, 8, 16))) == "8x8x16"
    assert shape_label(Tensor((None, 32))) == "?x32"
    assert shape_label(Tensor(())) == "()"
    assert shape_label(Tensor((20,), "int32")) == "20 int32"


def test_nodes_edges_and_labels() -> None:
    dot = to_dot(RESNET)
    assert dot.startswith('digraph "m" {\n')
    assert dot.endswith("}\n")
    assert '"image" [label="image\\ninput\\n8x8x1", shape=ellipse];' in dot
    assert '"stem" [label="stem\\nconv2d\\n160 params"];' in dot
    assert '"logits" [label="logits\\ndense\\n170 params", peripheries=2];' in dot  # the output
    assert '"stage.2/conv_a" [label="conv_a\\nconv2d\\n2,320 params (frozen)", style="rounded,dashed"];' in dot
    assert '"image" -> "stem" [label="8x8x1"];' in dot
    assert '"stem" -> "stage.1/add_1" [label="8x8x16"];' in dot  # the skip connection
    assert '"gap" -> "logits" [label="16"];' in dot
    assert len(re.findall(r" -> ", dot)) == 8  # one edge per layer input
    assert 'label="m: 4,970 params, deep"' in dot


def test_block_instances_are_nested_clusters() -> None:
    lines = to_dot(RESNET).splitlines()
    start = lines.index("  subgraph cluster_1 {")
    assert lines[start + 1] == '    label="stage.1";'
    assert lines[start + 2].startswith('    "stage.1/conv_a" ')
    assert lines[start + 3].startswith('    "stage.1/add_1" ')
    assert lines[start + 4] == "    subgraph cluster_2 {"
    assert lines[start + 5] == '      label="inner.1";'
    assert lines[start + 6].startswith('      "stage.1/inner.1/relu_1" ')
    assert lines[start + 7] == "    }"
    assert lines[start + 8] == "  }"
    assert lines[start + 9] == "  subgraph cluster_3 {"
    assert lines[start + 10] == '    label="stage.2";'
    # Top-level layers are outside every cluster.
    assert '  "stem" [' in "\n".join(lines) and '  "gap" [' in "\n".join(lines)


def test_output_is_deterministic() -> None:
    assert to_dot(RESNET) == to_dot(RESNET)


def test_unknown_dims_and_int_inputs() -> None:
    seq = analysis([layer("embedding_1", "embedding", (None, 8), 800, ("tokens",)),
                    layer("lstm_1", "lstm", (16,), 1600, ("embedding_1",))],
                   inputs=(("tokens", Tensor((None,), "int32")),))
    dot = to_dot(seq)
    assert '"tokens" -> "embedding_1" [label="? int32"];' in dot
    assert '"embedding_1" -> "lstm_1" [label="?x8"];' in dot


HOSTILE = 'a"b\\c\n}; digraph x { "evil'


def test_user_strings_are_escaped() -> None:
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("back\\slash") == '"back\\\\slash"'
    assert quote("line\nbreak\u202e") == '"line\\\\nbreak\\\\u202e"'  # shown literally, never a real break
    evil = analysis([layer(HOSTILE, "dense", (4,), 36, ("x" + HOSTILE,), scope=(HOSTILE,))],
                    inputs=(("x" + HOSTILE, Tensor((8,))),), model=HOSTILE)
    dot = to_dot(evil)
    # Outside the quoted strings only DOT's own syntax is left: one graph, one cluster, nothing injected.
    strings = re.compile(r'"(?:\\.|[^"\\])*"')
    outside = strings.sub("S", dot)
    assert '"' not in outside
    assert outside.count("digraph") == 1 and "evil" not in outside
    assert outside.count("{") == outside.count("}") == 2
    assert all("\n" not in text for text in strings.findall(dot))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_output() -> None:
    for item in (RESNET, analysis([layer(HOSTILE, "dense", (4,), 36, ("image",), scope=(HOSTILE,))])):
        result = subprocess.run(["dot", "-Tsvg"], input=to_dot(item), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "<svg" in result.stdout
