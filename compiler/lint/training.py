"""Rules about the train section: W103 (an activation the loss applies again), W108 (a learning rate or batch far
outside the usual range), W109 (a data path that does not exist)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from dslc.compiler.analysis.model import LayerReport
from dslc.compiler.lint.rule import LintContext, warning
from dslc.spec.errors import DslcError
from dslc.spec.layers.base import NodeClass
from dslc.spec.sourcemap import IRPath
from dslc.spec.vocab import Optimizer, data_paths

# What each cross-entropy loss applies to the model's output before comparing it with the targets.
LOSS_APPLIES = {"softmax_cross_entropy": "softmax", "sigmoid_binary_cross_entropy": "sigmoid"}
SQUASHING = ("sigmoid", "softmax", "hard_sigmoid")

# Learning rates seen in practice, per optimizer (docs/lint.md#w108): outside, training diverges or never moves.
LR_RANGES = {"sgd": (1e-5, 10.0), "adam": (1e-6, 0.1), "adamw": (1e-6, 0.1), "rmsprop": (1e-6, 0.1),
             "adafactor": (1e-6, 1.0), "lion": (1e-7, 0.01)}
MAX_LISTED = 1_000  # names read from a folder for a did-you-mean: a huge data folder costs no more
MAX_BATCH = 65_536  # larger batches need large-batch recipes (LARS, LAMB) and a learning rate tuned for them
# The learning rate's field in each schedule: the largest rate it reaches.
SCHEDULE_LR = {"constant": "value", "exponential": "init", "cosine": "init", "warmup_cosine": "peak"}


def activation_applied_twice(ctx: LintContext) -> Iterator[DslcError]:
    train = ctx.loaded.spec.train
    applied = LOSS_APPLIES.get(train.loss.kind) if train else None
    if train is None or applied is None or len(ctx.analysis.outputs) != 1:
        return
    layer = _last_mixing(ctx, ctx.analysis.outputs[0])
    if layer is None:
        return
    node = ctx.nodes[layer.name]
    activation = getattr(node.params, "activation", None) if layer.kind not in SQUASHING else layer.kind
    if activation in SQUASHING:
        yield warning("W103", f"layer '{layer.name}': the model's output goes through {activation}, and the loss "
                              f"{train.loss.kind} applies {applied} to it again (the loss expects logits)",
                      ctx.argument_span(node, "activation") if layer.kind not in SQUASHING else layer.span,
                      hint=f"remove the {activation}: the output is then logits (apply {applied} when predicting)")


def _last_mixing(ctx: LintContext, name: str) -> LayerReport | None:
    """The layer that computes the output, through one-input layers that only move values (reshape, dropout)."""
    layer = ctx.reports.get(name)
    while layer is not None and len(layer.inputs) == 1 and layer.params == 0 and layer.classes == (NodeClass.A,):
        layer = ctx.reports.get(layer.inputs[0])
    return layer


def unusual_learning_rate_or_batch(ctx: LintContext) -> Iterator[DslcError]:
    train = ctx.loaded.spec.train
    if train is None:
        return
    source_map = ctx.loaded.source_map
    optimizer = train.optimizer
    low, high = LR_RANGES[optimizer.kind]
    lr, path = _peak_lr(optimizer)
    if not low <= lr <= high:
        yield warning("W108", f"optimizer '{optimizer.kind}': learning rate {lr:g} is outside the usual range "
                              f"[{low:g}, {high:g}]", source_map.nearest(path),
                      hint="too large diverges, too small never moves; if it is meant, suppress with "
                           "`# dslc: ignore[W108]`")
    if train.batch > MAX_BATCH:
        yield warning("W108", f"batch {train.batch:,} is larger than {MAX_BATCH:,}, the usual largest batch",
                      source_map.nearest(("train", "batch")),
                      hint="large batches need a large-batch optimizer and a learning rate tuned for them")


def _peak_lr(optimizer: Optimizer) -> tuple[float, IRPath]:
    """The largest learning rate the optimizer reaches, and where it was written."""
    lr = optimizer.lr
    if isinstance(lr, float | int):
        return float(lr), ("train", "optimizer", "lr")
    field = SCHEDULE_LR[lr.kind]
    return float(getattr(lr, field)), ("train", "optimizer", "lr", field)


def missing_data_paths(ctx: LintContext) -> Iterator[DslcError]:
    train = ctx.loaded.spec.train
    if train is None or ctx.folder is None:
        return
    named: list[tuple[tuple[str | int, ...], str, str, str]] = [
        (("train", "data", field), "data", path, "E701") for field, path in data_paths(train.data)]
    named += [(("train", "init", index, "path"), "weights", entry.path, "E711")
              for index, entry in enumerate(train.init)]
    for where, what, path, code in named:
        if not (ctx.folder / path).exists():
            yield warning("W109", f"{what} path '{path}' does not exist (looked in '{ctx.folder}')",
                          ctx.loaded.source_map.nearest(where),
                          hint=_near_path(ctx.folder, path) or "paths are relative to the spec's folder; "
                                                                f"training would stop with {code}")


def _near_path(base: Path, relative: str) -> str | None:
    """A did-you-mean for a missing path: the near name in the deepest folder of it that exists, as a whole path."""
    path = base / relative
    folder = path.parent
    while folder != base and not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        names = [entry.name for _, entry in zip(range(MAX_LISTED), folder.iterdir(), strict=False)]
        missing, *rest = path.relative_to(folder).parts
    except (OSError, ValueError):
        return None
    near = difflib.get_close_matches(missing, names, n=1, cutoff=0.6)
    if not near:
        return None
    return f"did you mean '{(folder / near[0]).joinpath(*rest).relative_to(base).as_posix()}'?"
