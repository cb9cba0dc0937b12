"""An `Analysis` as a Graphviz DOT digraph: a node per model input and layer, an edge per tensor.

Block instances become nested `subgraph cluster_N` groups (outermost first), numbered in the
order they first appear, so the output is deterministic. Every user string (names, scopes)
goes through `printable` and DOT string escaping: a spec cannot break out of a quoted ID or label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.spec.errors import printable
from dslc.spec.layers.base import Tensor, show_shape

INDENT = "  "


def shape_label(tensor: Tensor) -> str:
    """`8x8x16`; `?` for an unknown dimension, `()` for a scalar, the dtype when it is not float32."""
    text = show_shape(tensor.shape, compact=True)
    return text if tensor.dtype == "float32" else f"{text} {tensor.dtype}"


def quote(text: str) -> str:
    """A DOT double-quoted string. Backslashes are doubled so that `\\n`, `\\N`, `\\G`… in user text stay literal."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(*lines: str) -> str:
    # Lines joined with DOT's centred line break; each line escaped on its own.
    return "\\n".join(quote(line)[1:-1] for line in lines)


@dataclass
class _Cluster:
    """A block instance: its own layers and the instances nested in it, in order of appearance."""

    name: str
    layers: list[LayerReport] = field(default_factory=list)
    children: dict[str, _Cluster] = field(default_factory=dict)


def _tree(layers: tuple[LayerReport, ...]) -> _Cluster:
    root = _Cluster("")
    for layer in layers:
        cluster = root
        for instance in layer.scope:
            cluster = cluster.children.setdefault(instance, _Cluster(instance))
        cluster.layers.append(layer)
    return root


def _layer_node(layer: LayerReport, outputs: frozenset[str]) -> str:
    short = layer.name.rsplit("/", 1)[-1] if layer.scope else layer.name
    params = f"{layer.params:,} params" + ("" if layer.trainable or not layer.params else " (frozen)")
    attrs = [f'label="{_label(short, layer.kind, params)}"']
    if not layer.trainable:
        attrs.append('style="rounded,dashed"')
    if layer.name in outputs:
        attrs.append("peripheries=2")
    return f"{quote(layer.name)} [{', '.join(attrs)}];"


def _cluster_lines(cluster: _Cluster, outputs: frozenset[str], counter: list[int], depth: int) -> list[str]:
    pad = INDENT * depth
    lines = [pad + _layer_node(layer, outputs) for layer in cluster.layers]
    for child in cluster.children.values():
        counter[0] += 1
        lines.append(f"{pad}subgraph cluster_{counter[0]} {{")
        lines.append(f"{pad}{INDENT}label={quote(child.name)};")
        lines += _cluster_lines(child, outputs, counter, depth + 1)
        lines.append(f"{pad}}}")
    return lines


def to_dot(analysis: Analysis) -> str:
    tensors = {name: tensor for name, tensor in analysis.inputs}
    tensors.update((layer.name, layer.output) for layer in analysis.layers)
    outputs = frozenset(analysis.outputs)
    title = f"{analysis.model}: {analysis.totals.params:,} params, {analysis.depth.verdict}"
    lines = [
        f"digraph {quote(analysis.model)} {{",
        f"{INDENT}graph [label={quote(title)}, labelloc=t, rankdir=TB];",
        f'{INDENT}node [shape=box, style="rounded", fontname="Helvetica"];',
        f'{INDENT}edge [fontname="Helvetica", fontsize=10];',
    ]
    for name, tensor in analysis.inputs:
        lines.append(f'{INDENT}{quote(name)} [label="{_label(name, "input", shape_label(tensor))}", shape=ellipse];')
    lines += _cluster_lines(_tree(analysis.layers), outputs, [0], 1)
    for layer in analysis.layers:
        for source in layer.inputs:
            label = shape_label(tensors[source]) if source in tensors else "?"
            lines.append(f"{INDENT}{quote(source)} -> {quote(layer.name)} [label={quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
