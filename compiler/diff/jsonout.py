"""A diff as JSON: stable keys (docs/diff.md#json), values as JSON values and as the spec shows them."""

from __future__ import annotations

from dslc.compiler.diff.specdiff import SpecDiff
from dslc.compiler.diff.summary import headline

JSON_VERSION = 1  # bumped when a key changes meaning or goes away


def to_json(diff: SpecDiff) -> dict[str, object]:
    return {
        "version": JSON_VERSION,
        "old": {"file": diff.old_file, "model": diff.old_model},
        "new": {"file": diff.new_file, "model": diff.new_model},
        "changed": not diff.unchanged,
        "summary": headline(diff),
        "model": [change.to_json() for change in diff.model],
        "layers": diff.layers.to_json(),
        "blocks": [block.to_json() for block in diff.blocks],
        "train": [change.to_json() for change in diff.train],
        "consequences": diff.consequences.to_json(),
    }
