"""An `Analysis` as a summary table (text or Markdown) or as JSON.

Parameters are counted in both conventions: PyTorch's `parameters()` (trainable and frozen, no batch
statistics: `params`) and Keras's (batch norms' running mean and variance are "non-trainable params" and
count in the total). FLOPs count a multiply-add as 2; MACs count the products' multiply-accumulates only
(`spec.layers.base.Cost`).
"""

from __future__ import annotations

from dslc.compiler.analysis.model import Analysis, LayerReport
from dslc.spec.layers.base import Tensor, show_shape
from dslc.spec.limits import count_text

HEADERS = ("layer", "kind", "output shape", "params", "FLOPs", "MACs")


def shape_text(tensor: Tensor) -> str:
    return show_shape(tensor.shape)


def number(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value:,}" if value < 10**1000 else count_text(value)  # Python turns at most 4,300 digits into text


def _rows(analysis: Analysis) -> list[tuple[str, ...]]:
    """Table rows; a block instance gets a group row and its layers are indented under it."""
    rows: list[tuple[str, ...]] = [(name, "input", shape_text(tensor), "0", "0", "0")
                                   for name, tensor in analysis.inputs]
    open_scope: tuple[str, ...] = ()
    for layer in analysis.layers:
        common = 0
        while common < min(len(open_scope), len(layer.scope)) and open_scope[common] == layer.scope[common]:
            common += 1
        for depth in range(common, len(layer.scope)):
            rows.append(("  " * depth + f"[{layer.scope[depth]}]", "block", "", "", "", ""))
        open_scope = layer.scope
        rows.append(_layer_row(layer))
    return rows


def _layer_row(layer: LayerReport) -> tuple[str, ...]:
    short = layer.name.rsplit("/", 1)[-1]
    frozen = " (frozen)" if not layer.trainable and layer.params else ""
    kind = f"{layer.kind} (depthwise)" if layer.depthwise else layer.kind
    return ("  " * len(layer.scope) + short, kind, shape_text(layer.output), number(layer.params) + frozen,
            number(layer.flops), number(layer.macs))


def _totals(analysis: Analysis, batch: int) -> list[str]:
    totals = analysis.totals
    memory = None if totals.activation_bytes is None else totals.activation_bytes * batch
    return [
        f"params: {number(totals.params)} (trainable {number(totals.trainable)}, frozen {number(totals.frozen)}); "
        f"batch statistics: {number(totals.state)}",
        f"params as Keras counts them: {number(totals.with_batch_stats)} (trainable {number(totals.trainable)}, "
        f"non-trainable {number(totals.non_trainable)}: frozen and batch statistics)",
        f"FLOPs per example: {number(totals.flops)}; MACs: {number(totals.macs)}",
        f"activation memory for a batch of {batch}: {byte_size(memory)}",
        f"depth: {analysis.depth.sentence}",
    ]


def byte_size(value: int | None) -> str:
    """'512 B', '1.5 KiB', ... '2,384.2 GiB'; integer arithmetic, so any size prints (no float overflow)."""
    if value is None:
        return "? (a dimension is unknown)"
    if value < 1024 or value >= 10**1000:
        return f"{number(value)} B"
    for unit, scale in (("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30)):
        if value < 1024 * scale or unit == "GiB":
            tenths = (value * 10 + scale // 2) // scale
            return f"{tenths // 10:,}.{tenths % 10} {unit}"
    raise AssertionError  # pragma: no cover


def summary_text(analysis: Analysis, batch: int = 1) -> str:
    rows = [HEADERS, *_rows(analysis)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    right = {3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(HEADERS))
    body = [line(row) for row in rows[1:]]
    return "\n".join([f"model '{analysis.model}' ({analysis.file})", rule, line(HEADERS), rule, *body, rule,
                      *_totals(analysis, batch)]) + "\n"


def summary_markdown(analysis: Analysis, batch: int = 1) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|").strip() or " "

    lines = [f"**{analysis.model}** (`{analysis.file}`)", "", "| " + " | ".join(HEADERS) + " |",
             "|---|---|---|--:|--:|--:|"]
    lines.extend("| " + " | ".join(escape(cell) for cell in row) + " |" for row in _rows(analysis))
    lines.append("")
    lines.extend(f"- {line}" for line in _totals(analysis, batch))
    return "\n".join(lines) + "\n"


def analysis_json(analysis: Analysis, batch: int = 1) -> dict[str, object]:
    totals = analysis.totals
    return {
        "file": analysis.file,
        "model": analysis.model,
        "inputs": [{"name": name, "shape": list(t.shape), "dtype": t.dtype} for name, t in analysis.inputs],
        "layers": [{"name": layer.name, "kind": layer.kind, "scope": list(layer.scope), "inputs": list(layer.inputs),
                    "shape": list(layer.output.shape), "dtype": layer.output.dtype, "params": layer.params,
                    "batch_stats": layer.state, "flops": layer.flops, "macs": layer.macs,
                    "trainable": layer.trainable, "depthwise": layer.depthwise,
                    "classes": [c.name for c in layer.classes], "line": layer.span.line, "column": layer.span.col}
                   for layer in analysis.layers],
        "outputs": list(analysis.outputs),
        "totals": {"params": totals.params, "trainable": totals.trainable, "frozen": totals.frozen,
                   "batch_stats": totals.state, "non_trainable": totals.non_trainable,
                   "with_batch_stats": totals.with_batch_stats, "flops": totals.flops, "macs": totals.macs,
                   "activations": totals.activations,
                   "activation_bytes": None if totals.activation_bytes is None else totals.activation_bytes * batch,
                   "batch": batch},
        "depth": analysis.depth.to_json(),
    }
