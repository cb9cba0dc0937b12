"""The train section compared key by key: loss, optimizer and schedule, batch, epochs, steps, metrics, data,
precision, seed, checkpointing, early stopping. A choice whose kind changed is one change (`adam -> sgd`)."""

from __future__ import annotations

from dslc.compiler.diff.values import ABSENT, ValueChange, compare
from dslc.spec.ir import Train
from dslc.spec.sourcemap import SourceMap


def diff_train(old: Train | None, new: Train | None, new_map: SourceMap, old_map: SourceMap) -> tuple[ValueChange, ...]:
    """Located in the new spec; a key the new spec no longer has, in the old one."""
    changes = compare(ABSENT if old is None else old, ABSENT if new is None else new)
    located: list[ValueChange] = []
    for change in changes:
        path = ("train", *change.path)
        source_map = new_map if new_map.get(path) is not None or old_map.get(path) is None else old_map
        located.append(ValueChange(change.path or ("train",), change.old, change.new, str(source_map.nearest(path))))
    return tuple(located)
